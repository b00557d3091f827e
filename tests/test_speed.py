"""The machine-speed canary rule (benchwatch.stats.speed): units, and simulations of its error rates.

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
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.stats.speed import (
    OFF_SPEED_LOG,
    SpeedReference,
    drop_off_speed_runs,
    usual_speed,
    speed_warnings,
)

CANARY = 5e-4


def run_with(canary: tuple[float, ...] | None, *, level: float = 1e-3, version: int | None = 1) -> Run:
    return Run(samples=np.full(20, level), canary_seconds=canary, canary_version=version if canary else None)


def side(*runs: Run, name: str = "bench") -> ResultSet:
    return ResultSet(benchmarks=(BenchmarkResult(name=name, runs=runs),), environment=Environment(cpu_count=2))


# -- units -------------------------------------------------------------------------------


def test_off_speed_runs_are_dropped_by_their_canary_alone():
    reference = SpeedReference(log_seconds=math.log(CANARY), runs=10)
    calm = [run_with((CANARY, CANARY * 1.02)) for _ in range(3)]
    slow_after = run_with((CANARY, CANARY * 1.5))
    fast_before = run_with((CANARY * 0.8, CANARY))
    kept, dropped, short = drop_off_speed_runs([*calm, slow_after, fast_before], reference)
    assert dropped == 2 and kept == tuple(calm) and short is None


def test_the_limit_is_the_documented_one():
    reference = SpeedReference(log_seconds=math.log(CANARY), runs=10)
    inside = run_with((CANARY * math.exp(OFF_SPEED_LOG * 0.99),) * 2)
    outside = run_with((CANARY * math.exp(OFF_SPEED_LOG * 1.01),) * 2)
    kept, dropped, _ = drop_off_speed_runs([inside, inside, outside], reference)
    assert dropped == 1 and outside not in kept


def test_at_least_two_runs_are_kept_least_off_speed_first_and_the_side_is_disturbed():
    reference = SpeedReference(log_seconds=math.log(CANARY), runs=10)
    runs = [run_with((CANARY * factor,) * 2) for factor in (1.9, 1.3, 1.6, 1.25, 1.0)]
    kept, dropped, short = drop_off_speed_runs(runs, reference)
    assert dropped == 3 and kept == (runs[3], runs[4])  # original order kept
    assert short == "only 1 of 5 runs at the machine's usual speed (benchwatch's canary off by more than 12%)"


def test_a_side_short_of_on_speed_runs_calls_no_regression():
    base = side(*[run_with((CANARY, CANARY), level=1e-3) for _ in range(5)])
    # the machine's speed wandered during head: only its middle run was at the usual speed
    head = side(*[run_with((CANARY * f,) * 2, level=1.5e-3 * f) for f in (0.5, 0.75, 1.0, 1.35, 1.8)])
    result = compare(base, head, CompareSettings())
    (p50,) = [m for m in result.metric_comparisons() if m.metric == "p50"]
    assert p50.verdict == "inconclusive"
    diagnostics = result.benchmarks[0].head_diagnostics
    assert diagnostics.disturbed and "only 1 of 5 runs at the machine's usual speed" in diagnostics.reasons[0]


def test_sides_at_different_machine_speeds_call_no_regression():
    base = side(*[run_with((CANARY, CANARY), level=1e-3) for _ in range(5)])
    head = side(*[run_with((CANARY * 1.6,) * 2, level=1.6e-3) for _ in range(5)])
    result = compare(base, head, CompareSettings())
    (p50,) = [m for m in result.metric_comparisons() if m.metric == "p50"]
    assert p50.verdict == "inconclusive" and "usual speed" in p50.reason
    assert any("machine speed differs between the sides" in warning for warning in result.warnings)


def test_without_a_reference_nothing_is_dropped():
    runs = [run_with((CANARY * 3, CANARY)) for _ in range(3)]
    assert drop_off_speed_runs(runs, None) == (tuple(runs), 0, None)


def test_usual_speed_is_the_window_holding_most_runs_of_both_sides():
    # base: three runs near 1.0 ms, one at 2.0; head: two near 1.0, three near 1.5
    base = side(*[run_with((1e-3 * f, 1e-3 * f)) for f in (1.0, 1.02, 0.99)], run_with((2e-3, 2e-3)))
    head = side(*[run_with((1e-3 * f, 1e-3 * f)) for f in (1.01, 1.0, 1.5, 1.52, 1.49)])
    check = usual_speed(base, head)
    assert check is not None and check.usual.runs == 5
    assert abs(check.usual.log_seconds - math.log(1e-3)) < OFF_SPEED_LOG
    assert check.base_median.seconds == pytest.approx(1.01e-3, rel=0.01)
    assert check.head_median.seconds == pytest.approx(1.49e-3, rel=0.01)


def test_usual_speed_follows_the_machine_into_a_long_slow_phase():
    # most runs of both sides in the slow phase: compare them there, not against the few fast ones
    slow = [run_with((1.5e-3, 1.5e-3)) for _ in range(4)]
    fast = run_with((1e-3, 1e-3))
    check = usual_speed(side(*slow, fast), side(fast, *slow))
    assert check.usual.runs == 8 and abs(check.usual.log_seconds - math.log(1.5e-3)) < OFF_SPEED_LOG


def test_on_a_tie_the_faster_window_wins():
    check = usual_speed(side(run_with((1e-3, 1e-3)), run_with((1e-3, 1e-3))),
                        side(run_with((2e-3, 2e-3)), run_with((2e-3, 2e-3))))  # fmt: skip
    assert check.usual.runs == 2 and abs(check.usual.log_seconds - math.log(1e-3)) < OFF_SPEED_LOG


def test_runs_whose_two_timings_disagree_widely_never_count():
    wandering = run_with((1e-3, 2e-3))
    check = usual_speed(side(wandering, run_with((1e-3, 1e-3))), side(wandering))
    assert check.usual.runs == 1


@pytest.mark.parametrize(
    "base_runs, head_runs",
    [
        ((run_with((1e-3, 1e-3)), run_with(None)), (run_with((1e-3, 1e-3)),)),  # a run without canary
        ((run_with((1e-3, 1e-3)),), (run_with((1e-3, 1e-3), version=2),)),  # different canary code
    ],
)
def test_canaries_are_ignored_unless_every_run_has_the_same_kind(base_runs, head_runs):
    assert usual_speed(side(*base_runs), side(*head_runs)) is None


def test_sides_at_different_machine_speeds_are_warned_about():
    same = usual_speed(side(run_with((1e-3, 1e-3))), side(run_with((1.05e-3, 1.05e-3))))
    slower = usual_speed(side(run_with((1e-3, 1e-3))), side(run_with((1.3e-3, 1.3e-3))))
    assert speed_warnings(same) == []
    (warning,) = speed_warnings(slower)
    assert "1.30x" in warning and "machine" in warning


def test_compare_reports_the_off_speed_exclusions():
    calm = [run_with((CANARY, CANARY), level=1e-3 * f) for f in (1.0, 1.01, 0.99, 1.0)]
    phase = run_with((CANARY * 1.6, CANARY * 1.6), level=1.6e-3)
    result = compare(side(*calm, phase), side(*calm), CompareSettings())
    assert any("1 run(s) of 1 benchmark(s) excluded: benchwatch's canary" in w for w in result.warnings)
    (p50,) = [m for m in result.metric_comparisons() if m.metric == "p50"]
    assert p50.verdict == "unchanged"


# -- simulations -------------------------------------------------------------------------

N_BENCH, N_RUNS, N_SAMPLES = 16, 5, 100


def phased_side(rng, levels, *, factor=1.0, slow_share=0.2, canary=True, sensitivity=1.0) -> ResultSet:
    """One side on a machine with speed phases (see the module doc); ``sensitivity`` scales
    how much a phase slows the benchmarks (0: not at all, as for memory-bound C code)."""
    benchmarks = []
    for b, level in enumerate(levels):
        runs = []
        for _ in range(N_RUNS):
            phase = rng.uniform(1.3, 1.9) if rng.random() < slow_share else 1.0
            run_factor = math.exp(rng.normal(0.0, 0.02)) * phase**sensitivity
            samples = level * factor * run_factor * rng.lognormal(0.0, 0.05, N_SAMPLES)
            timings = tuple(CANARY * phase * math.exp(rng.normal(0.0, 0.02)) for _ in range(2))
            runs.append(Run(samples=samples, canary_seconds=timings if canary else None,
                            canary_version=1 if canary else None))  # fmt: skip
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


def test_identical_code_on_a_phased_machine_stays_below_one_percent():
    flagged, total = flagged_share(11, 50, factor=1.0)
    assert upper_bound(flagged, total) < 0.01 or flagged / total < 0.005, (flagged, total)


def test_canary_that_does_not_match_the_benchmarks_cannot_raise_false_alarms():
    # Phases slow the canary but not these benchmarks: dropping runs by canary
    # is then a random thinning, and the false-alarm rate must not move.
    flagged, total = flagged_share(12, 50, factor=1.0, sensitivity=0.0)
    assert flagged / total < 0.005, (flagged, total)


def test_twenty_percent_slowdown_is_caught_on_a_phased_machine():
    flagged, total = flagged_share(13, 30, factor=1.2)
    assert lower_bound(flagged, total) > 0.95, (flagged, total)


def test_the_canary_is_what_rescues_detection_when_phases_are_common():
    with_canary = flagged_share(14, 30, factor=1.2, slow_share=0.3)
    without_canary = flagged_share(14, 30, factor=1.2, slow_share=0.3, canary=False)
    assert with_canary[0] / with_canary[1] > 0.92, with_canary
    assert without_canary[0] / without_canary[1] < 0.88, without_canary


def test_five_percent_slowdown_on_a_phased_machine_is_rarely_a_ten_percent_regression():
    flagged, total = flagged_share(15, 30, factor=1.05, slow_share=0.3)
    assert upper_bound(flagged, total) < 0.05, (flagged, total)
