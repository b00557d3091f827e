"""The runner against a small real suite in a temporary project: raw samples,
memory, and benchmarks that raise, crash or hang."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchwatch.cli import main
from benchwatch.errors import EXIT_BENCHMARK_FAILED, EXIT_INPUT_ERROR, EXIT_OK, InputError
from benchwatch.resultfile import SCHEMA_VERSION, load_result
from benchwatch.runner.session import RunSettings, run_suites

SUITE = textwrap.dedent(
    """
    import os, time
    import pytest

    def work():
        return sum(range(500))

    @pytest.mark.benchmark(group="fast")
    def test_ok(benchmark):
        assert benchmark(work) == sum(range(500))

    def test_allocates(benchmark):
        benchmark.pedantic(lambda: [bytearray(1000) for _ in range(100)], rounds=3)

    def test_raises(benchmark):
        def boom():
            raise ValueError("bad input on purpose")
        benchmark(boom)

    def test_hangs(benchmark):
        benchmark.pedantic(time.sleep, args=(60,), rounds=1)

    def test_crashes(benchmark):
        benchmark.pedantic(os._exit, args=(7,), rounds=1)

    def test_not_a_benchmark():
        assert True
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_suite.py").write_text(SUITE)
    (tmp_path / "pyproject.toml").write_text(
        # The Callgrind pass has its own tests (test_instruction_pass.py).
        '[tool.benchwatch]\nsuites = ["benchmarks"]\nruns = 2\ntimeout = 4\ninstructions = false\n'
        'pytest_args = ["--benchmark-max-time=0.05", "--benchmark-min-rounds=20"]\n'
    )
    return tmp_path


@pytest.mark.slow
def test_run_records_raw_samples_memory_and_each_kind_of_failure(project: Path) -> None:
    settings = RunSettings(runs=1, timeout=4, pytest_args=("--benchmark-max-time=0.05", "--benchmark-min-rounds=20"))
    result = run_suites(repo=project, settings=settings)
    by_name = {benchmark.name.split("::")[1]: benchmark for benchmark in result.benchmarks}
    assert set(by_name) == {"test_ok", "test_allocates", "test_raises", "test_hangs", "test_crashes"}

    ok_run = by_name["test_ok"].runs[0]
    assert ok_run.ok and ok_run.samples.size >= 20 and ok_run.iterations >= 1
    assert ok_run.wall_seconds is not None and ok_run.cpu_seconds is not None
    assert ok_run.wall_seconds > 0 and ok_run.cpu_seconds > 0
    assert by_name["test_ok"].group == "fast"
    assert ok_run.memory is not None and ok_run.memory.allocations >= 0

    allocating = by_name["test_allocates"].runs[0]
    assert allocating.samples.size == 3
    # 100 bytearrays of 1000 bytes are alive together at the peak.
    assert allocating.memory is not None
    assert allocating.memory.peak_bytes >= 100_000
    assert allocating.memory.allocations >= 100

    raised = by_name["test_raises"].runs[0]
    assert raised.status == "error" and raised.error == "call: ValueError: bad input on purpose"
    hung = by_name["test_hangs"].runs[0]
    assert hung.error is not None
    assert hung.status == "timeout" and "timeout of 4 s" in hung.error
    crashed = by_name["test_crashes"].runs[0]
    assert crashed.error is not None
    assert crashed.status == "crashed" and "exited with code 7" in crashed.error

    assert result.environment.python_version and result.environment.cpu_count
    assert result.settings["runs"] == 1


@pytest.mark.slow
def test_cli_run_writes_file_and_exit_code_says_benchmarks_failed(project: Path, capsys) -> None:
    output = project / "out.json.gz"
    code = main(
        ["run", "--config", str(project / "pyproject.toml"), "-k", "ok or raises", "--plain", "-o", str(output)]
    )
    captured = capsys.readouterr()
    assert code == EXIT_BENCHMARK_FAILED
    assert f"wrote {output}: 2 benchmarks, 4 runs, 1 failed" in captured.out
    assert "FAILED benchmarks/test_suite.py::test_raises [error, 2 of 2 runs]: call: ValueError" in captured.err
    result = load_result(output)
    ok = result.by_name()["benchmarks/test_suite.py::test_ok"]
    assert len(ok.runs) == 2 and all(run.ok and run.samples.size >= 20 for run in ok.runs)
    # Every run is its own process: the run records carry distinct start data.
    assert all(run.memory is not None for run in ok.runs)
    # Where the time went: 2 timing workers, a memory worker per run for the one benchmark that passed.
    assert "where the time went:" in captured.err and "measured rounds" in captured.err
    cost = result.settings["cost"]
    assert cost["phases"]["timing"]["processes"] == 2 and cost["phases"]["memory"]["processes"] == 2
    timing = cost["phases"]["timing"]
    assert 0 < timing["startup"] < timing["elapsed"] and 0 < timing["call"] < timing["elapsed"]
    assert set(cost["benchmarks"]["benchmarks/test_suite.py::test_ok"]) == {"timing", "memory"}


