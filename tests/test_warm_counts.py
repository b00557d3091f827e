"""The instruction pass from warm parents, with real valgrind: a child per benchmark and run, counts where they belong.

Skipped only where valgrind is not installed (CI installs it: scripts/system-deps.sh).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from benchwatch.runner.instructions import InstructionSettings, run_instruction_pass
from benchwatch.runner.scratch import waited_note
from benchwatch.runner.session import RunSettings, _command, collect_benchmarks
from benchwatch.runner.warm_counts import _RunEvents, parents_of, runs_argument
from benchwatch.runner.worker_plugin import fork_runs

VALGRIND = shutil.which("valgrind")
needs_valgrind = pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed (scripts/system-deps.sh)")

SUITE = textwrap.dedent(
    """
    import os, signal, time

    UNDER_VALGRIND = "vgpreload" in os.environ.get("LD_PRELOAD", "")

    def work(n):
        table = {}
        for i in range(n):
            table[i % 97] = table.get(i % 97, 0) + i
        return sum(table.values())

    def logged(name, n):
        def call():
            started = time.time()
            work(n)
            time.sleep(0.3)  # long enough for an overlap of two runs to show
            with open(os.environ["WARM_TEST_LOG"], "a") as log:
                log.write(f"{name} {os.getpid()} {os.getppid()} {started} {time.time()}\\n")
        return call

    def test_small(benchmark):
        benchmark(logged("small", 1_000))

    def test_big(benchmark):
        benchmark(logged("big", 20_000))

    def test_crashes(benchmark):
        def call():
            if UNDER_VALGRIND:
                os.kill(os.getpid(), signal.SIGSEGV)
        benchmark(call)
    """
)


@pytest.fixture
def suite(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_warm.py").write_text(SUITE)
    return tmp_path, tmp_path / "calls.log"


@pytest.mark.slow
@needs_valgrind
def test_each_run_is_a_child_of_a_warm_parent_and_its_counts_land_with_its_benchmark(
    suite: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, log = suite
    monkeypatch.setenv("WARM_TEST_LOG", str(log))
    settings = RunSettings(suites=("benchmarks",))
    collection = collect_benchmarks(repo=project, settings=settings)
    counting = InstructionSettings(
        valgrind=VALGRIND, runs=3, warmup_calls=1, timeout=120, parallel=2, keep_env=("WARM_TEST_LOG",)
    )
    events: list[tuple[int, dict]] = []
    outcome = run_instruction_pass(
        command=collection.command(_command(project, settings)),
        names=collection.names,
        settings=counting,
        on_event=lambda run, event: events.append((run, event)),
    )
    small, big, crashes = (f"benchmarks/test_warm.py::test_{name}" for name in ("small", "big", "crashes"))
    # Counts land with their own benchmark: the big one loops 20x as often.
    small_counts = [run.statistic("instructions") for run in outcome.runs[small]]
    big_counts = [run.statistic("instructions") for run in outcome.runs[big]]
    assert len(small_counts) == len(big_counts) == 3
    assert 10 < min(big_counts) / max(small_counts) < 30
    # Every child starts from the same state: a deterministic call counts the same in each run.
    # Runs agree to 0.000% almost always; one CI run beside another test process saw 0.14% (not explained).
    assert max(small_counts) / min(small_counts) - 1 < 0.005
    assert max(big_counts) / min(big_counts) - 1 < 0.005
    # The crashing child fails its own runs only, each with the signal that ended it.
    assert [run.status for run in outcome.runs[crashes]] == ["crashed"] * 3
    assert all("SIGSEGV" in (run.error or "") for run in outcome.runs[crashes])
    # Two parents (one per share), a child per benchmark and run: the parents started once each.
    assert outcome.processes == 2 and outcome.children == 9
    assert outcome.settings["warm_parent"] is True and outcome.fingerprint["count_method"] == 3
    assert outcome.fingerprint["count_workers"] == "warm"
    # Progress: a result per benchmark and run, each with its run.
    results = sorted((run, event["name"]) for run, event in events if event["event"] == "result")
    assert results == sorted((run, name) for run in (1, 2, 3) for name in (small, big, crashes))
    # Each run ran in a child of its own (warm-up, counted and traced calls), forked from the first share's
    # parent: small and big; the second share is the crashing benchmark.
    calls = [line.split() for line in log.read_text().splitlines()]
    children = {(name, pid) for name, pid, *_ in calls}
    assert len(children) == 6 and len({pid for _, pid in children}) == 6
    assert len({parent for _, _, parent, *_ in calls}) == 1
    # Two runs of one benchmark never ran at the same time (a fixed port or file would clash).
    for name in ("small", "big"):
        spans = sorted(
            (min(float(c[3]) for c in calls if c[1] == pid), max(float(c[4]) for c in calls if c[1] == pid))
            for label, pid in children
            if label == name
        )
        assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))
    assert os.environ["WARM_TEST_LOG"] == str(log)


def test_parents_share_the_suite_in_collection_order_and_a_benchmark_lives_in_one() -> None:
    jobs = [(name, run) for run in (1, 2) for name in "abcde"]
    assert parents_of(jobs, 2) == [(["a", "b", "c"], (1, 2)), (["d", "e"], (1, 2))]
    assert parents_of(jobs, 1) == [(["a", "b", "c", "d", "e"], (1, 2))]
    assert parents_of([("a", 3)], 2) == [(["a"], (3,))]
    # Extra runs: benchmarks that need other runs get parents of their own.
    assert parents_of([("a", 3), ("b", 3), ("c", 4)], 2) == [(["a"], (3,)), (["b"], (3,)), (["c"], (4,))]


def test_the_runs_argument_keeps_its_length_from_the_first_round_to_the_extra_runs() -> None:
    first, extra = runs_argument((1, 2)), runs_argument((3,))
    assert (first, extra) == ("01-02", "03-03") and len(first) == len(extra)
    assert fork_runs(first) == (1, 2) and fork_runs(extra) == (3,) and fork_runs("1,3") == (1, 3)
    assert runs_argument((1, 3)) == "1,3"


def test_a_failure_the_runner_reports_goes_to_the_run_in_progress() -> None:
    relayed: list[tuple[int, dict]] = []
    events = _RunEvents(lambda run, event: relayed.append((run, event)))
    events({"event": "start", "name": "a", "run": 1})
    events({"event": "result", "name": "a", "run": 1, "status": "ok"})
    events({"event": "start", "name": "a", "run": 2})
    # The watchdog's timeout (or a crash of the parent) names the benchmark, not the run.
    events({"event": "result", "name": "a", "status": "timeout", "error": "killed"})
    events({"event": "result", "name": "b", "status": "error", "error": "worker failed before running it"})
    assert events.found[("a", 1)]["status"] == "ok" and events.found[("a", 2)]["status"] == "timeout"
    assert ("b", 1) not in events.found and set(events.seconds) == {("a", 1), ("a", 2)}
    expected = [(1, "start"), (1, "result"), (2, "start"), (2, "result")]
    assert [(run, event["event"]) for run, event in relayed] == expected


@needs_valgrind
def test_a_parent_waits_for_its_directory_held_by_another_benchwatch_and_says_so(
    suite: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixed path is waited for (a random one would change the counts; runner/scratch.py), with a warning."""
    project, log = suite
    monkeypatch.setenv("WARM_TEST_LOG", str(log))
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, tempfile, time\n"
            f"tempfile.tempdir = {str(root)!r}\n"
            "from benchwatch.runner.scratch import fixed_directory\n"
            "with fixed_directory('benchwatch-counts-warm-1'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(2)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    settings = RunSettings(suites=("benchmarks",), keyword="small")
    collection = collect_benchmarks(repo=project, settings=settings)
    counting = InstructionSettings(
        valgrind=VALGRIND, runs=2, warmup_calls=1, timeout=120, parallel=1, keep_env=("WARM_TEST_LOG",)
    )
    outcome = run_instruction_pass(
        command=collection.command(_command(project, settings)), names=collection.names, settings=counting
    )
    assert holder.wait(timeout=30) == 0
    [name] = collection.names
    assert [run.status for run in outcome.runs[name]] == ["ok", "ok"]
    assert outcome.warnings == [waited_note(root / "benchwatch-counts-warm-1")]
    assert list(root.iterdir()) == []  # no directory or lock file left behind
