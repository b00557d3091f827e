"""``benchwatch history list`` and ``history show`` as plain text or JSON; each function returns a string.

Untrusted text (benchmark names, commit messages, tags, branches, sources) goes through :func:`terminal_text`
in the plain-text form: control characters (an ANSI escape could repaint the terminal) and invisible
formatting characters (U+202E reverses the line) are shown as ``‹U+XXXX›``.  JSON holds the exact text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from benchwatch.history.browse import BenchmarkSeries
from benchwatch.history.columnar import CommitRow
from benchwatch.history.summary import date_text
from benchwatch.render.invisible import reveal_invisible
from benchwatch.units import format_value, metric_unit

FORMATS = ("text", "json")
_BAR = 24  # characters of the widest bar in ``history show``
_MESSAGE = 60


def terminal_text(text: str) -> str:
    """``text`` safe to print: invisible and non-printable characters as ``‹U+XXXX›``."""
    revealed = reveal_invisible(text)
    return "".join(ch if ch.isprintable() else f"‹U+{ord(ch):04X}›" for ch in revealed)


def _first_line(message: str | None) -> str:
    line = (message or "").split("\n", 1)[0]
    return line if len(line) <= _MESSAGE else line[: _MESSAGE - 1] + "…"


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _record_json(row: CommitRow) -> dict[str, Any]:
    return {
        "commit": row.commit,
        "date": date_text(row.date_epoch),
        "tags": list(row.tags),
        "branch": row.branch,
        "benchmarks": row.benchmarks,
        "source": row.source,
        "message": row.message,
    }


def render_records(rows: Sequence[CommitRow], *, history: str, format: str = "text") -> str:
    """The records of a history, oldest first: commit, date, benchmark count, tags, branch, source, message."""
    if format == "json":
        return json.dumps({"history": history, "records": [_record_json(row) for row in rows]}, indent=2) + "\n"
    if not rows:
        return f"history {terminal_text(history)}: no records\n"
    first, last = date_text(rows[0].date_epoch)[:10], date_text(rows[-1].date_epoch)[:10]
    lines = [f"history {terminal_text(history)}: {len(rows)} records, {first} … {last}"]
    table = [("commit", "date", "benchmarks", "tags", "branch", "source", "message")]
    for row in rows:
        table.append(
            (
                terminal_text(row.commit[:12]),
                date_text(row.date_epoch)[:16].replace("T", " "),
                str(row.benchmarks),
                terminal_text(", ".join(row.tags)),
                terminal_text(row.branch or ""),
                terminal_text(row.source or ""),
                terminal_text(_first_line(row.message)),
            )
        )
    widths = [max(len(line[k]) for line in table) for k in range(len(table[0]))]
    for line in table:
        cells = [cell.rjust(widths[k]) if k == 2 else cell.ljust(widths[k]) for k, cell in enumerate(line)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _series_json(series: BenchmarkSeries) -> dict[str, Any]:
    commits = series.commits
    return {
        "benchmark": series.benchmark,
        "metric": series.metric,
        "unit": series.unit,
        "noise": _finite(series.fit.noise),
        "points": [
            {
                "commit": row.commit,
                "date": date_text(row.date_epoch),
                "tags": list(row.tags),
                "value": _finite(value),
                "low": _finite(low),
                "high": _finite(high),
            }
            for row, value, low, high in zip(
                commits, series.values.tolist(), series.low.tolist(), series.high.tolist(), strict=True
            )
        ],
        "change_points": [
            {
                "index": point.index,
                "commit": commits[point.index].commit,
                "before": _finite(point.before_mean),
                "after": _finite(point.after_mean),
                "relative_change": _finite(point.relative_change),
                "p_value": _finite(point.p_value),
            }
            for point in series.fit.change_points
        ],
    }


def render_series(series: BenchmarkSeries, *, format: str = "text") -> str:
    """One benchmark's series, a line per record with a bar, change points marked between the lines."""
    if format == "json":
        return json.dumps(_series_json(series), indent=2) + "\n"
    unit = metric_unit(series.unit, series.metric)
    points = series.fit.change_points
    noise = f"{series.fit.noise * 100:.1f}%" if math.isfinite(series.fit.noise) else "–"
    lines = [
        f"{terminal_text(series.benchmark)} · {series.metric} · {len(series.values)} records · noise {noise} · "
        f"{len(points)} change point{'' if len(points) == 1 else 's'}"
    ]
    low, high = float(series.values.min()), float(series.values.max())
    span = high - low if high > low else 1.0
    marks = {point.index: point for point in points}
    for index, (row, value) in enumerate(zip(series.commits, series.values.tolist(), strict=True)):
        point = marks.get(index)
        if point is not None:
            lines.append(
                f"  ── change point {point.relative_change * 100:+.1f}% "
                f"({format_value(point.before_mean, unit)} → {format_value(point.after_mean, unit)}, "
                f"p={point.p_value:.2g}) ──"
            )
        bar = "█" * max(1, round((value - low) / span * _BAR))
        tags = f"  [{terminal_text(', '.join(row.tags))}]" if row.tags else ""
        day = date_text(row.date_epoch)[:10]
        line = f"  {terminal_text(row.commit[:12]):<12}  {day}  {format_value(value, unit):>10}"
        lines.append(f"{line}  {bar:<{_BAR}}{tags}".rstrip())
    return "\n".join(lines) + "\n"
