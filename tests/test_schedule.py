"""The order each run measures its benchmarks in, and adaptive runs that stop at planned looks."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchwatch.cli import main
from benchwatch.compare.settings import CompareSettings
from benchwatch.errors import EXIT_INPUT_ERROR, UsageError
from benchwatch.model import ResultSet
from benchwatch.refs.sequential import parse_looks, settings_for_results
from benchwatch.resultfile import load_result
from benchwatch.runner.schedule import StopRule, planned_looks, run_order
from benchwatch.runner.session import RunSettings, run_suites
from benchwatch.runner.worker import WorkerCommand, run_pass

NAMES = [
    "b/test_a.py::test_1",
    "b/test_a.py::test_2",
    "b/test_a.py::TestK::test_3",
    "b/test_a.py::TestK::test_4",
    "b/test_b.py::test_5[x]",
    "b/test_b.py::test_5[y]",
    "b/test_c.py::test_6",
]


def _contiguous(order: list[str], key) -> bool:
    seen: list[str] = []
    for name in order:
        group = key(name)
        if seen and seen[-1] == group:
            continue
        if group in seen:
            return False
        seen.append(group)
    return True


def test_each_run_measures_a_permutation_grouped_by_file_and_class() -> None:
    orders = [run_order(NAMES, run) for run in range(1, 11)]
    for order in orders:
        assert sorted(order) == sorted(NAMES)
        assert _contiguous(order, lambda name: name.split("::")[0])  # module fixtures set up once a run
        assert _contiguous(order, lambda name: name.rsplit("::", 1)[0])  # class fixtures too
    assert len({tuple(order) for order in orders}) >= 8  # runs differ
    assert run_order(NAMES, 3) == run_order(NAMES, 3)  # a rerun measures in the same orders
    assert run_order(NAMES, 3, seed=1) != run_order(NAMES, 3) or run_order(NAMES, 4, seed=1) != run_order(NAMES, 4)


def test_every_benchmark_takes_every_place_about_equally_often() -> None:
    """No position is tied to a benchmark: over many runs each file comes first about a third of the time."""
    firsts: dict[str, int] = {}
    for run in range(1, 601):
        first = run_order(NAMES, run)[0].split("::")[0]
        firsts[first] = firsts.get(first, 0) + 1
    # 600 runs, p = 1/3 each: a binomial sd of 11.5; +-60 is more than 5 sd.
    assert set(firsts) == {"b/test_a.py", "b/test_b.py", "b/test_c.py"}
    assert all(140 <= count <= 260 for count in firsts.values()), firsts


def test_planned_looks_end_at_the_last_run_and_are_checked() -> None:
    assert planned_looks((3, 5, 7, 10), 7) == (3, 5, 7)
    assert planned_looks((3, 5, 7, 10), 6) == (3, 5, 6)
    assert planned_looks((3, 5), 2) == (2,)
    assert parse_looks("3,5,7") == (3, 5, 7)
    for bad in ("3,x", "5,3", "1,3"):
        with pytest.raises(UsageError):
            parse_looks(bad)


def test_a_split_level_recorded_by_one_side_applies_to_the_comparison() -> None:
    base = ResultSet(benchmarks=(), settings={})
    head = ResultSet(benchmarks=(), settings={"planned_looks": 3})
    split = settings_for_results(CompareSettings(), base, head)
    assert split.alpha == pytest.approx(CompareSettings().alpha / 3)
    assert settings_for_results(CompareSettings(), base, base).alpha == CompareSettings().alpha


SUITE = textwrap.dedent(
    """
    def work():
        return sum(range(300))

    def test_one(benchmark):
        benchmark(work)

    def test_two(benchmark):
        benchmark(work)

    def test_three(benchmark):
        benchmark(work)
    """
)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_tiny.py").write_text(SUITE)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.benchwatch]\nsuites = ["benchmarks"]\nruns = 4\ntimeout = 30\ninstructions = false\nmemory = false\n'
        'pytest_args = ["--benchmark-max-time=0.01", "--benchmark-min-rounds=20"]\n'
    )
    return tmp_path


def test_a_worker_measures_its_benchmarks_in_the_order_given(tiny: Path) -> None:
    names = [f"benchmarks/test_tiny.py::test_{n}" for n in ("three", "one", "two")]
    outcome = run_pass(
        command=WorkerCommand(python=__import__("sys").executable, cwd=tiny), mode="timing", targets=names, timeout=30
    )
    assert list(outcome.results) == names


def test_a_benchmark_decided_at_a_look_gets_no_more_runs(tiny: Path) -> None:
    looked: list[dict[str, int]] = []

    def decided(partial: ResultSet) -> frozenset[str]:
        looked.append({b.name.rsplit("::", 1)[1]: len(b.runs) for b in partial.benchmarks})
        return frozenset(b.name for b in partial.benchmarks if b.name.endswith("test_two"))

    settings = RunSettings(runs=4, memory=False, timeout=30, pytest_args=("--benchmark-max-time=0.01",))
    result = run_suites(repo=tiny, settings=settings, stop_rule=StopRule(looks=(2, 3), decided=decided))
    runs = {b.name.rsplit("::", 1)[1]: len(b.runs) for b in result.benchmarks}
    assert runs == {"test_one": 4, "test_two": 2, "test_three": 4}
    assert looked == [{"test_one": 2, "test_two": 2, "test_three": 2}, {"test_one": 3, "test_two": 2, "test_three": 3}]
    assert result.settings["planned_looks"] == 3 and result.settings["looks"] == [2, 3, 4]
    assert result.settings["skipped"] == {}  # decided is not skipped


def test_when_every_benchmark_is_decided_the_run_ends_at_that_look(tiny: Path) -> None:
    settings = RunSettings(runs=4, memory=False, timeout=30, pytest_args=("--benchmark-max-time=0.01",))
    rule = StopRule(looks=(2,), decided=lambda partial: frozenset(b.name for b in partial.benchmarks))
    result = run_suites(repo=tiny, settings=settings, stop_rule=rule)
    assert {len(b.runs) for b in result.benchmarks} == {2}
    assert result.settings["cost"]["phases"]["timing"]["processes"] == 2


def test_run_against_a_baseline_records_its_looks_and_a_bad_baseline_costs_nothing(tiny: Path, capsys) -> None:
    baseline = tiny / "base.json"
    assert main(["run", "--config", str(tiny / "pyproject.toml"), "--runs", "2", "-q", "-o", str(baseline)]) == 0
    out = tiny / "head.json"
    args = ["run", "--config", str(tiny / "pyproject.toml"), "-q", "-o", str(out), "--looks", "2,3"]
    assert main([*args, "--against", str(baseline)]) == 0
    result = load_result(out)
    assert result.settings["looks"] == [2, 3, 4]
    assert all(len(b.runs) in (2, 3, 4) for b in result.benchmarks)
    capsys.readouterr()
    broken = tiny / "broken.json"
    broken.write_text("{not json")
    assert main([*args, "-o", str(tiny / "never.json"), "--against", str(broken)]) == EXIT_INPUT_ERROR
    err = capsys.readouterr().err.strip()
    assert str(broken) in err and len(err.splitlines()) == 1
    assert not (tiny / "never.json").exists()


def test_a_time_budget_stops_at_the_look_before_it_would_be_passed(tiny: Path) -> None:
    """Nothing decided: without a budget all 4 runs; with one the next look's cost is forecast and refused."""
    settings = RunSettings(runs=4, memory=False, timeout=30, pytest_args=("--benchmark-max-time=0.01",))
    undecided = StopRule(looks=(2, 3), decided=lambda partial: frozenset())
    assert {len(b.runs) for b in run_suites(repo=tiny, settings=settings, stop_rule=undecided).benchmarks} == {4}
    # A budget that the first two runs already used up: the look at 3 runs would pass it.
    tight = StopRule(looks=(2, 3), decided=lambda partial: frozenset(), max_seconds=0.5)
    result = run_suites(repo=tiny, settings=settings, stop_rule=tight)
    assert {len(b.runs) for b in result.benchmarks} == {2}
    assert result.settings["stopped"].startswith("time budget of 0.5 s would be passed by the look at 3 runs")
    assert "3 benchmark(s) left at 2 runs" in result.settings["stopped"]
    assert result.settings["planned_looks"] == 3  # the alpha split of the planned schedule still applies


