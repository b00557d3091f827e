"""A pull-request comment of a comparison that always fits GitHub's size cap.

Layout, most important first::

    **benchwatch: 2 regressions** in 40 benchmarks
    head 1a2b3c4d5e6f (feature-x) vs base 9f8e7d6c5b4a (main) · gate p50, p95, peak_memory at ±10% · [full report](URL)

    #### Regressions (2)          every gated metric of each regressed benchmark,
    | benchmark | metric | ... |   most severe benchmark first
    #### Improvements (3)         same table
    #### Why: the functions ...   per explained benchmark, up to 5 functions (benchwatch.explain)
    <details> everything else      inconclusive, unchanged, ungated; added/removed
    #### Warnings                  noise/environment warnings, why metrics did not gate

**Fitting** (``max_chars``; GitHub rejects a comment body over 65,536
characters): each section has tiers from full to minimal.  The budget goes
to the sections by importance - regressions, then warnings, then
improvements, then everything else - each taking its richest tier that
fits while the minimal tiers of the sections after it still fit.  So the
details fold first (fewer rows, then only counts), then improvements, then
warnings; regressions lose detail last and are never dropped: full table ->
regression rows only -> one line per regressed benchmark (``- +25.3% p50:
name``) -> names only, grouped by file (``- file.py :: test_a, test_b``).
Only if even that passes the cap (thousands of long names) does it list as
many one-line regressions as fit, most severe first, and say how many more
the linked HTML report / JSON artifact holds and why.  The explanation
takes its budget last of all (5, 3, then 1 function per benchmark, then
none): it is cut first, before anything else loses detail.

**Untrusted names**: benchmark names, labels, warnings and notes go through
:func:`~benchwatch.render.markdown_report.escape_markdown` (no HTML, no
tables broken, no links, no @mentions, no newlines).  The output carries no
hidden marker: :func:`benchwatch.github.client.sticky_body` appends it, so
pass ``max_chars=comment_body_limit(marker)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from urllib.parse import quote, urlsplit

from benchwatch.compare import BenchmarkComparison, Comparison, MetricComparison
from benchwatch.compare.verdict import Verdict
from benchwatch.errors import UsageError
from benchwatch.render import (
    METRIC_ORDER,
    VERDICT_ORDER,
    counts_note,
    format_metric_change,
    format_metric_interval,
    ungated_reasons,
)
from benchwatch.render.explain_report import pr_comment_tiers
from benchwatch.render.markdown_report import escape_markdown
from benchwatch.units import format_interval, format_value

#: GitHub's cap on an issue comment body.
MAX_CHARS = 65_536
#: What the CLI uses: the cap less room for the hidden marker that
#: :func:`benchwatch.github.client.sticky_body` appends (at most 87 characters).
CLI_MAX_CHARS = MAX_CHARS - 128
#: Below this no useful comment fits (headline, context, the most severe regression).
MIN_CHARS = 4_096
SHORT_SHA = 12
#: Names and labels longer than this are clipped (with "…") before escaping,
#: so that one hostile name cannot take the whole comment.
MAX_NAME_CHARS = 300
MAX_LABEL_CHARS = 100
_TABLE_HEAD = ("| benchmark | metric | base | head | change | 95% CI | verdict |", "|---|---|---:|---:|---:|---|---|")
_HEX = re.compile(r"[0-9a-fA-F]{4,64}")


# -- ranking -------------------------------------------------------------------


def _finite_or(value: float, default: float) -> float:
    return value if value is not None and not math.isnan(value) else default


def regression_severity(metric: MetricComparison) -> tuple[float, float]:
    """Sort key, larger = more severe: the ratio, then the interval's low end (infinite ratios first, NaN last)."""
    return (_finite_or(metric.ratio, -math.inf), _finite_or(metric.ci_low, -math.inf))


def improvement_strength(metric: MetricComparison) -> tuple[float, float]:
    """Sort key, larger = stronger improvement: the inverse ratio, then the inverse high end."""
    return (-_finite_or(metric.ratio, math.inf), -_finite_or(metric.ci_high, math.inf))


