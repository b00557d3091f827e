"""A terminal report of a comparison, summary first; returns a string.

Layout: a headline (the suite verdict and the gated counts); the decisive
rows (regressions, then improvements; ungated verdicts in parentheses); the
benchmarks that could not be compared (added, removed, failed); one line
counting the rows not shown, with what blocked the inconclusive ones; then
how the intervals were made, warnings, and why some metrics did not gate.
``all_rows`` shows every row instead, each undecided one with its blocker
(:func:`benchwatch.render.blocker`: q-value, interval width, too few runs,
machine busy).  Names are whole unless a terminal ``width`` is given; then
a name too long is cut keeping its distinguishing end.  Untrusted text
(names, reasons, warnings) shows control and format characters as ``?``.
``color`` adds ANSI colours (red regression, green improvement, yellow
inconclusive); the text is the same without them.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Callable

from benchwatch.compare import Comparison, MetricComparison
from benchwatch.compare.verdict import Verdict
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
from benchwatch.render.explain_report import terminal_lines
from benchwatch.units import format_value

_COLORS: dict[str, str] = {
    Verdict.REGRESSION: "\x1b[31;1m",
    Verdict.IMPROVEMENT: "\x1b[32m",
    Verdict.INCONCLUSIVE: "\x1b[33m",
    Verdict.UNCHANGED: "",
}
_RESET = "\x1b[0m"
_HEADERS = ("benchmark", "metric", "base", "head", "change", "95% CI", "verdict", "blocked by")
_DECISIVE = (Verdict.REGRESSION, Verdict.IMPROVEMENT)
#: Narrowest a cut name gets, however narrow the terminal: below it the line wraps instead.
_MIN_NAME = 24
#: Parameters kept at least when a name is cut inside its brackets.
_MIN_PARAMS = 8
_LATENCY = ("p50", "p95", "p99", "mean")


def printable(text: str) -> str:
    """``text`` with control and format characters (U+202E, escapes) shown as ``?``."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (CJK) characters two, combining marks none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text
    )


def _tail(text: str, columns: int) -> str:
    """The longest end of ``text`` that fits in ``columns``."""
    kept = ""
    for ch in reversed(text):
        if display_width(ch + kept) > columns:
            break
        kept = ch + kept
    return kept


def cut_name(name: str, columns: int | None) -> str:
    """``name`` made printable, cut to ``columns`` keeping the end that tells benchmarks apart.

    pytest ids end in what distinguishes them: the test's name, then its
    parameters.  A cut drops the path first (``…ections.py::test_x[AS_TUPLE]``),
    then the start of the parameters (``test_x[…AS_TUPLE-Converter]``); None
    keeps the name whole.
    """
    name = printable(name)
    if columns is None or display_width(name) <= columns:
        return name
    columns = max(columns, _MIN_NAME)
    leaf = name.rsplit("::", 1)[-1]
    if display_width(leaf) < columns:
        return "…" + _tail(name, columns - 1)
    function, bracket, params = leaf.partition("[")
    room = columns - display_width(function) - 3  # "[…" and "]"
    if bracket and params.endswith("]") and room >= _MIN_PARAMS:
        return f"{function}[…{_tail(params[:-1], room)}]"
    return "…" + _tail(name, columns - 1)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def _raw_note(metric: MetricComparison, speed_adjusted: bool) -> str:
    """``raw ×0.56: machine`` when the speed-adjusted estimate and the raw medians point opposite ways."""
    base, head, ratio = metric.base_value, metric.head_value, metric.ratio
    if not speed_adjusted or metric.metric not in _LATENCY:
        return ""
    if not (base > 0 and head > 0 and math.isfinite(ratio) and ratio > 0):
        return ""
    raw = math.log(head / base)
    # The comparator's rule for saying so in the row's reason (comparator/latency.py).
    if raw * math.log(ratio) >= 0 or min(abs(raw), abs(math.log(ratio))) < 0.01:
        return ""
    return f"raw ×{head / base:.2f}: machine"


def _headline(comparison: Comparison) -> tuple[str, str]:
    """(verdict word, the rest of the first line)."""
    gated = comparison.gated()
    counts = Counter(m.verdict for m in gated)
    order = (Verdict.REGRESSION, Verdict.IMPROVEMENT, Verdict.INCONCLUSIVE, Verdict.UNCHANGED)
    summary = ", ".join(f"{counts[v]} {v}" for v in order if counts[v])
    compared = sum(1 for b in comparison.benchmarks if b.status == "compared")
    return f"benchwatch: {comparison.verdict.upper()}", (
        f"  {compared} benchmark{'s' if compared != 1 else ''} compared; gated metrics: {summary or 'none'}"
    )


