"""compare() end to end on small result sets, settings, and the renderers."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from benchwatch.compare import ONE_RUN_REASON, CompareSettings, compare
from benchwatch.errors import ConfigError
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run
from benchwatch.render.json_report import COMPARISON_KEYS, render_json
from benchwatch.render.markdown_report import escape_markdown, render_markdown
from benchwatch.render.terminal import render_terminal
from benchwatch.resultfile import load_result, save_result


def make_runs(rng, level, *, runs=5, samples=200, sigma=0.03, peak=10 * 2**20, status="ok", iterations=1, **extra):
    return tuple(
        Run(
            samples=level * np.exp(rng.normal(0, sigma)) * rng.lognormal(0, 0.05, samples),
            memory=MemoryProfile(peak, 1000),
            status=status,
            iterations=iterations,
            error="boom" if status != "ok" else None,
            **extra,
        )
        for _ in range(runs)
    )


def make_set(benchmarks, **environment):
    return ResultSet(benchmarks=tuple(benchmarks), environment=Environment(cpu_count=2, **environment))


@pytest.fixture
def rng():
    return np.random.default_rng(42)


def test_regression_improvement_unchanged(rng):
    base = make_set([BenchmarkResult(name=n, runs=make_runs(rng, 1e-3)) for n in ("slow", "fast", "same")])
    head = make_set(
        [
            BenchmarkResult(name="slow", runs=make_runs(rng, 1.5e-3)),
            BenchmarkResult(name="fast", runs=make_runs(rng, 0.6e-3)),
            BenchmarkResult(name="same", runs=make_runs(rng, 1e-3, sigma=0.005)),
        ]
    )
    result = compare(base, head, CompareSettings(gating_metrics=("p50", "p95", "p99", "peak_memory")))
    by = {(m.benchmark, m.metric): m for m in result.metric_comparisons()}
    assert by["slow", "p50"].verdict == "regression" and by["slow", "p50"].gated
    assert by["slow", "p50"].ratio == pytest.approx(1.5, rel=0.1)
    assert by["slow", "p50"].ci_low < by["slow", "p50"].ratio < by["slow", "p50"].ci_high
    assert by["fast", "p50"].verdict == "improvement"
    # within the tolerance a memory row is not tested (rules version 5): no p-value
    assert by["slow", "peak_memory"].verdict == "unchanged" and by["slow", "peak_memory"].p_value is None
    # a gated quantile the runs cannot support is never ignored: inconclusive, not judged, no numbers
    p99 = by["slow", "p99"]
    assert p99.gated and p99.verdict == "inconclusive" and p99.reason_code == "too-few-samples"
    assert math.isnan(p99.ratio) and math.isnan(p99.ci_low)
    assert "p99 cannot be judged: needs ≥500 samples per run, runs have 200" in p99.reason
    assert by["slow", "mean"].gated is False  # not in the default gate list
    assert result.verdict == "regression" and result.exit_code() == 1
    # q-values are BH over every latency test of the comparison
    assert all(m.q_value >= m.p_value for m in result.metric_comparisons() if m.p_value is not None)


def test_unchanged_suite_exits_zero(rng):
    base = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, sigma=0.002))])
    head = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, sigma=0.002))])
    result = compare(base, head)
    gated = {m.metric: m.verdict for m in result.gated()}
    assert gated == {"p50": "unchanged", "p95": "unchanged", "peak_memory": "unchanged"}
    assert result.verdict == "unchanged" and result.exit_code() == 0


def test_added_removed_failed_and_partial_failures(rng):
    base = make_set(
        [
            BenchmarkResult(name="gone", runs=make_runs(rng, 1e-3)),
            BenchmarkResult(name="broken", runs=make_runs(rng, 1e-3)),
            BenchmarkResult(name="flaky", runs=make_runs(rng, 1e-3)),
        ]
    )
    head = make_set(
        [
            BenchmarkResult(name="broken", runs=make_runs(rng, 1e-3, runs=2, status="error")),
            BenchmarkResult(
                name="flaky", runs=make_runs(rng, 1e-3, runs=4) + make_runs(rng, 1e-3, runs=1, status="crashed")
            ),
            BenchmarkResult(name="new", runs=make_runs(rng, 1e-3)),
        ]
    )
    result = compare(base, head)
    status = {b.name: b.status for b in result.benchmarks}
    assert status == {"gone": "removed", "broken": "failed", "flaky": "compared", "new": "added"}
    assert any("broken: all head runs failed (boom)" in w for w in result.warnings)
    assert any("flaky: 1 of 5 head runs failed" in w for w in result.warnings)
    # a benchmark broken on every head run where base ran fails the gate by default (configurable)
    assert result.verdict == "regression" and result.exit_code() == 1
    assert "fail on every head run where base ran: broken" in result.headline
    lenient = compare(base, head, CompareSettings(gate_failures=False))
    assert lenient.verdict == "inconclusive"
    assert lenient.exit_code() == 0 and lenient.exit_code(fail_on_inconclusive=True) == 1


def test_one_run_per_side_is_inconclusive(rng):
    base = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, runs=1))])
    head = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 2e-3, runs=1))])
    result = compare(base, head)
    p50 = next(m for m in result.metric_comparisons() if m.metric == "p50")
    assert p50.verdict == "inconclusive" and ONE_RUN_REASON in p50.reason
    # one process per side supports no estimate: no ratio, no interval, no p-value
    assert math.isnan(p50.ci_low) and p50.p_value is None and math.isnan(p50.ratio)
    assert p50.reason_code == "too-few-runs" and not p50.judged
    assert p50.base_value == pytest.approx(1e-3, rel=0.1) and p50.head_value == pytest.approx(2e-3, rel=0.1)
    # nothing gated could be judged (memory gates too, and is judged): exit 0 here, see the next test
    assert result.exit_code() == 0
    assert "needs ≥2 process runs per side" in result.headline


def test_nothing_judged_exits_four(rng):
    base = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, runs=1))])
    head = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 2e-3, runs=1))])
    result = compare(base, head, CompareSettings(gating_metrics=("p50", "p95")))
    assert result.nothing_judged and result.verdict == "inconclusive" and result.exit_code() == 4
    every_head_failed = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, status="error"))])
    failed = compare(base, every_head_failed, CompareSettings(gate_failures=False))
    assert failed.nothing_judged and failed.exit_code() == 4


def test_one_side_busy_gives_no_estimate(rng):
    base = make_set(
        [BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, wall_seconds=10.0, runqueue_wait_seconds=0.2))]
    )
    head = make_set(
        [BenchmarkResult(name="a", runs=make_runs(rng, 2e-3, wall_seconds=10.0, runqueue_wait_seconds=4.0))]
    )
    result = compare(base, head)
    p50 = next(m for m in result.metric_comparisons() if m.metric == "p50")
    assert p50.verdict == "inconclusive" and p50.reason_code == "one-side-busy" and math.isnan(p50.ratio)
    assert "head runs all waited far longer for a CPU" in p50.reason
    assert result.benchmarks[0].head_diagnostics.disturbed
    assert "one side ran beside load" in result.headline
    # the same waits on both sides (shared load) are no reason to distrust the comparison
    shared = make_set(
        [BenchmarkResult(name="a", runs=make_runs(rng, 2e-3, wall_seconds=10.0, runqueue_wait_seconds=4.0))]
    )
    loaded = compare(
        make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, wall_seconds=10.0, runqueue_wait_seconds=4.0))]),
        shared,
    )
    assert next(m for m in loaded.metric_comparisons() if m.metric == "p50").verdict == "regression"
    # on a busy machine the tail describes the scheduler: p95 is not judged, and says why
    p95 = next(m for m in loaded.metric_comparisons() if m.metric == "p95")
    assert p95.reason_code == "machine-busy" and math.isnan(p95.ci_low) and "scheduler" in p95.reason


def test_environment_warnings_and_machine_class(rng):
    base = make_set(
        [BenchmarkResult(name="a", runs=make_runs(rng, 1e-3))],
        python_version="3.11.9",
        packages={"numpy": "2.3.0", "scipy": "1.17.0"},
    )
    head = make_set(
        [BenchmarkResult(name="a", runs=make_runs(rng, 2e-3))],
        python_version="3.12.1",
        packages={"numpy": "2.4.0", "scipy": "1.17.0"},
    )
    result = compare(base, head)
    p50 = next(m for m in result.metric_comparisons() if m.metric == "p50")
    assert p50.reason_code == "not-comparable-machine" and math.isnan(p50.ratio) and math.isnan(p50.ci_high)
    assert "python_minor '3.11' (base) vs '3.12' (head)" in p50.reason
    assert "latency not comparable: base and head ran on different machines" in result.headline
    assert any("python_version" in w for w in result.warnings)
    assert any("numpy 2.3.0 (base) vs 2.4.0 (head)" in w for w in result.warnings)
    assert not any("scipy" in w for w in result.warnings)


def test_thresholds_and_iterations_note(rng):
    base = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, iterations=10))])
    head = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1.15e-3, iterations=10))])
    loose = CompareSettings.from_mapping({"thresholds": {"a": {"p50": 0.25}, "p95": 0.30}})
    result = compare(base, head, loose)
    by = {m.metric: m for m in result.metric_comparisons()}
    assert by["p50"].threshold == 0.25 and by["p95"].threshold == 0.30 and by["mean"].threshold == 0.10
    assert by["p50"].verdict != "regression"
    assert "round means" in by["p50"].reason


def test_memory_regression_is_gated(rng):
    base = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, sigma=0.002))])
    head = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3, sigma=0.002, peak=20 * 2**20))])
    result = compare(base, head)
    peak = next(m for m in result.metric_comparisons() if m.metric == "peak_memory")
    assert peak.verdict == "regression" and peak.ratio == 2.0 and peak.gated
    assert result.exit_code() == 1


def test_bootstrap_cross_check_is_optional_and_seeded(rng):
    base = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3))])
    head = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1.3e-3))])
    assert math.isnan(next(compare(base, head).metric_comparisons()).bootstrap_ci_low)
    settings = CompareSettings(bootstrap_resamples=200, seed=3)
    one = next(compare(base, head, settings).metric_comparisons())
    two = next(compare(base, head, settings).metric_comparisons())
    assert one.bootstrap_ci_low == two.bootstrap_ci_low < one.ratio < one.bootstrap_ci_high


def test_saved_results_round_trip(rng, tmp_path):
    base = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1e-3))])
    head = make_set([BenchmarkResult(name="a", runs=make_runs(rng, 1.5e-3))])
    save_result(base, tmp_path / "base.json")
    save_result(head, tmp_path / "head.json.gz")
    result = compare(load_result(tmp_path / "base.json"), load_result(tmp_path / "head.json.gz"))
    assert result.verdict == "regression"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"treshold": 0.1}, "unknown compare setting 'treshold'"),
        ({"threshold": -1}, "threshold must be greater than 0 and at most 1"),
        ({"threshold": 5}, "a fraction: 0.10 means 10%"),
        ({"thresholds": {"p95": 1.5}}, "thresholds.p95 must be greater than 0 and at most 1"),
        ({"threshold": "10%"}, "threshold must be a number"),
        ({"alpha": 2}, "alpha must be between"),
        ({"gate": ["p42"]}, "unknown metric 'p42'"),
        ({"gate": "p50"}, "gate must be a list"),
        ({"thresholds": {"p50": "x"}}, "thresholds.p50 must be a number"),
        ({"thresholds": {"bench": {"p7": 0.1}}}, "unknown metric 'p7'"),
        ({"thresholds": {"bench": 0.1}}, "expected a metric"),
        ({"memory_bytes_tolerance": 1.5}, "must be an integer"),
        ({"fail_on_inconclusive": "yes"}, "true or false"),
    ],
)
def test_settings_from_mapping_rejects_bad_config(mapping, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as error:
        CompareSettings.from_mapping(mapping)
    assert "\n" not in str(error.value)


def test_settings_from_mapping_accepts_good_config():
    settings = CompareSettings.from_mapping(
        {
            "threshold": 0.05,
            "alpha": 0.01,
            "gate": ["p50", "allocations"],
            "memory_percent_tolerance": 0.2,
            "thresholds": {"p99": 0.5, "q.slow": {"p50": 0.2}},
        }
    )
    assert settings.threshold_for("q.slow", "p50") == 0.2
    assert settings.threshold_for("q.slow", "p99") == 0.5
    assert settings.threshold_for("other", "p50") == 0.05
    assert settings.gating_metrics == ("p50", "allocations")


# -- renderers ------------------------------------------------------------------------------


@pytest.fixture
def mixed(rng):
    hostile = "x|<script>@octocat"
    base = make_set([BenchmarkResult(name=n, runs=make_runs(rng, 1e-3)) for n in ("ok", hostile)])
    head = make_set(
        [
            BenchmarkResult(name="ok", runs=make_runs(rng, 1e-3, runs=1)),
            BenchmarkResult(name=hostile, runs=make_runs(rng, 2e-3)),
        ]
    )
    return compare(base, head, CompareSettings(gating_metrics=("p50", "p99")))


def test_terminal_report_regressions_first(mixed):
    text = render_terminal(mixed, color=False)
    lines = text.splitlines()
    assert lines[0].startswith("benchwatch: REGRESSION")
    header = next(i for i, line in enumerate(lines) if line.startswith("benchmark"))
    assert "regression" in lines[header + 2] and "x|<script>@octocat" in lines[header + 2]
    assert "+100" in text or "+9" in text
    assert "\x1b[" not in text and "\x1b[31;1m" in render_terminal(mixed, color=True)
    assert "p99 cannot be judged" in text and "fewer than 2 ok runs" in text


def test_json_report_stable_and_strict(mixed):
    document = json.loads(render_json(mixed))
    assert document["format"] == "benchwatch-comparison" and document["version"] == 1
    assert set(document) >= {"verdict", "comparisons", "benchmarks", "diagnostics", "warnings"}
    assert all(tuple(row) == COMPARISON_KEYS for row in document["comparisons"])
    assert document["comparisons"][0]["verdict"] == "regression"
    ok_p50 = next(r for r in document["comparisons"] if r["benchmark"] == "ok" and r["metric"] == "p50")
    assert ok_p50["ci_low"] is None and ok_p50["p_value"] is None  # NaN -> null
    assert "NaN" not in render_json(mixed)


def test_markdown_escapes_hostile_names(mixed):
    text = render_markdown(mixed)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "@octocat" not in text and "@\u200doctocat" in text
    assert "x\\|" in text
    table_rows = [line for line in text.splitlines() if line.startswith("| x")]
    assert table_rows and all(line.count(" | ") == 6 for line in table_rows)


def test_escape_markdown_covers_all_specials():
    escaped = escape_markdown("a|b<c>d&e`f@g[h](i)*j_k~l\nm")
    for raw in ("|", "`", "[", "]", "(", ")", "*", "_", "~"):
        assert "\\" + raw in escaped
    assert "&lt;" in escaped and "&gt;" in escaped and "&amp;" in escaped and "\n" not in escaped


def test_different_suite_arguments_are_a_warning():
    from benchwatch.model import BenchmarkResult, ResultSet, Run

    runs = tuple(Run(samples=[1.0, 1.1, 0.9]) for _ in range(3))
    base = ResultSet(benchmarks=(BenchmarkResult(name="a", runs=runs),), settings={"pytest_args": []})
    head = ResultSet(
        benchmarks=(BenchmarkResult(name="a", runs=runs),), settings={"pytest_args": ["--workload-scale=20000"]}
    )
    warnings = compare(base, head).warnings
    assert "base and head were run with different suite arguments: [] vs ['--workload-scale=20000']" in warnings
    assert not any("suite arguments" in w for w in compare(base, base).warnings)


def test_a_decided_instruction_count_decides_where_latency_is_not_comparable():
    from benchwatch.compare import BenchmarkComparison, MetricComparison
    from benchwatch.compare.suite import suite_verdict

    def row(metric, verdict, code, unit="seconds"):
        nan = math.nan
        return MetricComparison(
            "a", metric, verdict, nan, nan, nan, None, None, 0.1, True, "", 1.0, 1.0, 5, 5, unit, reason_code=code
        )

    latency = row("p50", "inconclusive", "not-comparable-machine")
    counted = BenchmarkComparison("a", (latency, row("instructions", "unchanged", "decided", "count")), "compared")
    assert suite_verdict([counted], CompareSettings()) == "unchanged"
    # without instruction counts, not-comparable latency keeps the suite inconclusive
    alone = BenchmarkComparison("a", (latency,), "compared")
    assert suite_verdict([alone], CompareSettings()) == "inconclusive"
    # an inconclusive count decides nothing
    unsure = BenchmarkComparison(
        "a", (latency, row("instructions", "inconclusive", "wide-interval", "count")), "compared"
    )
    assert suite_verdict([unsure], CompareSettings()) == "inconclusive"


def test_memory_uses_every_run_with_memory_data_whatever_the_timing_strategy_left_out(rng):
    canary = 3e-4

    def runs(level, peak, moved):
        # the last run's canary moved during its measurement: the speed-adjusted model leaves it out
        return tuple(
            Run(
                samples=level * rng.lognormal(0, 0.02, 100),
                memory=MemoryProfile(peak, 1000),
                canary_seconds=(canary, canary * (1.5 if moved and i == 4 else 1.0)),
                canary_version=1,
            )
            for i in range(5)
        )

    base = make_set([BenchmarkResult(name="a", runs=runs(1e-3, 10 * 2**20, True))])
    head = make_set([BenchmarkResult(name="a", runs=runs(1e-3, 20 * 2**20, True))])
    result = compare(base, head)
    p50 = next(m for m in result.metric_comparisons() if m.metric == "p50")
    peak = next(m for m in result.metric_comparisons() if m.metric == "peak_memory")
    assert p50.n_runs_base == 4 and [e.code for e in result.exclusions] == ["canary-unsteady", "canary-unsteady"]
    assert peak.n_runs_base == 5 and peak.n_runs_head == 5 and peak.verdict == "regression"


def test_an_estimate_against_the_raw_medians_says_why():
    def runs(levels):
        return tuple(Run(samples=np.full(50, level)) for level in levels)

    base = make_set([BenchmarkResult(name="a", runs=runs([1e-3] * 5))])
    head = make_set([BenchmarkResult(name="a", runs=runs([0.97e-3] * 3 + [1.3e-3] * 2))])
    p50 = next(m for m in compare(base, head).metric_comparisons() if m.metric == "p50")
    assert p50.ratio > 1.0 and p50.head_value < p50.base_value
    assert "raw medians moved -3.0%, the other way" in p50.reason