def ranked_benchmarks(comparison: Comparison, verdict: str) -> list[tuple[BenchmarkComparison, list[MetricComparison]]]:
    """Benchmarks with a gated ``verdict`` ("regression" or "improvement"), most severe first.

    Each comes with its gated metrics of that verdict, most severe first.  A
    benchmark with a gated regression is never listed as an improvement.
    """
    key: Callable[[MetricComparison], tuple[float, float]] = (
        regression_severity if verdict == Verdict.REGRESSION else improvement_strength
    )
    ranked = []
    for benchmark in comparison.benchmarks:
        gated = [m for m in benchmark.metrics if m.gated]
        if verdict == Verdict.IMPROVEMENT and any(m.verdict == Verdict.REGRESSION for m in gated):
            continue
        hits = sorted((m for m in gated if m.verdict == verdict), key=key, reverse=True)
        if hits:
            ranked.append((benchmark, hits))
    ranked.sort(key=lambda pair: (key(pair[1][0]), len(pair[1])), reverse=True)
    return ranked


# -- cells -----------------------------------------------------------------------


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(text: str) -> str:
    return escape_markdown(_clip(text, MAX_NAME_CHARS), keep_intraword_underscores=True)


def _row(m: MetricComparison) -> str:
    verdict = m.verdict if m.gated else f"({m.verdict}, not gated)"
    cells = (
        _name(m.benchmark),
        m.metric,
        format_value(m.base_value, m.unit),
        format_value(m.head_value, m.unit),
        format_metric_change(m),
        format_metric_interval(m),
        verdict,
    )
    return "| " + " | ".join(cells) + " |"


def _compact(benchmark: BenchmarkComparison, metrics: Sequence[MetricComparison], *, interval: bool) -> str:
    parts = []
    for m in metrics:
        text = f"{format_metric_change(m)} {m.metric}"
        if interval and m.runs_disagree:
            text += " (runs disagree)"
        elif interval and math.isfinite(m.ci_low) and math.isfinite(m.ci_high):
            text += f" (CI {format_interval(m.ci_low, m.ci_high)})"
        parts.append(text)
    return f"- {', '.join(parts)}: {_name(benchmark.name)}"


def _grouped_names(benchmarks: Sequence[BenchmarkComparison]) -> list[str]:
    """One line per file (the part before the last ``::``): ``- file :: name, name``; order of first appearance."""
    groups: dict[str, list[str]] = {}
    for benchmark in benchmarks:
        prefix, separator, rest = _clip(benchmark.name, MAX_NAME_CHARS).rpartition("::")
        groups.setdefault(prefix if separator else "", []).append(rest)
    lines = []
    for prefix, names in groups.items():
        listed = ", ".join(escape_markdown(name, keep_intraword_underscores=True) for name in names)
        lines.append(
            f"- {escape_markdown(prefix, keep_intraword_underscores=True)} :: {listed}" if prefix else f"- {listed}"
        )
    return lines


def _commit(commit: str) -> str:
    commit = str(commit).strip()
    if _HEX.fullmatch(commit):
        return commit[:SHORT_SHA].lower()  # plain: GitHub links a bare sha to the commit
    return escape_markdown(_clip(commit, 40)) if commit else "unknown"


def _safe_url(url: str) -> str:
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--report-url must be an http(s) URL, got {url!r}")
    # percent-encode everything that could end a Markdown link or open HTML
    return quote(str(url), safe=":/?#@!$&'*+,;=%~-._")


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


# -- fitting ---------------------------------------------------------------------


