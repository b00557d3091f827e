"""Instruction-count metrics of a comparison (one strategy beside latency and memory).

For each compared benchmark and count metric (``instructions``, and
``estimated_cycles`` when both sides simulated caches) this builds a
:class:`~benchwatch.compare.MetricComparison` from the sides' instruction
runs with :func:`benchwatch.stats.instructions.compare_counts`.  Counts are
compared only when the two results' count fingerprints match; otherwise the
row says why and does not gate.  A side without counts (an older file, or
valgrind missing there) gives an ungated row saying so, so an old baseline
never turns a suite inconclusive.

What the counts capture: the instructions the benchmarked call executed in
the process (all its threads, serialised by Valgrind).  What they miss: time
waiting on I/O, sleeping or on locks, work in other processes, and the cost
of cache misses unless estimated cycles are measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from benchwatch.compare.pairing import BenchmarkPair
from benchwatch.compare.records import MetricComparison, StrategyResult
from benchwatch.compare.settings import CompareSettings
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.model import INSTRUCTION_METRICS, BenchmarkResult, InstructionRun, ResultSet
from benchwatch.stats.instructions import compare_counts, fingerprint_mismatches

#: One line for every report that shows instruction counts.
COUNTS_CAPTION = (
    "Instructions are counted under Valgrind's Callgrind around the benchmarked call only: they do not move "
    "with load or machine speed, and they miss I/O waits, sleeps, lock contention, work in other processes "
    "and (unless estimated cycles are shown) cache misses."
)


def _calls(runs: tuple[InstructionRun, ...], metric: str) -> list[np.ndarray]:
    arrays = []
    for run in runs:
        if not run.ok:
            continue
        values = run.instructions if metric == "instructions" else run.estimated_cycles
        if values:
            arrays.append(np.asarray(values, dtype=np.float64))
    return arrays


def _failure(runs: tuple[InstructionRun, ...]) -> str | None:
    failed = [run for run in runs if run.status != "ok"]
    return (failed[0].error or failed[0].status) if failed else None


def _row(
    name: str, metric: str, verdict: str, gated: bool, reason: str, *, code: ReasonCode, **values: Any
) -> MetricComparison:
    return MetricComparison(
        reason_code=code,
        benchmark=name,
        metric=metric,
        verdict=verdict,
        ratio=values.get("ratio", math.nan),
        ci_low=values.get("low", math.nan),
        ci_high=values.get("high", math.nan),
        p_value=values.get("p_value"),
        q_value=None,
        threshold=values["threshold"],
        gated=gated,
        reason=reason,
        base_value=values.get("base_value", math.nan),
        head_value=values.get("head_value", math.nan),
        n_runs_base=values.get("n_base", 0),
        n_runs_head=values.get("n_head", 0),
        unit="count" if metric == "instructions" else "cycles",
    )


def instruction_comparisons(
    name: str,
    base: BenchmarkResult,
    head: BenchmarkResult,
    *,
    mismatches: list[str],
    settings: CompareSettings,
) -> list[MetricComparison]:
    """The count metrics of one benchmark; ``mismatches`` from :func:`count_mismatches`."""
    rows = []
    for metric in INSTRUCTION_METRICS:
        base_calls, head_calls = _calls(base.instruction_runs, metric), _calls(head.instruction_runs, metric)
        threshold = settings.threshold_for(name, metric)
        gated = metric in settings.gating_metrics
        if not base_calls and not head_calls:
            failure = _failure(base.instruction_runs) or _failure(head.instruction_runs)
            if failure and metric == "instructions":
                rows.append(
                    _row(
                        name, metric, "inconclusive", False, failure, code=ReasonCode.NOT_MEASURED, threshold=threshold
                    )
                )
            continue
        counts = {"n_base": len(base_calls), "n_head": len(head_calls), "threshold": threshold}
        if not base_calls or not head_calls:
            side, runs = ("base", base.instruction_runs) if not base_calls else ("head", head.instruction_runs)
            why = _failure(runs) or "no instruction pass in that result"
            reason = f"{metric} not measured on {side}: {why}"
            rows.append(_row(name, metric, "inconclusive", False, reason, code=ReasonCode.NOT_MEASURED, **counts))
            continue
        if mismatches:
            reason = f"{metric} not comparable: count fingerprints differ ({'; '.join(mismatches[:3])})"
            rows.append(
                _row(name, metric, "inconclusive", False, reason, code=ReasonCode.NOT_COMPARABLE_MACHINE, **counts)
            )
            continue
        result = compare_counts(base_calls, head_calls, threshold=threshold, alpha=settings.alpha)
        rows.append(
            _row(
                name,
                metric,
                result.verdict,
                gated,
                result.reason,
                code=ReasonCode.WIDE_INTERVAL if result.verdict == Verdict.INCONCLUSIVE else ReasonCode.DECIDED,
                ratio=result.ratio,
                low=result.low,
                high=result.high,
                p_value=result.p_value,
                base_value=result.base_value,
                head_value=result.head_value,
                **counts,
            )
        )
    return rows


def count_mismatches(base: Mapping[str, Any], head: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(reasons the count fingerprints differ, warnings for the report)."""
    if not base or not head:
        return [], []
    mismatches = fingerprint_mismatches(base, head)
    warnings = []
    if mismatches:
        warnings.append(
            "instruction counts not compared: base and head differ in what decides them "
            f"({'; '.join(mismatches)}); refresh the baseline on this machine type"
        )
    return mismatches, warnings


def compare_instruction_metrics(
    pairs: Sequence[BenchmarkPair], *, base: ResultSet, head: ResultSet, settings: CompareSettings
) -> StrategyResult:
    """The strategy: instruction (and estimated-cycle) rows of every compared benchmark."""
    mismatches, warnings = count_mismatches(base.count_fingerprint, head.count_fingerprint)
    rows = {
        pair.name: tuple(
            instruction_comparisons(pair.name, pair.base, pair.head, mismatches=mismatches, settings=settings)
        )
        for pair in pairs
    }
    return StrategyResult(rows=rows, warnings=tuple(warnings))
