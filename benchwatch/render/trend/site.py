"""The trend report: a folder of static files that opens at once and works offline (GitHub Pages, file://).

    report/index.html          changes by commit, the ranking, search, release to release (small, no series)
    report/trend-data/         uPlot (vendored, MIT), the report's script and style,
                               index.js (every benchmark, for search), c0000.js ... (chart data)

Why this shape (issue 13): a single page holding 10,000 series was 20 MB
with 590,000 DOM nodes, and charts could be opened only after ~7 s.  Now the
page holds only what is read first; each benchmark's data sits in a chunk of
a few dozen benchmarks, loaded when one of them is opened.  A chunk is a
``<script>`` that hands raw-deflate-compressed, base64 JSON to the page
(``BW.chunk(id, "...")``), inflated in the browser by
``DecompressionStream``: browsers refuse ``fetch()`` from ``file://``, but
they run script files.

Charts use uPlot (~50 KB, canvas, made for time series) instead of
plotly.js (4.8 MB, SVG/DOM heavy; the ``plotly`` Python package was a
64 MB dependency).  Each metric has its own chart and unit; the x axis is
the commit sequence labelled with dates and short hashes, release tags and
change points are drawn as vertical lines, and the band around each
segment's fit is +/- 2 noise sigma.

Untrusted text (benchmark names, commits, branches, tags, messages, authors)
is escaped by Jinja's autoescape in HTML and is JSON inside the data files;
the script sets text with ``textContent`` only.  Invisible formatting
characters are shown as ``‹U+202E›`` by one rule on both sides (the
template's finalize, the script's ``shown``); links carry a benchmark's row
in the index, never its displayed name.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from benchwatch import fastjson
from benchwatch.errors import UsageError
from benchwatch.history.columnar import CommitRow
from benchwatch.history.summary import date_text
from benchwatch.history.trend_data import TrendData
from benchwatch.output import write_output
from benchwatch.render.html_templates import script_json, template_environment
from benchwatch.render.invisible import INVISIBLE_JS
from benchwatch.render.trend import commits as by_commit
from benchwatch.render.trend import model as trend_model
from benchwatch.render.trend.model import (
    DEFAULT_MIN_MAGNITUDE,
    DEFAULT_NOISY,
    DEFAULT_RECENT,
    DEFAULT_TAG_THRESHOLD,
    Headline,
    MetricSeries,
    TrendModel,
)
from benchwatch.units import display_unit, format_value, metric_unit

DATA_DIR = "trend-data"
ASSETS = ("uplot.iife.min.js", "uplot.min.css", "uplot.LICENSE", "trend.js", "trend.css")
DEFAULT_SUMMARY_ROWS = 50  # the first screenful; the rest is one click away in Search and filter
DEFAULT_COMMIT_ROWS = 30  # commits in "Changes by commit"; each lists its largest changes
COMMIT_BENCHMARKS = 10  # benchmarks listed per commit in the page; all of them are in the index (expand)
TAG_COMMIT_ROWS = 10  # commits listed for the latest pair of tags (their benchmarks one click away)
OLDER_TAG_COMMIT_ROWS = 5
CHUNK_BYTES = 96 * 1024  # raw JSON per chunk before compression: a click loads ~20-40 KB
_CHUNK_FILE = re.compile(r"^c\d{4,6}\.js$")
__all__ = ["DEFAULT_MIN_MAGNITUDE", "DEFAULT_NOISY", "DEFAULT_RECENT", "DEFAULT_TAG_THRESHOLD"]


@dataclass(frozen=True)
class TrendReport:
    """Figures of a built report (what :func:`write_trend_report` returns)."""

    path: Path
    total_bytes: int
    page_bytes: int
    files: int
    benchmarks: int
    commits: int
    change_points: int
    build_seconds: float


# -- links and units -----------------------------------------------------------------------


def commit_link(template: str | None, commit: str) -> str | None:
    if not template:
        return None
    return template.replace("{commit}", quote(commit, safe=""))


def check_commit_url(template: str | None) -> None:
    if template is None:
        return
    if "{commit}" not in template or not template.startswith(("https://", "http://")):
        raise UsageError(f"commit URL template {template!r} must start with https:// or http:// and contain {{commit}}")


def check_repo_url(url: str | None) -> None:
    if url is not None and not url.startswith(("https://", "http://")):
        raise UsageError(f"repository URL {url!r} must start with https:// or http://")


def link_template(commit_url: str | None, repo_url: str | None, commits: Sequence[CommitRow]) -> str | None:
    """How commits are linked: ``--commit-url``, else ``--repo-url``, else the newest recorded repository URL.

    A recorded URL is untrusted: one that is not http(s) is ignored (never a ``javascript:`` link).
    """
    check_commit_url(commit_url)
    check_repo_url(repo_url)
    if commit_url:
        return commit_url
    url = repo_url or next((row.repo_url for row in reversed(commits) if row.repo_url), None)
    if not url or not url.startswith(("https://", "http://")):
        return None
    return url.rstrip("/") + "/commit/{commit}"


def _value(value: float, unit: str, metric: str) -> str:
    return format_value(value, metric_unit(unit, metric))


def _percent(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value * 100:+.1f}%"


# -- data encoding ---------------------------------------------------------------------------


def _quantised(values: np.ndarray, typical: float) -> tuple[int, list[int | None]]:
    """Values as integers times 10**exponent, 4 significant digits of the typical value (compresses well)."""
    exponent = math.floor(math.log10(typical)) - 3 if typical > 0 and math.isfinite(typical) else 0
    scaled = np.round(values / 10.0**exponent)
    finite = np.isfinite(scaled)
    if finite.all():
        return exponent, scaled.astype(np.int64).tolist()
    return exponent, [int(v) if ok else None for v, ok in zip(scaled.tolist(), finite.tolist(), strict=True)]


def series_block(item: MetricSeries, unit: str, commits: int) -> dict[str, Any]:
    """One metric's chart data (see templates/trend.js, ``decodeSeries``)."""
    typical = item.typical
    factor, label = display_unit(metric_unit(unit, item.metric), typical)
    exponent, ints = _quantised(item.values / factor, abs(typical) / factor)
    fit = item.fit
    block: dict[str, Any] = {"u": label, "e": exponent, "y": ints, "s": round(fit.noise, 5)}
    if item.positions.size != commits:
        block["x"] = np.diff(item.positions, prepend=0).tolist()  # delta-encoded record positions
    # Segments as [first point, point count, log level, log slope per point]; the fit is in display units.
    log_factor = math.log(factor)
    if len(fit.segments) == 1:
        segment = fit.segments[0]
        block["f"] = [[0, int(item.positions.size), round(segment.level - log_factor, 5), round(segment.slope, 6)]]
    elif item.positions.size == commits:  # measured at every record: a position is its own point index
        block["f"] = [
            [s.start, s.stop - s.start, round(s.level - log_factor, 5), round(s.slope, 6)] for s in fit.segments
        ]
    else:
        block["f"] = []
        for segment in fit.segments:
            first, stop = np.searchsorted(item.positions, [segment.start, segment.stop]).tolist()
            block["f"].append([first, stop - first, round(segment.level - log_factor, 5), round(segment.slope, 6)])
    block["c"] = [
        [point.index, round(point.relative_change, 5), float(f"{point.p_value:.3g}")] for point in fit.change_points
    ]
    return block


