"""Renderers of a :class:`benchwatch.compare.Comparison`; each returns a string.

The entry point is :func:`benchwatch.render.formats.render` (format name and a
:class:`~benchwatch.render.formats.RenderContext`); the modules per format:

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
from collections.abc import Sequence
from typing import TYPE_CHECKING

from benchwatch.compare.verdict import Verdict
from benchwatch.model import INSTRUCTION_METRICS
from benchwatch.units import format_change, format_interval, format_value

if TYPE_CHECKING:  # types only: importing the comparator (and its statistics) here slowed every renderer's import
    from benchwatch.compare import Comparison, MetricComparison

VERDICT_ORDER: dict[str, int] = {
    Verdict.REGRESSION: 0,
    Verdict.INCONCLUSIVE: 1,
    Verdict.IMPROVEMENT: 2,
    Verdict.UNCHANGED: 3,
}
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
        from benchwatch.compare.instructions import COUNTS_CAPTION

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


#: The comparator's reason codes (benchwatch.compare.verdict.ReasonCode) that name the blocker themselves;
#: "wide-interval" is refined below from the row's numbers (q-value, change under threshold, width).
_CODED_BLOCKERS = {
    "one-side-busy": ("machine busy", "one side only"),
    "machine-busy": ("machine busy", "tail of a busy machine"),
    "not-comparable-machine": ("different machines", ""),
    "not-comparable-speed": ("different machine speeds", ""),
    "too-few-samples": ("too few samples", "per run"),
    "not-measured": ("not measured", "on one side"),
}


def blocker_parts(metric: MetricComparison, alpha: float, disturbed: Sequence[str] = ()) -> tuple[str, str]:
    """(kind, detail) of what kept a row from a decisive verdict; ("", "") for decisive and unchanged rows.

    Derived from the row's fields: too few runs, a busy machine (a side the
    diagnostics call disturbed: ``disturbed`` names them), a q-value above
    ``alpha`` although the estimate is past the threshold, a change smaller
    than the threshold, or an interval too wide to rule a change in or out.
    """
    if metric.verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT, Verdict.UNCHANGED):
        return "", ""
    coded = _CODED_BLOCKERS.get(str(getattr(metric, "reason_code", "") or ""))
    if coded is not None:
        return coded
    if min(metric.n_runs_base, metric.n_runs_head) < 2:
        return "too few runs", f"{metric.n_runs_base} base, {metric.n_runs_head} head; needs ≥2 each"
    sides = [side for side in ("base", "head") if side in disturbed or f"{side} disturbed" in metric.reason]
    if sides:
        return "machine busy", " and ".join(sides)
    if metric.metric in ("peak_memory", "allocations"):
        return ("run-to-run spread", "") if "run-to-run span" in metric.reason else ("within noise", "")
    low, high, ratio = metric.ci_low, metric.ci_high, metric.ratio
    if not all(value is not None and math.isfinite(value) and value > 0 for value in (low, high, ratio)):
        return "no interval", ""
    upper = 1.0 + metric.threshold
    q = metric.q_value
    if (ratio >= upper or ratio <= 1.0 / upper) and q is not None and math.isfinite(q) and q >= alpha:
        return "q-value", f"{q:.2g}, needs < {alpha:g}"
    half_width = math.sqrt(high / low) - 1.0
    if (low > 1.0 or high < 1.0) and 1.0 / upper < ratio < upper:
        return "change under threshold", f"{format_change(ratio)}, CI ±{half_width:.0%}"
    return "CI too wide", f"±{half_width:.0%}"


def blocker(metric: MetricComparison, alpha: float, disturbed: Sequence[str] = ()) -> str:
    """What kept a row from a decisive verdict, in a few words ("" for decisive and unchanged rows)."""
    kind, detail = blocker_parts(metric, alpha, disturbed)
    return f"{kind} ({detail})" if detail else kind


def disturbed_sides(comparison: Comparison) -> dict[str, tuple[str, ...]]:
    """Benchmark name -> the sides its noise diagnostics call disturbed."""
    return {
        benchmark.name: tuple(
            side
            for side, diagnostics in (("base", benchmark.base_diagnostics), ("head", benchmark.head_diagnostics))
            if diagnostics is not None and diagnostics.disturbed
        )
        for benchmark in comparison.benchmarks
    }


def method_note(comparison: Comparison) -> str:
    """One line saying how the latency intervals were computed."""
    runs = "process runs are the unit of replication"
    if comparison.diagnostics.latency_test == "not-comparable":
        return "Latency not comparable between the sides: no estimates or intervals (see the headline)."
    if comparison.diagnostics.latency_test == "speed-adjusted":
        return f"Latency intervals adjusted for machine speed (benchwatch's canary, ANCOVA per benchmark); {runs}."
    if comparison.diagnostics.latency_test == "contention-adjusted":
        return (
            "Latency intervals at equal CPU wait (each run's measured wait as covariate, slope ≥ 0: "
            f"waiting only adds time); {runs}."
        )
    return f"Latency intervals: Welch t on log per-run statistics; {runs}."


#: Runs listed per side where the runs disagree (the rest are counted).
RUNS_SHOWN = 6


def format_metric_interval(metric: MetricComparison) -> str:
    """The interval of a row, or, where it spans more than a factor of 4, "runs disagree" and the per-run values."""
    if not metric.runs_disagree:
        return format_interval(metric.ci_low, metric.ci_high)
    sides = []
    for label, runs in (("base", metric.base_runs), ("head", metric.head_runs)):
        if runs:
            shown = ", ".join(format_value(v, metric.unit) for v in sorted(runs)[:RUNS_SHOWN])
            more = f" +{len(runs) - RUNS_SHOWN} more" if len(runs) > RUNS_SHOWN else ""
            sides.append(f"{label} {shown}{more}")
    return "runs disagree" + (": " + "; ".join(sides) if sides else "")