def _fit_lines(head: list[str], lines: Sequence[str], tail: Callable[[int], list[str]], budget: int) -> str | None:
    """``head`` + as many ``lines`` as fit (at least one) + ``tail(left out)``; None if that does not fit."""

    def text(parts: list[str]) -> str:
        return "\n".join(parts)

    fixed = len(text(head + tail(len(lines)))) + 1
    if fixed > budget:
        return None
    used, kept = fixed, 0
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        used += len(line) + 1
        kept += 1
    if kept == len(lines):
        full = text(head + list(lines) + tail(0))
        if len(full) <= budget:
            return full
    # the tail text depends on how many were left out: shrink until it fits
    while kept >= min(1, len(lines)):
        candidate = text(head + list(lines[:kept]) + tail(len(lines) - kept))
        if len(candidate) <= budget:
            return candidate
        kept -= 1
    return None


def _first_fitting(tiers: Sequence[Callable[[int], str | None]], budget: int, *, required: bool = False) -> str:
    """The first tier whose text fits ``budget``; "" if none does, or the last tier's text when ``required``."""
    for tier in tiers:
        text = tier(budget)
        if text is not None and len(text) <= budget:
            return text
    return (tiers[-1](budget) or "") if required else ""


def render_pr_comment(
    comparison: Comparison,
    *,
    base_label: str,
    head_label: str,
    base_commit: str,
    head_commit: str,
    report_url: str | None = None,
    max_chars: int = MAX_CHARS,
) -> str:
    """The comparison as a PR comment of at most ``max_chars`` characters (see the module docstring)."""
    if max_chars < MIN_CHARS:
        raise UsageError(f"a PR comment needs at least {MIN_CHARS} characters, got max_chars={max_chars}")
    url = _safe_url(report_url) if report_url else None
    where = "the [HTML report](" + url + ")" if url else "the HTML report / JSON artifact"

    regressions = ranked_benchmarks(comparison, Verdict.REGRESSION)
    improvements = ranked_benchmarks(comparison, Verdict.IMPROVEMENT)
    # gated metrics of regressed benchmarks sit in the regression table (its full tier)
    shown = {id(m) for b, _ in regressions for m in b.metrics if m.gated}
    shown |= {id(m) for _, ms in improvements for m in ms}
    others = sorted(
        (m for m in comparison.metric_comparisons() if id(m) not in shown),
        key=lambda m: (VERDICT_ORDER.get(m.verdict, 9), not m.gated, m.benchmark, METRIC_ORDER.get(m.metric, 9)),
    )
    warnings = [*comparison.warnings, *ungated_reasons(comparison)]

    top = _headline(comparison, len(regressions), len(improvements))
    if comparison.headline:
        top += "\n\n" + escape_markdown(comparison.headline)
    context = _context(comparison, base_label, head_label, base_commit, head_commit, url)
    footer = (
        "<sub>Generated by benchwatch. Regression: q < alpha (BH) and change beyond the threshold; "
        "95% CI of head/base from per-run statistics."
        + (f" {counts_note(comparison)}" if counts_note(comparison) else "")
        + "</sub>"
    )
    fixed = "\n\n".join((top, context, footer))

    sections: dict[str, str] = {}
    # The explanation comes last in the budget: it is the first thing cut (and it is already in the HTML report).
    order = ("regressions", "warnings", "improvements", "others", "explanations")
    tiers = {
        "explanations": pr_comment_tiers(comparison.explanations),
        "regressions": _regression_tiers(regressions, where),
        "warnings": _warning_tiers(warnings, where),
        "improvements": _improvement_tiers(improvements, where),
        "others": _other_tiers(comparison, others, where),
    }
    remaining = max_chars - len(fixed) - 2 * len(order)  # "\n\n" before each section
    for index, name in enumerate(order):
        reserve = sum(len(_first_fitting(tiers[later][-1:], 10**9)) for later in order[index + 1 :])
        sections[name] = _first_fitting(tiers[name], max(remaining - reserve, 0), required=name == "regressions")
        remaining -= len(sections[name])
    parts = [top, context]
    shown_order = ("regressions", "improvements", "explanations", "others", "warnings")
    parts += [sections[name] for name in shown_order if sections[name]]
    parts.append(footer)
    text = "\n\n".join(parts) + "\n"
    if len(text) > max_chars:  # cannot happen with MIN_CHARS and the clipping above; never post an oversized body
        raise AssertionError(f"PR comment of {len(text)} characters exceeds max_chars={max_chars}")
    return text


