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

Error rate (rules version 5): the tolerance rule alone decided from 2 runs
per side, where every run of one side lies beyond every run of the other by
chance 1 time in 3.  A change now also needs an exact permutation test on the
per-run values (:mod:`benchwatch.stats.permutation`) whose Benjamini-Hochberg
q-value, in a family of its memory metric across the comparison, is below
alpha; and run counts at which a lone change of that family can reach its
level at all (alpha / family size), else the row is inconclusive with
``too-few-memory-runs``.  A ``peak_rss`` change that memray's figures and the
instruction counts do not confirm needs a larger margin
(:func:`rss_needs_evidence`).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchwatch.compare.pairing import BenchmarkPair
from benchwatch.compare.records import RUNS_DISAGREE_FACTOR, BenchmarkComparison, MetricComparison, StrategyResult
from benchwatch.compare.rules import DEFAULT_RULES, CompareRules
from benchwatch.compare.settings import DEFAULT_PERCENT_TOLERANCE, CompareSettings
from benchwatch.compare.verdict import ReasonCode, Verdict
from benchwatch.model import MEMORY_METRICS, BenchmarkResult
from benchwatch.stats.fdr import bh_qvalues
from benchwatch.stats.permutation import min_pvalue, permutation_pvalues, runs_needed
from benchwatch.units import format_amount

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
) -> MetricComparison | _Draft:
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
    result = compare_memory(base, head, absolute_tolerance=absolute, percent_tolerance=percent, unit=unit)
    return _Draft(common=common, base=base, head=head, result=result)


@dataclass(frozen=True)
class _Draft:
    """A memory row judged by the tolerance rule, waiting for its family's permutation test."""

    common: dict[str, Any]
    base: np.ndarray
    head: np.ndarray
    result: MemoryResult


def _decide(draft: _Draft, p: float, q: float, family: int, settings: CompareSettings) -> MetricComparison:
    """The row of a draft: the tolerance rule's verdict, kept only where the permutation test backs a change."""
    result = draft.result
    verdict, reason = Verdict(result.verdict), result.reason
    code = ReasonCode.WIDE_INTERVAL if verdict == Verdict.INCONCLUSIVE else ReasonCode.DECIDED
    if verdict != Verdict.UNCHANGED and not math.isnan(p):
        level = settings.alpha / family
        n_base, n_head = draft.base.size, draft.head.size
        if min_pvalue(n_base, n_head) > level:
            verdict, code = Verdict.INCONCLUSIVE, ReasonCode.TOO_FEW_MEMORY_RUNS
            reason = (
                f"too few memory runs (needs {runs_needed(level)} per side): {n_base} and {n_head} runs reach "
                f"p = {min_pvalue(n_base, n_head):.2g} at best, a lone change among {family} needs {level:.2g}; "
                + reason
            )
        elif verdict != Verdict.INCONCLUSIVE and not q < settings.alpha:
            verdict, code = Verdict.INCONCLUSIVE, ReasonCode.WIDE_INTERVAL
            reason += f"; not significant (permutation test q = {q:.2g}, alpha {settings.alpha:g})"
    tested: dict[str, Any] = {} if math.isnan(p) else {"p_value": p, "q_value": q}
    if result.ci_high > RUNS_DISAGREE_FACTOR * result.ci_low > 0:  # the reports show the runs instead
        tested |= {"base_runs": tuple(draft.base.tolist()), "head_runs": tuple(draft.head.tolist())}
    return MetricComparison(
        **(draft.common | tested),
        verdict=verdict,
        ratio=result.ratio,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        reason=reason,
        base_value=result.base_value,
        head_value=result.head_value,
        reason_code=code,
    )


def _family_tests(drafts: Sequence[_Draft]) -> tuple[np.ndarray, np.ndarray]:
    """Permutation p-values of one metric's drafts (batched by run counts) and their BH q-values.

    A row the tolerance rule calls unchanged can never be a change: it is not
    tested (p = NaN in the row) and counts in the family as p = 1, which stays
    a valid p-value (P(p' <= t) <= P(p <= t)) and spares the enumeration for
    the many memray rows that repeat exactly.
    """
    p = np.full(len(drafts), np.nan)
    by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, draft in enumerate(drafts):
        if draft.result.verdict != Verdict.UNCHANGED:
            by_size[draft.base.size, draft.head.size].append(k)
    for indices in by_size.values():
        base = np.stack([drafts[k].base for k in indices])
        head = np.stack([drafts[k].head for k in indices])
        p[indices] = permutation_pvalues(base, head)
    q = bh_qvalues(np.where(np.isnan(p), 1.0, p))
    return p, np.where(np.isnan(p), np.nan, q)


