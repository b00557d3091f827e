"""pytest-codspeed's forms run unchanged: the marker form, ``pytestmark``, the fixture forms.

The suite below follows pytest-codspeed's documented usage
(https://codspeed.io/docs/reference/pytest-codspeed): ``@pytest.mark.benchmark``
on whole tests, ``pytestmark = pytest.mark.benchmark()`` for a module, the
``benchmark`` fixture called on a function, as a decorator, and through
``benchmark.pedantic``.  pytest-codspeed itself is not installed: its
marker means nothing to pytest without benchwatch's worker plugin, so the
suite is exactly what a project using it would have.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from benchwatch.cli import main
from benchwatch.errors import EXIT_OK, EXIT_REGRESSION
from benchwatch.runner.rounds import RoundPolicy, choose_rounds
from benchwatch.runner.session import RunSettings, run_suites

LIBRARY = textwrap.dedent(
    """
    def checksum(n):
        total = 0
        for value in range(n):
            total = (total * 31 + value) % 1_000_003
        return total

    def parse_rows():
        return checksum({parse_size})

    def aggregate():
        return checksum(3_000)
    """
)
# A module in the marker form, as the library had it: each test body
# repeats an operation and asks for no fixture.
MARKER_SUITE = textwrap.dedent(
    """
    import pytest
    import mylib

    pytestmark = pytest.mark.benchmark()

    def test_parse_rows():
        for _ in range(3):
            assert mylib.parse_rows() >= 0

    def test_aggregate():
        for _ in range(3):
            assert mylib.aggregate() >= 0
    """
)
FIXTURE_SUITE = textwrap.dedent(
    """
    import pytest
    import mylib

    @pytest.mark.benchmark(group="whole")
    def test_marked_with_fixture_setup(tmp_path):
        (tmp_path / "x").write_text("1")
        assert mylib.aggregate() >= 0

    def test_called(benchmark):
        assert benchmark(mylib.aggregate) >= 0

    def test_decorated(benchmark):
        @benchmark
        def result():
            return mylib.aggregate()

    def test_pedantic(benchmark):
        benchmark.pedantic(mylib.aggregate, rounds=12, iterations=1, warmup_rounds=1)

    def test_codspeed_fixture_name(codspeed_benchmark):
        assert codspeed_benchmark(mylib.aggregate) >= 0

    def test_unit_test_not_a_benchmark():
        assert mylib.checksum(3) >= 0
    """
)


def machine_was_busy(report: dict, row: dict) -> bool:
    """benchwatch's documented answer on a loaded machine: disturbed or excluded runs, so inconclusive."""
    said = " ".join([row["reason"], *report["warnings"]])
    return row["verdict"] == "inconclusive" and any(
        word in said for word in ("disturbed", "waited for a CPU", "changed speed")
    )


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def _project(root: Path, parse_size: int) -> Path:
    (root / "benchmarks").mkdir(parents=True)
    (root / "benchmarks" / "test_marker_module.py").write_text(MARKER_SUITE)
    (root / "benchmarks" / "test_fixture_forms.py").write_text(FIXTURE_SUITE)
    (root / "mylib.py").write_text(LIBRARY.format(parse_size=parse_size))
    (root / "pyproject.toml").write_text(
        '[tool.benchwatch]\nsuites = ["benchmarks"]\ntimeout = 120\nsample_budget = 3\n'
        'pytest_args = ["--benchmark-min-rounds=40", "--benchmark-max-time=0.05"]\n'
        '[tool.benchwatch.compare]\ngate = ["p50"]\n'
    )
    (root / ".gitignore").write_text("results/\n")
    return root


@pytest.mark.slow
def test_every_form_is_measured_and_plain_tests_are_counted(tmp_path: Path) -> None:
    project = _project(tmp_path, parse_size=3_000)
    result = run_suites(repo=project, settings=RunSettings(runs=1, memory=False, target_samples=10))
    by_name = {benchmark.name.split("::")[-1]: benchmark for benchmark in result.benchmarks}
    assert set(by_name) == {
        "test_parse_rows",
        "test_aggregate",
        "test_marked_with_fixture_setup",
        "test_called",
        "test_decorated",
        "test_pedantic",
        "test_codspeed_fixture_name",
    }
    for name, benchmark in by_name.items():
        run = benchmark.runs[0]
        assert run.ok, (name, run.error)
        expected = 12 if name == "test_pedantic" else 10  # pedantic keeps the rounds the test asked for
        assert len(run.samples) >= expected, name
        assert all(value > 0 for value in run.samples)
    assert by_name["test_marked_with_fixture_setup"].group == "whole"
    assert result.settings["not_benchmarks"] == (
        "1 test is not a benchmark (no benchmark fixture or marker): "
        "benchmarks/test_fixture_forms.py::test_unit_test_not_a_benchmark"
    )


