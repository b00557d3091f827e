"""The trend report: one self-contained HTML file over a history.

What it shows:

* a **summary** ranking every benchmark by its recent change: the ratio of
  the geometric mean of the last ``recent`` commits to the ``recent`` before
  them, per metric (p50, p95, p99, peak memory); benchmarks are ranked by the
  largest absolute log ratio; the last change point is shown beside it;
* a **tag-to-tag** table per pair of consecutive release tags (v1.3 -> v1.4):
  every benchmark and metric that got slower (or bigger) by more than
  ``tag_threshold``, by how much, and whether the two commits' 95% intervals
  are apart;
* a **section per benchmark** with p50/p95/p99 (and peak memory when
  measured) over commits, 95% interval bands, change points
  (:mod:`benchwatch.history.changepoints`) and release tags marked; a point
  opens its commit when ``commit_url`` is given.

Built to scale (1,000 benchmarks x 500 commits): no chart is built in
Python.  Each benchmark's data is a compact JSON block (values in a display
unit at ~4 significant digits, intervals as per-mille offsets, x positions
delta-encoded, downsampled to ``max_points`` while keeping change points and
tags); a small script (templates/trend.js) draws a section's charts only
when the section is opened or scrolled into view.  plotly.js is embedded
once, from the plotly package, as inert text that is evaluated on the first
chart or when the browser is idle, so the summary is usable before the 4.8 MB
library has been compiled.  The file needs no network.

Measured (``benchmarks/bench_trend_report.py``, 2-core CI-class machine):
1,000 benchmarks x 500 commits build in ~12.5 s (load 500 records ~5 s,
4,000 change point searches ~6 s), 12.8 MB of HTML (4.8 MB plotly.js);
headless Chromium has the summary ready 0.8-1.5 s after navigation, and the
first chart takes ~1 s (plotly.js compile), later ones ~0.1 s.

Untrusted text (benchmark names, commits, branches, tags, messages) is
escaped by Jinja's autoescape in HTML and by :func:`script_json` inside
``<script>`` blocks; the script sets text with ``textContent`` and escapes
what plotly renders as its pseudo-HTML.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import markupsafe
import numpy as np

from benchwatch.errors import UsageError
from benchwatch.history import changepoints as cp
from benchwatch.history import store
from benchwatch.render.html_templates import script_json, template_environment

CHART_METRICS = ("p50", "p95", "p99", "peak_memory")
TAG_METRICS = ("p50", "p95", "p99", "mean", "peak_memory", "allocations")
DEFAULT_MAX_POINTS = 150
DEFAULT_RECENT = 10
DEFAULT_TAG_THRESHOLD = 0.02
DEFAULT_MIN_MAGNITUDE = 0.02
MAX_TAG_ROWS = 200
_TIME_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
_BYTE_UNITS = ((1024.0**3, "GiB"), (1024.0**2, "MiB"), (1024.0, "KiB"), (1.0, "B"))


@dataclass(frozen=True)
class RecentChange:
    """One benchmark's standing in the summary ranking."""

    benchmark: str
    anchor: str
    changes: Mapping[str, float | None]  # metric -> last-N vs previous-N relative change
    score: float
    last_change_point: Mapping[str, Any] | None
    latest: str


@dataclass(frozen=True)
class TagChange:
    benchmark: str
    anchor: str
    metric: str
    before: float
    after: float
    relative_change: float
    intervals_apart: bool | None  # None: a side had fewer than 2 runs
    before_text: str
    after_text: str


@dataclass(frozen=True)
class TagComparison:
    """What changed between two consecutive tags."""

    from_tag: str
    to_tag: str
    from_commit: str
    to_commit: str
    slower: tuple[TagChange, ...]
    slower_total: int
    faster_total: int
    compared: int


@dataclass(frozen=True)
class TrendReport:
    """Figures of a built report (what :func:`write_trend_report` returns)."""

    path: Path | None
    html_bytes: int
    benchmarks: int
    commits: int
    change_points: int
    build_seconds: float


# -- escaping --------------------------------------------------------------------------


def commit_link(template: str | None, commit: str) -> str | None:
    if not template:
        return None
    return template.replace("{commit}", quote(commit, safe=""))


def check_commit_url(template: str | None) -> None:
    if template is None:
        return
    if "{commit}" not in template or not template.startswith(("https://", "http://")):
        raise UsageError(f"commit URL template {template!r} must start with https:// or http:// and contain {{commit}}")


