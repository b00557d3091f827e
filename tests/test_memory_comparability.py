"""peak_rss depends on the machine: across machine classes it is not comparable, memray's figures still decide.

The case from the main job: identical code against a baseline recorded
elsewhere gave gated peak_rss "regressions" of +12-14% while memray's
peak_memory and allocations matched to 0.0%.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchwatch.compare import compare
from benchwatch.compare.settings import CompareSettings
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run

XEON = "Intel(R) Xeon(R) Processor"
EPYC = "AMD EPYC 7763 64-Core Processor"


def side(rss_factor: float, cpu_model: str, rng: np.random.Generator, peak_factor: float = 1.0) -> ResultSet:
    runs = tuple(
        Run(
            samples=1e-3 * rng.lognormal(0, 0.02, 200),
            memory=MemoryProfile(
                peak_bytes=int(8 * 2**20 * peak_factor),
                allocations=1200,
                rss_peak_bytes=int(12 * 2**20 * rss_factor * (1 + 0.002 * i)),
            ),
        )
        for i in range(5)
    )
    environment = Environment(cpu_model=cpu_model, cpu_count=2, python_version="3.11.7")
    return ResultSet(benchmarks=(BenchmarkResult(name="sync", runs=runs),), environment=environment)


def rows(result):
    return {m.metric: m for m in result.metric_comparisons()}


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def test_peak_rss_13_percent_higher_on_another_machine_is_not_comparable_and_not_a_regression(rng):
    result = compare(side(1.0, EPYC, rng), side(1.13, XEON, rng))
    rss = rows(result)["peak_rss"]
    assert rss.verdict == "inconclusive" and rss.reason_code == "not-comparable-machine"
    assert math.isnan(rss.ratio) and math.isnan(rss.ci_low) and math.isnan(rss.ci_high)
    assert "cpu_model" in rss.reason and "depends on the machine" in rss.reason
    assert rss.base_value == pytest.approx(12 * 2**20, rel=0.01)  # the raw figures are still shown
    # memray's figures are judged and decide: the suite is not a regression
    assert rows(result)["peak_memory"].verdict == "unchanged"
    assert rows(result)["allocations"].verdict == "unchanged"
    assert result.verdict != "regression" and result.exit_code() != 1


def test_the_same_rise_on_the_same_machine_is_a_regression_when_memray_sees_it_too(rng):
    result = compare(side(1.0, XEON, rng), side(1.13, XEON, rng, peak_factor=1.13))
    rss = rows(result)["peak_rss"]
    assert rss.verdict == "regression" and rss.reason_code == "decided" and rss.ratio == pytest.approx(1.13, rel=0.01)
    assert result.verdict == "regression"


def test_a_rise_of_peak_rss_alone_within_twice_the_tolerance_is_not_a_regression(rng):
    """Rules version 5: memray's peak and allocations unchanged, so +13% of the resident set is not enough."""
    result = compare(side(1.0, XEON, rng), side(1.13, XEON, rng))
    rss = rows(result)["peak_rss"]
    assert rss.verdict == "inconclusive" and rss.reason_code == "rss-only" and "2 x the tolerance" in rss.reason
    assert rss.ratio == pytest.approx(1.13, rel=0.01)  # judged: the estimate stays
    assert result.verdict != "regression" and result.exit_code() == 0
    assert "— peak_rss moved on sync while memray's peak and allocations did not" in result.headline
    beyond = compare(side(1.0, XEON, rng), side(1.25, XEON, rng))
    assert rows(beyond)["peak_rss"].verdict == "regression"


def test_memray_still_catches_a_real_growth_across_machines(rng):
    result = compare(side(1.0, EPYC, rng), side(1.5, XEON, rng, peak_factor=1.5))
    assert rows(result)["peak_rss"].reason_code == "not-comparable-machine"
    assert rows(result)["peak_memory"].verdict == "regression"
    assert result.verdict == "regression"


def test_without_memray_figures_a_not_comparable_peak_rss_leaves_the_suite_inconclusive_and_says_why(rng):
    def strip(result: ResultSet) -> ResultSet:
        benchmark = result.benchmarks[0]

        def rss_only(run: Run) -> Run:
            assert run.memory is not None
            return Run(samples=run.samples, memory=MemoryProfile(0, 0, rss_peak_bytes=run.memory.rss_peak_bytes))

        runs = tuple(rss_only(run) for run in benchmark.runs)
        return ResultSet(benchmarks=(BenchmarkResult(name="sync", runs=runs),), environment=result.environment)

    result = compare(
        strip(side(1.0, EPYC, rng)), strip(side(1.13, XEON, rng)), CompareSettings(gating_metrics=("peak_rss",))
    )
    assert result.verdict == "inconclusive"
    assert "peak_rss not comparable: base and head ran on different machines" in result.headline
    assert "memray's peak_memory" in result.headline
