"""The explanation of a comparison (:mod:`benchwatch.explain`) as text: PR comment, Markdown, terminal, JSON.

Per explained benchmark, its Python functions (cProfile) and native
functions (Callgrind) whose own cost changed most, one line each::

    - +20.1 ms (3.00×) helper · mylib.py:12 · calls/call 300 → 300

Function names and files come from the profiled code, which is untrusted:
Markdown goes through :func:`~benchwatch.render.markdown_report.escape_markdown`,
the terminal through :func:`printable`, both clipped to a bounded length.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from benchwatch.explain.records import Change, Explanation, FunctionChange, ProfileDiff, Tool
from benchwatch.render.markdown_report import escape_markdown
from benchwatch.units import format_value

#: Functions per benchmark in the PR comment, and in the Markdown and terminal reports.
PR_FUNCTIONS = 5
SHORT_FUNCTIONS = 3
MAX_NAME_CHARS = 120
MAX_FILE_CHARS = 80
TITLE = "Why: the functions behind the changes"


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def printable(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """``text`` for a terminal: control and invisible characters as ``?``, clipped."""
    return "".join(ch if ch.isprintable() else "?" for ch in _clip(text, limit))


def compact_cost(value: float, unit: str, *, signed: bool = False) -> str:
    """``+20.1 ms`` or ``+1.23 M instr``: a cost per benchmark call in few characters."""
    sign = ("+" if value > 0 else "-" if value < 0 else "±") if signed else ("-" if value < 0 else "")
    size = abs(value)
    if unit == "seconds":
        return sign + format_value(size, "seconds")
    for scale, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if size >= scale:
            return f"{sign}{size / scale:.3g}{suffix} instr"
    return f"{sign}{size:.0f} instr"


def where(file: str, line: int | None) -> str:
    """``file:line``; builtins (cProfile's file ``~``) as ``builtin``."""
    if file == "~":
        return "builtin"
    return f"{file}:{line}" if line is not None else file


def calls_text(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:.3g}"


def _ratio(change: FunctionChange) -> str:
    if change.change == Change.ADDED:
        return "new"
    if change.change == Change.REMOVED:
        return "gone"
    ratio = change.ratio
    return f"{ratio:.2f}×" if math.isfinite(ratio) else "new"


def function_line(change: FunctionChange, unit: str, escape: Callable[[str, int], str]) -> str:
    """One function: change in own cost per benchmark call, ratio, name, where, calls per benchmark call."""
    place = escape(where(change.file, change.line), MAX_FILE_CHARS)
    calls = f"calls/call {calls_text(change.base_calls)} → {calls_text(change.head_calls)}"
    cost = compact_cost(change.delta, unit, signed=True)
    return f"{cost} ({_ratio(change)}) {escape(change.name, MAX_NAME_CHARS)} · {place} · {calls}"


def _diff_summary(diff: ProfileDiff, escape: Callable[[str, int], str]) -> str:
    unit = diff.unit
    totals = f"{compact_cost(diff.base_total, unit)} → {compact_cost(diff.head_total, unit)} per call"
    if diff.tool == Tool.CPROFILE:
        overheads = [value for value in (diff.base_overhead, diff.head_overhead) if value is not None]
        overhead = f", cProfile overhead {max(overheads):.1f}×" if overheads else ""
        return f"Python functions, own time ({totals}{overhead})"
    summary = f"native functions, own instructions ({totals})"
    if diff.libraries:
        library, base, head = diff.libraries[0]
        summary += f"; most change in {escape(library, MAX_FILE_CHARS)}: {compact_cost(head - base, unit, signed=True)}"
    return summary


def benchmark_lines(
    explanation: Explanation, limit: int, escape: Callable[[str, int], str], indent: str = "  "
) -> list[str]:
    """Lines under one benchmark: per profiler a summary and up to ``limit`` functions; notes last."""
    lines: list[str] = []
    for diff in explanation.diffs():
        lines.append(f"{indent}- {_diff_summary(diff, escape)}")
        top = diff.top[:limit]
        if not top:
            lines.append(f"{indent}  - no function changed beyond the noise")
        lines.extend(f"{indent}  - {function_line(change, diff.unit, escape)}" for change in top)
    lines.extend(f"{indent}- {escape(note, 300)}" for note in explanation.notes[:3])
    return lines


def _markdown(text: str, limit: int) -> str:
    return escape_markdown(_clip(text, limit), keep_intraword_underscores=True)


def _terminal(text: str, limit: int) -> str:
    return printable(text, limit)


def markdown_section(explanations: Sequence[Explanation], limit: int = SHORT_FUNCTIONS, *, level: str = "####") -> str:
    """The explanations as a Markdown section ("" when there are none)."""
    if not explanations:
        return ""
    lines = [f"{level} {TITLE}", ""]
    for explanation in explanations:
        lines.append(f"- **{_markdown(explanation.benchmark, 300)}** ({explanation.reason})")
        lines.extend(benchmark_lines(explanation, limit, _markdown))
    return "\n".join(lines)


def pr_comment_tiers(explanations: Sequence[Explanation]) -> list[Callable[[int], str | None]]:
    """The explanation section's tiers for the PR comment, fullest first; the last is empty (it is cut first)."""

    def tier(limit: int) -> Callable[[int], str | None]:
        def text(budget: int) -> str | None:
            rendered = markdown_section(explanations, limit)
            return rendered if len(rendered) <= budget else None

        return text

    return [tier(PR_FUNCTIONS), tier(3), tier(1), lambda budget: ""]


def terminal_lines(explanations: Sequence[Explanation]) -> list[str]:
    """The explanations for the terminal report, shorter (no lines when there are none)."""
    if not explanations:
        return []
    lines = ["", "why (functions whose own cost changed most, per call of the benchmark):"]
    for explanation in explanations:
        lines.append(f"  {printable(explanation.benchmark, 200)} ({explanation.reason})")
        lines.extend(
            line.replace("- ", "", 1) for line in benchmark_lines(explanation, SHORT_FUNCTIONS, _terminal, "    ")
        )
    return lines


def json_section(explanations: Sequence[Explanation]) -> list[dict[str, Any]]:
    """The full table of every explanation, for the JSON report."""
    return [explanation.to_dict() for explanation in explanations]