@pytest.mark.slow
def test_cli_run_all_ok_exits_zero(project: Path, capsys) -> None:
    output = project / "ok.json"
    code = main(
        [
            "run",
            "--config",
            str(project / "pyproject.toml"),
            "-k",
            "test_ok",
            "--runs",
            "1",
            "--memory-runs",
            "0",
            "-q",
            "-o",
            str(output),
        ]
    )
    assert code == EXIT_OK
    document = json.loads(output.read_text())
    assert document["schema_version"] == SCHEMA_VERSION
    run = document["benchmarks"][0]["runs"][0]
    assert run["memory"] is None
    # the machine-speed canary is timed before and after the measurement
    assert run["canary_version"] == 1
    assert len(run["canary_seconds"]) == 2 and all(0 < value < 1 for value in run["canary_seconds"])


@pytest.mark.slow
def test_memory_runs_limits_the_memray_pass_and_no_memory_still_works(project: Path, capsys) -> None:
    config = ["--config", str(project / "pyproject.toml"), "-k", "test_ok", "--runs", "2", "-q"]
    output = project / "first-only.json"
    assert main(["run", *config, "--memory-runs", "1", "-o", str(output)]) == EXIT_OK
    runs = load_result(output).by_name()["benchmarks/test_suite.py::test_ok"].runs
    assert [run.memory is not None for run in runs] == [True, False]
    legacy = project / "legacy.json"
    assert main(["run", *config, "--no-memory", "-o", str(legacy)]) == EXIT_OK
    assert "--no-memory is deprecated; use --memory-runs 0" in capsys.readouterr().err
    assert all(run.memory is None for run in load_result(legacy).benchmarks[0].runs)


@pytest.mark.slow
def test_empty_benchmark_list_is_an_input_error(project: Path, capsys) -> None:
    code = main(
        [
            "run",
            "--config",
            str(project / "pyproject.toml"),
            "-k",
            "no_such_benchmark",
            "-q",
            "-o",
            str(project / "x.json"),
        ]
    )
    captured = capsys.readouterr()
    assert code == EXIT_INPUT_ERROR
    assert captured.err.strip() == (
        "benchwatch: error: benchmarks: no benchmarks collected matching -k 'no_such_benchmark' (no test matches it)"
    )
    assert not (project / "x.json").exists()


def test_missing_suite_path(project: Path) -> None:
    with pytest.raises(InputError, match="suite path does not exist"):
        run_suites(repo=project, settings=RunSettings(suites=("nowhere",)))


@pytest.mark.slow
def test_collection_error_is_reported_not_swallowed(project: Path) -> None:
    (project / "benchmarks" / "test_broken.py").write_text("import no_such_module_here\n")
    with pytest.raises(InputError, match=r"cannot collect benchmarks: .*no_such_module_here"):
        run_suites(repo=project, settings=RunSettings(runs=1))