def compare_memory_metrics(
    pairs: Sequence[BenchmarkPair],
    *,
    settings: CompareSettings,
    rules: CompareRules = DEFAULT_RULES,
    not_comparable: str | None = None,
    instructions: StrategyResult | None = None,
) -> StrategyResult:
    """Memory rows of every compared benchmark (metrics measured on neither side are left out).

    ``not_comparable`` (why the sides' machine classes differ, or None) makes
    the machine-dependent metrics not judged (see the module doc);
    ``instructions`` (the instruction strategy's rows) is evidence for the
    peak_rss rule of :func:`_rss_needs_evidence`.
    """
    found: dict[str, list[MetricComparison | _Draft]] = {}
    for pair in pairs:
        found[pair.name] = []
        for metric in MEMORY_METRICS:
            base, head = _values(pair.base, metric), _values(pair.head, metric)
            if base.size or head.size:
                found[pair.name].append(_memory_row(pair.name, metric, base, head, settings, not_comparable))
    families: dict[str, list[_Draft]] = defaultdict(list)
    for entries in found.values():
        for entry in entries:
            if isinstance(entry, _Draft):
                families[entry.common["metric"]].append(entry)
    decided: dict[int, MetricComparison] = {}
    summary = {}
    for metric, drafts in families.items():
        p, q = _family_tests(drafts) if rules.memory_test else (np.full(len(drafts), np.nan),) * 2
        level = settings.alpha / len(drafts)
        summary[metric] = {"family_size": len(drafts), "level": level, "runs_needed": runs_needed(level)}
        for k, draft in enumerate(drafts):
            decided[id(draft)] = _decide(draft, float(p[k]), float(q[k]), len(drafts), settings)
    rows = {
        name: tuple(decided[id(e)] if isinstance(e, _Draft) else e for e in entries) for name, entries in found.items()
    }
    if rules.rss_only_margin > 1.0:
        counted = instructions.rows if instructions is not None else {}
        rows = {
            name: _rss_needs_evidence(
                entries, next((m for m in counted.get(name, ()) if m.metric == "instructions"), None), settings, rules
            )
            for name, entries in rows.items()
        }
    return StrategyResult(rows=rows, diagnostics={"memory_test": summary if rules.memory_test else None})


def rss_needs_evidence(
    benchmarks: Sequence[BenchmarkComparison], settings: CompareSettings, rules: CompareRules = DEFAULT_RULES
) -> tuple[BenchmarkComparison, ...]:
    """The peak_rss rule of :func:`_rss_needs_evidence` on assembled benchmarks (to judge saved rows again)."""
    if rules.rss_only_margin <= 1.0:
        return tuple(benchmarks)
    out = []
    for benchmark in benchmarks:
        memory = tuple(m for m in benchmark.metrics if m.metric in MEMORY_METRICS)
        counts = next((m for m in benchmark.metrics if m.metric == "instructions"), None)
        judged = _rss_needs_evidence(memory, counts, settings, rules)
        if judged is memory:
            out.append(benchmark)
            continue
        replaced = {id(old): new for old, new in zip(memory, judged, strict=True)}
        metrics = tuple(replaced.get(id(m), m) for m in benchmark.metrics)
        out.append(dataclasses.replace(benchmark, metrics=metrics))
    return tuple(out)


def _rss_needs_evidence(
    rows: tuple[MetricComparison, ...], counts: MetricComparison | None, settings: CompareSettings, rules: CompareRules
) -> tuple[MetricComparison, ...]:
    """One benchmark's memory rows, its peak_rss change made inconclusive where nothing else confirms it.

    The rule (rules version 5): where memray's peak_memory and allocations
    rows are all ``unchanged`` (at least one present) and so is the
    instruction count (``counts``) where measured, a peak_rss regression or
    improvement must exceed ``rules.rss_only_margin`` x its tolerance; within
    it the row is inconclusive, reason code ``rss-only``.
    """
    by_metric = {m.metric: m for m in rows}
    rss = by_metric.get("peak_rss")
    memray = [by_metric[m] for m in MACHINE_INDEPENDENT_MEMORY if m in by_metric]
    confirmed = not memray or any(m.verdict != Verdict.UNCHANGED for m in memray)
    confirmed = confirmed or (counts is not None and counts.verdict != Verdict.UNCHANGED)
    if rss is None or rss.verdict not in (Verdict.REGRESSION, Verdict.IMPROVEMENT) or confirmed:
        return rows
    tolerance = max(float(settings.memory_bytes_tolerance), rss.threshold * abs(rss.base_value))
    delta = rss.head_value - rss.base_value
    if abs(delta) > rules.rss_only_margin * tolerance:
        return rows
    evidence = "memray's peak and allocations" + (" and the instruction counts" if counts is not None else "")
    reason = (
        f"peak_rss change {format_amount(delta, 'bytes', signed=True)} while {evidence} are unchanged: a "
        f"process's resident set lands on one of a few levels, so such a change must pass "
        f"{rules.rss_only_margin:g} x the tolerance ({format_amount(rules.rss_only_margin * tolerance, 'bytes')})"
    )
    row = dataclasses.replace(rss, verdict=Verdict.INCONCLUSIVE, reason_code=ReasonCode.RSS_ONLY, reason=reason)
    return tuple(row if m is rss else m for m in rows)


