"""A self-contained HTML comparison report (one file, works offline from a CI artifact).

What it shows: the suite verdict, counts, warnings and both environments;
an index of every benchmark (most severe first); and per benchmark its
metric table (base, head, change, 95% interval, verdict, reason), an
interval chart (each metric's ratio interval against the threshold band),
and the base and head distributions: the ECDF of the pooled samples of each
side, downsampled to at most ``max_points`` quantiles, with the other side's
ECDF faint for reference and each run's median as a dot below it, so that
between-run spread is visible next to within-run spread.  Both sides share
one x axis (logarithmic when the values span more than 4x).

**Why inline SVG built in Python, not plotly.js**: plotly.js is about
4.5 MB minified; embedded once it alone nearly uses the 5 MB budget of a
100-benchmark report.  An ECDF step line of 200 points is ~1.4 KB of SVG
path with integer coordinates, so 100 benchmarks x 2 sides (each with the
other side's reference line) come to well under 1 MB.  Static SVG also
needs no script to show the charts (an artifact viewer with JavaScript off
still shows them), draws nothing lazily that a screenshot could miss, and
carries no untrusted text: the charts hold numbers only.  The small inline
script only filters the index and records errors.  Points per side shrink
for big suites (``point_budget``) so that the file stays bounded.

**Memory flamegraphs**: memray's flamegraph HTML loads d3, jQuery,
Bootstrap, plotly.js and d3-flame-graph from cdn.jsdelivr.net, so it is
*not* offline-safe and is never embedded (an ``<iframe srcdoc>`` would pull
from the CDN and break this file's self-containment).  For benchmarks with
a memory regression, :func:`benchwatch.flamegraphs.write_flamegraphs`
renders base and head flamegraphs (``python -m memray flamegraph``) as
sibling files *before* this renderer runs, and the report links them (they
need network access to display); without them it names the capture files
and the command.

**Escaping**: Jinja autoescape is on for all text; the comparison data is
embedded as JSON in ``<script type="application/json">`` with ``<``, ``>``,
``&``, U+2028 and U+2029 escaped (:func:`script_json`), so no
``</script>`` or ``<!--`` can survive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import markupsafe
import numpy as np

from benchwatch.compare import BenchmarkComparison, Comparison, MetricComparison
from benchwatch.compare.verdict import Verdict
from benchwatch.explain.records import Explanation
from benchwatch.flamegraphs import capture_files
from benchwatch.model import MEMORY_METRICS, BenchmarkResult, ResultSet
from benchwatch.render import METRIC_ORDER, counts_note, format_metric_change, format_metric_interval, ungated_reasons
from benchwatch.render.explain_chart import explanation_html
from benchwatch.render.html_templates import script_json, template_environment
from benchwatch.render.json_report import comparison_to_dict
from benchwatch.render.pr_comment import improvement_strength, ranked_benchmarks, regression_severity
from benchwatch.units import format_change, format_value

DEFAULT_MAX_POINTS = 200
#: Total ECDF points of the whole report; per side ``min(max_points, budget / (2 x benchmarks))``.
POINT_BUDGET = 200_000
MIN_POINTS = 20
SIDES = ("base", "head")

# chart geometry (SVG user units)
_W, _H = 600, 150
_LEFT, _RIGHT, _TOP = 8, 592, 8
_PLOT_BOTTOM = 112  # ECDF area: y from _TOP (p=1) to _PLOT_BOTTOM (p=0)
_DOTS_Y = 126  # run medians strip
_AXIS_Y = 146
_CI_ROW = 22


# -- escaping ------------------------------------------------------------------------


# -- charts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scale:
    low: float
    high: float
    log: bool

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if self.log:
            lo, hi = math.log10(self.low), math.log10(self.high)
            position = (np.log10(np.maximum(values, self.low)) - lo) / (hi - lo)
        else:
            position = (values - self.low) / (self.high - self.low)
        return _LEFT + np.clip(position, 0.0, 1.0) * (_RIGHT - _LEFT)

    def ticks(self) -> list[float]:
        if self.log:
            return [float(v) for v in np.geomspace(self.low, self.high, 5)]
        return [float(v) for v in np.linspace(self.low, self.high, 5)]


def ecdf_points(samples: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """The ECDF of ``samples`` downsampled to ≤ ``max_points`` (value, probability) pairs; keeps min and max."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return np.empty(0), np.empty(0)
    ordered = np.sort(samples)
    if ordered.size <= max_points:
        return ordered, np.arange(1, ordered.size + 1) / ordered.size
    probabilities = np.linspace(0.0, 1.0, max_points)
    index = np.minimum((probabilities * (ordered.size - 1)).round().astype(int), ordered.size - 1)
    return ordered[index], (index + 1) / ordered.size


