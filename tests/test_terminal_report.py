"""The terminal report: summary first, decisive rows, a count of the rest, and each undecided row's blocker."""

from __future__ import annotations

import math

import numpy as np

from benchwatch.compare import (
    ONE_RUN_REASON,
    BenchmarkComparison,
    CompareSettings,
    Comparison,
    MetricComparison,
    compare,
)
from benchwatch.compare.records import ComparisonDiagnostics
from benchwatch.compare.verdict import Verdict
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run
from benchwatch.render import blocker
from benchwatch.render.terminal import cut_name, display_width, render_terminal


def runs(rng: np.random.Generator, level: float, count: int = 5, sigma: float = 0.02) -> tuple[Run, ...]:
    return tuple(
        Run(
            samples=level * np.exp(rng.normal(0, sigma)) * rng.lognormal(0, 0.03, 200), memory=MemoryProfile(2**20, 500)
        )
        for _ in range(count)
    )


def result_set(**levels: tuple[Run, ...]) -> ResultSet:
    benchmarks = tuple(BenchmarkResult(name=name, runs=value) for name, value in levels.items())
    return ResultSet(benchmarks=benchmarks, environment=Environment(cpu_count=2))


def suite() -> tuple[ResultSet, ResultSet]:
    """Twelve benchmarks; one 30% slower, one with a single head run, one only in base."""
    rng = np.random.default_rng(7)
    names = [f"test_case_{i:02d}" for i in range(12)]
    base = result_set(**{name: runs(rng, 1e-3 * (1 + i)) for i, name in enumerate(names)}, test_gone=runs(rng, 1e-3))
    head_levels = {name: runs(rng, 1e-3 * (1 + i)) for i, name in enumerate(names)}
    head_levels["test_case_03"] = runs(rng, 1.3e-3 * 4)
    head_levels["test_case_07"] = runs(rng, 1e-3 * 8, count=1)
    return base, result_set(**head_levels)


def test_summary_first_shows_only_decisive_rows_and_counts_the_rest() -> None:
    base, head = suite()
    comparison = compare(base, head, CompareSettings())
    text = render_terminal(comparison)
    lines = text.splitlines()
    assert lines[0].startswith("benchwatch: REGRESSION  12 benchmarks compared; gated metrics: 2 regression, ")
    table = [line for line in lines if line.startswith("test_case_")]
    # The gated p50 and p95 first, then the ungated p99 and mean (in parentheses).
    assert [line.split()[:2] for line in table] == [["test_case_03", m] for m in ("p50", "p95", "p99", "mean")]
    assert all("regression" in line and "+3" in line for line in table)
    assert "(regression)" in table[2] and "(verdicts in parentheses are not gated" in text
    assert "  removed: test_gone" in text
    (rest,) = [line for line in lines if line.startswith("Not shown:")]
    hidden = len(list(comparison.metric_comparisons())) - len(table)
    counted = sum(int(part.split()[0]) for part in rest.removeprefix("Not shown: ").split("; ")[0].split(", ")[:2])
    assert counted == hidden, rest
    assert "too few runs" in rest and "--all" in rest


def test_all_rows_give_every_undecided_row_its_blocker() -> None:
    base, head = suite()
    comparison = compare(base, head, CompareSettings())
    text = render_terminal(comparison, all_rows=True)
    header = next(line for line in text.splitlines() if line.startswith("benchmark"))
    assert header.rstrip().endswith("blocked by")
    rows = [line for line in text.splitlines() if line.startswith("test_case_")]
    assert len(rows) == len(list(comparison.metric_comparisons()))
    one_run = [line for line in rows if line.startswith("test_case_07") and " p50 " in line]
    assert one_run and "too few runs (5 base, 1 head; needs ≥2 each)" in one_run[0]
    assert not any("Not shown" in line for line in text.splitlines())


def test_colour_is_only_decoration() -> None:
    base, head = suite()
    comparison = compare(base, head, CompareSettings())
    plain, coloured = render_terminal(comparison), render_terminal(comparison, color=True)
    assert "\x1b[" not in plain and "\x1b[31;1m" in coloured
    assert plain == coloured.replace("\x1b[31;1m", "").replace("\x1b[0m", "")


