"""Renderers of a :class:`benchwatch.compare.Comparison`; each returns a string.

* :func:`benchwatch.render.terminal.render_terminal` - a table for people;
* :func:`benchwatch.render.json_report.render_json` - stable JSON for tools;
* :func:`benchwatch.render.markdown_report.render_markdown` - a basic
  Markdown table (PR comments build on it);
* :func:`benchwatch.render.pr_comment.render_pr_comment` - the sticky PR
  comment, within GitHub's size limit;
* :func:`benchwatch.render.html_report.render_html_report` - one
  self-contained HTML page.

Numbers are written by :mod:`benchwatch.units` (units, changes,
intervals), the one place that decides how a value is rounded.

Rows are ordered by :func:`row_order`: regressions first, then
inconclusive, improvements and unchanged; gated before ungated.
"""

from __future__ import annotations

import math

from benchwatch.compare import Comparison, MetricComparison
from benchwatch.model import INSTRUCTION_METRICS
from benchwatch.units import format_change

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


def row_order(comparison: Comparison) -> list[MetricComparison]:
    """Metric rows, most important first (regressions, then by benchmark and metric)."""
    rows = list(comparison.metric_comparisons())
    return sorted(
        rows, key=lambda m: (VERDICT_ORDER.get(m.verdict, 9), not m.gated, m.benchmark, METRIC_ORDER.get(m.metric, 9))
    )


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


def ungated_reasons(comparison: Comparison, limit: int = 3) -> list[str]:
    """Distinct reasons why metrics did not gate or could not be judged, each naming its benchmarks."""
    seen: dict[str, list[str]] = {}
    for metric in comparison.metric_comparisons():
        for part in metric.reason.split("; "):
            if " not gated: " in part or " cannot be judged: " in part:
                names = seen.setdefault(part, [])
                if metric.benchmark not in names:
                    names.append(metric.benchmark)
    lines = []
    for reason, names in seen.items():
        more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
        lines.append(f"{reason} — {', '.join(names[:limit])}{more}")
    return lines


def method_note(comparison: Comparison) -> str:
    """One line saying how the latency intervals were computed."""
    runs = "process runs are the unit of replication"
    if comparison.diagnostics.get("latency_test") == "not-comparable":
        return "Latency not comparable between the sides: no estimates or intervals (see the headline)."
    if comparison.diagnostics.get("latency_test") == "speed-adjusted":
        return f"Latency intervals adjusted for machine speed (benchwatch's canary, ANCOVA per benchmark); {runs}."
    return f"Latency intervals: Welch t on log per-run statistics; {runs}."
