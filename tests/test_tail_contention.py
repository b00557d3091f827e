"""Tails are not judged for a benchmark one of whose runs waited for a CPU (rules version 3)."""

from __future__ import annotations

import math

import numpy as np

from benchwatch.compare import compare
from benchwatch.compare.rules import DEFAULT_RULES
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.model import BenchmarkResult, ResultSet, Run


def side(seed: int, *, waits: dict[int, float] | None = None, factor: float = 1.0) -> ResultSet:
    rng = np.random.default_rng(seed)
    waits = waits or {}
    runs = tuple(
        Run(
            samples=factor * 1e-3 * math.exp(rng.normal(0, 0.01)) * rng.lognormal(0, 0.05, 400),
            wall_seconds=10.0,
            cpu_seconds=10.0 * (1 - waits.get(k, 0.0)),
            runqueue_wait_seconds=10.0 * waits.get(k, 0.0),
        )
        for k in range(5)
    )
    return ResultSet(benchmarks=(BenchmarkResult(name="bench_parse", runs=runs),))


def rows(comparison):
    return {m.metric: m for m in comparison.metric_comparisons()}


def test_one_run_that_waited_leaves_the_tail_unjudged_and_the_headline_says_why():
    comparison = compare(side(1), side(2, waits={3: 0.12}, factor=1.3))
    by_metric = rows(comparison)
    assert by_metric["p50"].verdict == Verdict.REGRESSION  # the middle of the distribution still decides
    p95 = by_metric["p95"]
    assert p95.reason_code == ReasonCode.MACHINE_BUSY and math.isnan(p95.ci_low) and math.isnan(p95.ratio)
    identical = compare(side(1), side(2, waits={3: 0.12}))
    assert identical.verdict == Verdict.INCONCLUSIVE
    assert "tails (p95) not judged for bench_parse: a run waited > 5% for a CPU" in identical.headline


def test_waits_at_the_quiet_machines_level_keep_the_tail_judged():
    quiet = dict.fromkeys(range(5), 0.03)  # the most a run waited on the quiet machine: 3%
    comparison = compare(side(1, waits=quiet), side(2, waits=quiet, factor=1.3))
    p95 = rows(comparison)["p95"]
    assert p95.reason_code == ReasonCode.DECIDED and p95.verdict == Verdict.REGRESSION
    assert DEFAULT_RULES.tail_contention_wait == 0.05
