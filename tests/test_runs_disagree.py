"""An interval spanning more than a factor of 4 is not shown as one: "runs disagree" and the runs (issue 29).

The case: a p50 whose runs lay at 1 ms and 40 ms got the interval
0.0203 … 44.6, a number no reader can use.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchwatch.compare import compare
from benchwatch.model import BenchmarkResult, MemoryProfile, ResultSet, Run
from benchwatch.render import format_metric_interval
from benchwatch.render.html_report import render_html_report
from benchwatch.render.json_report import render_json
from benchwatch.render.markdown_report import render_markdown
from benchwatch.render.pr_comment import render_pr_comment
from benchwatch.render.terminal import render_terminal
from benchwatch.units import format_interval, format_value


def _side(levels: list[float], rss: list[int] | None = None) -> ResultSet:
    rng = np.random.default_rng(len(levels))
    runs = tuple(
        Run(
            samples=level * rng.lognormal(0, 0.02, 200),
            memory=None if rss is None else MemoryProfile(peak_bytes=900_000, allocations=10, rss_peak_bytes=rss[i]),
        )
        for i, level in enumerate(levels)
    )
    return ResultSet(benchmarks=(BenchmarkResult(name="erratic", runs=runs),))


@pytest.fixture(scope="module")
def comparison():
    return compare(_side([1e-3, 40e-3]), _side([2e-3, 30e-3]))


def test_the_row_keeps_its_numbers_and_carries_the_runs(comparison) -> None:
    p50 = next(m for m in comparison.metric_comparisons() if m.metric == "p50")
    assert p50.runs_disagree and p50.ci_high / p50.ci_low > 4
    assert len(p50.base_runs) == 2 and max(p50.base_runs) / min(p50.base_runs) > 30
    row = next(r for r in json.loads(render_json(comparison))["comparisons"] if r["metric"] == "p50")
    assert row["ci_low"] == pytest.approx(p50.ci_low) and row["ci_high"] == pytest.approx(p50.ci_high)


def test_every_report_says_runs_disagree_and_shows_the_runs_not_the_interval(comparison) -> None:
    p50 = next(m for m in comparison.metric_comparisons() if m.metric == "p50")
    runs = [", ".join(format_value(v, "seconds") for v in sorted(side)) for side in (p50.base_runs, p50.head_runs)]
    cell = format_metric_interval(p50)
    assert cell == f"runs disagree: base {runs[0]}; head {runs[1]}"
    interval = format_interval(p50.ci_low, p50.ci_high)
    base, head = _side([1e-3, 40e-3]), _side([2e-3, 30e-3])
    reports = {
        "terminal": render_terminal(comparison, all_rows=True),
        "markdown": render_markdown(comparison),
        "html": render_html_report(comparison, base, head, generated_at="now"),
    }
    for name, text in reports.items():
        assert f"runs disagree: base {runs[0]}" in text, name
        assert interval not in text, name
    comment = render_pr_comment(
        comparison, base_label="main", head_label="pr", base_commit="a" * 40, head_commit="b" * 40
    )
    assert "runs disagree" in comment


def test_a_narrow_interval_is_still_an_interval() -> None:
    steady = compare(_side([1e-3] * 5), _side([1.01e-3] * 5))
    p50 = next(m for m in steady.metric_comparisons() if m.metric == "p50")
    assert not p50.runs_disagree and p50.base_runs == () and "disagree" not in format_metric_interval(p50)


def test_memory_rows_whose_run_pairs_span_more_than_four_show_their_runs() -> None:
    """transcode_ratio's resident set: 0.94 or 2.5 MB per process, on both sides."""
    rss_base, rss_head = [937_984, 2_514_944, 2_514_944], [2_514_944, 937_984, 2_519_040]
    result = compare(_side([1e-3] * 3, rss_base), _side([1e-3] * 3, rss_head))
    rss = next(m for m in result.metric_comparisons() if m.metric == "peak_rss")
    assert rss.runs_disagree and sorted(rss.head_runs) == sorted(rss_head)
    runs = "916.0 KiB, 2.4 MiB, 2.4 MiB"
    assert format_metric_interval(rss) == f"runs disagree: base {runs}; head {runs}"
    assert not math.isnan(rss.ci_low)