def check_change_point_options(*, window: int, max_pvalue: float, min_magnitude: float) -> None:
    """One-line UsageError for options the change point search cannot honour (never silently 0 points)."""
    if window < 4:
        raise UsageError(f"--window must be at least 4 commits, got {window}")
    if not 0.0 < max_pvalue < 1.0:
        raise UsageError(f"--max-pvalue must be between 0 and 1 (exclusive), got {max_pvalue}")
    if not min_magnitude >= 0.0 or not math.isfinite(min_magnitude):
        raise UsageError(f"--min-change must be a relative change >= 0 (0.05 = 5%), got {min_magnitude}")


# -- units ------------------------------------------------------------------------------


def display_unit(unit: str, typical: float, metric: str) -> tuple[float, str]:
    """(factor, label): values divided by factor read naturally (ms, µs, MiB ...)."""
    if metric in ("peak_memory",) or unit == "bytes":
        table = _BYTE_UNITS
    elif metric == "allocations":
        return 1.0, "allocations"
    elif unit == "seconds":
        table = _TIME_UNITS
    else:
        return 1.0, unit
    if not math.isfinite(typical) or typical <= 0:
        return table[-1] if table is _BYTE_UNITS else (1.0, table[0][1])
    for factor, label in table:
        if typical >= factor:
            return factor, label
    return table[-1]


