"""Coverage is a tested property: the 95% intervals compare() shows cover the true ratio.

Under every noise model of tests/noise_models.py the intervals of p50 and of
p95 must contain the true head/base ratio (1.0 for identical code, 1.2 for a
+20% change) in at least 94% of the rows that show one.  Where the data
cannot support an interval (CPU hogs beside one side), no interval may be
shown at all, and no regression or improvement claimed.  Seeded, in memory.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from noise_models import CANARY, simulate

from benchwatch.compare import CompareSettings, compare
from benchwatch.compare.verdict import ReasonCode
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run

COMPARISONS = 40


def coverage(model: str, factor: float, seed: int) -> dict[str, tuple[int, int, int]]:
    """Per metric (p50, p95): (rows whose interval covers ``factor``, rows that show an interval,
    rows left unjudged because a run of the benchmark waited for a CPU)."""
    rng = np.random.default_rng(seed)
    counts = {"p50": [0, 0, 0], "p95": [0, 0, 0]}
    for _ in range(COMPARISONS):
        base, head = simulate(rng, model, factor=factor)
        for row in compare(base, head, CompareSettings()).metric_comparisons():
            if row.metric in counts and math.isfinite(row.ci_low):
                counts[row.metric][1] += 1
                counts[row.metric][0] += row.ci_low <= factor <= row.ci_high
            elif row.metric in counts and row.reason_code == ReasonCode.MACHINE_BUSY:
                counts[row.metric][2] += 1
    return {metric: (hit, shown, busy) for metric, (hit, shown, busy) in counts.items()}


@pytest.mark.parametrize("model", ["lognormal", "bimodal", "bursts", "drift", "drift_no_canary"])
@pytest.mark.parametrize(("factor", "seed"), [(1.0, 1), (1.2, 2)])
def test_intervals_cover_the_true_ratio(model: str, factor: float, seed: int) -> None:
    for metric, (hit, shown, busy) in coverage(model, factor, seed).items():
        if model == "bursts" and metric == "p95":
            # A quarter of the runs wait 20-50% for a CPU, so nearly every benchmark has one such run:
            # its tails are not judged (rules version 3: on real runs beside CPU hogs, p95 moved x1.22-1.29
            # under +30% work), and the few rows that do show an interval must still cover.
            assert busy >= 0.8 * COMPARISONS * 30, (metric, busy)
            assert shown + busy >= 0.95 * COMPARISONS * 30, (metric, shown, busy)
            assert shown == 0 or hit / shown >= 0.9, (model, factor, metric, hit, shown)
            continue
        assert shown >= 0.95 * COMPARISONS * 30, (metric, shown)  # nearly every row shows an interval
        assert hit / shown >= 0.94, (model, factor, metric, hit, shown)


@pytest.mark.parametrize("model", ["hogs_one_side", "hogs_no_canary", "other_machine"])
def test_hogs_beside_one_side_or_another_machine_show_no_number_and_claim_nothing(model: str) -> None:
    rng = np.random.default_rng(3)
    for factor in (1.0, 1.2):
        base, head = simulate(rng, model, factor=factor)
        result = compare(base, head, CompareSettings())
        latency = [row for row in result.metric_comparisons() if row.unit == "seconds"]
        assert latency and all(math.isnan(row.ratio) and math.isnan(row.ci_low) for row in latency)
        assert {row.verdict for row in latency} == {"inconclusive"}
        expected = "one-side-busy" if model == "hogs_no_canary" else "not-comparable-speed"
        assert {row.reason_code for row in latency} == {expected}


def _uniform_side(rng: np.random.Generator, levels: np.ndarray, speed: float, canary: bool) -> ResultSet:
    benchmarks = tuple(
        BenchmarkResult(
            name=f"bench_{index}",
            runs=tuple(
                Run(
                    samples=level * speed * math.exp(rng.normal(0, 0.05)) * rng.lognormal(0, 0.05, 100),
                    canary_seconds=(CANARY * speed, CANARY * speed * 1.01) if canary else None,
                    canary_version=1 if canary else None,
                )
                for _ in range(5)
            ),
        )
        for index, level in enumerate(levels)
    )
    return ResultSet(benchmarks=benchmarks, environment=Environment(cpu_count=2))


def test_identical_code_at_half_machine_speed_recorded_with_the_canary_gets_no_verdict() -> None:
    rng = np.random.default_rng(4)
    levels = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), 8))
    result = compare(_uniform_side(rng, levels, 2.0, True), _uniform_side(rng, levels, 1.0, True))
    latency = [row for row in result.metric_comparisons() if row.unit == "seconds"]
    assert not [row for row in latency if row.verdict in ("regression", "improvement")]
    assert all(math.isnan(row.ratio) for row in latency)
    assert "latency not comparable" in result.headline


def test_a_suite_wide_uniform_shift_without_canary_is_flagged_as_a_machine_change() -> None:
    rng = np.random.default_rng(5)
    levels = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), 8))
    result = compare(_uniform_side(rng, levels, 2.0, False), _uniform_side(rng, levels, 1.0, False))
    assert "8 of 8 benchmarks moved the same way (median ×0.50)" in result.headline
    assert "looks like a machine change" in result.headline
    assert result.diagnostics.suite_shift is not None and result.diagnostics.suite_shift["moved"] == 8
    # one benchmark slower, the rest unchanged: a code change, not flagged
    head = _uniform_side(rng, levels, 1.0, False)
    slower = _uniform_side(rng, levels[:1], 1.5, False).benchmarks
    result = compare(_uniform_side(rng, levels, 1.0, False), ResultSet(benchmarks=slower + head.benchmarks[1:]))
    assert result.diagnostics.suite_shift is None and "machine change" not in result.headline