def row(**changes: object) -> MetricComparison:
    fields: dict[str, object] = {
        "benchmark": "b",
        "metric": "p50",
        "verdict": "inconclusive",
        "ratio": 1.0,
        "ci_low": 0.8,
        "ci_high": 1.25,
        "p_value": 0.9,
        "q_value": 0.9,
        "threshold": 0.10,
        "gated": True,
        "reason": "95% CI reaches beyond ±10%",
        "base_value": 1e-3,
        "head_value": 1e-3,
        "n_runs_base": 5,
        "n_runs_head": 5,
    }
    fields.update(changes)
    return MetricComparison(**fields)  # type: ignore[arg-type]


def test_blocker_names_the_real_reason() -> None:
    # The full_sync row: the interval is far past -10%, but q = 0.10 is what blocks the verdict.
    assert blocker(row(ratio=0.35, ci_low=0.066, ci_high=0.504, q_value=0.10), 0.05) == "q-value (0.1, needs < 0.05)"
    assert blocker(row(), 0.05) == "CI too wide (±25%)"
    assert (
        blocker(row(ratio=1.05, ci_low=1.01, ci_high=1.12, q_value=0.01), 0.05)
        == "change under threshold (+5.0%, CI ±5%)"
    )
    one_run = row(ratio=1.2, ci_low=math.nan, ci_high=math.nan, q_value=math.nan, n_runs_head=1, reason=ONE_RUN_REASON)
    assert blocker(one_run, 0.05) == "too few runs (5 base, 1 head; needs ≥2 each)"
    busy = row(ratio=1.4, ci_low=1.2, ci_high=1.6, q_value=0.001, reason="head disturbed: preempted 40% of the time")
    assert blocker(busy, 0.05) == "machine busy (head)"
    # A side the diagnostics call disturbed is the blocker even when the row's own reason does not say so.
    assert blocker(row(q_value=0.3, ratio=1.3, ci_low=0.9, ci_high=1.9), 0.05, ("base",)) == "machine busy (base)"
    assert blocker(row(verdict="regression"), 0.05) == ""
    assert blocker(row(verdict="unchanged"), 0.05) == ""
    memory = row(
        metric="peak_memory", reason="change +88 KiB beyond tolerance 64 KiB but within run-to-run span 117 KiB"
    )
    assert blocker(memory, 0.05) == "run-to-run spread"


# -- full names, the terminal's width, and untrusted text (issue 26) ------------------------------------------

LONG = (
    "bench/test_attrs_collections.py::test_unstructure_attrs_lists[UnstructureStrategy.AS_DICT-Converter]",
    "bench/test_attrs_collections.py::test_unstructure_attrs_lists[UnstructureStrategy.AS_TUPLE-Converter]",
)


def comparison_of(*metrics: MetricComparison, latency_test: str | None = None) -> Comparison:
    names = dict.fromkeys(metric.benchmark for metric in metrics)
    benchmarks = tuple(
        BenchmarkComparison(name=name, metrics=tuple(m for m in metrics if m.benchmark == name), status="compared")
        for name in names
    )
    return Comparison(
        benchmarks=benchmarks,
        verdict=Verdict.REGRESSION,
        warnings=(),
        settings=CompareSettings(),
        base_environment={},
        head_environment={},
        diagnostics=ComparisonDiagnostics(latency_test=latency_test),
    )


def regression(name: str, **changes: object) -> MetricComparison:
    fields: dict[str, object] = {
        "benchmark": name,
        "verdict": "regression",
        "ratio": 1.3,
        "ci_low": 1.2,
        "ci_high": 1.4,
        "q_value": 0.001,
    }
    return row(**{**fields, **changes})


