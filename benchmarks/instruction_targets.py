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

from benchwatch.compare.instructions import EXACT_SPREAD_SHARE, compare_counts
from benchwatch.resultfile import load_result, save_result
from benchwatch.runner.instructions import InstructionSettings, run_instruction_pass
from benchwatch.runner.session import RunSettings, _command, collect_benchmarks
from benchwatch.stats.instructions import relative_spread

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
        max_runs=args.max_runs,
        agree=args.agree,
        warm_parent=not args.fresh,
    )
    started, cpu = time.monotonic(), os.times()
    outcome = run_instruction_pass(command=command, names=names, settings=counting)
    seconds = time.monotonic() - started
    after = os.times()
    cpu_seconds = (after.children_user + after.children_system) - (cpu.children_user + cpu.children_system)
    runs = {name: [list(run.instructions) for run in runs if run.ok] for name, runs in outcome.runs.items()}
    errors = {name: [run.error for run in runs if not run.ok] for name, runs in outcome.runs.items()}
    document = {
        "argv": sys.argv,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "load_average": os.getloadavg(),
        "runs": runs,
        "errors": {k: v for k, v in errors.items() if v},
        "fingerprint": outcome.fingerprint,
        "executed_packages": outcome.executed,
        "settings": outcome.settings,
        "processes": outcome.processes,
        "children": outcome.children,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(document, indent=1))
    print(
        f"{len(names)} benchmarks x {args.runs}+ runs in {seconds:.0f} s wall, {cpu_seconds:.0f} s CPU "
        f"(load average {os.getloadavg()[0]:.1f}) -> {args.output}"
    )


def command_recount(args: argparse.Namespace) -> None:
    """The baseline's instruction counts re-counted by today's pass; its latency and memory kept as they are.

    For a change of the instruction pass that changes counts but not the
    code: latency needs a quiet machine, counts do not.
    """
    baseline = load_result(Path(args.baseline))
    settings = RunSettings(suites=tuple(args.suite))
    collection = collect_benchmarks(repo=REPO, settings=settings)
    command = collection.command(_command(REPO, settings))
    counting = InstructionSettings(valgrind=shutil.which("valgrind"), setarch=shutil.which("setarch"))
    outcome = run_instruction_pass(command=command, names=collection.names, settings=counting)
    benchmarks = tuple(outcome.attach(b) for b in baseline.benchmarks)
    recounted = dataclasses.replace(
        baseline,
        benchmarks=benchmarks,
        count_fingerprint=outcome.fingerprint,
        settings={**baseline.settings, "instruction_pass": outcome.settings},
    )
    save_result(recounted, Path(args.output))
    print(f"{len(benchmarks)} benchmarks re-counted -> {args.output}")


def _runs_of(path: str) -> dict[str, list[list[int]]]:
    """Instruction runs per benchmark of a ``pass`` output or of a result file (a baseline)."""
    if not path.endswith((".json.gz", ".gz")) and "runs" in (document := json.loads(Path(path).read_text())):
        return document["runs"]
    result = load_result(Path(path))
    return {b.name: [list(run.instructions) for run in b.instruction_runs if run.ok] for b in result.benchmarks}


def _pool(paths: list[str]) -> dict[str, list[np.ndarray]]:
    pool: dict[str, list[np.ndarray]] = {}
    for path in paths:
        for name, runs in _runs_of(path).items():
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


def _draw(pool: list[np.ndarray], order: list[int], per_side: int, max_runs: int, agree: float) -> list[np.ndarray]:
    """``per_side`` runs in ``order``, then more (up to ``max_runs``) while they disagree, as the pass adds them."""
    taken = [pool[i] for i in order[:per_side]]
    for i in order[per_side:max_runs]:
        values = [float(np.median(calls)) for calls in taken]
        if max(values) <= min(values) * (1 + agree):
            break
        taken.append(pool[i])
    return taken


