"""A terminal table of a comparison, readable at a glance; returns a string.

Layout: a one-line suite verdict; the table (benchmark, metric, base, head,
change %, 95% CI, verdict), regressions first, ungated verdicts in
parentheses; then benchmarks added/removed/failed, noise and environment
warnings, and why some metrics did not gate.  ``color`` adds ANSI colours
(red regression, green improvement, yellow inconclusive); the text is the
same without them.
"""

from __future__ import annotations

from benchwatch.compare import Comparison
from benchwatch.render import counts_note, format_metric_change, method_note, row_order, ungated_reasons
from benchwatch.units import format_interval, format_value

_COLORS = {"regression": "\x1b[31;1m", "improvement": "\x1b[32m", "inconclusive": "\x1b[33m", "unchanged": ""}
_RESET = "\x1b[0m"
_HEADERS = ("benchmark", "metric", "base", "head", "change", "95% CI", "verdict")
_MAX_NAME = 60


def _clip(name: str) -> str:
    name = "".join(ch if ch.isprintable() else "?" for ch in name)
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 1] + "…"


def _clip_line(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def render_terminal(comparison: Comparison, *, color: bool = False) -> str:
    """The comparison as a plain-text table (ANSI colours when ``color``)."""

    def paint(text: str, verdict: str) -> str:
        code = _COLORS.get(verdict, "")
        return f"{code}{text}{_RESET}" if color and code else text

    lines = []
    gated = comparison.gated()
    counts = {
        v: sum(1 for m in gated if m.verdict == v) for v in ("regression", "improvement", "inconclusive", "unchanged")
    }
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    lines.append(
        paint(f"benchwatch: {comparison.verdict.upper()}", comparison.verdict)
        + f"  (gated metrics: {summary or 'none'})"
    )
    if comparison.headline:
        lines.append(_clip_line(comparison.headline))
    rows = [
        (
            _clip(m.benchmark),
            m.metric,
            format_value(m.base_value, m.unit),
            format_value(m.head_value, m.unit),
            format_metric_change(m),
            format_interval(m.ci_low, m.ci_high),
            m.verdict if m.gated else f"({m.verdict})",
            m.verdict,
        )
        for m in row_order(comparison)
    ]
    if rows:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HEADERS)]
        right = {2, 3, 4}

        def cell(i: int, text: str) -> str:
            return text.rjust(widths[i]) if i in right else text.ljust(widths[i])

        lines.append("")
        lines.append("  ".join(cell(i, h) for i, h in enumerate(_HEADERS)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        for row in rows:
            text = "  ".join(cell(i, row[i]) for i in range(len(_HEADERS) - 1))
            lines.append(f"{text}  {paint(row[6], row[7])}".rstrip())
        lines.append("(verdicts in parentheses are not gated: reported, but they do not fail the check)")
        lines.append(method_note(comparison))
        note = counts_note(comparison)
        if note:
            lines.append(note)
    others = [b for b in comparison.benchmarks if b.status != "compared"]
    if others:
        lines.append("")
        for benchmark in others:
            note = f": {'; '.join(benchmark.notes)}" if benchmark.notes else ""
            lines.append(f"{benchmark.status}: {_clip(benchmark.name)}{note}")
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
