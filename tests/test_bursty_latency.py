"""Latency under load that comes and goes (rules version 5, issue 25).

* interleaved sides share the machine's speed by construction: checked by
  neighbouring runs, never "not comparable" for compare-refs;
* files without machine evidence whose whole suite moved by one factor get
  no latency estimate, and the headline names the factor;
* where runs waited for a CPU, the contention-adjusted fit (side + CPU wait,
  one-sided slope) keeps its coverage and finds a +20% change;
* the headline leads with what was found.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
from noise_models import simulate, started_at

from benchwatch.compare import CompareSettings, compare
from benchwatch.compare.comparability import interleaved
from benchwatch.compare.rules import DEFAULT_RULES
from benchwatch.compare.suite import findings
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.model import BenchmarkResult, ResultSet, Run
from benchwatch.refs.sequential import stop_note
from benchwatch.stats.covariate import fit_rows
from benchwatch.stats.latency_tests import METHOD_CONTENTION_ADJUSTED

CANARY = 3e-4


def _side(
    rng: np.random.Generator,
    label: str,
    *,
    canary: list[float],
    factor: float = 1.0,
    source: str = "benchwatch compare-refs",
    waits: list[float] | None = None,
    names: tuple[str, ...] = ("bench_a", "bench_b"),
) -> ResultSet:
    benchmarks = []
    for index, name in enumerate(names):
        runs = []
        for r, speed in enumerate(canary):
            wait = waits[r] if waits else 0.0
            level = 1e-3 * (1 + index) * factor * speed / (1 - wait) * math.exp(rng.normal(0, 0.01))
            runs.append(
                Run(
                    samples=level * rng.lognormal(0, 0.03, 200),
                    wall_seconds=10.0,
                    cpu_seconds=10.0 * (1 - wait),
                    runqueue_wait_seconds=10.0 * wait,
                    canary_seconds=(CANARY * speed, CANARY * speed),
                    canary_version=1,
                    started_at=started_at(label, r),
                )
            )
        benchmarks.append(BenchmarkResult(name=name, runs=tuple(runs)))
    return ResultSet(benchmarks=tuple(benchmarks), source=source)


def test_compare_refs_sides_that_drew_different_machine_states_stay_comparable() -> None:
    """Under load that comes and goes one side can draw the slow states: the range rule said "not comparable"."""
    rng = np.random.default_rng(1)
    base = _side(rng, "base", canary=[1.0, 1.0, 1.02, 1.0, 1.01])
    head = _side(rng, "head", canary=[1.3, 1.25, 1.35, 1.3, 1.28])
    result = compare(base, head)
    assert result.diagnostics.comparability["comparable"]
    assert not [m for m in result.metric_comparisons() if m.reason_code == ReasonCode.NOT_COMPARABLE_SPEED]
    old = compare(base, head, rules=dataclasses.replace(DEFAULT_RULES, pair_interleaved=False))
    assert not old.diagnostics.comparability["comparable"]


def test_alternating_files_with_load_beside_one_side_in_every_pair_are_not_comparable() -> None:
    rng = np.random.default_rng(2)
    base = _side(rng, "base", canary=[1.0] * 5, source="pytest-benchmark")
    head = _side(rng, "head", canary=[1.5] * 5, source="pytest-benchmark")
    assert interleaved(base, head)
    result = compare(base, head)
    assert "load ran beside one side only" in result.diagnostics.comparability["detail"]
    # one pair the other way: shared load, comparable
    mixed = _side(rng, "head", canary=[1.5, 1.5, 0.95, 1.5, 1.5], source="pytest-benchmark")
    assert compare(base, mixed).diagnostics.comparability["comparable"]


def test_files_recorded_one_side_after_the_other_are_not_interleaved() -> None:
    rng = np.random.default_rng(3)
    base = _side(rng, "base", canary=[1.0] * 3, source="pytest-benchmark")
    head = _side(rng, "head", canary=[1.0] * 3, source="pytest-benchmark")
    later = dataclasses.replace(
        head,
        benchmarks=tuple(
            dataclasses.replace(
                b,
                runs=tuple(
                    dataclasses.replace(run, started_at="2026-12-03T00:00:0" + str(k)) for k, run in enumerate(b.runs)
                ),
            )
            for b in head.benchmarks
        ),
    )
    assert interleaved(base, head) and not interleaved(base, later)


def test_identical_code_at_half_machine_speed_without_machine_evidence_gets_no_latency_verdict() -> None:
    """Plain files, base at half speed: ≤ 1% of latency rows with any verdict, the headline names the factor."""
    rng = np.random.default_rng(5)
    rows = decided = 0
    for _ in range(5):
        base, head = simulate(rng, "half_speed_no_canary", benchmarks=30)
        result = compare(base, head)
        latency = [m for m in result.metric_comparisons() if m.unit == "seconds"]
        rows += len(latency)
        decided += sum(m.verdict != Verdict.INCONCLUSIVE for m in latency)
        assert all(math.isnan(m.ratio) for m in latency)
        assert re.search(r"30 of 30 benchmarks moved the same way \(median ×0\.(49|50|51)\)", result.headline)
        assert "another machine, or load beside one side" in result.headline
    assert rows == 5 * 30 * 4 and decided <= 0.01 * rows
    trusted = compare(base, head, CompareSettings(assume_same_machine=True))
    assert any(m.verdict == Verdict.IMPROVEMENT for m in trusted.gated())


def test_a_real_suite_wide_change_measured_interleaved_keeps_its_verdicts() -> None:
    rng = np.random.default_rng(6)
    base, head = simulate(rng, "lognormal", factor=1.5, benchmarks=10)
    assert interleaved(base, head)
    assert compare(base, head).verdict == Verdict.REGRESSION


def _bursty(factor: float, comparisons: int, seed: int, rules=DEFAULT_RULES):
    rng = np.random.default_rng(seed)
    for _ in range(comparisons):
        base, head = simulate(rng, "bursty", factor=factor)
        yield compare(base, head, rules=rules)


@pytest.mark.slow
def test_bursty_load_identical_code_no_false_verdicts_and_intervals_cover() -> None:
    regressions = improvements = total = covered = shown = 0
    for result in _bursty(1.0, 20, 11):
        assert result.diagnostics.latency_test == METHOD_CONTENTION_ADJUSTED
        for m in result.gated():
            if m.metric in ("p50", "p95"):
                total += 1
                regressions += m.verdict == Verdict.REGRESSION
                improvements += m.verdict == Verdict.IMPROVEMENT
                if math.isfinite(m.ci_low):
                    shown += 1
                    covered += m.ci_low <= 1.0 <= m.ci_high
    assert regressions <= 0.01 * total and improvements <= 0.01 * total
    assert shown >= 500 and covered / shown >= 0.94, (covered, shown)


@pytest.mark.slow
def test_bursty_load_twenty_percent_is_found_where_the_plain_model_misses_it() -> None:
    def found(rules) -> float:
        hits = benchmarks = 0
        for result in _bursty(1.2, 8, 12, rules):
            benchmarks += sum(b.status == "compared" for b in result.benchmarks)
            hits += len({m.benchmark for m in result.gated("regression") if m.metric in ("p50", "p95")})
        return hits / benchmarks

    adjusted, plain = found(DEFAULT_RULES), found(dataclasses.replace(DEFAULT_RULES, contention_adjust=False))
    assert adjusted >= 0.8 and adjusted > plain + 0.3, (adjusted, plain)


def test_the_wait_slope_is_one_sided() -> None:
    """A fitted slope below zero (runs that waited ran faster) is not used: waiting cannot save time."""
    base, head = np.array([[0.0, 0.1, 0.2, 0.3, 0.4]]), np.array([[0.5, 0.6, 0.7, 0.8, 0.9]])
    negative = np.array([[0.4, 0.3, 0.2, 0.1, 0.0]])
    fits = fit_rows(base, head, negative, negative, one_sided=True)
    plain = fit_rows(base, head, np.zeros((1, 5)), np.zeros((1, 5)))
    assert math.isnan(fits.slope[0]) and fits.estimate[0] == pytest.approx(plain.estimate[0])
    assert fit_rows(base, head, negative, negative).slope[0] == pytest.approx(-1.0)


def test_the_headline_leads_with_what_was_found() -> None:
    rng = np.random.default_rng(7)
    names = tuple(f"bench_{k}" for k in range(6))
    waits = [0.0, 0.0, 0.12, 0.0, 0.0]
    base = _side(rng, "base", canary=[1.0] * 5, names=names)
    head_runs = _side(rng, "head", canary=[1.0] * 5, names=names, waits=waits)
    faster = {"bench_0": 0.51, "bench_1": 0.65}
    head = dataclasses.replace(
        head_runs,
        benchmarks=tuple(
            dataclasses.replace(
                b,
                runs=tuple(dataclasses.replace(r, samples=r.samples * faster.get(b.name, 1.0)) for r in b.runs),
            )
            for b in head_runs.benchmarks
        ),
    )
    result = compare(base, head)
    assert result.verdict == Verdict.INCONCLUSIVE  # honest: the p95 rows were not judged
    assert result.headline.startswith("2 improvements (−50%, −36%) · 4 unchanged · p95 not judged: machine busy")
    assert findings(result.benchmarks) in result.headline


def test_the_stop_note_does_not_call_inconclusive_rows_verdicts() -> None:
    rng = np.random.default_rng(8)
    quiet = compare(_side(rng, "base", canary=[1.0] * 5), _side(rng, "head", canary=[1.0] * 5))
    assert stop_note(quiet.benchmarks, ("p50", "p95")) == "every benchmark has a verdict"
    busy = compare(
        _side(rng, "base", canary=[1.0] * 5), _side(rng, "head", canary=[1.0] * 5, waits=[0.0, 0.12, 0, 0, 0])
    )
    note = stop_note(busy.benchmarks, ("p50", "p95"))
    assert note.startswith("2 of 4 gated rows have a verdict; 2 stay inconclusive") and "machine-busy" in note
