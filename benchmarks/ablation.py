"""Ablation: remove one layer of the comparator at a time and see what it changes (simulation).

    .venv/bin/python benchmarks/ablation.py [--comparisons 20] [--seed 1]

Each variant is the shipped rules with one layer switched off (``-``) or a
removed layer put back (``+``).  For every variant, simulated comparisons of
30 benchmarks x 5 runs x 200 samples per side (tests/noise_models.py) give:

* false alarms: gated p50/p95 rows called regression *or* improvement on
  identical code, over the lognormal, drift, bursts, both "hogs beside one
  side", the "other machine" (stored baseline, 1.5x slower), bursty and
  half-speed plain-file models;
* detection: benchmarks with a gated p50 or p95 regression at +20% work
  (lognormal, drift, bursts, bursty);
* +5% as >10%: rows called a regression when the change is +5%;
* coverage: share of shown p50 and p95 intervals that contain the true ratio
  at +20% (lognormal, bimodal, bursts, drift, bursty), and the worst model's share.

Prints a Markdown table (docs/statistics.md has the figures of the last run).

``--memory`` measures the memory rules instead (rules version 5), on the
suite's real multi-level ``peak_rss`` (tests/memory_models.py, 15 benchmarks):
comparisons of identical code with any false gated memory verdict, at 2, 3,
5, 7 and 10 runs per side and with the head's processes on the upper levels
only ("layout"); a real +30% change found (any gated memory row, and
``peak_rss`` alone) at the main job's 7 runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the noise models the coverage tests use

from memory_models import false_changes, found_changes  # noqa: E402
from noise_models import simulate  # noqa: E402

from benchwatch.compare import CompareSettings, compare  # noqa: E402
from benchwatch.compare.rules import DEFAULT_RULES, CompareRules  # noqa: E402
from benchwatch.model import BenchmarkResult, ResultSet  # noqa: E402

Filter = Callable[[ResultSet], ResultSet]


def keep_least_waited(result: ResultSet, limit: float = 0.20, keep: int = 2) -> ResultSet:
    """The removed rule-1 layer: drop runs that waited > 20% for a CPU, keeping the two that waited least."""

    def waited(run) -> float:
        return (run.runqueue_wait_seconds or 0.0) / (run.wall_seconds or 1.0)

    benchmarks = []
    for benchmark in result.benchmarks:
        calm = [run for run in benchmark.runs if waited(run) <= limit]
        if len(calm) < keep:
            calm = sorted(benchmark.runs, key=waited)[:keep]
        benchmarks.append(BenchmarkResult(name=benchmark.name, runs=tuple(calm)))
    return ResultSet(benchmarks=tuple(benchmarks), environment=result.environment)


VARIANTS: dict[str, tuple[CompareRules, CompareSettings, Filter | None]] = {
    "shipped (rules v5)": (DEFAULT_RULES, CompareSettings(), None),
    "- speed adjustment (Welch only)": (
        dataclasses.replace(DEFAULT_RULES, speed_adjust=False),
        CompareSettings(),
        None,
    ),
    "- comparability check": (dataclasses.replace(DEFAULT_RULES, check_comparability=False), CompareSettings(), None),
    "- one-side-busy rule": (dataclasses.replace(DEFAULT_RULES, check_one_side_busy=False), CompareSettings(), None),
    "- variance moderation": (DEFAULT_RULES, CompareSettings(moderate_variances=False), None),
    "+ half-threshold rule (removed)": (
        dataclasses.replace(DEFAULT_RULES, min_effect_share=0.5),
        CompareSettings(),
        None,
    ),
    "- unsteady-canary exclusion": (dataclasses.replace(DEFAULT_RULES, unstable_canary=1e9), CompareSettings(), None),
    "- gross-outlier run drop": (
        dataclasses.replace(DEFAULT_RULES, drop_slow_residuals=False),
        CompareSettings(),
        None,
    ),
    "+ slow-run drop at v1 size (3 SDs, 5%)": (
        dataclasses.replace(DEFAULT_RULES, slow_residual_mads=3.0, slow_residual_floor=0.05),
        CompareSettings(),
        None,
    ),
    "+ least-waited runs kept (removed)": (DEFAULT_RULES, CompareSettings(), keep_least_waited),
    "- contention adjustment (Welch / canary under load)": (
        dataclasses.replace(DEFAULT_RULES, contention_adjust=False),
        CompareSettings(),
        None,
    ),
    "- weighting of contended runs (k = 0)": (
        dataclasses.replace(DEFAULT_RULES, contention_spread_growth=0.0),
        CompareSettings(),
        None,
    ),
    "- neighbour-pair speed check (range rule)": (
        dataclasses.replace(DEFAULT_RULES, pair_interleaved=False),
        CompareSettings(),
        None,
    ),
    "- uniform shift not comparable (flag only)": (
        dataclasses.replace(DEFAULT_RULES, shift_not_comparable=False),
        CompareSettings(),
        None,
    ),
}


FALSE_ALARM_MODELS = (
    "lognormal",
    "drift",
    "bursts",
    "hogs_one_side",
    "hogs_no_canary",
    "other_machine",
    "bursty",
    "half_speed_no_canary",
)
DETECTION_MODELS = ("lognormal", "drift", "bursts", "bursty")
COVERAGE_MODELS = ("lognormal", "bimodal", "bursts", "drift", "bursty")


def _comparisons(model: str, factor: float, variant: tuple, comparisons: int, seed: int):
    """Each simulated comparison's metric rows, one list per comparison."""
    rules, settings, keep = variant
    rng = np.random.default_rng(seed)
    for _ in range(comparisons):
        base, head = simulate(rng, model, factor=factor)
        if keep is not None:
            base, head = keep(base), keep(head)
        yield list(compare(base, head, settings, rules=rules).metric_comparisons())