def table_rows(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-----"))
    return [line for line in lines[start + 1 :] if line.strip()][: sum(1 for line in lines if " p50 " in line)]


def test_names_are_whole_without_a_width_as_in_a_pipe() -> None:
    text = render_terminal(comparison_of(*(regression(name) for name in LONG)))
    for name in LONG:
        assert name in text


def test_a_narrow_terminal_cuts_names_keeping_their_distinguishing_end() -> None:
    comparison = comparison_of(*(regression(name) for name in LONG))
    rows = table_rows(render_terminal(comparison, width=100))
    # 100 columns leave the name 43: the test's name, then the end of its parameters.
    assert [line.split()[0] for line in rows] == [
        "test_unstructure_attrs_lists[…CT-Converter]",
        "test_unstructure_attrs_lists[…LE-Converter]",
    ]
    assert all(len(line) <= 100 for line in rows)
    assert [line.split()[0] for line in table_rows(render_terminal(comparison, width=110))] == [
        "test_unstructure_attrs_lists[…tegy.AS_DICT-Converter]",
        "test_unstructure_attrs_lists[…egy.AS_TUPLE-Converter]",
    ]
    # A terminal that fits the function name and more keeps the end of the path too.
    wide_enough = table_rows(render_terminal(comparison, width=140))
    assert wide_enough[1].split()[0] == (
        "…llections.py::test_unstructure_attrs_lists[UnstructureStrategy.AS_TUPLE-Converter]"
    )
    # 250 columns (the terminal): whole names, not 60 characters.
    assert table_rows(render_terminal(comparison, width=250))[1].split()[0] == LONG[1]


def test_cut_name_rules() -> None:
    assert cut_name("a::b", 10) == "a::b"
    assert cut_name("x" * 30 + "::test_short", 24) == "…" + ("x" * 30 + "::test_short")[-23:]
    assert cut_name("p::test_fn[" + "a" * 40 + "-LAST]", 30) == "test_fn[…" + ("a" * 40 + "-LAST")[-20:] + "]"
    assert cut_name("t\u202e::x", None) == "t?::x"
    assert cut_name("p.py::" + "漢" * 30, 24) == "…" + "漢" * 11  # 22 columns: a wide character does not fit in 1


def test_cjk_names_line_up_by_display_width() -> None:
    names = ("bench/test_x.py::test_解析[大]", "bench/test_x.py::test_parse[big]")
    text = render_terminal(comparison_of(*(regression(name) for name in names)))
    rows = table_rows(text)
    metric_columns = {display_width(line[: line.index(" p50 ")]) for line in rows}
    assert len(metric_columns) == 1, rows


def test_the_not_gated_note_shows_a_bidi_override_as_the_table_does() -> None:
    hostile = "test_\u202egnp.exe"
    ungated = regression(hostile, gated=False, reason="p50 not gated: only p95 gates")
    text = render_terminal(comparison_of(ungated))
    assert "\u202e" not in text
    assert "test_?gnp.exe" in text.split("\nnot gated:\n")[1]


def test_a_speed_adjusted_estimate_against_the_raw_medians_says_so_on_the_row() -> None:
    # The row: raw medians 76.2 µs -> 42.4 µs, the speed-adjusted estimate +1.4%, unchanged.
    row_ = row(
        benchmark="b",
        verdict="unchanged",
        ratio=1.014,
        ci_low=0.98,
        ci_high=1.05,
        base_value=76.2e-6,
        head_value=42.4e-6,
    )
    adjusted = render_terminal(comparison_of(row_, latency_test="speed-adjusted"), all_rows=True)
    [line] = [line for line in adjusted.splitlines() if " p50 " in line]
    assert line.rstrip().endswith("unchanged  raw ×0.56: machine")
    assert "raw medians moved the other way" in adjusted
    # Welch's estimate has no machine share to remove: no such note.
    plain = render_terminal(comparison_of(row_, latency_test="welch"), all_rows=True)
    assert "raw ×" not in plain


def test_the_cli_cuts_names_only_on_a_terminal(monkeypatch) -> None:
    import argparse
    import sys
    from pathlib import Path

    from benchwatch.cli.compare_command import terminal_width

    narrow = argparse.Namespace(wide=False)
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert terminal_width(narrow) == 250
    assert terminal_width(argparse.Namespace(wide=True)) is None  # --wide
    assert terminal_width(narrow, Path("report.txt")) is None  # -o FILE
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert terminal_width(narrow) is None  # a pipe