def _scale(sides: Sequence[np.ndarray]) -> _Scale | None:
    values = np.concatenate([s for s in sides if s.size]) if any(s.size for s in sides) else np.empty(0)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    low, high = float(values.min()), float(values.max())
    if high <= low:
        pad = abs(low) * 0.05 or 1e-9
        return _Scale(low - pad, high + pad, False)
    if low > 0 and high / low > 4:
        return _Scale(low, high, True)
    pad = (high - low) * 0.03
    return _Scale(low - pad, high + pad, False)


def _step_path(x: np.ndarray, p: np.ndarray) -> str:
    """An ECDF step line: ``M x0 y0 H x1 V y1 ...`` with integer coordinates."""
    if x.size == 0:
        return ""
    y = np.rint(_PLOT_BOTTOM - p * (_PLOT_BOTTOM - _TOP)).astype(int)
    xs = np.rint(x).astype(int)
    parts = [f"M{xs[0]} {_PLOT_BOTTOM}V{y[0]}"]
    last_y = y[0]
    for xi, yi in zip(xs[1:], y[1:], strict=False):
        parts.append(f"H{xi}")
        if yi != last_y:
            parts.append(f"V{yi}")
            last_y = yi
    return "".join(parts)


def _tick_label(value: float, unit: str) -> str:
    return format_value(value, unit).replace(" ", "\u00a0")


def distribution_svg(
    side: str,
    own: tuple[np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray],
    run_medians: Sequence[float],
    scale: _Scale,
    unit: str,
) -> markupsafe.Markup:
    """One side's chart: its ECDF, the other side's faint, run medians as dots, a shared x axis."""
    own_path = _step_path(scale(own[0]), own[1])
    other_path = _step_path(scale(other[0]), other[1])
    dots = "".join(f'<circle cx="{x:.0f}" cy="{_DOTS_Y}" r="4"/>' for x in scale(np.asarray(run_medians, float)))
    ticks = []
    for value in scale.ticks():
        x = float(scale(np.array([value]))[0])
        anchor = "start" if x < _LEFT + 40 else "end" if x > _RIGHT - 40 else "middle"
        ticks.append(
            f'<line x1="{x:.0f}" x2="{x:.0f}" y1="{_TOP}" y2="{_PLOT_BOTTOM}"/>'
            f'<text x="{x:.0f}" y="{_AXIS_Y}" text-anchor="{anchor}">'
            f"{markupsafe.escape(_tick_label(value, unit))}</text>"
        )
    label = "base" if side == "base" else "head"
    svg = (
        f'<svg class="dist {side}" viewBox="0 0 {_W} {_H}" role="img" aria-label="{label} distribution">'
        f'<g class="grid">{"".join(ticks)}</g>'
        f'<text class="side-label" x="{_LEFT + 2}" y="{_TOP + 12}">{label}</text>'
        + (f'<path class="ref" d="{other_path}"/>' if other_path else "")
        + (f'<path class="ecdf" d="{own_path}"/>' if own_path else "")
        + f'<g class="runs">{dots}</g></svg>'
    )
    return markupsafe.Markup(svg)