@pytest.mark.slow
def test_module_entry_point_maps_errors_without_traceback(project: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchwatch", "run", "--config", str(project / "pyproject.toml"), "--runs", "0"],
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    assert completed.returncode == EXIT_INPUT_ERROR
    assert completed.stderr.strip() == "benchwatch: error: runs must be at least 1, got 0"
    assert "Traceback" not in completed.stderr


@pytest.mark.slow
def test_suite_outside_the_project_is_the_same_suite_in_every_pass(tmp_path: Path, monkeypatch) -> None:
    # The existence check, the collect pass and the timing passes all resolve the path from the project,
    # whatever the current directory is.
    project, outside = tmp_path / "project", tmp_path / "elsewhere" / "suite"
    project.mkdir()
    outside.mkdir(parents=True)
    (project / "mylib.py").write_text("def work():\n    return sum(range(300))\n")
    (outside / "test_outside.py").write_text("import mylib\n\ndef test_work(benchmark):\n    benchmark(mylib.work)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(project))
    suite = "../elsewhere/suite"
    result = run_suites(repo=project, settings=RunSettings(suites=(suite,), runs=2, memory=False))
    [benchmark] = result.benchmarks
    assert benchmark.name.endswith("test_outside.py::test_work")
    assert [run.status for run in benchmark.runs] == ["ok", "ok"] and all(len(run.samples) for run in benchmark.runs)


# -- the worker's edges (issue 26) ---------------------------------------------------------------------------

LINGERING = textwrap.dedent(
    """
    import os, threading, time

    def test_first(benchmark):
        benchmark(sum, range(100))

    def test_leaves_a_thread(benchmark):
        poller = threading.Thread(target=time.sleep, args=(600,), name="cache-poller")
        poller.start()  # not a daemon: the interpreter waits for it at exit
        benchmark(sum, range(100))

    def test_exits_hard(benchmark):
        benchmark.pedantic(os._exit, args=(3,), rounds=1)
    """
)


FORK_SUITE = textwrap.dedent(
    """
    import os

    def test_allocates(benchmark):
        benchmark.pedantic(lambda: [bytearray(1000) for _ in range(100)], rounds=3)

    def test_small(benchmark):
        benchmark(lambda: sum(range(100)))

    def test_dies_in_the_memory_pass(benchmark):
        if benchmark.disabled:  # the memory pass calls the benchmark once, with timing off
            os._exit(9)
        benchmark(lambda: None)
    """
)


@pytest.fixture
def lingering(tmp_path: Path) -> Path:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_lingering.py").write_text(LINGERING)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.benchwatch]\nsuites = ["benchmarks"]\nruns = 1\ntimeout = 600\ninstructions = false\nmemory = false\n'
        'pytest_args = ["--benchmark-max-time=0.02", "--benchmark-min-rounds=5"]\n'
    )
    return tmp_path


def test_a_worker_kept_alive_by_a_thread_is_ended_with_a_warning_naming_it(lingering: Path, capsys) -> None:
    """A non-daemon thread made every run wait out --timeout (5 min) and still said "ok" without a word."""
    output = lingering / "out.json"
    code = main(["run", "--config", str(lingering / "pyproject.toml"), "-k", "not exits_hard", "-q", "-o", str(output)])
    err = capsys.readouterr().err
    assert code == EXIT_OK, err
    [warning] = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "did not exit within 5 s" in warning and "'cache-poller'" in warning
    # Ended after the grace period, not the 600 s timeout: else the watchdog would call it a stall.
    result = load_result(output)
    assert all(benchmark.ok_runs for benchmark in result.benchmarks)
    assert result.settings["worker_warnings"] == [warning.removeprefix("warning: ")]


def test_a_hard_exit_says_it_printed_nothing(lingering: Path) -> None:
    """`os._exit` errors ended in `running it: .` (pytest's progress dot)."""
    settings = RunSettings(
        runs=1, memory=False, timeout=60, keyword="first or exits_hard", pytest_args=("-p", "no:randomly")
    )
    result = run_suites(repo=lingering, settings=settings)
    [crashed] = [benchmark for benchmark in result.benchmarks if benchmark.name.endswith("test_exits_hard")]
    error = crashed.runs[0].error
    assert error == (
        "the worker process exited with code 3 while running it "
        "(it printed nothing: os._exit, or a signal with no message)"
    )


def test_a_bad_count_in_the_config_names_the_file(lingering: Path, capsys) -> None:
    config = lingering / "pyproject.toml"
    config.write_text(config.read_text().replace("runs = 1", "runs = 0"))
    code = main(["run", "--config", str(config), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_INPUT_ERROR
    assert err.endswith(f"{config}: [tool.benchwatch] runs must be at least 1, got 0"), err
    assert len(err.splitlines()) == 1


@pytest.mark.slow
def test_memory_pass_forked_per_benchmark_measures_what_fresh_workers_measure(tmp_path: Path) -> None:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_fork.py").write_text(FORK_SUITE)
    common = RunSettings(
        runs=1, timeout=30, pytest_args=("--benchmark-max-time=0.01", "--benchmark-min-rounds=5"), memory_fork=False
    )
    fresh = run_suites(repo=tmp_path, settings=common).by_name()
    forked_result = run_suites(repo=tmp_path, settings=dataclasses.replace(common, memory_fork=True))
    forked = forked_result.by_name()
    for name in ("benchmarks/test_fork.py::test_allocates", "benchmarks/test_fork.py::test_small"):
        a, b = fresh[name].runs[0].memory, forked[name].runs[0].memory
        assert a is not None and b is not None, name
        assert (a.peak_bytes, a.allocations) == (b.peak_bytes, b.allocations), name
    allocating = forked["benchmarks/test_fork.py::test_allocates"].runs[0].memory
    assert allocating is not None and allocating.peak_bytes >= 100_000
    dead = forked["benchmarks/test_fork.py::test_dies_in_the_memory_pass"].runs[0]
    assert dead.error is not None
    assert dead.status == "crashed" and "memory pass: the child process running it exited with code 9" in dead.error
    # one worker for the run's memory pass, not one per benchmark
    assert forked_result.settings["cost"]["phases"]["memory"]["processes"] == 1
