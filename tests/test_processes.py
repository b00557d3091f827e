"""`benchwatch run` leaves no process and no temporary directory behind (issue #11, item 7).

Each test runs the real CLI in a subprocess on a tiny suite in a temporary
project.  Benchmarks write the process ids they start into a folder, so the
test can check afterwards that every one of them is gone.  Time limits here
are hang guards only; no assertion depends on the machine's speed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,  # every test runs `benchwatch run` in a subprocess
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process checks read /proc (Linux)"),
]

HANG_GUARD = 120


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2] != "Z"  # a zombie is dead, only not reaped yet


def make_project(root: Path, suite: str) -> Path:
    (root / "benchmarks").mkdir(parents=True)
    (root / "benchmarks" / "test_suite.py").write_text(suite)
    (root / "pyproject.toml").write_text(
        '[tool.benchwatch]\nsuites = ["benchmarks"]\nruns = 1\nmemory = false\ninstructions = false\n'
    )
    (root / "pids").mkdir()
    (root / "tmp").mkdir()
    return root


def environment(project: Path) -> dict[str, str]:
    return {**os.environ, "PIDDIR": str(project / "pids"), "TMPDIR": str(project / "tmp")}


def run_cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchwatch", "run", "-q", *args],
        cwd=project,
        env=environment(project),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


def recorded_pids(project: Path) -> list[int]:
    return [int(path.name) for path in (project / "pids").iterdir()]


def wait_for_pids(project: Path, count: int) -> list[int]:
    deadline = time.monotonic() + HANG_GUARD
    while len(recorded_pids(project)) < count:
        assert time.monotonic() < deadline, "the benchmark never started"
        time.sleep(0.05)
    return recorded_pids(project)


def wait_until_dead(pids: list[int]) -> list[int]:
    # Killed processes are reaped by whoever inherits them; give that a moment (hang guard only).
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


FORKING_SUITE = """
import os, pathlib, subprocess, sys

def spawn(**options):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], **options)
    pathlib.Path(os.environ["PIDDIR"], str(child.pid)).write_text("child")

def test_forks(benchmark):
    spawn()                          # same process group as the worker
    spawn(start_new_session=True)    # its own session: out of the worker's group
    benchmark.pedantic(lambda: None, rounds=5)
"""


def test_children_a_benchmark_forks_do_not_survive_the_worker(tmp_path):
    project = make_project(tmp_path / "p", FORKING_SUITE)
    done = run_cli(project, "-o", "out.json")
    assert done.returncode == 0, done.stderr
    pids = recorded_pids(project)
    assert len(pids) == 2
    assert wait_until_dead(pids) == []
    assert list((project / "tmp").iterdir()) == []


HANGING_SUITE = """
import os, pathlib, time
pathlib.Path(os.environ["PIDDIR"], str(os.getpid())).write_text("worker")
time.sleep(600)  # a hang at import: no benchmark has started, so only the pass timeout can stop it

def test_never(benchmark):
    benchmark.pedantic(lambda: None, rounds=5)
"""


def test_a_hang_at_import_is_bounded_by_timeout(tmp_path):
    project = make_project(tmp_path / "p", HANGING_SUITE)
    done = run_cli(project, "-o", "out.json", "--timeout", "2")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"benchwatch: error: {project / 'benchmarks'}: cannot collect benchmarks: the worker hung collecting "
        "benchmarks (import, collection or fixtures) past the timeout of 2 s and was killed"
    ]
    assert wait_until_dead(recorded_pids(project)) == []
    assert list((project / "tmp").iterdir()) == []
    assert not (project / "out.json").exists()


LATE_HANG_SUITE = """
import os, pathlib, time
MARK = pathlib.Path(os.environ["PIDDIR"]).parent / "hang-next-import"
if MARK.exists():
    pathlib.Path(os.environ["PIDDIR"], str(os.getpid())).write_text("worker")
    time.sleep(600)  # the second run's worker hangs while importing the suite