def format_value(value: float, unit: str, metric: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    factor, label = display_unit(unit, abs(value), metric)
    return f"{value / factor:.4g} {label}"


def _decimals_for(values: np.ndarray) -> int:
    finite = np.abs(values[np.isfinite(values)])
    finite = finite[finite > 0]
    if finite.size == 0:
        return 4
    magnitude = math.floor(math.log10(float(np.median(finite))))
    return int(min(max(3 - magnitude, 0), 12))


# -- analysis ---------------------------------------------------------------------------


def recent_change(values: np.ndarray, recent: int) -> float | None:
    """exp(mean log of the last ``recent`` values - mean log of the ``recent`` before) - 1."""
    values = values[np.isfinite(values) & (values > 0)]
    if values.size < 2:
        return None
    n = min(recent, values.size // 2)
    last, previous = values[-n:], values[-2 * n : -n]
    return math.expm1(float(np.log(last).mean() - np.log(previous).mean()))


def downsample_positions(length: int, max_points: int, keep: Sequence[int]) -> np.ndarray:
    """Evenly strided positions (first and last always) plus every position in ``keep``."""
    if length <= max_points:
        return np.arange(length)
    stride = math.ceil(length / max_points)
    chosen = set(range(0, length, stride)) | {length - 1} | {k for k in keep if 0 <= k < length}
    return np.array(sorted(chosen), dtype=np.int64)


@dataclass(frozen=True)
class _Column:
    """One benchmark metric over the history: record positions holding it and their values."""

    positions: np.ndarray
    values: np.ndarray
    low: np.ndarray
    high: np.ndarray


def _column(table: tuple[np.ndarray, np.ndarray, np.ndarray], index: int) -> _Column:
    values, low, high = (array[:, index] for array in table)
    positions = np.flatnonzero(np.isfinite(values))
    return _Column(positions=positions, values=values[positions], low=low[positions], high=high[positions])


def _series_block(
    column: _Column,
    metric: str,
    unit: str,
    *,
    max_points: int,
    tag_positions: set[int],
    window: int,
    max_pvalue: float,
    min_magnitude: float,
) -> tuple[dict[str, Any], list[cp.ChangePoint]]:
    values = column.values
    try:
        points = cp.detect_change_points(
            values, window=window, max_pvalue=max_pvalue, min_magnitude=min_magnitude, log=bool((values > 0).all())
        )
    except ValueError:
        points = []
    keep = [p.index for p in points]
    if tag_positions:
        keep += [i for i, position in enumerate(column.positions.tolist()) if position in tag_positions]
    chosen = downsample_positions(values.size, max_points, keep)
    factor, label = display_unit(unit, float(np.median(values)), metric)
    scaled = values[chosen] / factor
    decimals = _decimals_for(scaled)
    with np.errstate(invalid="ignore", divide="ignore"):
        low_pm = np.round((values[chosen] - column.low[chosen]) / values[chosen] * 1000.0)
        high_pm = np.round((column.high[chosen] - values[chosen]) / values[chosen] * 1000.0)
    x = column.positions[chosen]
    block = {
        "u": label,
        "x": np.diff(x, prepend=0).tolist(),
        "y": [v if math.isfinite(v) else None for v in np.round(scaled, decimals).tolist()],
        # Interval bounds as per-mille offsets from the value; null when no run had an interval.
        "lo": [int(v) if math.isfinite(v) else None for v in low_pm.tolist()] if np.isfinite(low_pm).any() else None,
        "hi": [int(v) if math.isfinite(v) else None for v in high_pm.tolist()] if np.isfinite(high_pm).any() else None,
        "cp": [
            [
                int(column.positions[p.index]),
                round(float(values[p.index]) / factor, decimals),
                round(p.relative_change, 5),
                float(f"{p.p_value:.3g}"),
            ]
            for p in points
        ],
    }
    return block, points


def _tag_comparisons(
    history: store.History, names: Sequence[str], anchors: Mapping[str, str], threshold: float
) -> list[TagComparison]:
    tagged = history.tagged()
    comparisons = []
    for (from_tag, i), (to_tag, j) in itertools.pairwise(tagged):
        if i == j:
            continue
        a, b = history.records[i], history.records[j]
        slower, faster, compared = [], 0, 0
        for name in names:
            unit = history.unit(name)
            for metric in TAG_METRICS:
                before, after = a.summary(name, metric), b.summary(name, metric)
                if before is None or after is None or not before.value > 0 or not math.isfinite(after.value):
                    continue
                compared += 1
                change = after.value / before.value - 1.0
                if change < -threshold:
                    faster += 1
                if change <= threshold:
                    continue
                known = before.high is not None and after.low is not None
                apart = (after.low > before.high) if known else None
                slower.append(
                    TagChange(
                        benchmark=name,
                        anchor=anchors[name],
                        metric=metric,
                        before=before.value,
                        after=after.value,
                        relative_change=change,
                        intervals_apart=apart,
                        before_text=format_value(before.value, unit, metric),
                        after_text=format_value(after.value, unit, metric),
                    )
                )
        slower.sort(key=lambda change: (-change.relative_change, change.benchmark, change.metric))
        comparisons.append(
            TagComparison(
                from_tag=from_tag,
                to_tag=to_tag,
                from_commit=a.commit,
                to_commit=b.commit,
                slower=tuple(slower[:MAX_TAG_ROWS]),
                slower_total=len(slower),
                faster_total=faster,
                compared=compared,
            )
        )
    return comparisons


# -- building ---------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 100:+.1f}%"


def _asset(name: str) -> str:
    return resources.files("benchwatch").joinpath(f"templates/{name}").read_text("utf-8")


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    # Defensive: a literal "</script" in the library would end our block early.
    return get_plotlyjs().replace("</script", "<\\/script")


def build_trend_html(
    history: store.History,
    *,
    commit_url: str | None = None,
    window: int = cp.DEFAULT_WINDOW,
    max_pvalue: float = cp.DEFAULT_MAX_PVALUE,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    max_points: int = DEFAULT_MAX_POINTS,
    recent: int = DEFAULT_RECENT,
    tag_threshold: float = DEFAULT_TAG_THRESHOLD,
    open_top: int = 3,
    title: str = "benchwatch trend report",
    generated_at: str | None = None,
) -> tuple[str, int]:
    """The report's HTML and the number of change points marked in it."""
    check_commit_url(commit_url)
    check_change_point_options(window=window, max_pvalue=max_pvalue, min_magnitude=min_magnitude)
    if max_points < 10:
        raise UsageError(f"max_points must be at least 10, got {max_points}")
    if recent < 1:
        raise UsageError(f"recent must be at least 1, got {recent}")
    records = history.records
    names = history.benchmark_names()
    anchors = {name: f"b{index}" for index, name in enumerate(names)}
    tag_positions = {index for _, index in history.tagged()}

    tables = {metric: store.metric_table(history, metric, names) for metric in CHART_METRICS}
    sections, ranking, total_points = [], [], 0
    for index, name in enumerate(names):
        unit = history.unit(name)
        blocks: dict[str, Any] = {}
        changes: dict[str, float | None] = {}
        last_point: dict[str, Any] | None = None
        latest = "–"
        for metric in CHART_METRICS:
            column = _column(tables[metric], index)
            if column.values.size == 0:
                changes[metric] = None
                continue
            block, points = _series_block(
                column,
                metric,
                unit,
                max_points=max_points,
                tag_positions=tag_positions,
                window=window,
                max_pvalue=max_pvalue,
                min_magnitude=min_magnitude,
            )
            blocks[metric] = block
            total_points += len(points)
            changes[metric] = recent_change(column.values, recent)
            if metric == "p50" or latest == "–":
                latest = format_value(float(column.values[-1]), unit, metric)
            if points:
                newest = points[-1]
                position = int(column.positions[newest.index])
                if last_point is None or position > last_point["position"]:
                    commit = records[position].commit
                    last_point = {
                        "position": position,
                        "metric": metric,
                        "commit": commit,
                        "short": commit[:8],
                        "url": commit_link(commit_url, commit),
                        "relative_change": newest.relative_change,
                    }
        finite = [abs(math.log1p(c)) for c in changes.values() if c is not None and c > -1]
        score = max(finite) if finite else 0.0
        ranking.append(
            RecentChange(
                benchmark=name,
                anchor=anchors[name],
                changes=changes,
                score=score,
                last_change_point=last_point,
                latest=latest,
            )
        )
        # Metrics measured at the same commits share one x array (most do): less to embed.
        shared_x = next((block["x"] for block in blocks.values()), [])
        for block in blocks.values():
            if block["x"] == shared_x:
                del block["x"]
        data = {"n": name, "x": shared_x, "m": blocks}
        sections.append({"name": name, "anchor": anchors[name], "unit": unit, "data": script_json(data)})
    ranking.sort(key=lambda row: (-row.score, row.benchmark))
    rank_of = {row.benchmark: position for position, row in enumerate(ranking)}
    sections.sort(key=lambda section: rank_of[section["name"]])
    for position, section in enumerate(sections):
        section["open"] = position < open_top
        section["row"] = ranking[position]

    meta = {
        "commits": [record.commit for record in records],
        "dates": [record.date for record in records],
        "messages": [record.message or "" for record in records],
        "urls": [commit_link(commit_url, record.commit) for record in records] if commit_url else None,
        "tags": [[tag, index] for tag, index in history.tagged()],
        "metrics": list(CHART_METRICS),
    }
    tags = _tag_comparisons(history, names, anchors, tag_threshold)
    branches = sorted({record.branch for record in records if record.branch})
    html = (
        template_environment(pct=_percent)
        .get_template("trend.html.j2")
        .render(
            title=title,
            generated_at=generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            commits=len(records),
            first_date=records[0].date if records else None,
            last_date=records[-1].date if records else None,
            branches=branches,
            benchmark_count=len(names),
            ranking=ranking,
            sections=sections,
            tag_comparisons=tags,
            tag_threshold=tag_threshold,
            recent=recent,
            window=window,
            max_pvalue=max_pvalue,
            min_magnitude=min_magnitude,
            metrics=CHART_METRICS,
            commit_url=commit_url,
            link=lambda commit: commit_link(commit_url, commit),
            meta=script_json(meta),
            css=markupsafe.Markup(_asset("trend.css")),
            script=markupsafe.Markup(_asset("trend.js").replace("</script", "<\\/script")),
            plotly_js=markupsafe.Markup(_plotly_js()),
        )
    )
    return html, total_points


def write_trend_report(
    history_dir: Path,
    output: Path,
    *,
    commit_url: str | None = None,
    window: int = cp.DEFAULT_WINDOW,
    max_pvalue: float = cp.DEFAULT_MAX_PVALUE,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    max_points: int = DEFAULT_MAX_POINTS,
    recent: int = DEFAULT_RECENT,
    tag_threshold: float = DEFAULT_TAG_THRESHOLD,
    title: str = "benchwatch trend report",
) -> TrendReport:
    """Load the history in ``history_dir`` and write its trend report to ``output`` (atomically)."""
    from benchwatch.resultfile import write_atomically

    started = time.perf_counter()
    check_commit_url(commit_url)
    check_change_point_options(window=window, max_pvalue=max_pvalue, min_magnitude=min_magnitude)
    history = store.load_history(history_dir)
    if not history.records:
        raise UsageError(f"history {history_dir} has no records yet (run benchwatch record first)")
    with store.paused_gc():
        html, points = build_trend_html(
            history,
            commit_url=commit_url,
            window=window,
            max_pvalue=max_pvalue,
            min_magnitude=min_magnitude,
            max_points=max_points,
            recent=recent,
            tag_threshold=tag_threshold,
            title=title,
        )
    payload = html.encode("utf-8")
    write_atomically(Path(output), payload)
    return TrendReport(
        path=Path(output),
        html_bytes=len(payload),
        benchmarks=len(history.benchmark_names()),
        commits=len(history.records),
        change_points=points,
        build_seconds=time.perf_counter() - started,
    )