def _table(
    rows: list[MetricComparison],
    alpha: float,
    disturbed: dict[str, tuple[str, ...]],
    paint: Callable[[str, str], str],
    *,
    width: int | None,
    speed_adjusted: bool,
) -> list[str]:
    cells = [
        [
            printable(m.benchmark),
            m.metric,
            format_value(m.base_value, m.unit),
            format_value(m.head_value, m.unit),
            format_metric_change(m),
            format_metric_interval(m),
            m.verdict if m.gated else f"({m.verdict})",
            "; ".join(
                part
                for part in (blocker(m, alpha, disturbed.get(m.benchmark, ())), _raw_note(m, speed_adjusted))
                if part
            ),
        ]
        for m in rows
    ]
    headers = list(_HEADERS)
    if any(row[7] for row in cells) and not any(blocker(m, alpha, disturbed.get(m.benchmark, ())) for m in rows):
        headers[7] = "note"
    columns = len(headers) if any(row[7] for row in cells) else len(headers) - 1
    widths = [max(display_width(h), *(display_width(r[i]) for r in cells)) for i, h in enumerate(headers[:columns])]
    if width is not None:
        # The name gets what the other columns leave of the terminal's width.
        others = sum(widths[1:]) + 2 * (columns - 1)
        budget = max(_MIN_NAME, width - others)
        for row in cells:
            row[0] = cut_name(row[0], budget)
        widths[0] = max(display_width(headers[0]), *(display_width(r[0]) for r in cells))
    right = {2, 3, 4}

    def cell(i: int, text: str) -> str:
        return _pad(text, widths[i], right=i in right)

    lines = ["  ".join(cell(i, h) for i, h in enumerate(headers[:columns])).rstrip()]
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
    if verdicts[Verdict.UNCHANGED]:
        parts.append(f"{verdicts[Verdict.UNCHANGED]} unchanged")
    if verdicts[Verdict.INCONCLUSIVE]:
        kinds = Counter(
            blocker_parts(m, alpha, disturbed.get(m.benchmark, ()))[0]
            for m in hidden
            if m.verdict == Verdict.INCONCLUSIVE
        )
        detail = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common())
        parts.append(f"{verdicts[Verdict.INCONCLUSIVE]} inconclusive ({detail})")
    ungated = sum(1 for m in hidden if not m.gated)
    note = f"; {ungated} of these rows are not gated" if ungated else ""
    return f"Not shown: {', '.join(parts)}{note}. --all lists every row with what blocked it."


def render_terminal(
    comparison: Comparison, *, color: bool = False, all_rows: bool = False, width: int | None = None
) -> str:
    """The comparison as plain text, decisive rows only unless ``all_rows`` (ANSI colours when ``color``).

    ``width`` is the terminal's width in columns: benchmark names longer
    than the table leaves them are cut (:func:`cut_name`); None (a pipe, a
    file, ``--wide``) prints them whole.
    """

    def paint(text: str, verdict: str) -> str:
        code = _COLORS.get(verdict, "")
        return f"{code}{text}{_RESET}" if color and code else text

    word, rest = _headline(comparison)
    lines = [paint(word, comparison.verdict) + rest]
    if comparison.headline:  # what a verdict needs, when the comparator could not reach one
        lines.append(printable(comparison.headline))
    alpha = comparison.settings.alpha
    disturbed = disturbed_sides(comparison)
    ordered = row_order(comparison)
    shown = ordered if all_rows else [m for m in ordered if m.verdict in _DECISIVE]
    hidden = [m for m in ordered if m not in shown]
    speed_adjusted = comparison.diagnostics.latency_test == "speed-adjusted"
    if shown:
        lines.append("")
        lines.extend(_table(shown, alpha, disturbed, paint, width=width, speed_adjusted=speed_adjusted))
        if any(not m.gated for m in shown):
            lines.append("(verdicts in parentheses are not gated: reported, but they do not fail the check)")
        if any(_raw_note(m, speed_adjusted) for m in shown):
            lines.append(
                "(raw ×R: the raw medians moved the other way; the runs met different machine speeds "
                "and the estimate removes the machine's share)"
            )
    elif ordered:
        lines.append("")
        lines.append("No regressions or improvements.")
    others = [b for b in comparison.benchmarks if b.status != "compared"]
    if others:
        lines.append("")
        lines.append("not comparable:")
        for benchmark in others:
            note = f": {printable('; '.join(benchmark.notes))}" if benchmark.notes else ""
            room = None if width is None else width - len(benchmark.status) - 4
            lines.append(f"  {benchmark.status}: {cut_name(benchmark.name, room)}{note}")
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
        lines.extend(f"  - {printable(warning)}" for warning in comparison.warnings)
    reasons = ungated_reasons(comparison)
    if reasons:
        lines.append("")
        lines.append("not gated:")
        lines.extend(f"  - {printable(reason)}" for reason in reasons)
    lines.extend(terminal_lines(comparison.explanations))
    return "\n".join(lines) + "\n"