def interval_svg(metrics: Sequence[MetricComparison]) -> markupsafe.Markup:
    """Each metric's ratio and 95% interval on a log axis, with its ±threshold band and 1 marked."""
    rows = [m for m in metrics if math.isfinite(m.ratio) and m.ratio > 0]
    if not rows:
        return markupsafe.Markup("")
    values = [
        v
        for m in rows
        for v in (m.ratio, m.ci_low, m.ci_high, 1 + m.threshold, 1 / (1 + m.threshold))
        if v is not None and math.isfinite(v) and v > 0
    ]
    span = max(abs(math.log(v)) for v in values) * 1.1 or 0.1
    left, right = 70, _RIGHT

    def x(value: float) -> float:
        position = (math.log(max(value, 1e-300)) + span) / (2 * span)
        return left + min(max(position, 0.0), 1.0) * (right - left)

    height = _CI_ROW * len(rows) + 20
    parts = [f'<svg class="ci-chart" viewBox="0 0 {_W} {height}" role="img" aria-label="ratio intervals">']
    for index, m in enumerate(rows):
        y = 10 + index * _CI_ROW
        band_low, band_high = x(1 / (1 + m.threshold)), x(1 + m.threshold)
        parts.append(
            f'<rect class="band" x="{band_low:.0f}" y="{y - 8}" width="{band_high - band_low:.0f}" height="16"/>'
        )
        parts.append(f'<text x="0" y="{y + 4}">{markupsafe.escape(m.metric)}</text>')
        if math.isfinite(m.ci_low) and math.isfinite(m.ci_high) and m.ci_low > 0 and not m.runs_disagree:
            parts.append(
                f'<line class="ci {m.verdict}" x1="{x(m.ci_low):.0f}" x2="{x(m.ci_high):.0f}" y1="{y}" y2="{y}"/>'
            )
        parts.append(f'<circle class="{m.verdict}" cx="{x(m.ratio):.0f}" cy="{y}" r="4"/>')
    bottom = 10 + len(rows) * _CI_ROW - 12
    parts.append(f'<line class="one" x1="{x(1.0):.0f}" x2="{x(1.0):.0f}" y1="0" y2="{bottom}"/>')
    for value in (math.exp(-span / 1.1), 1.0, math.exp(span / 1.1)):
        parts.append(
            f'<text class="tick" x="{x(value):.0f}" y="{height - 2}" text-anchor="middle">'
            f"{markupsafe.escape(format_change(value))}</text>"
        )
    parts.append("</svg>")
    return markupsafe.Markup("".join(parts))


# -- report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MetricRow:
    metric: str
    base: str
    head: str
    change: str
    interval: str
    verdict: str
    gated: bool
    reason: str


@dataclass(frozen=True)
class _Chart:
    side: str
    svg: markupsafe.Markup | None
    caption: str
    note: str | None


@dataclass(frozen=True)
class _Section:
    anchor: str
    name: str
    status: str
    verdict: str
    headline: str
    change: str
    interval: str
    rows: tuple[_MetricRow, ...]
    intervals: markupsafe.Markup
    charts: tuple[_Chart, ...]
    notes: tuple[str, ...]
    diagnostics: tuple[str, ...]
    memory: Mapping[str, Any] | None
    explain: markupsafe.Markup | None = None


def _benchmark_verdict(benchmark: BenchmarkComparison) -> str:
    """A decided gated change first: a benchmark whose p50 improved is an improvement even if its p99 is open."""
    if benchmark.status != "compared":
        return benchmark.status
    gated = [m.verdict for m in benchmark.metrics if m.gated]
    for verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT, Verdict.INCONCLUSIVE, Verdict.UNCHANGED):
        if verdict in gated:
            return verdict
    return Verdict.INCONCLUSIVE


#: The index's order after the decided changes (most severe first): what needs a look, then the rest.
_LATER_RANK = {"failed": 0, Verdict.INCONCLUSIVE: 1, Verdict.UNCHANGED: 2, "added": 3, "removed": 4}


def _order(comparison: Comparison) -> list[BenchmarkComparison]:
    """Decided changes first (regressions, then improvements), then failed, inconclusive, unchanged."""
    regressed = [b for b, _ in ranked_benchmarks(comparison, Verdict.REGRESSION)]
    improved = [b for b, _ in ranked_benchmarks(comparison, Verdict.IMPROVEMENT)]
    seen = {id(b) for b in regressed + improved}
    rest = sorted(
        (b for b in comparison.benchmarks if id(b) not in seen),
        key=lambda b: (_LATER_RANK.get(_benchmark_verdict(b), 9), b.name),
    )
    return regressed + improved + rest


def _lead_metrics(benchmark: BenchmarkComparison) -> list[MetricComparison]:
    """The metrics the index shows: the decided gated changes, else the first gated metric with an estimate."""
    gated = [m for m in benchmark.metrics if m.gated]
    hits = sorted((m for m in gated if m.verdict == Verdict.REGRESSION), key=regression_severity, reverse=True)
    if not hits:
        hits = sorted((m for m in gated if m.verdict == Verdict.IMPROVEMENT), key=improvement_strength, reverse=True)
    if hits:
        return hits
    ordered = sorted(benchmark.metrics, key=lambda m: (not m.gated, METRIC_ORDER.get(m.metric, 9)))
    return [m for m in ordered if math.isfinite(m.ratio)][:1]


def _headline(benchmark: BenchmarkComparison) -> str:
    hits = [m for m in _lead_metrics(benchmark) if m.verdict in (Verdict.REGRESSION, Verdict.IMPROVEMENT)]
    if hits:
        return ", ".join(f"{m.metric} {format_metric_change(m)}" for m in hits)
    return "; ".join(benchmark.notes)[:200] if benchmark.notes else ""