def test_rounds_reach_the_gate_within_the_budget_or_fall_back() -> None:
    policy = RoundPolicy(min_rounds=5, max_time=1.0, target_samples=100, budget=10.0)
    assert choose_rounds(policy, 0.2) == 50  # 200 ms: the budget allows 50 of the 100
    assert choose_rounds(policy, 0.05) == 100  # 50 ms: the gate's 100 fit in 5 s
    assert choose_rounds(policy, 0.001) == 1000  # fast: pytest-benchmark's max_time rule gives more
    assert choose_rounds(policy, 3.0) == 5  # slower than the budget: the minimum rounds still run
    assert choose_rounds(RoundPolicy(min_rounds=5, target_samples=100, max_rounds=20), 0.01) == 20


@pytest.mark.slow
def test_slow_benchmark_gets_the_rounds_p50_needs(tmp_path: Path) -> None:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_slow.py").write_text(
        "import time, pytest\n\n"
        "@pytest.mark.benchmark\ndef test_marker():\n    time.sleep(0.02)\n\n"
        "def test_fixture(benchmark):\n    benchmark(time.sleep, 0.02)\n"
    )
    common = RunSettings(runs=1, memory=False, pytest_args=("--benchmark-max-time=0.01",), target_samples=10)
    # p50 needs 10 samples per run; the default 5 rounds would leave it ungated.
    enough = run_suites(repo=tmp_path, settings=dataclasses.replace(common, sample_budget=5.0))
    assert [len(b.runs[0].samples) for b in enough.benchmarks] == [10, 10]
    # A budget too small for 10 calls: the runs keep what fits (the verdict then rests on the per-run statistic).
    short = run_suites(repo=tmp_path, settings=dataclasses.replace(common, sample_budget=0.1))
    assert all(5 <= len(b.runs[0].samples) < 10 for b in short.benchmarks)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = _project(tmp_path_factory.mktemp("codspeed"), parse_size=3_000)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "dev@example.invalid")
    _git(repo, "config", "user.name", "Dev")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "tag", "base")
    (repo / "mylib.py").write_text(LIBRARY.format(parse_size=6_000))  # parse_rows does 2x the work
    _git(repo, "commit", "-qam", "slower parse_rows")
    _git(repo, "tag", "slow")
    return repo


@pytest.mark.slow
def test_marker_form_suite_runs_unchanged_under_benchwatch_run(history: Path, capsys) -> None:
    output = history / "results" / "run.json"
    # No instruction pass: counting the marker form under Callgrind is test_instruction_pass.py's
    # (test_marker_form); here the claim is that the forms run and are timed (it took 53 s of a 23 min suite).
    arguments = ["run", "--repo", str(history), "--runs", "2", "--no-memory", "--no-instructions", "-q"]
    code = main([*arguments, "-o", str(output)])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "1 test is not a benchmark (no benchmark fixture or marker)" in out
    document = json.loads(output.read_text())
    names = {benchmark["name"] for benchmark in document["benchmarks"]}
    assert "benchmarks/test_marker_module.py::test_parse_rows" in names
    assert all(len(run["samples"]) >= 10 for b in document["benchmarks"] for run in b["runs"])


@pytest.mark.slow
def test_marker_form_regression_is_found_by_compare_refs(history: Path, capsys) -> None:
    # The gate is p50; counting the marker form is test_instruction_pass.py's (test_marker_form):
    # without the instruction pass, 10-15 s less.
    code = main(
        [
            "compare-refs",
            "base",
            "slow",
            "--repo",
            str(history),
            "-k",
            "test_marker_module",
            "--no-instructions",
            "--looks",
            "3,5,7",
            "--max-time",
            "600",
            "--memory-runs",
            "1",
            "--plain",
            "--format",
            "json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    rows = {(row["benchmark"].split("::")[-1], row["metric"]): row for row in report["comparisons"]}
    changed, unchanged = rows[("test_parse_rows", "p50")], rows[("test_aggregate", "p50")]
    assert unchanged["verdict"] != "regression"
    assert changed["ratio"] > 1.3
    # On a loaded machine benchwatch documents "disturbed" runs as inconclusive rather than guessing.
    assert changed["verdict"] == "regression" or machine_was_busy(report, changed), (changed, report["warnings"])
    assert code == (EXIT_REGRESSION if changed["verdict"] == "regression" else EXIT_OK)
    if changed["verdict"] == "regression":
        # the marker form is profiled too: its whole body is the call, and checksum does the extra work
        (explained,) = [e for e in report["explanations"] if e["benchmark"] == changed["benchmark"]]
        top = explained["python"]["functions"][: explained["python"]["significant"]]
        assert top[0]["name"] == "checksum" and top[0]["base_calls"] == top[0]["head_calls"] == 3
