"""Measure the instruction pass's targets (issue #12): spread, false alarms, detection, cost.

    # a pool of instruction runs of a suite (add hogs, taskset, env as the experiment needs)
    python benchmarks/instruction_targets.py pass --runs 4 -o results/counts-a.json
    python benchmarks/instruction_targets.py pass --suite benchmarks/ab_harness/workloads_ab.py \
        --env BENCHWATCH_AB_UNITS=100 --env BENCHWATCH_AB_FACTOR=1.02 --runs 2 -o results/ab-102.json
    # spread per benchmark over every run of the files
    python benchmarks/instruction_targets.py spread results/counts-a.json
    # repeated comparisons: disjoint random draws of N runs per side, judged as compare() does
    python benchmarks/instruction_targets.py judge --base results/counts-a.json --head results/counts-b.json \
        --per-side 2 --comparisons 20 --threshold 0.01

Not a test: it spends minutes of Callgrind time per pass.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from benchwatch.runner.instructions import InstructionSettings, run_instruction_pass
from benchwatch.runner.session import RunSettings, _command, collect_benchmarks
from benchwatch.stats.instructions import compare_counts, relative_spread

REPO = Path(__file__).resolve().parent.parent


def command_pass(args: argparse.Namespace) -> None:
    settings = RunSettings(suites=tuple(args.suite), pytest_args=tuple(args.pytest_arg), keyword=args.keyword)
    env = dict(os.environ)
    env.update(item.split("=", 1) for item in args.env)
    collection = collect_benchmarks(repo=REPO, settings=settings)
    names = collection.names
    command = dataclasses.replace(collection.command(_command(REPO, settings)), env=env)
    counting = InstructionSettings(
        valgrind=shutil.which("valgrind"),
        runs=args.runs,
        counted_calls=args.counted_calls,
        warmup_calls=args.warmup_calls,
        timeout=args.timeout,
        setarch=shutil.which("setarch"),
        parallel=args.parallel,
    )
    started = time.monotonic()
    outcome = run_instruction_pass(command=command, names=names, settings=counting)
    seconds = time.monotonic() - started
    runs = {name: [list(run.instructions) for run in runs if run.ok] for name, runs in outcome.runs.items()}
    errors = {name: [run.error for run in runs if not run.ok] for name, runs in outcome.runs.items()}
    document = {
        "argv": sys.argv,
        "seconds": seconds,
        "runs": runs,
        "errors": {k: v for k, v in errors.items() if v},
        "fingerprint": outcome.fingerprint,
        "settings": outcome.settings,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(document, indent=1))
    print(f"{len(names)} benchmarks x {args.runs} runs in {seconds:.0f} s -> {args.output}")


def _pool(paths: list[str]) -> dict[str, list[np.ndarray]]:
    pool: dict[str, list[np.ndarray]] = {}
    for path in paths:
        for name, runs in json.loads(Path(path).read_text())["runs"].items():
            pool.setdefault(name, []).extend(np.asarray(calls, dtype=np.float64) for calls in runs)
    return pool


def command_spread(args: argparse.Namespace) -> None:
    print(f"{'benchmark':60} {'runs':>4} {'median':>14} {'between runs':>13} {'within runs':>12}")
    for name, runs in sorted(_pool(args.files).items()):
        per_run = np.array([np.median(calls) for calls in runs])
        within = max(relative_spread(calls) for calls in runs)
        short = name.rsplit("/", 1)[-1]
        print(
            f"{short:60} {len(runs):>4} {np.median(per_run):>14,.0f} {relative_spread(per_run):>12.4%} {within:>11.4%}"
        )


def command_judge(args: argparse.Namespace) -> None:
    base_pool, head_pool = _pool(args.base), _pool(args.head)
    same_pool = args.base == args.head
    rng = random.Random(args.seed)
    tally: dict[str, int] = {}
    flagged_comparisons = 0
    for _ in range(args.comparisons):
        flagged = False
        for name in sorted(set(base_pool) & set(head_pool)):
            if same_pool:
                drawn = rng.sample(range(len(base_pool[name])), 2 * args.per_side)
                base = [base_pool[name][i] for i in drawn[: args.per_side]]
                head = [head_pool[name][i] for i in drawn[args.per_side :]]
            else:
                base = rng.sample(base_pool[name], args.per_side)
                head = rng.sample(head_pool[name], args.per_side)
            result = compare_counts(base, head, threshold=args.threshold)
            tally[result.verdict] = tally.get(result.verdict, 0) + 1
            flagged = flagged or result.verdict == "regression"
            if args.verbose:
                print(f"{name.rsplit('/', 1)[-1]:55} {result.verdict:12} {result.ratio - 1:+.3%} {result.method}")
        flagged_comparisons += flagged
    total = sum(tally.values())
    print(
        f"{args.comparisons} comparisons x {total // args.comparisons} benchmarks, {args.per_side} run(s) per side, "
        f"threshold {args.threshold:.2%}: " + ", ".join(f"{v} {k} ({v / total:.1%})" for k, v in sorted(tally.items()))
    )
    print(f"comparisons with at least one regression: {flagged_comparisons}/{args.comparisons}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("pass")
    run.add_argument("--suite", action="append", default=[])
    run.add_argument("-k", dest="keyword")
    run.add_argument("--pytest-arg", action="append", default=[])
    run.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--runs", type=int, default=2)
    run.add_argument("--counted-calls", type=int, default=2)
    run.add_argument("--warmup-calls", type=int, default=1)
    run.add_argument("--parallel", type=int, default=os.cpu_count() or 1)
    run.add_argument("--timeout", type=float, default=900.0)
    run.add_argument("-o", "--output", required=True)
    spread = commands.add_parser("spread")
    spread.add_argument("files", nargs="+")
    judge = commands.add_parser("judge")
    judge.add_argument("--base", action="append", required=True)
    judge.add_argument("--head", action="append", required=True)
    judge.add_argument("--per-side", type=int, default=2)
    judge.add_argument("--comparisons", type=int, default=20)
    judge.add_argument("--threshold", type=float, default=0.01)
    judge.add_argument("--seed", type=int, default=0)
    judge.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if args.command == "pass" and not args.suite:
        args.suite = ["benchmarks"]
    {"pass": command_pass, "spread": command_spread, "judge": command_judge}[args.command](args)


if __name__ == "__main__":
    main()