def _index_change(benchmark: BenchmarkComparison) -> tuple[str, str]:
    """(change, 95% interval) of the index row: the lead metric's, named (``p50 −49.0%``)."""
    lead = _lead_metrics(benchmark)
    if not lead:
        return ("; ".join(benchmark.notes)[:120] if benchmark.notes else "–"), ""
    change = ", ".join(f"{m.metric} {format_metric_change(m)}" for m in lead)
    return change, format_metric_interval(lead[0])


def _diagnostics(benchmark: BenchmarkComparison) -> tuple[str, ...]:
    lines = []
    for side, d in (("base", benchmark.base_diagnostics), ("head", benchmark.head_diagnostics)):
        if d is None:
            continue
        text = f"{side}: {d.n_runs} runs, between-run CV {d.between_run_cv:.1%}, within-run CV {d.within_run_cv:.1%}"
        if d.disturbed:
            text += " - disturbed: " + "; ".join(d.reasons)
        lines.append(text)
    return tuple(lines)


def _runs_caption(side: str, result: BenchmarkResult, benchmark: BenchmarkComparison, speed_adjusted: bool) -> str:
    """'base: 5 runs (2 left out: 1 failed, 1 ...)': how many runs the verdicts used, and why the others were not."""
    total, failed = len(result.runs), len(result.failed_runs)
    diagnostics = benchmark.base_diagnostics if side == "base" else benchmark.head_diagnostics
    kept = diagnostics.n_runs if diagnostics is not None else total - failed
    used_by = [m.n_runs_base if side == "base" else m.n_runs_head for m in benchmark.metrics if m.metric == "p50"]
    used = used_by[0] if used_by else kept
    reasons = []
    if failed:
        reasons.append(f"{failed} failed")
    if total - failed > kept:
        why = "the machine changed speed" if speed_adjusted else "far slower than the other runs"
        reasons.append(f"{total - failed - kept} waited for a CPU or {why}")
    if kept > used:
        reasons.append(f"{kept - used} far slower than the speed-adjusted fit")
    plural = "run" if total == 1 else "runs"
    left_out = f" ({total - used} left out: {', '.join(reasons)})" if total > used and reasons else ""
    return f"{side}: {total} {plural}{left_out}"


def _charts(
    benchmark: BenchmarkComparison,
    base: BenchmarkResult | None,
    head: BenchmarkResult | None,
    points: int,
    speed_adjusted: bool,
) -> tuple[_Chart, ...]:
    present = [(side, result) for side, result in zip(SIDES, (base, head), strict=False) if result is not None]
    pooled = {side: result.pooled_samples() for side, result in present}
    ecdfs = {side: ecdf_points(pooled[side], points) for side, _ in present}
    scale = _scale([ecdfs[side][0] for side, _ in present])
    empty = (np.empty(0), np.empty(0))
    charts = []
    for side, result in present:
        other = "head" if side == "base" else "base"
        runs = [r for r in result.ok_runs if r.has_samples]
        medians = [float(np.median(r.samples)) for r in runs]
        caption = _runs_caption(side, result, benchmark, speed_adjusted)
        if scale is None or pooled[side].size == 0:
            note = "no raw samples (summary-only result)" if result.ok_runs else "all runs failed"
            charts.append(_Chart(side, None, caption, note))
            continue
        svg = distribution_svg(side, ecdfs[side], ecdfs.get(other, empty), medians, scale, result.unit)
        samples = f"; chart: {len(runs)} runs, {int(pooled[side].size):,} samples"
        charts.append(_Chart(side, svg, caption + samples, None))
    return tuple(charts)


def _memory(
    name: str,
    metrics: Sequence[MetricComparison],
    captures: Mapping[str, Mapping[str, str]],
    flamegraphs: Mapping[str, Mapping[str, str]],
) -> dict[str, Any] | None:
    if not any(m.metric in MEMORY_METRICS and m.verdict == Verdict.REGRESSION for m in metrics):
        return None
    links = dict(flamegraphs.get(name, {}))
    return {"flamegraphs": links, "captures": dict(captures.get(name, {}))}