def test_arms_the_hang(benchmark):
    MARK.write_text("x")
    benchmark.pedantic(lambda: None, rounds=5)
"""


def test_a_hang_at_import_of_a_later_worker_fails_its_benchmarks_with_the_reason(tmp_path):
    project = make_project(tmp_path / "p", LATE_HANG_SUITE)
    (project / "pyproject.toml").write_text(
        '[tool.benchwatch]\nsuites = ["benchmarks"]\nruns = 2\nmemory = false\ninstructions = false\n'
    )
    done = run_cli(project, "-o", "out.json", "--timeout", "5")
    # Collection itself imports the suite first, before the mark exists; the first timing
    # pass arms the hang and the second one hangs at import.
    assert done.returncode == 3, done.stderr
    assert "worker failed before running it: the worker hung collecting benchmarks" in done.stderr
    assert (project / "out.json").exists()
    assert wait_until_dead(recorded_pids(project)) == []


SLOW_SUITE = """
import os, pathlib, subprocess, sys, time

def test_slow(benchmark):
    pathlib.Path(os.environ["PIDDIR"], str(os.getpid())).write_text("worker")
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    pathlib.Path(os.environ["PIDDIR"], str(child.pid)).write_text("child")
    benchmark.pedantic(lambda: time.sleep(300), rounds=1, iterations=1)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_during_run_stops_the_worker_and_removes_its_temp_directory(tmp_path, signum):
    project = make_project(tmp_path / "p", SLOW_SUITE)
    # A shell starts background jobs with SIGINT ignored, and Python then leaves it ignored;
    # when pytest itself runs as one, give benchwatch the disposition of a command started in
    # a terminal (a caught signal is reset to its default across exec).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchwatch", "run", "-q", "-o", "out.json", "--timeout", "600"],
            cwd=project,
            env=environment(project),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        pids = wait_for_pids(project, 2)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=HANG_GUARD)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    expected = {signal.SIGINT: (130, "interrupted")}.get(signum, (128 + signum, f"terminated by {signum.name}"))
    assert (process.returncode, stderr.strip()) == (expected[0], f"benchwatch: {expected[1]}")
    assert wait_until_dead(pids) == []
    assert list((project / "tmp").iterdir()) == []
    assert not (project / "out.json").exists()


def test_sigkill_of_run_leaves_no_worker_child_or_temp_directory(tmp_path):
    # Nothing runs in a SIGKILLed process: the shim between runner and worker cleans up instead.
    project = make_project(tmp_path / "p", SLOW_SUITE)
    process = subprocess.Popen(
        [sys.executable, "-m", "benchwatch", "run", "-q", "-o", "out.json", "--timeout", "600"],
        cwd=project,
        env=environment(project),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        pids = wait_for_pids(project, 2)
        process.kill()
        process.wait(timeout=HANG_GUARD)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert wait_until_dead(pids) == []
    deadline = time.monotonic() + 10
    while list((project / "tmp").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the shim removes the scratch directory right after the worker is gone
    assert list((project / "tmp").iterdir()) == []


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_a_timeout_that_would_disable_the_watchdog_is_refused(tmp_path, value):
    project = make_project(tmp_path / "p", FORKING_SUITE)
    done = run_cli(project, "-o", "out.json", "--timeout", value)
    assert done.returncode == 2
    shown = str(float(value))
    assert done.stderr == f"benchwatch: error: --timeout must be a positive, finite number of seconds, got {shown}\n"
    assert recorded_pids(project) == []


def test_a_timeout_of_nan_in_the_config_is_refused(tmp_path):
    project = make_project(tmp_path / "p", FORKING_SUITE)
    (project / "pyproject.toml").write_text('[tool.benchwatch]\nsuites = ["benchmarks"]\ntimeout = nan\n')
    done = run_cli(project, "-o", "out.json")
    assert done.returncode == 2
    expected = "pyproject.toml: [tool.benchwatch] timeout must be a positive, finite number of seconds, got nan"
    assert done.stderr == f"benchwatch: error: {expected}\n"  # the file named (issue 26)