def _pack(document: Any) -> str:
    # orjson when installed: the chunks' JSON took 0.15 s of a 10,000-series build with the standard library.
    text = fastjson.dumps_compact(document)
    # Level 1: 3x faster than 6, ~10% larger; raw deflate is what DecompressionStream("deflate-raw") reads.
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    packed = compressor.compress(text) + compressor.flush()
    return base64.b64encode(packed).decode("ascii")


def _script(call: str, *arguments: Any) -> bytes:
    return f"{call}({', '.join(json.dumps(a) for a in arguments)});\n".encode()


def chunk_files(model: TrendModel) -> tuple[dict[str, bytes], dict[str, int]]:
    """The chart data files, in ranking order (the first rows' data sits in the first chunks)."""
    files: dict[str, bytes] = {}
    chunk_of: dict[str, int] = {}
    pending: list[Any] = []
    size = 0

    def flush() -> None:
        nonlocal pending, size
        if pending:
            number = len(files)
            files[f"c{number:04d}.js"] = _script("BW.chunk", number, _pack(pending))
            pending, size = [], 0

    for row in model.ranking:
        metrics = model.series.get(row.benchmark, {})
        blocks = {m: series_block(item, row.unit, len(model.commits)) for m, item in metrics.items()}
        entry = [row.benchmark, blocks]
        # ~7 bytes per value in JSON: close enough to cut chunks of similar size without encoding twice.
        size += 100 + len(row.benchmark) + sum(7 * len(block["y"]) + 40 * len(block["f"]) for block in blocks.values())
        chunk_of[row.benchmark] = len(files)
        pending.append(entry)
        if size >= CHUNK_BYTES:
            flush()
    flush()
    return files, chunk_of