def command_judge(args: argparse.Namespace) -> None:
    base_pool, head_pool = _pool(args.base), _pool(args.head)
    same_pool = args.base == args.head
    rng = random.Random(args.seed)
    most = max(args.per_side, args.max_runs)
    if args.agree is None:
        args.agree = EXACT_SPREAD_SHARE * args.threshold  # as run and compare-refs set it
    tally: dict[str, int] = {}
    runs_used: dict[int, int] = {}
    flagged_comparisons = 0
    for _ in range(args.comparisons):
        flagged = False
        for name in sorted(set(base_pool) & set(head_pool)):
            if same_pool:
                drawn = rng.sample(range(len(base_pool[name])), len(base_pool[name]))
                half = len(drawn) // 2
                base = _draw(base_pool[name], drawn[:half], args.per_side, most, args.agree)
                head = _draw(head_pool[name], drawn[half:], args.per_side, most, args.agree)
            else:
                base_order = rng.sample(range(len(base_pool[name])), len(base_pool[name]))
                head_order = rng.sample(range(len(head_pool[name])), len(head_pool[name]))
                base = _draw(base_pool[name], base_order, args.per_side, most, args.agree)
                head = _draw(head_pool[name], head_order, args.per_side, most, args.agree)
            runs_used[len(base)] = runs_used.get(len(base), 0) + 1
            result = compare_counts(base, head, threshold=args.threshold)
            tally[result.verdict] = tally.get(result.verdict, 0) + 1
            flagged = flagged or result.verdict == "regression"
            if args.verbose:
                short = name.rsplit("/", 1)[-1]
                print(
                    f"{short:55} {result.verdict:12} {result.ratio - 1:+.3%} {result.method} ({len(base)}+{len(head)})"
                )
        flagged_comparisons += flagged
    total = sum(tally.values())
    print(
        f"{args.comparisons} comparisons x {total // args.comparisons} benchmarks, {args.per_side} run(s) per side, "
        f"threshold {args.threshold:.2%}: " + ", ".join(f"{v} {k} ({v / total:.1%})" for k, v in sorted(tally.items()))
    )
    print(f"comparisons with at least one regression: {flagged_comparisons}/{args.comparisons}")
    print("base runs used per row: " + ", ".join(f"{n} runs: {count}" for n, count in sorted(runs_used.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("pass")
    run.add_argument("--suite", action="append", default=[])
    run.add_argument("-k", dest="keyword")
    run.add_argument("--pytest-arg", action="append", default=[])
    run.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("--runs", type=int, default=2)
    run.add_argument("--counted-calls", type=int, default=1)
    run.add_argument("--warmup-calls", type=int, default=2)
    run.add_argument("--max-runs", type=int, default=6)
    run.add_argument("--agree", type=float, default=0.005)
    run.add_argument("--parallel", type=int, default=os.cpu_count() or 1)
    run.add_argument("--timeout", type=float, default=900.0)
    run.add_argument(
        "--fresh", action="store_true", help="a fresh Callgrind worker per benchmark and run (before warm parents)"
    )
    run.add_argument("-o", "--output", required=True)
    spread = commands.add_parser("spread")
    spread.add_argument("files", nargs="+")
    judge = commands.add_parser("judge")
    judge.add_argument("--base", action="append", required=True)
    judge.add_argument("--head", action="append", required=True)
    judge.add_argument("--per-side", type=int, default=2, help="runs per side before any adaptive ones")
    judge.add_argument("--max-runs", type=int, default=0, help="adaptive: up to N runs while they disagree")
    judge.add_argument(
        "--agree", type=float, default=None, help="adaptive: spread that counts as agreement (½ threshold)"
    )
    judge.add_argument("--comparisons", type=int, default=20)
    judge.add_argument("--threshold", type=float, default=0.01)
    judge.add_argument("--seed", type=int, default=0)
    judge.add_argument("-v", "--verbose", action="store_true")
    recount = commands.add_parser("recount", help="re-count a baseline's instructions, keeping its latency")
    recount.add_argument("baseline")
    recount.add_argument("--suite", action="append", default=[])
    recount.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    if args.command in ("pass", "recount") and not args.suite:
        args.suite = ["benchmarks"]
    commands_by_name = {"pass": command_pass, "spread": command_spread, "judge": command_judge}
    {**commands_by_name, "recount": command_recount}[args.command](args)


if __name__ == "__main__":
    main()
