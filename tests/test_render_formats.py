"""The one render entry point: every format through `render`, the errors it raises."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchwatch.compare import CompareSettings, compare
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.render.formats import FORMATS, NEEDS_RESULTS, MissingResults, RenderContext, render


def _side(level: float, seed: int) -> ResultSet:
    rng = np.random.default_rng(seed)
    benchmarks = tuple(
        BenchmarkResult(name=f"b{i}", runs=tuple(Run(samples=level * rng.lognormal(0, 0.03, 120)) for _ in range(5)))
        for i in range(3)
    )
    return ResultSet(benchmarks=benchmarks, environment=Environment(cpu_count=2))


@pytest.fixture(scope="module")
def sides_and_comparison():
    base, head = _side(1e-3, 1), _side(1.4e-3, 2)
    return base, head, compare(base, head, CompareSettings())


def test_every_format_renders_the_regression(sides_and_comparison) -> None:
    base, head, comparison = sides_and_comparison
    for report_format in FORMATS:
        text = render(comparison, report_format, RenderContext(base=base, head=head, base_label="main"))
        assert "b0" in text, report_format
    assert json.loads(render(comparison, "json"))["verdict"] == "regression"


def test_formats_that_show_runs_need_the_results(sides_and_comparison) -> None:
    _, _, comparison = sides_and_comparison
    assert {"html", "pr-comment"} == NEEDS_RESULTS
    for report_format in NEEDS_RESULTS:
        with pytest.raises(MissingResults, match=report_format):
            render(comparison, report_format)


def test_an_unknown_format_names_the_choices(sides_and_comparison) -> None:
    _, _, comparison = sides_and_comparison
    with pytest.raises(ValueError, match="terminal, json, markdown, pr-comment, html"):
        render(comparison, "yaml")


def test_context_options_reach_the_renderer(sides_and_comparison) -> None:
    base, head, comparison = sides_and_comparison
    coloured = render(comparison, "terminal", RenderContext(color=True))
    plain = render(comparison, "terminal")
    assert "\x1b[" in coloured and "\x1b[" not in plain
    comment = render(comparison, "pr-comment", RenderContext(base=base, head=head, max_chars=4_096))
    assert len(comment) <= 4_096
