"""A terminal report of a comparison, summary first; returns a string.

Layout: a headline (the suite verdict and the gated counts); the decisive
rows (regressions, then improvements; ungated verdicts in parentheses); the
benchmarks that could not be compared (added, removed, failed); one line
counting the rows not shown, with what blocked the inconclusive ones; then
how the intervals were made, warnings, and why some metrics did not gate.
``all_rows`` shows every row instead, each undecided one with its blocker
(:func:`benchwatch.render.blocker`: q-value, interval width, too few runs,
machine busy).  ``color`` adds ANSI colours (red regression, green
improvement, yellow inconclusive); the text is the same without them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from benchwatch.compare import Comparison, MetricComparison
from benchwatch.render import (
    blocker,
    blocker_parts,
    counts_note,
    disturbed_sides,
    format_metric_change,
    format_metric_interval,
    method_note,
    row_order,
    ungated_reasons,
)
from benchwatch.units import format_value

_COLORS = {"regression": "\x1b[31;1m", "improvement": "\x1b[32m", "inconclusive": "\x1b[33m", "unchanged": ""}
_RESET = "\x1b[0m"
_HEADERS = ("benchmark", "metric", "base", "head", "change", "95% CI", "verdict", "blocked by")
_DECISIVE = ("regression", "improvement")
_MAX_NAME = 60


def _clip(name: str) -> str:
    name = "".join(ch if ch.isprintable() else "?" for ch in name)
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 1] + "…"


def _headline(comparison: Comparison) -> tuple[str, str]:
    """(verdict word, the rest of the first line)."""
    gated = comparison.gated()
    counts = Counter(m.verdict for m in gated)
    order = ("regression", "improvement", "inconclusive", "unchanged")
    summary = ", ".join(f"{counts[v]} {v}" for v in order if counts[v])
    compared = sum(1 for b in comparison.benchmarks if b.status == "compared")
    return f"benchwatch: {comparison.verdict.upper()}", (
        f"  {compared} benchmark{'s' if compared != 1 else ''} compared; gated metrics: {summary or 'none'}"
    )


def _table(
    rows: list[MetricComparison], alpha: float, disturbed: dict[str, tuple[str, ...]], paint: Callable[[str, str], str]
) -> list[str]:
    cells = [
        (
            _clip(m.benchmark),
            m.metric,
            format_value(m.base_value, m.unit),
            format_value(m.head_value, m.unit),
            format_metric_change(m),
            format_metric_interval(m),
            m.verdict if m.gated else f"({m.verdict})",
            blocker(m, alpha, disturbed.get(m.benchmark, ())),
        )
        for m in rows
    ]
    columns = len(_HEADERS) if any(row[7] for row in cells) else len(_HEADERS) - 1
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(_HEADERS[:columns])]
    right = {2, 3, 4}

    def cell(i: int, text: str) -> str:
        return text.rjust(widths[i]) if i in right else text.ljust(widths[i])

    lines = ["  ".join(cell(i, h) for i, h in enumerate(_HEADERS[:columns])).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row, metric in zip(cells, rows, strict=True):
        text = "  ".join(cell(i, row[i]) for i in range(6))
        if columns > 7 and row[7]:
            lines.append(f"{text}  {paint(cell(6, row[6]), metric.verdict)}  {row[7]}")
        else:
            lines.append(f"{text}  {paint(row[6], metric.verdict)}")
    return lines


def _rest_line(hidden: list[MetricComparison], alpha: float, disturbed: dict[str, tuple[str, ...]]) -> str:
    """One line counting the rows not shown, with the blockers of the inconclusive ones."""
    verdicts = Counter(m.verdict for m in hidden)
    parts = []
    if verdicts["unchanged"]:
        parts.append(f"{verdicts['unchanged']} unchanged")
    if verdicts["inconclusive"]:
        kinds = Counter(
            blocker_parts(m, alpha, disturbed.get(m.benchmark, ()))[0] for m in hidden if m.verdict == "inconclusive"
        )
        detail = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
        parts.append(f"{verdicts['inconclusive']} inconclusive ({detail})")
    ungated = sum(1 for m in hidden if not m.gated)
    note = f"; {ungated} of these rows are not gated" if ungated else ""
    return f"Not shown: {', '.join(parts)}{note}. --all lists every row with what blocked it."


def render_terminal(comparison: Comparison, *, color: bool = False, all_rows: bool = False) -> str:
    """The comparison as plain text, decisive rows only unless ``all_rows`` (ANSI colours when ``color``)."""

    def paint(text: str, verdict: str) -> str:
        code = _COLORS.get(verdict, "")
        return f"{code}{text}{_RESET}" if color and code else text

    word, rest = _headline(comparison)
    lines = [paint(word, comparison.verdict) + rest]
    if comparison.headline:  # what a verdict needs, when the comparator could not reach one
        lines.append("".join(ch if ch.isprintable() else "?" for ch in comparison.headline))
    alpha = comparison.settings.alpha
    disturbed = disturbed_sides(comparison)
    ordered = row_order(comparison)
    shown = ordered if all_rows else [m for m in ordered if m.verdict in _DECISIVE]
    hidden = [m for m in ordered if m not in shown]
    if shown:
        lines.append("")
        lines.extend(_table(shown, alpha, disturbed, paint))
        if any(not m.gated for m in shown):
            lines.append("(verdicts in parentheses are not gated: reported, but they do not fail the check)")
    elif ordered:
        lines.append("")
        lines.append("No regressions or improvements.")
    others = [b for b in comparison.benchmarks if b.status != "compared"]
    if others:
        lines.append("")
        lines.append("not comparable:")
        for benchmark in others:
            note = f": {'; '.join(benchmark.notes)}" if benchmark.notes else ""
            lines.append(f"  {benchmark.status}: {_clip(benchmark.name)}{note}")
    if hidden:
        lines.append("")
        lines.append(_rest_line(hidden, alpha, disturbed))
    if ordered:
        lines.append(method_note(comparison))
        caption = counts_note(comparison)
        if caption:
            lines.append(caption)
    if comparison.warnings:
        lines.append("")
        lines.append("warnings:")
        lines.extend(f"  - {warning}" for warning in comparison.warnings)
    reasons = ungated_reasons(comparison)
    if reasons:
        lines.append("")
        lines.append("not gated:")
        lines.extend(f"  - {reason}" for reason in reasons)
    return "\n".join(lines) + "\n"