def _headline(comparison: Comparison, n_regressed: int, n_improved: int) -> str:
    total = _plural(len(comparison.benchmarks), "benchmark")
    if n_regressed:
        return f"**benchwatch: {_plural(n_regressed, 'regression')}** in {total}"
    if comparison.verdict == Verdict.INCONCLUSIVE:
        inconclusive = len(comparison.gated(Verdict.INCONCLUSIVE))
        failed = sum(1 for b in comparison.benchmarks if b.status == "failed")
        why = [
            text
            for n, text in (
                (inconclusive, _plural(inconclusive, "gated metric") + " inconclusive"),
                (failed, _plural(failed, "benchmark") + " failed"),
            )
            if n
        ]
        detail = f" ({', '.join(why)})" if why else ""
        extra = f", {_plural(n_improved, 'improvement')}" if n_improved else ""
        return f"**benchwatch: inconclusive**, no regression established{extra} in {total}{detail}"
    if n_improved:
        return f"**benchwatch: no regressions, {_plural(n_improved, 'improvement')}** in {total}"
    return f"**benchwatch: no significant change** in {total}"


def _context(
    comparison: Comparison, base_label: str, head_label: str, base_commit: str, head_commit: str, url: str | None
) -> str:
    settings = comparison.settings
    gate = ", ".join(settings.gating_metrics) or "none"
    own = [m for m in settings.gating_metrics if settings.threshold_for("", m) != settings.threshold]
    if own:
        gate_own = ", ".join(f"{m} ±{settings.threshold_for('', m):.0%}" for m in own)
    line = (
        f"head {_commit(head_commit)} ({escape_markdown(_clip(head_label, MAX_LABEL_CHARS))}) vs base "
        f"{_commit(base_commit)} ({escape_markdown(_clip(base_label, MAX_LABEL_CHARS))}) "
        f"· suite verdict: {comparison.verdict} · gate: {gate} at ±{settings.threshold:.0%}"
    )
    if own:
        line += f" ({gate_own})"
    if url:
        line += f" · [full HTML report]({url})"
    return line


def _regression_tiers(regressions, where: str) -> list[Callable[[int], str | None]]:
    if not regressions:
        return [lambda budget: ""]
    title = f"#### Regressions ({len(regressions):,})"

    def table(rows: list[str]) -> str:
        return "\n".join([title, "", *_TABLE_HEAD, *rows])

    def all_gated(budget: int) -> str:
        rows: list[str] = []
        for benchmark, hits in regressions:
            rest = sorted(
                (m for m in benchmark.metrics if m.gated and m not in hits), key=lambda m: METRIC_ORDER.get(m.metric, 9)
            )
            rows.extend(_row(m) for m in (*hits, *rest))
        return table(rows)

    def regression_rows(budget: int) -> str:
        return table([_row(m) for _, hits in regressions for m in hits])

    def lines(interval: bool) -> Callable[[int], str]:
        return lambda budget: "\n".join([title, "", *(_compact(b, hits, interval=interval) for b, hits in regressions)])

    def grouped(budget: int) -> str:
        note = (
            f"Too many to show with their figures: names only, grouped by file, most severe file first "
            f"(figures in {where})."
        )
        return "\n".join([title, "", note, "", *_grouped_names([b for b, _ in regressions])])

    def truncated(budget: int) -> str | None:
        # Only when even the grouped names pass GitHub's limit: the most severe that fit, and say so.
        compact = [_compact(b, hits, interval=False) for b, hits in regressions]
        return _fit_lines(
            [title, ""],
            compact,
            lambda left: (
                [
                    f"- **… and {left:,} more regressions** (less severe): too many for one comment "
                    f"(GitHub's {MAX_CHARS:,}-character limit), all listed in {where}"
                ]
                if left
                else []
            ),
            budget,
        )

    def names_only(budget: int) -> str:
        # last resort for tiny budgets: the count and the most severe one
        benchmark, hits = regressions[0]
        return f"{title}\n\nMost severe: {_compact(benchmark, hits[:1], interval=False)[2:]}; all in {where}"

    return [all_gated, regression_rows, lines(True), lines(False), grouped, truncated, names_only]


