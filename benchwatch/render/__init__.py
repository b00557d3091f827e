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
from collections.abc import Sequence

from benchwatch.compare import Comparison, MetricComparison

VERDICT_ORDER = {"regression": 0, "inconclusive": 1, "improvement": 2, "unchanged": 3}
METRIC_ORDER = {"p50": 0, "p95": 1, "p99": 2, "mean": 3, "peak_memory": 4, "allocations": 5}


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
    if unit == "count":
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


def blocker_parts(metric: MetricComparison, alpha: float, disturbed: Sequence[str] = ()) -> tuple[str, str]:
    """(kind, detail) of what kept a row from a decisive verdict; ("", "") for decisive and unchanged rows.

    Derived from the row's fields: too few runs, a busy machine (a side the
    diagnostics call disturbed: ``disturbed`` names them), a q-value above
    ``alpha`` although the estimate is past the threshold, a change smaller
    than the threshold, or an interval too wide to rule a change in or out.
    """
    if metric.verdict in ("regression", "improvement", "unchanged"):
        return "", ""
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
    if comparison.diagnostics.get("latency_test") == "speed-adjusted":
        return f"Latency intervals adjusted for machine speed (benchwatch's canary, ANCOVA per benchmark); {runs}."
    return f"Latency intervals: Welch t on log per-run statistics; {runs}."