def index_document(
    model: TrendModel, chunk_of: Mapping[str, int], groups: Sequence[by_commit.CommitGroup] = ()
) -> dict[str, Any]:
    """Every benchmark for search and filter, the commits for axes and tooltips, every commit group's series."""
    rows = []
    ids = {row.benchmark: k for k, row in enumerate(model.ranking)}
    for row in model.ranking:
        change = row.change.relative_change if row.change is not None else None
        rows.append(
            [
                row.benchmark,
                chunk_of[row.benchmark],
                row.status,
                None if change is None else round(change, 5),
                row.metric,
                round(row.noise, 5) if math.isfinite(row.noise) else None,
                format_value(row.latest, row.unit),
            ]
        )
    commits = model.commits
    return {
        "benchmarks": rows,
        "commits": [row.commit for row in commits],
        "dates": [date_text(row.date_epoch)[:10] for row in commits],
        "messages": [(row.message or "").split("\n")[0][:120] for row in commits],
        "tags": [[tag, index] for index, row in enumerate(commits) for tag in row.tags],
        "authors": [row.author or "" for row in commits],
        # Per commit group (page order): [record position, [[benchmark row, metric, relative change], ...]].
        "groups": [
            [
                group.position,
                [[ids[c.benchmark], c.metric, round(c.relative_change, 5)] for c in group.changes],
            ]
            for group in groups
        ],
    }


# -- the page ---------------------------------------------------------------------------------


def _summary_rows(model: TrendModel, limit: int) -> list[Headline]:
    """The rows the page lists at once: every regression and improvement up to ``limit``, then noisy ones."""
    shown = [row for row in model.ranking if row.status in ("regression", "improvement")][:limit]
    noisy = [row for row in model.ranking if row.status == "noisy"][: max(limit - len(shown), 10)]
    return shown + noisy


def _first_line(message: str | None) -> str:
    line = (message or "").split("\n", 1)[0]
    return line if len(line) <= 120 else line[:119] + "…"


def _tag_groups(model: TrendModel, groups: Sequence[by_commit.CommitGroup]) -> list[list[by_commit.CommitGroup]]:
    """Per pair of tags, the commits between them (the page's groups in their order): 10 for the latest pair, 5 else."""
    found = []
    for k, comparison in enumerate(model.tags):
        start, stop = by_commit.tag_positions(model, comparison.from_commit, comparison.to_commit)
        between = [group for group in groups if start <= group.position < stop]
        found.append(between[: TAG_COMMIT_ROWS if k == len(model.tags) - 1 else OLDER_TAG_COMMIT_ROWS])
    return found


def render_page(
    model: TrendModel,
    *,
    title: str,
    generated_at: str,
    commit_url: str | None,
    options: Mapping[str, Any],
    summary_rows: int,
    commit_groups: Sequence[by_commit.CommitGroup] = (),
) -> str:
    counts = dict.fromkeys(("regression", "improvement", "noisy", "stable"), 0)
    for row in model.ranking:
        counts[row.status] += 1
    commits = model.commits
    # Links name a benchmark by its row in the index (raw names stay in the data; the page shows them escaped).
    ids = {row.benchmark: k for k, row in enumerate(model.ranking)}
    config = {"data": DATA_DIR, "commitUrl": commit_url, "recent": options["recent"], "invisible": INVISIBLE_JS}
    return (
        template_environment(pct=_percent)
        .get_template("trend.html.j2")
        .render(
            title=title,
            generated_at=generated_at,
            commits=len(commits),
            first_date=date_text(commits[0].date_epoch),
            last_date=date_text(commits[-1].date_epoch),
            branches=sorted({row.branch for row in commits if row.branch}),
            benchmark_count=len(model.names),
            counts=counts,
            rows=_summary_rows(model, summary_rows),
            commit_groups=commit_groups[:DEFAULT_COMMIT_ROWS],
            commit_groups_total=len(commit_groups),
            commit_benchmarks=COMMIT_BENCHMARKS,
            tag_groups=_tag_groups(model, commit_groups),
            ids=ids,
            first_line=_first_line,
            day=lambda row: date_text(row.date_epoch)[:10],
            commit_of=lambda position: commits[position].commit if position is not None else None,
            link=lambda commit: commit_link(commit_url, commit),
            value=_value,
            tag_comparisons=model.tags,
            options=options,
            data_dir=DATA_DIR,
            config=script_json(config),
        )
    )


