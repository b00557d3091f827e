"""Latency that moved suite-wide while instruction counts stayed put is the machine's, not the code's.

The case this guards: a main job against a stored baseline, on the same
machine class, at load 1-2: every benchmark 10-20% slower, the canary only
9%, every instruction count within 0.5% (12 false gated regressions before).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from benchwatch.compare import CompareSettings, compare
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.model import BenchmarkResult, InstructionRun, ResultSet, Run

FINGERPRINT = {
    "machine": "x86_64",
    "python_implementation": "CPython",
    "python_version": "3.11.7",
    "python_build": "main",
    "hash_seed": "0",
    "packages": {},
    "valgrind": "valgrind-3.19.0",
}
NAMES = [f"bench_{k}" for k in range(8)]
COUNTS = 50_000_000


def suite(
    seed: int, *, slower: dict[str, float], count_factor: dict[str, float] | None = None, counts: bool = True
) -> ResultSet:
    """5 process runs per benchmark (run-level noise 2%); ``slower`` scales a benchmark's latency."""
    rng = np.random.default_rng(seed)
    count_factor = count_factor or {}
    benchmarks = []
    for k, name in enumerate(NAMES):
        scale = 1e-3 * (1 + k) * slower.get(name, 1.0)
        runs = tuple(Run(samples=scale * math.exp(rng.normal(0, 0.02)) * rng.lognormal(0, 0.03, 200)) for _ in range(5))
        per_call = round(COUNTS * (1 + k) * count_factor.get(name, 1.0))
        instruction_runs = tuple(InstructionRun(instructions=(per_call,)) for _ in range(2)) if counts else ()
        benchmarks.append(BenchmarkResult(name=name, runs=runs, instruction_runs=instruction_runs))
    return ResultSet(benchmarks=tuple(benchmarks), count_fingerprint=FINGERPRINT if counts else {})


def rows(comparison, metric: str):
    return [m for m in comparison.metric_comparisons() if m.metric == metric]


def test_a_suite_wide_slowdown_with_unchanged_counts_is_not_called_a_regression():
    base = suite(1, slower={})
    head = suite(2, slower=dict.fromkeys(NAMES, 1.15))
    comparison = compare(base, head)
    assert comparison.verdict == Verdict.UNCHANGED  # the instruction counts decide
    for row in rows(comparison, "p50"):
        assert row.verdict == Verdict.INCONCLUSIVE and row.reason_code == ReasonCode.NOT_COMPARABLE_SPEED
        assert math.isnan(row.ratio) and math.isnan(row.ci_low) and math.isnan(row.ci_high)
    assert all(row.verdict == Verdict.UNCHANGED for row in rows(comparison, "instructions"))
    assert "latency not compared" in comparison.headline
    assert f"{len(NAMES)} of {len(NAMES)} benchmarks whose instruction counts did not move ran slower" in (
        comparison.headline
    )


def test_interleaved_sides_keep_their_latency_verdicts():
    """compare-refs runs the sides interleaved on one machine: a suite-wide shift there is the code's."""
    base = dataclasses.replace(suite(1, slower={}), source="benchwatch compare-refs")
    head = dataclasses.replace(suite(2, slower=dict.fromkeys(NAMES, 1.15)), source="benchwatch compare-refs")
    comparison = compare(base, head)
    assert comparison.verdict == Verdict.REGRESSION
    assert "latency not compared" not in comparison.headline


def test_without_counts_the_uniform_shift_rule_takes_over():
    """No counts, no canary, not interleaved: the suite-wide factor alone makes latency not comparable
    (rules version 5); --assume-same-machine gives the latency model's verdicts back."""
    base = suite(1, slower={}, counts=False)
    head = suite(2, slower=dict.fromkeys(NAMES, 1.15), counts=False)
    comparison = compare(base, head)
    assert comparison.verdict == Verdict.INCONCLUSIVE
    assert all(row.reason_code == ReasonCode.NOT_COMPARABLE_SPEED for row in rows(comparison, "p50"))
    assert "latency not compared" not in comparison.headline
    assert f"{len(NAMES)} of {len(NAMES)} benchmarks moved the same way (median ×1.1" in comparison.headline
    assert "--assume-same-machine" in comparison.headline
    trusted = compare(base, head, CompareSettings(assume_same_machine=True))
    assert trusted.verdict == Verdict.REGRESSION


def test_a_suite_wide_slowdown_that_executes_more_instructions_is_a_regression():
    base = suite(1, slower={})
    head = suite(2, slower=dict.fromkeys(NAMES, 1.15), count_factor=dict.fromkeys(NAMES, 1.15))
    comparison = compare(base, head)
    assert comparison.verdict == Verdict.REGRESSION
    assert all(row.verdict == Verdict.REGRESSION for row in rows(comparison, "p50"))
    assert "latency not compared" not in comparison.headline


def test_one_slower_benchmark_among_unmoved_ones_is_still_a_latency_regression():
    """A sleep or a lock added on one path executes no more instructions: latency must still catch it."""
    base = suite(1, slower={})
    head = suite(2, slower={"bench_3": 1.3})
    comparison = compare(base, head)
    [row] = [m for m in rows(comparison, "p50") if m.benchmark == "bench_3"]
    assert row.verdict == Verdict.REGRESSION and row.reason_code == ReasonCode.DECIDED
    assert comparison.verdict == Verdict.REGRESSION


def test_identical_code_rarely_trips_the_rule():
    """On independent noise the signs agree on 80% of 8 benchmarks by chance ~7% of the time, and then the
    rule needs a latency verdict that way too: over 200 identical-code comparisons it changes nothing."""
    tripped = 0
    for seed in range(200):
        comparison = compare(suite(2 * seed, slower={}), suite(2 * seed + 1, slower={}))
        tripped += "latency not compared" in comparison.headline
        assert comparison.verdict == Verdict.UNCHANGED
    assert tripped == 0
