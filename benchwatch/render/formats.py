"""The one entry point of rendering: a comparison, a format name and a context in, a string out.

Each format is one renderer module; adding a format is adding a module and a line to
:data:`RENDERERS`, never a branch elsewhere.  ``compare``, ``compare-refs`` and the GitHub
reports all come through :func:`render`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: a renderer's import must not pull in the statistics
    from benchwatch.compare.records import Comparison
    from benchwatch.model import ResultSet


class MissingResults(ValueError):
    """A format that shows per-run data or commits was asked for without the result sets."""


@dataclass(frozen=True)
class RenderContext:
    """What a renderer may need beside the comparison; every field has a neutral default."""

    base: ResultSet | None = None
    head: ResultSet | None = None
    base_label: str | None = None
    head_label: str | None = None
    report_url: str | None = None
    max_chars: int | None = None
    #: memray flame graphs written beside an HTML report: benchmark -> side -> link.
    flamegraphs: Mapping[str, Mapping[str, str]] | None = None
    color: bool = False
    all_rows: bool = False
    #: Columns of the terminal; None prints benchmark names whole (--wide, a file, a pipe).
    width: int | None = None


def _sides(context: RenderContext, report_format: str) -> tuple[ResultSet, ResultSet]:
    if context.base is None or context.head is None:
        raise MissingResults(f"the {report_format} format needs the base and head results")
    return context.base, context.head


def _terminal(comparison: Comparison, context: RenderContext) -> str:
    from benchwatch.render.terminal import render_terminal

    return render_terminal(comparison, color=context.color, all_rows=context.all_rows, width=context.width)


def _json(comparison: Comparison, context: RenderContext) -> str:
    from benchwatch.render.json_report import render_json

    return render_json(comparison)


def _markdown(comparison: Comparison, context: RenderContext) -> str:
    from benchwatch.render.markdown_report import render_markdown

    return render_markdown(comparison)


def _pr_comment(comparison: Comparison, context: RenderContext) -> str:
    from benchwatch.render.pr_comment import CLI_MAX_CHARS, render_pr_comment

    base, head = _sides(context, "pr-comment")
    return render_pr_comment(
        comparison,
        base_label=context.base_label or base.environment.git_branch or "base",
        head_label=context.head_label or head.environment.git_branch or "head",
        base_commit=base.environment.git_commit or "unknown",
        head_commit=head.environment.git_commit or "unknown",
        report_url=context.report_url,
        max_chars=CLI_MAX_CHARS if context.max_chars is None else context.max_chars,
    )


def _html(comparison: Comparison, context: RenderContext) -> str:
    from benchwatch.render.html_report import render_html_report

    base, head = _sides(context, "html")
    return render_html_report(comparison, base, head, flamegraphs=context.flamegraphs)


RENDERERS: Mapping[str, Callable[[Comparison, RenderContext], str]] = {
    "terminal": _terminal,
    "json": _json,
    "markdown": _markdown,
    "pr-comment": _pr_comment,
    "html": _html,
}
#: Format names in the order the CLI lists them.
FORMATS: tuple[str, ...] = tuple(RENDERERS)
#: Formats that need the base and head result sets in the context.
NEEDS_RESULTS = frozenset({"pr-comment", "html"})


def render(comparison: Comparison, report_format: str, context: RenderContext | None = None) -> str:
    """``comparison`` as ``report_format`` (one of :data:`FORMATS`)."""
    renderer = RENDERERS.get(report_format)
    if renderer is None:
        raise ValueError(f"unknown report format {report_format!r}; one of {', '.join(FORMATS)}")
    return renderer(comparison, context or RenderContext())