def _rows(model: str, factor: float, variant: tuple, comparisons: int, seed: int):
    for rows in _comparisons(model, factor, variant, comparisons, seed):
        yield from rows


def measure(variant: tuple, comparisons: int, seed: int) -> dict[str, str]:
    def gated(rows):
        return [r for r in rows if r.gated and r.metric in ("p50", "p95")]

    alarms = total = 0
    for model in FALSE_ALARM_MODELS:
        rows = gated(_rows(model, 1.0, variant, comparisons, seed))
        alarms += sum(r.verdict in ("regression", "improvement") for r in rows)
        total += len(rows)
    found = benchmarks = 0
    for model in DETECTION_MODELS:
        for rows in _comparisons(model, 1.2, variant, comparisons, seed + 1):
            benchmarks += len({r.benchmark for r in rows})
            found += len({r.benchmark for r in gated(rows) if r.verdict == "regression"})
    small = gated(_rows("lognormal", 1.05, variant, comparisons, seed + 2))
    small_alarms = sum(r.verdict == "regression" for r in small)
    shares = []
    hit = shown = 0
    for model in COVERAGE_MODELS:
        rows = [r for r in _rows(model, 1.2, variant, comparisons, seed + 3) if r.metric in ("p50", "p95")]
        covered = [r.ci_low <= 1.2 <= r.ci_high for r in rows if math.isfinite(r.ci_low)]
        hit, shown = hit + sum(covered), shown + len(covered)
        shares.append(sum(covered) / max(1, len(covered)))
    return {
        "false alarms (A/A)": f"{alarms}/{total} ({100 * alarms / max(1, total):.2f}%)",
        "+20% detected": f"{100 * found / max(1, benchmarks):.1f}%",
        "+5% called >10%": f"{100 * small_alarms / max(1, len(small)):.1f}%",
        "coverage (all)": f"{100 * hit / max(1, shown):.1f}%",
        "coverage (worst model)": f"{100 * min(shares):.1f}%",
    }


MEMORY_VARIANTS: dict[str, CompareRules] = {
    "shipped (rules v5)": DEFAULT_RULES,
    "- rss-only margin": dataclasses.replace(DEFAULT_RULES, rss_only_margin=1.0),
    "- permutation test, BH and run minimum (rules v4)": dataclasses.replace(DEFAULT_RULES, memory_test=False),
    "- both (rules v4)": dataclasses.replace(DEFAULT_RULES, memory_test=False, rss_only_margin=1.0),
}


def measure_memory(rules: CompareRules, comparisons: int, seed: int) -> dict[str, str]:
    figures = {}
    for n in (2, 3, 5, 7, 10):
        count = comparisons if n < 10 else max(1, comparisons // 4)  # 10 runs: 184,756 splits per row
        hits = false_changes(np.random.default_rng(seed + n), (n, n), count, rules=rules)
        figures[f"false, {n} runs"] = f"{hits}/{count}"
    hits = false_changes(np.random.default_rng(seed), (7, 7), comparisons, rules=rules, layout=True)
    figures["false, 7 runs, layout"] = f"{hits}/{comparisons}"
    found, changed = found_changes(np.random.default_rng(seed + 30), 7, comparisons, rules=rules)
    figures["+30% found (7 runs)"] = f"{100 * found / changed:.1f}%"
    found, changed = found_changes(np.random.default_rng(seed + 31), 7, comparisons, rules=rules, metric="peak_rss")
    figures["+30% by peak_rss"] = f"{100 * found / changed:.1f}%"
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comparisons", type=int, default=20, help="simulated comparisons per model and variant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory", action="store_true", help="the memory rules (tests/memory_models.py) instead")
    parser.add_argument("--only", action="append", default=[], help="variants whose name contains this (repeatable)")
    args = parser.parse_args()
    started = time.perf_counter()
    header = None
    variants = MEMORY_VARIANTS if args.memory else VARIANTS
    for name, variant in variants.items():
        if args.only and not any(part in name for part in args.only):
            continue
        figures = (
            measure_memory(variant, args.comparisons, args.seed)
            if args.memory
            else measure(variant, args.comparisons, args.seed)
        )
        if header is None:
            header = list(figures)
            print("| variant | " + " | ".join(header) + " |")
            print("|---|" + "---|" * len(header))
        print(f"| {name} | " + " | ".join(figures[key] for key in header) + " |", flush=True)
    print(
        f"\n{args.comparisons} comparisons per model and variant, seed {args.seed}: "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
