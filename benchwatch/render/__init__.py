"""Renderers of a :class:`benchwatch.compare.Comparison`; each returns a string.

* :func:`benchwatch.render.terminal.render_terminal` - a table for people;
* :func:`benchwatch.render.json_report.render_json` - stable JSON for tools;
* :func:`benchwatch.render.markdown_report.render_markdown` - a basic
  Markdown table (PR comments build on it).

Rows are ordered by :func:`row_order`: regressions first, then
inconclusive, improvements and unchanged; gated before ungated.
"""

from __future__ import annotations

import math

from benchwatch.compare import Comparison, MetricComparison
from benchwatch.model import INSTRUCTION_METRICS

VERDICT_ORDER = {"regression": 0, "inconclusive": 1, "improvement": 2, "unchanged": 3}
# Instruction counts sit beside the latency percentiles they complement.
METRIC_ORDER = {
    "p50": 0,
    "p95": 1,
    "p99": 2,
    "instructions": 3,
    "estimated_cycles": 4,
    "mean": 5,
    "peak_memory": 6,
    "peak_rss": 7,
    "allocations": 8,
}
#: Units whose values are exact counts: their changes are shown to 0.01%.
COUNT_UNITS = ("count", "cycles")


def row_order(comparison: Comparison) -> list[MetricComparison]:
    """Metric rows, most important first (regressions, then by benchmark and metric)."""
    rows = list(comparison.metric_comparisons())
    return sorted(
        rows, key=lambda m: (VERDICT_ORDER.get(m.verdict, 9), not m.gated, m.benchmark, METRIC_ORDER.get(m.metric, 9))
    )


def format_value(value: float, unit: str) -> str:
    """Human units: seconds as ns/µs/ms/s, bytes as B/KiB/MiB/GiB, counts as integers."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if unit == "bytes":
        for factor, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if abs(value) >= factor:
                return f"{value / factor:.1f} {suffix}"
        return f"{value:.0f} B"
    if unit in COUNT_UNITS:
        return f"{value:,.0f}"
    # Pick the unit after rounding to 3 digits, so 0.9996 ms reads "1 ms", not "1e+03 µs".
    for scale, suffix in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(value) >= scale * 0.9995:
            return f"{value / scale:.4g} {suffix}" if suffix == "s" else f"{value / scale:.3g} {suffix}"
    return f"{value / 1e-9:.3g} ns"


def format_change(ratio: float) -> str:
    if ratio is None or not math.isfinite(ratio):
        return "–"
    return f"{(ratio - 1.0) * 100:+.1f}%"


def format_metric_change(metric: MetricComparison) -> str:
    """The change of one metric row: exact counts to 0.01% (e.g. +2.31%), the rest to 0.1%."""
    if metric.metric in INSTRUCTION_METRICS and metric.ratio is not None and math.isfinite(metric.ratio):
        return f"{(metric.ratio - 1.0) * 100:+.2f}%"
    return format_change(metric.ratio)


def counts_note(comparison: Comparison) -> str | None:
    """One line saying what instruction counts capture and miss, when the comparison shows any."""
    if any(m.metric in INSTRUCTION_METRICS for m in comparison.metric_comparisons()):
        from benchwatch.compare_instructions import COUNTS_CAPTION

        return COUNTS_CAPTION
    return None


def format_interval(low: float, high: float) -> str:
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    return f"{(low - 1.0) * 100:+.1f}% … {(high - 1.0) * 100:+.1f}%"


def ungated_reasons(comparison: Comparison) -> list[str]:
    """Distinct reasons why gating metrics did not gate (e.g. too few samples for p99)."""
    seen: dict[str, None] = {}
    for metric in comparison.metric_comparisons():
        for part in metric.reason.split("; "):
            if " not gated: " in part:
                seen.setdefault(part, None)
    return list(seen)


def method_note(comparison: Comparison) -> str:
    """One line saying how the latency intervals were computed."""
    runs = "process runs are the unit of replication"
    if comparison.diagnostics.get("latency_test") == "speed-adjusted":
        return f"Latency intervals adjusted for machine speed (benchwatch's canary, ANCOVA per benchmark); {runs}."
    return f"Latency intervals: Welch t on log per-run statistics; {runs}."