def _points_per_side(benchmarks: int, max_points: int, point_budget: int) -> int:
    if benchmarks == 0:
        return max_points
    return int(max(MIN_POINTS, min(max_points, point_budget // (2 * benchmarks))))


def _asset(name: str) -> markupsafe.Markup:
    text = resources.files("benchwatch").joinpath("templates", name).read_text(encoding="utf-8")
    if "</" in text:  # our own CSS/JS must not be able to end its element
        raise ValueError(f"templates/{name} must not contain '</'")
    return markupsafe.Markup(text)


def _section(
    index: int,
    benchmark: BenchmarkComparison,
    *,
    base: BenchmarkResult | None,
    head: BenchmarkResult | None,
    points: int,
    captures: Mapping[str, Mapping[str, str]],
    flamegraphs: Mapping[str, Mapping[str, str]],
    speed_adjusted: bool,
    explanation: Explanation | None = None,
) -> _Section:
    """One benchmark's part of the page: metric table, interval chart, distributions, memory."""
    metrics = sorted(benchmark.metrics, key=lambda m: (not m.gated, METRIC_ORDER.get(m.metric, 9)))
    rows = tuple(
        _MetricRow(
            m.metric,
            format_value(m.base_value, m.unit),
            format_value(m.head_value, m.unit),
            format_metric_change(m),
            format_metric_interval(m),
            m.verdict,
            m.gated,
            m.reason,
        )
        for m in metrics
    )
    return _Section(
        anchor=f"b{index}",
        name=benchmark.name,
        status=benchmark.status,
        verdict=_benchmark_verdict(benchmark),
        headline=_headline(benchmark),
        change=_index_change(benchmark)[0],
        interval=_index_change(benchmark)[1],
        rows=rows,
        intervals=interval_svg(metrics),
        charts=_charts(benchmark, base, head, points, speed_adjusted),
        notes=benchmark.notes,
        diagnostics=_diagnostics(benchmark),
        memory=_memory(benchmark.name, metrics, captures, flamegraphs),
        explain=explanation_html(explanation, f"b{index}") if explanation is not None else None,
    )


def render_html_report(
    comparison: Comparison,
    base: ResultSet,
    head: ResultSet,
    *,
    title: str = "benchwatch comparison",
    flamegraphs: Mapping[str, Mapping[str, str]] | None = None,
    generated_at: str | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    point_budget: int = POINT_BUDGET,
) -> str:
    """The comparison as one self-contained HTML page (see the module docstring).

    ``flamegraphs`` maps a benchmark name to side -> href of its memray
    flamegraph (what :func:`benchwatch.flamegraphs.write_flamegraphs` returns); ``max_points`` caps
    the ECDF points per side, ``point_budget`` the points of the whole report.
    """
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    base_map, head_map = base.by_name(), head.by_name()
    points = _points_per_side(len(comparison.benchmarks), max_points, point_budget)
    captures = capture_files(comparison, base, head)
    explained = {explanation.benchmark: explanation for explanation in comparison.explanations}
    sections = [
        _section(
            index,
            benchmark,
            base=base_map.get(benchmark.name),
            head=head_map.get(benchmark.name),
            points=points,
            captures=captures,
            flamegraphs=flamegraphs or {},
            speed_adjusted=comparison.diagnostics.latency_test == "speed-adjusted",
            explanation=explained.get(benchmark.name),
        )
        for index, benchmark in enumerate(_order(comparison))
    ]
    gated = comparison.gated()
    counts = {
        v: sum(1 for m in gated if m.verdict == v)
        for v in (Verdict.REGRESSION, Verdict.INCONCLUSIVE, Verdict.IMPROVEMENT, Verdict.UNCHANGED)
    }
    statuses = {s: sum(1 for b in comparison.benchmarks if b.status == s) for s in ("failed", "added", "removed")}
    environment_keys = list(dict.fromkeys([*comparison.base_environment, *comparison.head_environment]))
    environment = [
        (key, _text(comparison.base_environment.get(key)), _text(comparison.head_environment.get(key)))
        for key in environment_keys
    ]
    return (
        template_environment()
        .get_template("comparison.html.j2")
        .render(
            title=title,
            generated_at=generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            verdict=comparison.verdict,
            suite_headline=comparison.headline,
            benchmark_count=len(comparison.benchmarks),
            counts=counts,
            statuses=statuses,
            warnings=list(comparison.warnings),
            ungated=ungated_reasons(comparison),
            counts_note=counts_note(comparison),
            environment=environment,
            settings=comparison.settings,
            sections=sections,
            points=points,
            data=script_json(comparison_to_dict(comparison)),
            css=_asset("comparison.css"),
            js=_asset("comparison.js"),
        )
    )


def _text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)