def _improvement_tiers(improvements, where: str) -> list[Callable[[int], str | None]]:
    if not improvements:
        return [lambda budget: ""]
    title = f"#### Improvements ({len(improvements):,})"
    rows = [_row(m) for _, hits in improvements for m in hits]

    def full(budget: int) -> str | None:
        return _fit_lines(
            [title, "", *_TABLE_HEAD],
            rows,
            lambda left: ["", f"… and {left:,} more improved metrics in {where}"] if left else [],
            budget,
        )

    def count_only(budget: int) -> str:
        return f"**Improvements:** {len(improvements):,} benchmarks improved; listed in {where}."

    return [full, count_only]


def _other_tiers(
    comparison: Comparison, others: list[MetricComparison], where: str
) -> list[Callable[[int], str | None]]:
    counts: dict[str, int] = {}
    for m in others:
        label = m.verdict if m.gated else "not gated"
        counts[label] = counts.get(label, 0) + 1
    statuses: dict[str, list[BenchmarkComparison]] = {}
    for b in comparison.benchmarks:
        if b.status != "compared":
            statuses.setdefault(b.status, []).append(b)
    if not others and not statuses:
        return [lambda budget: ""]
    summary_parts = [f"{n:,} {label}" for label, n in counts.items()]
    summary_parts += [_plural(len(bs), "benchmark") + f" {status}" for status, bs in statuses.items()]
    summary = f"Everything else ({_plural(len(others), 'metric')}" + (", benchmarks" if statuses else "") + "): "
    summary += ", ".join(summary_parts)
    status_lines = [
        f"- {b.status}: {_name(b.name)}"
        + (f": {escape_markdown(_clip('; '.join(b.notes), MAX_NAME_CHARS))}" if b.notes else "")
        for status in ("failed", "added", "removed")
        for b in statuses.get(status, [])
    ]
    rows = [_row(m) for m in others]

    def folded(budget: int) -> str | None:
        head = [f"<details><summary>{summary}</summary>", ""]
        end = ["", "</details>"]
        # status lines first (few and informative), then the metric rows
        body_budget = budget - len("\n".join(head + end)) - 1
        status_text = (
            _fit_lines(
                [], status_lines, lambda left: [f"- … and {left:,} more in {where}"] if left else [], body_budget
            )
            if status_lines
            else ""
        )
        if status_text is None:
            return None
        rest = body_budget - len(status_text) - (2 if status_text else 0)
        table: str | None = ""
        if rows:
            table = _fit_lines(
                list(_TABLE_HEAD), rows, lambda left: ["", f"… and {left:,} more rows in {where}"] if left else [], rest
            )
            if table is None:
                table = ""
        body = "\n\n".join(part for part in (status_text, table) if part)
        if not body:
            return None
        return "\n".join([*head, body, *end])

    def count_only(budget: int) -> str:
        return f"{summary}; details in {where}."

    return [folded, count_only]


def _warning_tiers(warnings: list[str], where: str) -> list[Callable[[int], str | None]]:
    if not warnings:
        return [lambda budget: ""]
    title = f"#### Warnings ({len(warnings):,})"
    lines = [f"- {escape_markdown(_clip(w, 2 * MAX_NAME_CHARS))}" for w in warnings]

    def listed(budget: int) -> str | None:
        return _fit_lines(
            [title, ""], lines, lambda left: [f"- … and {left:,} more in {where}"] if left else [], budget
        )

    def count_only(budget: int) -> str:
        return f"**Warnings:** {len(warnings):,} noise/environment warnings; listed in {where}."

    return [listed, count_only]
