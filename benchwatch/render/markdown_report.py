"""A basic Markdown table of a comparison (the PR comment builds on it).

Benchmark names come from the code under test and may be hostile: they are
escaped with :func:`escape_markdown` so they cannot break the table, inject
HTML, mention users or form links.
"""

from __future__ import annotations

import re

from benchwatch.compare import Comparison
from benchwatch.compare.verdict import Verdict
from benchwatch.render import (
    counts_note,
    format_metric_change,
    format_metric_interval,
    method_note,
    row_order,
    ungated_reasons,
)
from benchwatch.render.invisible import reveal_invisible
from benchwatch.units import format_value

_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "|": "\\|",
    "`": "\\`",
    "[": "\\[",
    "]": "\\]",
    "(": "\\(",
    ")": "\\)",
    "*": "\\*",
    "_": "\\_",
    "~": "\\~",
    "\\": "\\\\",
    "#": "\\#",
    "!": "\\!",
}
_ZWJ = "\u200d"
_VERDICT_MARK: dict[str, str] = {
    Verdict.REGRESSION: "🔴 regression",
    Verdict.IMPROVEMENT: "🟢 improvement",
    Verdict.INCONCLUSIVE: "🟡 inconclusive",
    Verdict.UNCHANGED: Verdict.UNCHANGED,
}


_LINE_BREAKS = frozenset("\r\n\t\v\f\x85\u2028\u2029")
_ZWSP = "\u200b"
# GitHub turns bare "http://", "https://" and "www." into links (GFM extended
# autolinks); a zero-width space after the scheme or "www" defeats that.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www)(?=[:.])")
# GitHub links "#123", "owner/repo#123" and "GH-123" to issues; the backslash
# before "#" does not stop it everywhere, a zero-width joiner before the digits does.
_ISSUE_REFERENCE = re.compile(r"(?i)(#|\bGH-)(?=\d)")


def escape_markdown(text: str, *, keep_intraword_underscores: bool = False) -> str:
    """Escape ``text`` for a Markdown table cell or inline text.

    Invisible formatting characters (bidi overrides such as U+202E,
    zero-width characters) are shown as ``‹U+202E›``
    (:mod:`benchwatch.render.invisible`).  HTML-significant characters become
    entities; table, code, link and emphasis characters get a backslash;
    ``@`` is followed by a zero-width joiner so ``@octocat`` does not notify
    anyone, and so are ``#`` and ``GH-`` before digits so ``#123`` and
    ``GH-1`` do not link to issues; a zero-width space breaks bare URLs
    (``http://``, ``www.``) so GitHub does not autolink them; newlines and
    other control characters become spaces.

    ``keep_intraword_underscores`` leaves an ``_`` between two letters or
    digits unescaped: such an underscore can neither open nor close emphasis
    (CommonMark flanking rules), and not doubling it keeps long
    ``test_some_thing`` names short where space is counted (PR comments).
    """
    text = reveal_invisible(str(text))  # before our own zero-width characters go in
    text = _AUTOLINK.sub(lambda match: match.group(1) + _ZWSP, text)
    text = _ISSUE_REFERENCE.sub(lambda match: match.group(1) + _ZWJ, text)
    out = []
    last = len(text) - 1
    for index, ch in enumerate(text):
        if ch in _LINE_BREAKS or (ch < " " or ch == "\x7f"):
            out.append(" ")
        elif ch == "@":
            out.append("@" + _ZWJ)
        elif (
            ch == "_"
            and keep_intraword_underscores
            and 0 < index < last
            and text[index - 1].isalnum()
            and text[index + 1].isalnum()
        ):
            out.append(ch)
        else:
            out.append(_ESCAPES.get(ch, ch))
    return "".join(out)


def render_markdown(comparison: Comparison) -> str:
    """The comparison as Markdown: verdict line, table, warnings, ungated reasons."""
    lines = [f"**benchwatch: {comparison.verdict}**", ""]
    if comparison.headline:
        lines.extend([escape_markdown(comparison.headline), ""])
    rows = row_order(comparison)
    if rows:
        lines.append("| benchmark | metric | base | head | change | 95% CI | verdict |")
        lines.append("|---|---|---:|---:|---:|---|---|")
        for m in rows:
            verdict = _VERDICT_MARK.get(m.verdict, m.verdict)
            if not m.gated:
                verdict = f"({m.verdict}, not gated)"
            cells = [
                escape_markdown(m.benchmark),
                m.metric,
                format_value(m.base_value, m.unit),
                format_value(m.head_value, m.unit),
                format_metric_change(m),
                format_metric_interval(m),
                verdict,
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.extend(["", method_note(comparison)])
        note = counts_note(comparison)
        if note:
            lines.append(note)
    others = [b for b in comparison.benchmarks if b.status != "compared"]
    if others:
        lines.append("")
        for b in others:
            notes = f": {escape_markdown('; '.join(b.notes))}" if b.notes else ""
            lines.append(f"- {b.status}: {escape_markdown(b.name)}{notes}")
    for title, items in (("Warnings", list(comparison.warnings)), ("Not gated", ungated_reasons(comparison))):
        if items:
            lines.extend(["", f"**{title}**", ""])
            lines.extend(f"- {escape_markdown(item)}" for item in items)
    if comparison.explanations:
        from benchwatch.render.explain_report import markdown_section

        lines.extend(["", markdown_section(comparison.explanations)])
    return "\n".join(lines) + "\n"