def test_the_budget_forecast_is_the_slowest_run_times_what_is_left() -> None:
    rule = StopRule(looks=(2, 3, 5), decided=lambda partial: frozenset(), max_seconds=100.0)
    assert not rule.over_budget(elapsed=60.0, seconds_per_run=4.0, active=5, runs_to_next_look=2)  # 60 + 40
    assert rule.over_budget(elapsed=60.5, seconds_per_run=4.0, active=5, runs_to_next_look=2)
    assert not StopRule(looks=(2,), decided=lambda partial: frozenset()).over_budget(
        elapsed=1e9, seconds_per_run=1.0, active=1, runs_to_next_look=1
    )
    with pytest.raises(UsageError, match="max-time must be positive"):
        StopRule(looks=(2,), decided=lambda partial: frozenset(), max_seconds=0)


def test_run_max_time_needs_a_baseline_and_says_when_it_stopped(tiny: Path, capsys) -> None:
    config = ["--config", str(tiny / "pyproject.toml")]
    assert main(["run", *config, "--max-time", "60", "-q", "-o", str(tiny / "x.json")]) == 2
    assert "--max-time needs --against" in capsys.readouterr().err
    baseline = tiny / "base.json"
    assert main(["run", *config, "--runs", "2", "-q", "-o", str(baseline)]) == 0
    capsys.readouterr()
    out = tiny / "head.json"
    args = ["run", *config, "-o", str(out), "--looks", "2,3", "--against", str(baseline), "--max-time", "0.5"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    result = load_result(out)
    # Either every benchmark was decided at the first look, or the budget stopped the rest there.
    assert {len(b.runs) for b in result.benchmarks} == {2}
    stopped = result.settings.get("stopped")
    assert ("stopped early: time budget of 0.5 s" in printed) == (stopped is not None)
