"""A/A and A/B harness: false alarms and detection on this machine, benchwatch vs the anchors.

    .venv/bin/python benchmarks/ab_harness/harness.py --trials 8 --runs 5 --out results/ab

For each condition and trial, base and head process runs of the workloads in
``workloads_ab.py`` alternate (order random per pair), several runs per side,
exactly as compare-refs runs them.  Conditions: identical code (A/A), real
slowdowns of +5%, +20%, +50% (extra work in the head), A/A with two CPU
hogs running beside every head run, and the "bursty" conditions: load that
comes and goes at random beside both sides (:class:`BurstyLoad`).  The result files of each trial are saved,
then judged by benchwatch's comparator and, on the same files, by the rules
of pytest-benchmark, asv and pyperf (``anchor_rules.py``).

A benchmark comparison counts as *flagged* when benchwatch gives a gated
latency metric the verdict ``regression`` (which, by construction, means a
change of at least the 10% threshold), or when an anchor's rule fires.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))  # anchor_rules lives beside this script

import numpy as np  # noqa: E402
from anchor_rules import RULES  # noqa: E402

from benchwatch.compare import CompareSettings, compare  # noqa: E402
from benchwatch.compare.rules import DEFAULT_RULES, CompareRules  # noqa: E402
from benchwatch.model import BenchmarkResult, ResultSet  # noqa: E402
from benchwatch.resultfile import load_result, save_result  # noqa: E402
from benchwatch.runner.schedule import run_order  # noqa: E402
from benchwatch.runner.session import run_from_events  # noqa: E402
from benchwatch.runner.worker import WorkerCommand, run_pass  # noqa: E402

CONDITIONS = {
    "A/A": 1.0,
    "+5%": 1.05,
    "+20%": 1.20,
    "+50%": 1.50,
    "A/A + CPU hogs beside head": 1.0,
    "A/A + CPU hogs beside both": 1.0,
    "+30% + CPU hogs beside both": 1.30,
    "A/A bursty": 1.0,
    "+10% bursty": 1.10,
    "+20% bursty": 1.20,
    "+30% bursty": 1.30,
}
PYTEST_ARGS = (
    "--benchmark-min-rounds=100",
    "--benchmark-max-time=0.1",
    "--benchmark-warmup=on",
    "--benchmark-warmup-iterations=5",
)
WORKLOADS = "benchmarks/ab_harness/workloads_ab.py"


def _command(factor: float) -> WorkerCommand:
    import os

    env = dict(os.environ)
    env["BENCHWATCH_AB_FACTOR"] = repr(factor)
    return WorkerCommand(python=sys.executable, cwd=REPO, pytest_args=PYTEST_ARGS, env=env)


def _collect() -> list[str]:
    outcome = run_pass(command=_command(1.0), mode="collect", targets=[WORKLOADS], timeout=120)
    if outcome.worker_failure or not outcome.collected:
        raise SystemExit(f"cannot collect {WORKLOADS}: {outcome.worker_failure}")
    return [event["name"] for event in outcome.collected]


def _start_hogs(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
        process.wait()


class BurstyLoad:
    """Load that comes and goes at random beside both sides (the "bursty" conditions).

    A thread starts, after a random pause of 0.3-3 s, either 1-3 CPU loops or a
    real pytest run of one of benchwatch's own test files, and stops it after
    1-6 s; then the next pause.  Beside the other agents' load on this shared
    2-core machine this gave loads of about 3-7.  Which runs a burst hits is
    random, unlike the steady hogs.
    """

    TESTS = ("tests/test_stats.py", "tests/test_distributions.py", "tests/test_fastjson.py")

    def __init__(self, rng: random.Random) -> None:
        import threading

        self._rng = random.Random(rng.random())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> BurstyLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._rng.uniform(0.3, 3.0)):
            if self._rng.random() < 0.6:
                processes = _start_hogs(self._rng.randint(1, 3))
            else:
                test = self._rng.choice(self.TESTS)
                processes = [
                    subprocess.Popen(
                        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test],
                        cwd=REPO,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                ]
            self._stop.wait(self._rng.uniform(1.0, 6.0))
            _stop(processes)


def run_trial(
    names: list[str], factor: float, runs: int, hogs: int, rng: random.Random, hog_sides: tuple[str, ...] = ("head",)
) -> tuple[ResultSet, ResultSet]:
    sides: dict[str, dict[str, list]] = {"base": {}, "head": {}}
    for run_index in range(1, runs + 1):
        order = ["base", "head"] if rng.random() < 0.5 else ["head", "base"]
        for side in order:
            hog_processes = _start_hogs(hogs) if side in hog_sides and hogs else []
            try:
                outcome = run_pass(
                    command=_command(factor if side == "head" else 1.0),
                    mode="timing",
                    targets=run_order(names, run_index),  # as compare-refs orders each run
                    timeout=300,
                )
            finally:
                _stop(hog_processes)
            for name in names:
                event = outcome.results.get(name)
                if event is not None:
                    sides[side].setdefault(name, []).append(run_from_events(event, None))
    results = []
    for side in ("base", "head"):
        benchmarks = tuple(BenchmarkResult(name=name, runs=tuple(runs_)) for name, runs_ in sides[side].items())
        results.append(
            ResultSet(
                benchmarks=benchmarks,
                source="benchwatch ab-harness",
                settings={"side": side, "factor": factor if side == "head" else 1.0},
            )
        )
    return results[0], results[1]


#: Key of the realised head/base ratios in judge()'s result: the slowdown a
#: condition really caused, so that "+20%" is checked to mean +20%.
REALISED = "realised ratio"


def _median_of_run_medians(benchmark: BenchmarkResult) -> float:
    return float(np.median([np.median(run.samples) for run in benchmark.ok_runs]))


#: Keys of judge()'s figures beyond the flags: improvements, intervals shown and
#: intervals that exclude the true change (the head's extra work), "machine too busy" headlines.
IMPROVED, SHOWN, MISSED, BUSY = "benchwatch improvement", "intervals shown", "intervals excluding truth", "busy"
#: A gated latency row significantly slower (q < alpha), whatever its size: what "+10% found" can mean,
#: since a regression needs an estimate of at least +10% and an exactly +10% change reaches it half the time.
SLOWER = "benchwatch slower (q < alpha, any size)"


def judge(
    base: ResultSet, head: ResultSet, settings: CompareSettings, rules: CompareRules = DEFAULT_RULES
) -> dict[str, list[bool]]:
    flags: dict[str, list] = {"benchwatch": [], REALISED: [], IMPROVED: [], SHOWN: [], MISSED: [], BUSY: [], SLOWER: []}
    flags.update({rule: [] for rule in RULES})
    comparison = compare(base, head, settings, rules=rules)
    truth = float(head.settings.get("factor", 1.0))
    for m in comparison.gated():
        if m.metric in ("p50", "p95") and math.isfinite(m.ci_low):
            flags[SHOWN].append(True)
            flags[MISSED].append(not (m.ci_low <= truth <= m.ci_high))
    flags[BUSY].append("machine too busy" in comparison.headline)
    improved = {m.benchmark for m in comparison.gated("improvement") if m.metric in ("p50", "p95", "p99", "mean")}
    regressed = {m.benchmark for m in comparison.gated("regression") if m.metric in ("p50", "p95", "p99", "mean")}
    slower = {
        m.benchmark
        for m in comparison.gated()
        if m.metric in ("p50", "p95", "p99", "mean")
        and m.q_value is not None
        and m.q_value < settings.alpha
        and m.ratio > 1
    }
    heads = head.by_name()
    for benchmark in base.benchmarks:
        other = heads.get(benchmark.name)
        if other is None or not benchmark.ok_runs or not other.ok_runs:
            continue
        flags["benchwatch"].append(benchmark.name in regressed)
        flags[IMPROVED].append(benchmark.name in improved)
        flags[SLOWER].append(benchmark.name in slower)
        flags[REALISED].append(_median_of_run_medians(other) / _median_of_run_medians(benchmark))
        for rule, decide in RULES.items():
            flags[rule].append(bool(decide(benchmark, other)))
    return flags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5, help="process runs per side")
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="comma-separated subset")
    parser.add_argument("--hogs", type=int, default=2, help="CPU hog processes in the hog condition")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "ab")
    parser.add_argument(
        "--rejudge", action="store_true", help="measure nothing: judge the trial files already under --out again"
    )
    args = parser.parse_args(argv)
    if args.rejudge:
        print(format_table(rejudge(args.out), args.runs))
        return 0
    rng = random.Random(args.seed)
    # SIGTERM leaves through the `with BurstyLoad` blocks, which stop the load they started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = _collect()
    settings = CompareSettings()
    table: dict[str, dict[str, list[bool]]] = {}
    for condition in args.conditions.split(","):
        factor = CONDITIONS[condition]
        hogs = args.hogs if "hogs" in condition else 0
        hog_sides = ("base", "head") if "beside both" in condition else ("head",)
        totals: dict[str, list[bool]] = {}
        for trial in range(1, args.trials + 1):
            started = time.monotonic()
            if "bursty" in condition:
                with BurstyLoad(rng):
                    base, head = run_trial(names, factor, args.runs, 0, rng)
            else:
                base, head = run_trial(names, factor, args.runs, hogs, rng, hog_sides)
            folder = args.out / folder_name(condition) / f"trial-{trial}"
            save_result(base, folder / "base.json.gz")
            save_result(head, folder / "head.json.gz")
            for tool, flags in judge(base, head, settings).items():
                totals.setdefault(tool, []).extend(flags)
            print(
                f"{condition} trial {trial}/{args.trials}: {time.monotonic() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        table[condition] = totals
    print(format_table(table, args.runs))
    (args.out / "summary.json").write_text(
        json.dumps(
            {
                condition: {
                    tool: {"flagged": sum(flags), "comparisons": len(flags)}
                    for tool, flags in totals.items()
                    if tool != REALISED
                }
                for condition, totals in table.items()
            },
            indent=2,
        )
    )
    return 0


def folder_name(condition: str) -> str:
    return condition.replace("/", "").replace(" ", "_").replace("+", "plus").replace("%", "pct")


def rejudge(
    out: Path, rules: CompareRules = DEFAULT_RULES, settings: CompareSettings | None = None
) -> dict[str, dict[str, list[bool]]]:
    """The table again from saved trial files (e.g. after changing a rule), no measuring."""
    settings = settings or CompareSettings()
    table: dict[str, dict[str, list[bool]]] = {}
    for condition in CONDITIONS:
        folder = out / folder_name(condition)
        trials = sorted(folder.glob("trial-*"))
        if not trials:
            continue
        totals: dict[str, list[bool]] = {}
        for trial in trials:
            base, head = load_result(trial / "base.json.gz"), load_result(trial / "head.json.gz")
            for tool, flags in judge(base, head, settings, rules).items():
                totals.setdefault(tool, []).extend(flags)
        table[condition] = totals
    return table


def format_table(table: dict[str, dict[str, list[bool]]], runs: int) -> str:
    tools = ["benchwatch", IMPROVED, SLOWER, MISSED, BUSY, *RULES]
    lines = [
        f"| condition ({runs} runs per side) | realised head/base (median, IQR) | " + " | ".join(tools) + " |",
        "|---|---|" + "---|" * len(tools),
    ]
    for condition, totals in table.items():
        ratios = np.asarray(totals.get(REALISED, [np.nan]), dtype=float)
        low, middle, high = np.quantile(ratios, [0.25, 0.5, 0.75])
        cells = [f"{middle:.3f} ({low:.3f}-{high:.3f})"]
        for tool in tools:
            flags = totals.get(tool, [])
            cells.append(f"{sum(flags)}/{len(flags)} ({100 * sum(flags) / max(1, len(flags)):.1f}%)")
        lines.append(f"| {condition} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
