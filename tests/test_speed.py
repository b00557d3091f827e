"""Machine speed: the canary rules (benchwatch.stats.speed, .covariate) in compare(), and simulations.

The simulated machine has *speed phases* like the ones the A/B harness met
on this 2-vCPU VM: each process run independently falls, with probability
``slow_share``, into a phase in which the CPU is 1.3-1.9x slower for the
whole run; the canary timed around the run sees the same phase (plus its
own few-percent noise).  Outside phases runs differ by a 2% run factor.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchwatch.compare import CompareSettings, compare
from benchwatch.compare.comparability import speed_check
from benchwatch.compare.rules import DEFAULT_RULES, CompareRules
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.stats.speed import side_speed_check, speed_warnings

CANARY = 5e-4


def run_with(canary: tuple[float, ...] | None, *, level: float = 1e-3, version: int | None = 1) -> Run:
    return Run(samples=np.full(20, level), canary_seconds=canary, canary_version=version if canary else None)


def side(*runs: Run, name: str = "bench") -> ResultSet:
    return ResultSet(benchmarks=(BenchmarkResult(name=name, runs=runs),), environment=Environment(cpu_count=2))


# -- units -------------------------------------------------------------------------------


def test_side_speeds_are_each_sides_median_canary():
    base = side(run_with((1e-3, 1e-3)), run_with((1e-3, 2e-3)), run_with((1e-3, 1e-3)))
    head = side(run_with((2e-3, 2e-3)), run_with((2e-3, 2e-3)))
    check = speed_check(base, head, DEFAULT_RULES, alternated=False)
    assert check is not None and check.base_runs == 3 and check.head_runs == 2
    assert check.base_seconds == pytest.approx(1e-3) and check.head_seconds == pytest.approx(2e-3)


@pytest.mark.parametrize(
    "base_runs, head_runs",
    [
        ((run_with((1e-3, 1e-3)), run_with(None)), (run_with((1e-3, 1e-3)),)),  # a run without canary
        ((run_with((1e-3, 1e-3)),), (run_with((1e-3, 1e-3), version=2),)),  # different canary code
    ],
)
def test_canaries_are_ignored_unless_every_run_has_the_same_kind(base_runs, head_runs):
    assert speed_check(side(*base_runs), side(*head_runs), DEFAULT_RULES, alternated=False) is None
    result = compare(side(*base_runs), side(*head_runs), CompareSettings())
    assert result.diagnostics.latency_test == "welch" and result.diagnostics.machine_speed is None


def test_sides_at_different_machine_speeds_are_warned_about():
    same = side_speed_check(np.log([1e-3]), np.log([1.05e-3]))
    slower = side_speed_check(np.log([1e-3]), np.log([1.3e-3]))
    assert speed_warnings(same) == [] and same.shared
    (warning,) = speed_warnings(slower)
    assert "1.30x" in warning and "machine" in warning and not slower.shared


def test_speeds_share_when_the_ranges_overlap_even_if_the_medians_differ():
    # interleaved runs on a machine switching states: both sides see both states
    base = np.log([1e-3, 1e-3, 1e-3, 1.6e-3, 1.6e-3])
    head = np.log([1e-3, 1.6e-3, 1.6e-3, 1.6e-3, 1.6e-3])
    check = side_speed_check(base, head)
    assert check.shared and check.ratio == pytest.approx(1.6)
    # a side recorded entirely at another speed shares nothing with the other
    assert not side_speed_check(base[:3], np.log([1.5e-3, 1.52e-3, 1.49e-3])).shared


def test_runs_whose_canary_moved_during_the_measurement_are_left_out():
    steady = [run_with((CANARY, CANARY * 1.02), level=1e-3 * f) for f in (1.0, 1.01, 0.99, 1.0)]
    switched = run_with((CANARY, CANARY * 1.6), level=1.3e-3)
    result = compare(side(*steady, switched), side(*steady), CompareSettings())
    assert result.diagnostics.latency_test == "speed-adjusted"
    assert any("1 run(s) of 1 benchmark(s) excluded: the machine changed speed" in w for w in result.warnings)
    (p50,) = [m for m in result.metric_comparisons() if m.metric == "p50"]
    assert p50.n_runs_base == 4 and p50.verdict == "unchanged"


def test_runs_that_all_changed_speed_are_kept_with_their_mean_canary():
    # C-heavy code barely follows the canary: its runs count even when the machine
    # changed speed during every one of them
    base = side(*[run_with((CANARY, CANARY * 1.5), level=1e-3 * f) for f in (1.0, 1.01, 0.99, 1.0, 1.0)])
    head = side(*[run_with((CANARY * 1.5, CANARY), level=1.2e-3 * f) for f in (1.0, 1.01, 0.99, 1.0, 1.0)])
    result = compare(base, head, CompareSettings())
    (p50,) = [m for m in result.metric_comparisons() if m.metric == "p50"]
    assert p50.n_runs_base == 5 and p50.n_runs_head == 5 and p50.verdict == "regression"
    assert not any("excluded" in warning for warning in result.warnings)


def test_one_side_slow_the_other_fast_is_not_comparable():
    # every base run in the fast state, every head run in the slow one: side and
    # speed cannot be told apart, so no number may be shown
    base = side(*[run_with((CANARY * f,) * 2, level=1e-3 * f) for f in (1.0, 1.01, 0.99, 1.02, 1.0)])
    head = side(*[run_with((CANARY * 1.5 * f,) * 2, level=1.5e-3 * f) for f in (1.0, 1.01, 0.99, 1.02, 1.0)])
    result = compare(base, head, CompareSettings())
    latency = [m for m in result.metric_comparisons() if m.unit == "seconds"]
    assert latency and all(m.reason_code == "not-comparable-speed" and math.isnan(m.ratio) for m in latency)
    assert result.verdict == "inconclusive" and result.diagnostics.latency_test == "not-comparable"
    assert "latency not comparable: base and head never ran at one machine speed" in result.headline
    assert "refresh the baseline on this machine" in result.headline
    assert any("machine speed differs between the sides" in warning for warning in result.warnings)


def test_a_slow_state_run_is_adjusted_for_not_flagged():
    # one base and one head run in the slow state; the rest fast: +20% is still clear
    def runs(level):
        return [run_with((CANARY * f,) * 2, level=level * f) for f in (1.0, 1.0, 1.6, 1.0, 1.0)]

    result = compare(side(*runs(1e-3)), side(*runs(1.2e-3)), CompareSettings())
    (p50,) = [m for m in result.metric_comparisons() if m.metric == "p50"]
    assert p50.verdict == "regression" and p50.ratio == pytest.approx(1.2)


# -- simulations -------------------------------------------------------------------------

N_BENCH, N_RUNS, N_SAMPLES = 16, 5, 100


def phased_side(
    rng, levels, *, factor=1.0, slow_share=0.2, canary=True, sensitivity=1.0, unseen_share=0.0
) -> ResultSet:
    """One side on a machine with speed phases (see the module doc); ``sensitivity`` scales
    how much a phase slows the benchmarks (0: not at all, as for memory-bound C code);
    ``unseen_share`` of runs are also slowed 1.2-1.6x by something the canary misses."""
    benchmarks = []
    for b, level in enumerate(levels):
        runs = []
        for _ in range(N_RUNS):
            phase = rng.uniform(1.3, 1.9) if rng.random() < slow_share else 1.0
            unseen = rng.uniform(1.2, 1.6) if rng.random() < unseen_share else 1.0
            run_factor = math.exp(rng.normal(0.0, 0.02)) * phase**sensitivity * unseen
            samples = level * factor * run_factor * rng.lognormal(0.0, 0.05, N_SAMPLES)
            timings = tuple(CANARY * phase * math.exp(rng.normal(0.0, 0.02)) for _ in range(2))
            runs.append(
                Run(samples=samples, canary_seconds=timings if canary else None, canary_version=1 if canary else None)
            )
        benchmarks.append(BenchmarkResult(name=f"bench_{b}", runs=tuple(runs)))
    return ResultSet(benchmarks=tuple(benchmarks), environment=Environment(cpu_count=2))


def flagged_share(seed, comparisons, *, factor, **options) -> tuple[int, int]:
    """(benchmarks with a gated p50/p95 regression, benchmarks compared)."""
    rng = np.random.default_rng(seed)
    flagged = total = 0
    for _ in range(comparisons):
        levels = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), N_BENCH))
        base = phased_side(rng, levels, **options)
        head = phased_side(rng, levels, factor=factor, **options)
        result = compare(base, head, CompareSettings())
        regressed = {m.benchmark for m in result.gated("regression") if m.metric in ("p50", "p95")}
        flagged += len(regressed)
        total += N_BENCH
    return flagged, total


def upper_bound(successes: int, trials: int) -> float:
    return float(scipy_stats.beta.ppf(0.99, successes + 1, trials - successes))


def lower_bound(successes: int, trials: int) -> float:
    return float(scipy_stats.beta.ppf(0.01, successes, trials - successes + 1)) if successes else 0.0


@pytest.mark.parametrize(
    "options",
    [
        {},  # interpreter-bound benchmarks: phases slow them as much as the canary
        {"sensitivity": 0.3},  # C-heavy benchmarks: phases barely touch them
        {"sensitivity": 0.0},  # the canary's phases do not matter to the benchmarks at all
        {"slow_share": 0.5},  # half of all runs in the slow phase
        {"unseen_share": 0.15},  # slowdowns the canary cannot see
    ],
)
def test_identical_code_on_a_phased_machine_stays_below_one_percent(options):
    flagged, total = flagged_share(11, 60, factor=1.0, **options)
    assert upper_bound(flagged, total) < 0.01, (flagged, total)


def test_twenty_percent_slowdown_is_caught_on_a_phased_machine():
    flagged, total = flagged_share(13, 30, factor=1.2)
    assert lower_bound(flagged, total) > 0.97, (flagged, total)
    # Slowdowns the canary cannot see are what is left: with 5% of runs hit,
    # such runs widen the interval and five runs cannot always tell
    # (inconclusive, never wrong).  Only gross outliers (>35% and 4 robust SDs
    # slower than the fit) are left out; milder ones stay, to keep coverage.
    flagged, total = flagged_share(13, 30, factor=1.2, unseen_share=0.05)
    assert lower_bound(flagged, total) > 0.65, (flagged, total)


def test_the_canary_is_what_rescues_detection_when_phases_are_common():
    with_canary = flagged_share(14, 30, factor=1.2, slow_share=0.3)
    without_canary = flagged_share(14, 30, factor=1.2, slow_share=0.3, canary=False)
    assert lower_bound(*with_canary) > 0.97, with_canary
    assert without_canary[0] / without_canary[1] < 0.88, without_canary


def test_five_percent_slowdown_on_a_phased_machine_is_rarely_a_ten_percent_regression():
    flagged, total = flagged_share(15, 30, factor=1.05, slow_share=0.3)
    assert upper_bound(flagged, total) < 0.05, (flagged, total)


def test_reports_say_which_test_made_the_intervals():
    from benchwatch.render.markdown_report import render_markdown
    from benchwatch.render.terminal import render_terminal

    steady = [run_with((CANARY, CANARY), level=1e-3 * f) for f in (1.0, 1.01, 0.99)]
    plain = [Run(samples=np.full(20, 1e-3 * f)) for f in (1.0, 1.01, 0.99)]
    adjusted = compare(side(*steady), side(*steady), CompareSettings())
    welch = compare(side(*plain), side(*plain), CompareSettings())
    for render in (render_terminal, render_markdown):
        assert "adjusted for machine speed" in render(adjusted)
        assert "Welch t on log per-run statistics" in render(welch)


def test_only_gross_outlier_runs_are_left_out_and_they_are_reported():
    steady = [run_with((CANARY, CANARY), level=1e-3 * f) for f in (1.0, 1.01, 0.99, 1.0)]
    mild = run_with((CANARY, CANARY), level=1.25e-3)  # within what run-to-run noise can do: kept
    result = compare(side(*steady, mild), side(*steady, steady[0]), CompareSettings())
    (p50,) = [m for m in result.metric_comparisons() if m.metric == "p50"]
    assert p50.n_runs_base == 5 and not result.exclusions
    gross = run_with((CANARY, CANARY), level=1.5e-3)  # 50% slower than its side, canary unmoved: contention
    result = compare(side(*steady, gross), side(*steady, steady[0]), CompareSettings())
    (p50,) = [m for m in result.metric_comparisons() if m.metric == "p50"]
    assert p50.n_runs_base == 4 and p50.verdict == "unchanged"
    assert any("base: 1 run(s) of 1 benchmark(s) excluded: far slower than the fit" in w for w in result.warnings)
    assert [(e.side, e.code) for e in result.exclusions] == [("base", "slow-residual")]
    # the ablation's switch turns the layer off
    kept = compare(
        side(*steady, gross), side(*steady, steady[0]), CompareSettings(), rules=CompareRules(drop_slow_residuals=False)
    )
    assert next(m for m in kept.metric_comparisons() if m.metric == "p50").n_runs_base == 5
