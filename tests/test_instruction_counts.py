"""Instruction counts: the verdict rules, the fingerprint check, and what the reports show."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchwatch.compare import compare
from benchwatch.compare.instructions import compare_counts, fingerprint_mismatches
from benchwatch.compare.settings import CompareSettings
from benchwatch.model import BenchmarkResult, InstructionRun, ResultSet, Run
from benchwatch.render.html_report import render_html_report
from benchwatch.render.markdown_report import render_markdown
from benchwatch.render.pr_comment import render_pr_comment
from benchwatch.render.terminal import render_terminal
from benchwatch.stats.instructions import relative_spread

FINGERPRINT = {
    "machine": "x86_64",
    "python_implementation": "CPython",
    "python_version": "3.11.7",
    "python_build": "main May 9 2026 [GCC 12.2.0]",
    "hash_seed": "0",
    "packages": {"duckdb": "1.1.0"},
    "valgrind": "valgrind-3.19.0",
}


def runs_of(*per_run: list[int]) -> list[np.ndarray]:
    return [np.asarray(calls, dtype=np.float64) for calls in per_run]


# -- the statistics ----------------------------------------------------------------------


def test_exact_counts_give_the_exact_change_and_a_regression():
    base = runs_of([68_135_331, 68_135_367], [68_135_340, 68_135_350])
    head = runs_of([69_709_257, 69_709_290], [69_709_270, 69_709_260])  # +2.31%
    result = compare_counts(base, head, threshold=0.01)
    assert result.method == "exact"
    assert result.verdict == "regression"
    # per run the median call, per side the median run
    assert result.ratio == pytest.approx(np.median([69_709_273.5, 69_709_265]) / np.median([68_135_349, 68_135_345]))
    assert "+2.31%" in result.reason
    assert result.low > 1.0 and result.high < 1.024


def test_identical_code_is_unchanged_and_a_small_real_change_is_shown_exactly():
    base = runs_of([1_000_000, 1_000_010], [1_000_005, 1_000_002])
    same = compare_counts(base, runs_of([1_000_003, 1_000_001], [1_000_008, 1_000_000]), threshold=0.01)
    assert same.verdict == "unchanged" and same.method == "exact"
    smaller = compare_counts(base, runs_of([1_005_000], [1_005_010]), threshold=0.01)  # +0.5% < 1%
    assert smaller.verdict == "unchanged" and "+0.50%" in smaller.reason
    faster = compare_counts(base, runs_of([950_000], [950_004], [950_001]), threshold=0.01)
    assert faster.verdict == "improvement"


def test_counts_that_vary_fall_back_to_the_run_level_test_and_say_so():
    base = runs_of([1_000_000], [1_030_000], [990_000])  # 4% spread between processes
    head = runs_of([1_010_000], [1_040_000], [1_000_000])
    result = compare_counts(base, head, threshold=0.02)
    assert result.method == "run-level"
    assert "counts vary between runs" in result.reason and "run-level test" in result.reason
    assert result.verdict == "inconclusive"
    assert result.p_value is not None and result.low < 1.0 < result.high


def test_one_run_per_side_uses_the_spread_of_its_calls_but_decides_no_change():
    result = compare_counts(runs_of([100, 100, 100]), runs_of([103, 103, 103]), threshold=0.01)
    assert result.method == "exact" and result.verdict == "inconclusive"
    assert "+3.00%" in result.reason and "needs ≥2 instruction runs per side" in result.reason
    same = compare_counts(runs_of([100, 100, 100]), runs_of([100, 100, 100]), threshold=0.01)
    assert same.verdict == "unchanged"
    varying = compare_counts(runs_of([100, 110, 90]), runs_of([103, 103, 103]), threshold=0.01)
    assert varying.method == "run-level" and varying.verdict == "inconclusive"
    assert "needs ≥2 instruction runs per side" in varying.reason


def test_relative_spread():
    assert relative_spread(np.array([5.0])) == 0.0
    assert relative_spread(np.array([99.0, 100.0, 101.0])) == pytest.approx(0.02)


def test_fingerprints_compare_what_decides_counts():
    assert fingerprint_mismatches(FINGERPRINT, dict(FINGERPRINT)) == []
    other_python = {**FINGERPRINT, "python_version": "3.12.1"}
    assert fingerprint_mismatches(FINGERPRINT, other_python) == ["python_version '3.11.7' vs '3.12.1'"]
    other_duckdb = {**FINGERPRINT, "packages": {"duckdb": "1.2.0", "requests": "2.32"}}
    assert fingerprint_mismatches(FINGERPRINT, other_duckdb) == ["duckdb 1.1.0 vs 1.2.0"]
    assert fingerprint_mismatches({}, FINGERPRINT) == ["no instruction counts on base"]


def test_counts_of_the_two_client_request_ways_are_not_compared():
    """ctypes costs ~3,200 instructions more around each counted call than the C module (docs/instructions.md)."""
    through_ctypes = {**FINGERPRINT, "client_requests": "machine code"}
    expected = ["client requests through the valgrind module vs the machine code"]
    assert fingerprint_mismatches(FINGERPRINT, through_ctypes) == expected  # an old record: the module
    assert fingerprint_mismatches(through_ctypes, dict(through_ctypes)) == []


# -- the comparison and the reports --------------------------------------------------------


def result_with(counts: list[list[int]], *, fingerprint=FINGERPRINT, name="bench_query") -> ResultSet:
    rng = np.random.default_rng(len(counts[0]) + counts[0][0] % 97)
    runs = tuple(Run(samples=rng.lognormal(-6, 0.05, 200)) for _ in range(3))
    instruction_runs = tuple(InstructionRun(instructions=tuple(calls)) for calls in counts)
    benchmark = BenchmarkResult(name=name, runs=runs, instruction_runs=instruction_runs)
    return ResultSet(benchmarks=(benchmark,), count_fingerprint=fingerprint)


def test_instruction_regression_gates_the_suite_and_every_report_shows_it():
    base = result_with([[68_135_331, 68_135_367], [68_135_340, 68_135_350]])
    head = result_with([[69_709_257, 69_709_290], [69_709_270, 69_709_260]])
    comparison = compare(base, head)
    [row] = [m for m in comparison.metric_comparisons() if m.metric == "instructions"]
    assert row.gated and row.verdict == "regression" and row.unit == "count"
    assert row.threshold == 0.01  # instructions' own default threshold
    assert comparison.verdict == "regression"
    terminal = render_terminal(comparison)
    markdown = render_markdown(comparison)
    comment = render_pr_comment(
        comparison, base_label="main", head_label="pr", base_commit="a" * 40, head_commit="b" * 40
    )
    html = render_html_report(comparison, base, head, generated_at="2026-12-01 12:00 UTC")
    for text in (terminal, markdown, comment, html):
        assert "instructions" in text and "+2.31%" in text
        assert "miss I/O waits, sleeps, lock contention" in text
    assert "69,709,269" in terminal  # the median run of the median calls


def test_counts_from_another_python_are_not_compared_and_do_not_gate():
    base = result_with([[1_000_000, 1_000_000], [1_000_000, 1_000_000]])
    head = result_with(
        [[1_500_000, 1_500_000], [1_500_000, 1_500_000]], fingerprint={**FINGERPRINT, "python_version": "3.12.1"}
    )
    comparison = compare(base, head)
    [row] = [m for m in comparison.metric_comparisons() if m.metric == "instructions"]
    assert not row.gated and row.verdict == "inconclusive"
    assert "not comparable" in row.reason and "python_version" in row.reason
    assert any("instruction counts not compared" in warning for warning in comparison.warnings)


def test_a_baseline_without_counts_leaves_instructions_ungated():
    base = result_with([[1_000_000]], fingerprint={})
    base = dataclasses.replace(
        base, benchmarks=(dataclasses.replace(base.benchmarks[0], instruction_runs=()),), count_fingerprint={}
    )
    head = result_with([[1_000_000, 1_000_000], [1_000_000, 1_000_000]])
    comparison = compare(base, head, CompareSettings(gating_metrics=("instructions",)))
    [row] = [m for m in comparison.metric_comparisons() if m.metric == "instructions"]
    assert not row.gated and "not measured on base" in row.reason


def test_a_crash_under_valgrind_is_reported_on_the_row():
    base = result_with([[1_000_000, 1_000_000], [1_000_000, 1_000_000]])
    head = result_with([[1_000_000]])
    crashed = InstructionRun(status="crashed", error="instruction pass: the worker process killed by signal SIGSEGV")
    head = dataclasses.replace(head, benchmarks=(dataclasses.replace(head.benchmarks[0], instruction_runs=(crashed,)),))
    comparison = compare(base, head)
    [row] = [m for m in comparison.metric_comparisons() if m.metric == "instructions"]
    assert not row.gated and "SIGSEGV" in row.reason


def test_the_compare_command_keeps_counts_and_fingerprint(tmp_path, capsys):
    from benchwatch.cli import main
    from benchwatch.resultfile import save_result

    base = save_result(result_with([[1_000_000, 1_000_000], [1_000_000, 1_000_000]]), tmp_path / "base.json")
    head = save_result(result_with([[1_030_000, 1_030_000], [1_030_000, 1_030_000]]), tmp_path / "head.json")
    code = main(["compare", str(base), str(head), "--format", "markdown"])
    out = capsys.readouterr().out
    assert "| instructions |" in out and "+3.00%" in out
    assert code == 1
