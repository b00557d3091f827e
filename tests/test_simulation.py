"""Simulated suites with process-level noise: false-alarm and detection rates.

The generator mimics a shared 2-core CI machine: every process run of a
benchmark gets a log-normal run factor (between-run sigma, default 0.08 -
per-run medians of identical code then differ by up to about +-20%, as we
measured), and within-run samples are log-normal with occasional Pareto
outliers (1% of samples, shape 2.5).  5 runs per side x 200 samples, 30
benchmarks per comparison.  All seeds are fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from noise_models import started_at
from scipy import stats as scipy_stats

from benchwatch.compare import CompareSettings, compare
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run

N_BENCH, N_RUNS, N_SAMPLES = 30, 5, 200
LATENCY = ("p50", "p95", "p99", "mean")


def simulate_side(
    rng: np.random.Generator,
    levels: np.ndarray,
    *,
    factor: float = 1.0,
    runs: int = N_RUNS,
    samples: int = N_SAMPLES,
    between_sigma: float = 0.08,
    preempted: float = 0.0,
    side: str = "base",
) -> ResultSet:
    """One side: per benchmark ``runs`` process runs of ``samples`` samples each, alternating with the other side."""
    shape = (len(levels), runs, samples)
    run_factor = np.exp(rng.normal(0.0, between_sigma, size=(len(levels), runs, 1)))
    within = rng.lognormal(0.0, 0.1, size=shape)
    outlier = rng.random(shape) < 0.01
    within = np.where(outlier, within * (1.0 + rng.pareto(2.5, size=shape) * 3.0), within)
    values = levels[:, None, None] * factor * run_factor * within
    wall = 10.0
    benchmarks = tuple(
        BenchmarkResult(
            name=f"bench_{b}",
            runs=tuple(
                Run(
                    samples=values[b, r],
                    wall_seconds=wall,
                    cpu_seconds=wall * (1 - preempted),
                    runqueue_wait_seconds=wall * preempted,
                    load_average=0.5,
                    started_at=started_at(side, r),
                )
                for r in range(runs)
            ),
        )
        for b in range(len(levels))
    )
    return ResultSet(benchmarks=benchmarks, environment=Environment(cpu_count=2))


def run_scenario(seed: int, comparisons: int, *, head_factor: float = 1.0, **side_options):
    """Verdict lists per metric over many simulated comparisons (plus the raw sides for extra checks)."""
    rng = np.random.default_rng(seed)
    verdicts: dict[str, list[str]] = {m: [] for m in LATENCY}
    gated: list[str] = []
    pairs = []
    head_options = dict(side_options)
    base_options = {k: v for k, v in side_options.items() if k != "preempted"}
    for _ in range(comparisons):
        levels = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), N_BENCH))
        base = simulate_side(rng, levels, **base_options)
        head = simulate_side(rng, levels, factor=head_factor, side="head", **head_options)
        result = compare(base, head, CompareSettings())
        for metric in result.metric_comparisons():
            if metric.metric in verdicts:
                verdicts[metric.metric].append(metric.verdict)
                if metric.gated:
                    gated.append(metric.verdict)
        pairs.append((base, head))
    return verdicts, gated, pairs


def rate(verdicts: list[str], verdict: str) -> tuple[int, int]:
    return sum(v == verdict for v in verdicts), len(verdicts)


def clopper_pearson_upper(successes: int, trials: int, confidence: float = 0.99) -> float:
    """One-sided upper confidence bound of a binomial proportion."""
    return scipy_stats.binomtest(successes, trials).proportion_ci(confidence_level=2 * confidence - 1).high


@pytest.fixture(scope="module")
def identical():
    return run_scenario(seed=11, comparisons=120)


def test_identical_code_false_alarms_below_one_percent(identical):
    verdicts, gated, _ = identical
    all_latency = [v for metric in LATENCY for v in verdicts[metric]]
    alarms, total = rate(all_latency, "regression")
    assert total == 120 * N_BENCH * len(LATENCY)
    # The whole 99% one-sided upper bound must lie below 1%, not just the point estimate.
    assert clopper_pearson_upper(alarms, total) < 0.01, (alarms, total)
    assert rate(gated, "regression")[0] / len(gated) < 0.01


def test_naive_pooled_mann_whitney_would_false_alarm_often(identical):
    """Treating samples as independent (pooled Mann-Whitney, p < 0.05 and 10% median shift) fails often."""
    _, _, pairs = identical
    alarms = total = 0
    for base, head in pairs[:20]:
        for b, h in zip(base.benchmarks, head.benchmarks, strict=False):
            pooled_b, pooled_h = b.pooled_samples(), h.pooled_samples()
            p = scipy_stats.mannwhitneyu(pooled_h, pooled_b, alternative="two-sided").pvalue
            total += 1
            alarms += p < 0.05 and np.median(pooled_h) > np.median(pooled_b)
    assert alarms / total > 0.05, alarms / total


def test_real_twenty_percent_slowdown_detected():
    # Between-run sigma 0.05 (a quieter machine): with 5 runs per side the
    # standard error of the log ratio is 0.05 * sqrt(2/5) = 0.032, so a
    # +20% change (log 0.18) sits ~2.7 standard errors beyond the +10% line.
    verdicts, gated, _ = run_scenario(seed=12, comparisons=20, head_factor=1.2, between_sigma=0.05)
    hits, total = rate(gated, "regression")
    assert hits / total >= 0.95, hits / total
    assert rate(verdicts["p50"], "regression")[0] / len(verdicts["p50"]) >= 0.95


def test_fifty_percent_slowdown_detected_at_default_noise():
    _verdicts, gated, _ = run_scenario(seed=13, comparisons=10, head_factor=1.5)
    hits, total = rate(gated, "regression")
    assert hits / total >= 0.99, hits / total


def test_five_percent_slowdown_rarely_reported_as_ten_percent_regression():
    verdicts, _gated, _ = run_scenario(seed=14, comparisons=30, head_factor=1.05, between_sigma=0.05)
    all_latency = [v for metric in LATENCY for v in verdicts[metric]]
    hits, total = rate(all_latency, "regression")
    assert hits / total <= 0.05, hits / total


def test_one_run_per_side_never_regression():
    verdicts, _gated, _ = run_scenario(seed=15, comparisons=10, head_factor=1.5, runs=1)
    all_latency = [v for metric in LATENCY for v in verdicts[metric]]
    assert "regression" not in all_latency
    assert set(all_latency) == {"inconclusive"}


def test_disturbed_head_side_gives_no_regressions():
    """Head runs beside CPU hogs: 30% of run time waiting for a CPU, and samples 30% slower."""
    verdicts, _gated, _ = run_scenario(seed=16, comparisons=10, head_factor=1.3, preempted=0.3)
    all_latency = [v for metric in LATENCY for v in verdicts[metric]]
    assert "regression" not in all_latency
    assert "improvement" not in all_latency
    assert rate(all_latency, "inconclusive")[0] > 0.9 * len(all_latency)