def _asset(name: str) -> bytes:
    return resources.files("benchwatch").joinpath(f"templates/{name}").read_bytes()


def build_site(
    model: TrendModel,
    *,
    title: str,
    commit_url: str | None,
    options: Mapping[str, Any],
    summary_rows: int = DEFAULT_SUMMARY_ROWS,
    generated_at: str | None = None,
) -> tuple[str, dict[str, bytes]]:
    """The page's HTML and the data folder's files (name -> bytes)."""
    chunks, chunk_of = chunk_files(model)
    groups = by_commit.group_by_commit(model)
    files = {name: _asset(name) for name in ASSETS}
    files.update(chunks)
    files["index.js"] = _script("BW.index", _pack(index_document(model, chunk_of, groups)))
    html = render_page(
        model,
        title=title,
        generated_at=generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit_url=commit_url,
        options=options,
        summary_rows=summary_rows,
        commit_groups=groups,
    )
    return html, files


def _targets(output: Path) -> tuple[Path, Path]:
    """(page, data folder): ``-o site/`` writes site/index.html; ``-o site/trend.html`` writes that page."""
    output = Path(output)
    page = output if output.suffix in (".html", ".htm") else output / "index.html"
    if page.parent.exists() and not page.parent.is_dir():
        raise UsageError(f"{page.parent}: is not a directory")
    return page, page.parent / DATA_DIR


def write_site(output: Path, html: str, files: Mapping[str, bytes]) -> tuple[Path, int]:
    """Write the data folder, then the page (each file atomically); drop chunk files of an older build."""
    page, data = _targets(output)
    data.mkdir(parents=True, exist_ok=True)
    for name, payload in files.items():
        # Not flushed to disk: a report is rebuilt from the history at will, and a hundred fsyncs
        # cost seconds on a busy CI disk.
        write_output(data / name, payload, durable=False)
    for stale in data.iterdir():
        if _CHUNK_FILE.match(stale.name) and stale.name not in files and not stale.is_symlink():
            stale.unlink()
    encoded = html.encode("utf-8")
    write_output(page, encoded, durable=False)
    return page, len(encoded) + sum(len(payload) for payload in files.values())


def write_trend_report(
    data: TrendData,
    output: Path,
    *,
    commit_url: str | None = None,
    repo_url: str | None = None,
    max_pvalue: float = 0.001,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    recent: int = DEFAULT_RECENT,
    noisy: float = DEFAULT_NOISY,
    tag_threshold: float = DEFAULT_TAG_THRESHOLD,
    summary_rows: int = DEFAULT_SUMMARY_ROWS,
    window: int | None = None,
    title: str = "benchwatch trend report",
) -> TrendReport:
    """Analyse the loaded history ``data`` and write the report folder (see the module docstring)."""
    started = time.perf_counter()
    commit_url = link_template(commit_url, repo_url, data.commits)
    if window is not None and window < 4:
        raise UsageError(f"--window must be at least 4 commits, got {window}")
    trend_model.check_options(max_pvalue=max_pvalue, min_magnitude=min_magnitude, recent=recent, noisy=noisy)
    _targets(output)
    model = trend_model.build_model(
        data,
        max_pvalue=max_pvalue,
        min_magnitude=min_magnitude,
        recent=recent,
        noisy=noisy,
        tag_threshold=tag_threshold,
    )
    options = {
        "max_pvalue": max_pvalue,
        "min_magnitude": min_magnitude,
        "recent": recent,
        "noisy": noisy,
        "tag_threshold": tag_threshold,
    }
    html, files = build_site(model, title=title, commit_url=commit_url, options=options, summary_rows=summary_rows)
    page, total = write_site(output, html, files)
    points = sum(len(item.fit.change_points) for metrics in model.series.values() for item in metrics.values())
    return TrendReport(
        path=page,
        total_bytes=total,
        page_bytes=len(html.encode("utf-8")),
        files=len(files) + 1,
        benchmarks=len(model.names),
        commits=len(model.commits),
        change_points=points,
        build_seconds=time.perf_counter() - started,
    )
