"""How the instruction pass schedules its processes: extra runs where counts disagree, layout directories."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import pytest

from benchwatch.model import InstructionRun
from benchwatch.runner.instructions import InstructionSettings, _more_runs, layout_directory, run_apart


def _runs(*counts: int) -> list[InstructionRun]:
    return [InstructionRun(instructions=(count,)) for count in counts]


def test_runs_that_agree_get_no_more_and_runs_that_disagree_get_one_more_each_round() -> None:
    settings = InstructionSettings(valgrind="valgrind", runs=2, max_runs=4, agree=0.0025)
    runs = {
        "exact": _runs(1_000_000, 1_000_000),
        "within": _runs(1_000_000, 1_002_000),  # 0.2%: agrees
        "varies": _runs(1_000_000, 1_010_000),  # 1%: the run-level test will need runs
        "at_most": _runs(1_000_000, 1_010_000, 1_000_000, 1_020_000),
        "failed": [*_runs(1_000_000), InstructionRun(status="crashed", error="SIGSEGV")],
    }
    assert _more_runs(runs, settings) == [("varies", 3)]


def test_max_runs_is_never_below_runs() -> None:
    settings = InstructionSettings(valgrind="valgrind", runs=5, max_runs=2)
    assert settings.max_runs == 5
    with pytest.raises(Exception, match="at least 1"):
        InstructionSettings(valgrind="valgrind", runs=0)


def test_a_run_has_the_same_directory_on_every_side_and_runs_differ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    name = "benchmarks/test_x.py::test_y"
    with layout_directory(name, 1) as first:
        assert first.is_dir() and first.parent == tmp_path
    # Another benchwatch counting the same benchmark is waited for (tests/test_scratch.py), not dodged.
    with layout_directory(name, 1) as again, layout_directory(name, 2) as second:
        assert again == first and second != first and len(second.name) == len(first.name)
    assert list(tmp_path.iterdir()) == []


def test_more_runs_start_where_the_exact_rule_ends_at_each_benchmarks_threshold(tmp_path: Path) -> None:
    """A benchmark gets more runs when its spread exceeds half of its instructions threshold."""
    import argparse

    from benchwatch.cli.instruction_options import instruction_settings, instruction_thresholds
    from benchwatch.compare.settings import CompareSettings
    from benchwatch.config import load_config

    assert instruction_thresholds(CompareSettings.from_mapping({})) == (pytest.approx(0.01), {})
    mixed = CompareSettings.from_mapping(
        {"thresholds": {"instructions": 0.02, "bench::strict": {"instructions": 0.004}, "bench::loose": {"p50": 0.2}}}
    )
    threshold, per_benchmark = instruction_thresholds(mixed)
    assert threshold == pytest.approx(0.02) and per_benchmark == {"bench::strict": pytest.approx(0.004)}
    config_path = tmp_path / "pyproject.toml"
    config_path.write_text("[tool.benchwatch]\ninstructions = true\n")
    args = argparse.Namespace(instructions=True, instruction_runs=None, max_instruction_runs=None, counted_calls=None)
    args.cycles = None
    settings, _ = instruction_settings(
        args, load_config(config_path), timeout=60, threshold=threshold, benchmark_thresholds=per_benchmark
    )
    assert settings is not None and settings.agree == pytest.approx(0.01)
    assert settings.agree_per_benchmark == {"bench::strict": pytest.approx(0.002)}
    assert (settings.runs, settings.max_runs, settings.counted_calls, settings.warmup_calls) == (2, 6, 1, 2)
    runs = {
        "bench::strict": _runs(1_000_000, 1_003_000),  # 0.3%: beyond its 0.2%
        "bench::other": _runs(1_000_000, 1_008_000),  # 0.8%: within the default 1%
        "bench::wide": _runs(1_000_000, 1_012_000),  # 1.2%: beyond it
    }
    assert _more_runs(runs, settings) == [("bench::strict", 3), ("bench::wide", 3)]


def test_two_runs_of_one_benchmark_never_run_at_once_and_results_keep_the_job_order() -> None:
    lock = threading.Lock()
    active: dict[str, int] = {}
    overlaps: list[str] = []
    # "a" and "b" meet at the barrier only if the scheduler runs them side by side.
    meeting = threading.Barrier(2, timeout=30)

    def work(job: tuple[str, int]) -> tuple[str, int]:
        name, run = job
        with lock:
            active[name] = active.get(name, 0) + 1
            if active[name] > 1:
                overlaps.append(name)
        if run == 1:
            meeting.wait()
        with lock:
            active[name] -= 1
        return job

    jobs = [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2), ("a", 4)]
    assert run_apart(jobs, work, parallel=2) == jobs
    assert overlaps == []
    assert not meeting.broken


def test_a_failing_job_is_raised() -> None:
    def work(job: tuple[str, int]) -> int:
        if job == ("b", 1):
            raise RuntimeError("worker crashed")
        return job[1]

    with pytest.raises(RuntimeError, match="worker crashed"):
        run_apart([("a", 1), ("b", 1), ("a", 2)], work, parallel=2)


def test_packages_are_traced_in_the_first_run_only_and_the_argument_keeps_its_length(tmp_path: Path) -> None:
    from benchwatch.runner.instructions import InstructionOutcome, _collect, callgrind_command
    from benchwatch.runner.worker import WorkerCommand

    settings = InstructionSettings(valgrind="/usr/bin/valgrind")
    command = WorkerCommand(python="python3", cwd=tmp_path)
    traced, plain = (
        callgrind_command(
            command, settings=settings, valgrind="valgrind", out_dir=tmp_path, no_aslr=True, trace_packages=flag
        ).pytest_args
        for flag in (True, False)
    )
    assert "--benchwatch-trace-packages=1" in traced and "--benchwatch-trace-packages=0" in plain
    assert [len(argument) for argument in traced] == [len(argument) for argument in plain]  # the same heap layout
    outcome = InstructionOutcome(runs={"b": []})
    first = {"status": "ok", "instructions": [10], "executed_packages": {"duckdb": "2.0.1"}}
    second = {"status": "ok", "instructions": [10], "executed_packages": None}
    for event in (first, second):
        _collect("b", event, outcome, {}, {})
    assert outcome.executed == {"b": {"duckdb": "2.0.1"}} and len(outcome.runs["b"]) == 2


def test_counted_workers_get_one_environment_whatever_the_job_brings(tmp_path) -> None:
    from benchwatch.runner.instructions import FIXED_ENVIRONMENT, InstructionSettings, callgrind_command
    from benchwatch.runner.worker import WorkerCommand

    settings = InstructionSettings(valgrind="/usr/bin/valgrind", keep_env=("DATABASE_URL",))

    def counted(environment: dict[str, str]) -> dict[str, str]:
        command = WorkerCommand(python="python3", cwd=tmp_path, env=environment, extra_env=(("BENCH_UNITS", "100"),))
        result = callgrind_command(
            command, settings=settings, valgrind="/usr/bin/valgrind", out_dir=tmp_path, no_aslr=False
        )
        assert result.extra_env == ()
        assert result.env is not None
        return result.env

    ci = counted(
        {
            "PATH": "/opt/hostedtoolcache/bin:/usr/bin",
            "HOME": "/home/runner",
            "GITHUB_SHA": "a" * 40,
            "PYTHONPATH": "/src",
            "DATABASE_URL": "postgres://x",
        }
    )
    laptop = counted(
        {
            "PATH": "/usr/bin",
            "HOME": "/root",
            "PYTEST_CURRENT_TEST": "t.py::x (call)",
            "PYTHONPATH": "/src",
            "DATABASE_URL": "postgres://x",
        }
    )
    assert ci == laptop
    assert {key: ci[key] for key in FIXED_ENVIRONMENT} == FIXED_ENVIRONMENT
    assert ci["HOME"] == str(tmp_path) and ci["PYTHONHASHSEED"] == "0" and ci["BENCH_UNITS"] == "100"
    assert ci["PYTHONPATH"] == "/src" and ci["DATABASE_URL"] == "postgres://x" and "GITHUB_SHA" not in ci