# -- the tolerance rule of one memory figure --------------------------------------------------------
#
# Tolerance verdicts for memory figures (peak bytes, allocation counts).
#
# Peak memory and allocation counts of one call are nearly deterministic:
# the same code allocates the same objects, give or take allocator and
# interpreter caches.  A t-test would call a 200-byte change "significant"
# because the spread is tiny, so memory gets a tolerance rule instead:
#
# * per side the per-run values are summarised by their median;
# * ``delta = median(head) - median(base)``;
# * ``tolerance = max(absolute tolerance, percent tolerance x median(base))``
#   (absolute: 64 KiB for peak bytes, 100 allocations for the count);
# * ``noise span`` = the larger of (max - min) across the runs of either side,
#   i.e. how much the figure moved between runs of the same code.
#
# Verdicts: regression when delta > tolerance, delta > noise span and every
# head run lies above every base run; improvement mirrored; unchanged when
# |delta| <= tolerance; inconclusive otherwise (the change exceeds the
# tolerance but not the run-to-run noise, or the two sides' runs overlap).
# The last condition (rules version 4) is for figures that land on one of a
# few levels per process: ``peak_rss`` of a DuckDB query is 2.5 or 4.5 MiB
# by run, and with most runs of one side on one level and most of the other
# on the other, the medians moved by 2.02 MiB, just past a span of 1.99 MiB,
# while both sides held both levels (identical code called an improvement).  ``ratio`` is median(head) /
# median(base) and the interval is the min/max over all head/base run pairs
# (a range, not a confidence interval).  There is no p-value.


@dataclass(frozen=True)
class MemoryResult:
    verdict: Verdict
    ratio: float
    ci_low: float
    ci_high: float
    base_value: float
    head_value: float
    delta: float
    tolerance: float
    noise_span: float
    reason: str


def _ratio(head: float, base: float) -> float:
    if base == 0:
        return 1.0 if head == 0 else math.inf
    return head / base


def _median_of(values: list[float]) -> float:
    # np.median's value (the mean of the two middle values for an even count) without its
    # per-call overhead: a comparison has thousands of these five-run medians.
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def _separated(base: list[float], head: list[float], *, rising: bool) -> bool:
    """Whether every head run lies above (``rising``) or below every base run."""
    return min(head) > max(base) if rising else max(head) < min(base)


def compare_memory(
    base: np.ndarray,
    head: np.ndarray,
    *,
    absolute_tolerance: float,
    percent_tolerance: float = DEFAULT_PERCENT_TOLERANCE,
    unit: str = "bytes",
) -> MemoryResult:
    """Tolerance verdict for per-run memory values of base and head (see module doc).

    ``unit`` ("bytes" or "count") only words the reason: "change +80 KiB beyond tolerance 64 KiB".
    """
    base = np.asarray(base, dtype=np.float64).reshape(-1)
    head = np.asarray(head, dtype=np.float64).reshape(-1)
    if base.size == 0 or head.size == 0:
        raise ValueError("memory comparison needs at least one value per side")
    if absolute_tolerance < 0 or percent_tolerance < 0:
        raise ValueError("tolerances must not be negative")
    base_list, head_list = base.tolist(), head.tolist()
    if any(math.isnan(v) for v in base_list + head_list):
        base_value, head_value = math.nan, math.nan  # as np.median: NaN in, NaN out
    else:
        base_value, head_value = _median_of(base_list), _median_of(head_list)
    delta = head_value - base_value
    tolerance = max(float(absolute_tolerance), percent_tolerance * abs(base_value))
    noise_span = float(max(np.ptp(base), np.ptp(head)))
    pair_ratios = [_ratio(h, b) for h in head_list for b in base_list]
    change = f"change {format_amount(delta, unit, signed=True)}"
    limit, span = f"tolerance {format_amount(tolerance, unit)}", f"run-to-run span {format_amount(noise_span, unit)}"
    if abs(delta) <= tolerance:
        verdict = Verdict.UNCHANGED
        reason = f"{change} within {limit}"
    elif abs(delta) > noise_span and _separated(base_list, head_list, rising=delta > 0):
        verdict = Verdict.REGRESSION if delta > 0 else Verdict.IMPROVEMENT
        reason = f"{change} beyond {limit} and {span}"
    elif abs(delta) > noise_span:
        verdict = Verdict.INCONCLUSIVE
        reason = f"{change} beyond {limit} and {span}, but the runs of the two sides overlap"
    else:
        verdict = Verdict.INCONCLUSIVE
        reason = f"{change} beyond {limit} but within {span}"
    return MemoryResult(
        verdict=verdict,
        ratio=_ratio(head_value, base_value),
        ci_low=min(pair_ratios),
        ci_high=max(pair_ratios),
        base_value=base_value,
        head_value=head_value,
        delta=delta,
        tolerance=tolerance,
        noise_span=noise_span,
        reason=reason,
    )
