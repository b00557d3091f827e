"""The memory strategy: tolerance verdicts on every run that has memory data.

Memory is measured in a pass of its own, so whatever the latency strategy
decided about a run's timings says nothing about its memory figures: every
ok run that carries them counts (a run left out of a timing model still
holds a valid memory pass).

Comparability: memray's ``peak_memory`` and ``allocations`` count what the
code allocates, and they matched to 0.0% between two recordings of the
benchmarks' baseline on different runner versions, where ``peak_rss`` moved
by -45% to +14%.  The resident set depends on the machine, the C library
and the runner's process layout, so where the two sides' machine classes
differ (the latency check, :mod:`.comparability`) ``peak_rss`` is not
judged: inconclusive, reason code ``not-comparable-machine``, no estimate
and no interval, exactly as latency.  memray's figures still decide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchwatch.compare.pairing import BenchmarkPair
from benchwatch.compare.records import MetricComparison, StrategyResult
from benchwatch.compare.settings import CompareSettings
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.model import MEMORY_METRICS, BenchmarkResult
from benchwatch.stats.memory import compare_memory

#: Memory metrics that depend on the machine (not judged across machine classes).
MACHINE_DEPENDENT_MEMORY = ("peak_rss",)
#: Memory metrics that do not: where gated and decided, they decide a benchmark whose peak_rss is not comparable.
MACHINE_INDEPENDENT_MEMORY = ("peak_memory", "allocations")


def _values(benchmark: BenchmarkResult, metric: str) -> np.ndarray:
    values = np.array([run.statistic(metric) for run in benchmark.ok_runs], dtype=np.float64)
    return values[~np.isnan(values)]


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if values.size else math.nan


def _memory_row(
    name: str,
    metric: str,
    base: np.ndarray,
    head: np.ndarray,
    settings: CompareSettings,
    not_comparable: str | None = None,
) -> MetricComparison:
    percent = settings.memory_percent_tolerance
    if metric in settings.metric_thresholds or metric in settings.benchmark_thresholds.get(name, {}):
        percent = settings.threshold_for(name, metric)  # an explicit per-metric threshold sets the percent tolerance
    gated = metric in settings.gating_metrics
    unit = "count" if metric == "allocations" else "bytes"
    common: dict[str, Any] = {
        "benchmark": name,
        "metric": metric,
        "p_value": None,
        "q_value": None,
        "threshold": percent,
    }
    common |= {"gated": gated, "n_runs_base": int(base.size), "n_runs_head": int(head.size), "unit": unit}
    if base.size == 0 or head.size == 0:
        side = "base" if base.size == 0 else "head"
        # Files from before the resident-set figure must not turn a suite inconclusive.
        common["gated"] = gated and metric != "peak_rss"
        return MetricComparison(
            **common,
            verdict=Verdict.INCONCLUSIVE,
            ratio=math.nan,
            ci_low=math.nan,
            ci_high=math.nan,
            reason=f"{metric} not measured on {side}",
            base_value=_median(base),
            head_value=_median(head),
            reason_code=ReasonCode.NOT_MEASURED,
        )
    if not_comparable is not None and metric in MACHINE_DEPENDENT_MEMORY:
        return MetricComparison(
            **common,
            verdict=Verdict.INCONCLUSIVE,
            ratio=math.nan,
            ci_low=math.nan,
            ci_high=math.nan,
            reason=f"{not_comparable}; {metric} depends on the machine and its process layout "
            "(memray's peak_memory and allocations do not, and still decide)",
            base_value=_median(base),
            head_value=_median(head),
            reason_code=ReasonCode.NOT_COMPARABLE_MACHINE,
        )
    absolute = settings.allocation_tolerance if metric == "allocations" else settings.memory_bytes_tolerance
    unit = "count" if metric == "allocations" else "bytes"
    result = compare_memory(base, head, absolute_tolerance=absolute, percent_tolerance=percent, unit=unit)
    return MetricComparison(
        **common,
        verdict=result.verdict,
        ratio=result.ratio,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        reason=result.reason,
        base_value=result.base_value,
        head_value=result.head_value,
        reason_code=ReasonCode.WIDE_INTERVAL if result.verdict == Verdict.INCONCLUSIVE else ReasonCode.DECIDED,
    )


def compare_memory_metrics(
    pairs: Sequence[BenchmarkPair], *, settings: CompareSettings, not_comparable: str | None = None
) -> StrategyResult:
    """Memory rows of every compared benchmark (metrics measured on neither side are left out).

    ``not_comparable`` (why the sides' machine classes differ, or None) makes
    the machine-dependent metrics not judged (see the module doc).
    """
    rows: dict[str, tuple[MetricComparison, ...]] = {}
    for pair in pairs:
        found = []
        for metric in MEMORY_METRICS:
            base, head = _values(pair.base, metric), _values(pair.head, metric)
            if base.size or head.size:
                found.append(_memory_row(pair.name, metric, base, head, settings, not_comparable))
        rows[pair.name] = tuple(found)
    return StrategyResult(rows=rows)
