"""Chaos: signals at random points, a full disk, memory pressure and CPU throttling (issue #11).

Every scenario runs the real CLI in a subprocess carrying a unique token in
its environment, so that any process it leaves behind - worker, shim, a
child a benchmark forked into its own session - can be found in /proc.
Each must end with a clear exit code, no orphan process, no temporary file
(TMPDIR points into the test's directory) and no lost record.

Random points come from a fixed seed, so a failure replays.  There are no
timing asserts: waits are hang guards only.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.resultfile import load_result, save_result

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="orphan checks read /proc (Linux)"),
]

SEED = 20261201
HANG_GUARD = 180
ALLOWED = {
    signal.SIGTERM: {0, 1, 128 + signal.SIGTERM, -signal.SIGTERM},
    signal.SIGINT: {0, 1, 130, -signal.SIGINT},
    signal.SIGKILL: {0, 1, -signal.SIGKILL},
}

SUITE = """
import os, pathlib, subprocess, sys, time

def mark(kind, pid):
    pathlib.Path(os.environ["BW_PIDS"], f"{kind}-{pid}").write_text(kind)

def test_quick(benchmark):
    benchmark.pedantic(lambda: sum(range(1000)), rounds=5)

def test_forks_and_waits(benchmark):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    mark("child", child.pid)
    mark("worker", os.getpid())
    benchmark.pedantic(lambda: time.sleep(0.3), rounds=3)
"""

PRESSURE_SUITE = """
import os, pathlib, signal, subprocess, sys

def test_allocates_too_much(benchmark):
    benchmark.pedantic(lambda: bytearray(8 << 30), rounds=1)  # beyond the address-space limit

def test_crashes_after_forking(benchmark):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    pathlib.Path(os.environ["BW_PIDS"], f"child-{child.pid}").write_text("child")
    benchmark.pedantic(lambda: os.kill(os.getpid(), signal.SIGKILL), rounds=1)

def test_fine(benchmark):
    benchmark.pedantic(lambda: sum(range(1000)), rounds=5)
"""


# -- helpers -----------------------------------------------------------------------------


def processes_with(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if f"BW_CHAOS={token}".encode() in environ.split(b"\0") and state[state.rfind(")") + 2] != "Z":
            found.append(int(entry))
    return found


def settle(check, seconds: float = 15.0):
    """Poll ``check`` until it returns a falsy value (a hang guard, not a timing assert)."""
    deadline = time.monotonic() + seconds
    value = check()
    while value and time.monotonic() < deadline:
        time.sleep(0.05)
        value = check()
    return value


class Scene:
    """One scenario's folder: a project, TMPDIR, pid marks, and the environment token."""

    def __init__(self, root: Path, suite: str = SUITE) -> None:
        self.root = root
        self.token = uuid.uuid4().hex
        for folder in ("benchmarks", "tmp", "pids", "out"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        (root / "benchmarks" / "test_suite.py").write_text(suite)
        (root / "pyproject.toml").write_text(
            '[tool.benchwatch]\nsuites = ["benchmarks"]\nruns = 1\nmemory = false\ninstructions = false\n'
        )

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "BW_CHAOS": self.token,
            "TMPDIR": str(self.root / "tmp"),
            "BW_PIDS": str(self.root / "pids"),
        }

    def start(self, *args: str, prefix: tuple[str, ...] = (), **options) -> subprocess.Popen:
        return subprocess.Popen(
            [*prefix, sys.executable, "-m", "benchwatch", *args],
            cwd=self.root,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            **options,
        )

    def finish(self, process: subprocess.Popen) -> tuple[int, str]:
        try:
            _, err = process.communicate(timeout=HANG_GUARD)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return process.returncode, err

    def assert_clean(self) -> None:
        assert settle(lambda: processes_with(self.token)) == [], "orphan processes"
        assert settle(lambda: list((self.root / "tmp").iterdir())) == [], "temporary files left in TMPDIR"
        leftovers = list(self.root.rglob(".*.tmp"))
        assert leftovers == [], "temporary output files left"

    def wait_for_marks(self, count: int) -> None:
        deadline = time.monotonic() + HANG_GUARD
        while len(list((self.root / "pids").iterdir())) < count:
            assert time.monotonic() < deadline, "the suite never reached its benchmarks"
            time.sleep(0.02)


def result(path: Path, level: float, seed: int, benchmarks: int = 40) -> Path:
    rng = np.random.default_rng(seed)
    items = tuple(
        BenchmarkResult(
            name=f"benchmarks/test_m.py::test_{index:03d}",
            runs=tuple(Run(samples=level * rng.lognormal(0, 0.05, 200)) for _ in range(5)),
        )
        for index in range(benchmarks)
    )
    return save_result(ResultSet(benchmarks=items, environment=Environment(git_commit=f"{seed:040x}")), path)


def history(scene: Scene, records: int) -> Path:
    from benchwatch.history import store

    folder = scene.root / "history"
    for index in range(records):
        source = result(scene.root / f"r{index}.json.gz", 1e-3 * (1 + index / 50), index + 1, benchmarks=10)
        store.append_record(folder, load_result(source), date=f"2026-01-{index + 1:02d}T00:00:00Z")
    return folder


def recorded_commits(folder: Path) -> set[str]:
    from benchwatch.history import store

    return {record.commit for record in store.load_history(folder).records}


def check_exit(signum: signal.Signals, code: int, err: str) -> None:
    assert code in ALLOWED[signum], (code, err)
    if code > 1:  # handled: one line saying what stopped it, never a traceback
        assert "Traceback" not in err, err
        assert err.strip().splitlines()[-1] in ("benchwatch: interrupted", f"benchwatch: terminated by {signum.name}")


SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGKILL]


# -- signals at random points --------------------------------------------------------------


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_signal_during_run(tmp_path, signum):
    rng = random.Random(f"{SEED}-run-{signum.name}")
    scene = Scene(tmp_path)
    process = scene.start("run", "-q", "-o", "out/result.json", "--timeout", "120")
    scene.wait_for_marks(2)  # inside the forking benchmark: worker, shim and a setsid child are alive
    time.sleep(rng.uniform(0.0, 0.3))
    process.send_signal(signum)
    code, err = scene.finish(process)
    check_exit(signum, code, err)
    scene.assert_clean()
    output = scene.root / "out" / "result.json"
    if code == 0:
        assert len(load_result(output).benchmarks) == 2
    else:
        assert not output.exists()


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_signal_during_compare(tmp_path, signum):
    rng = random.Random(f"{SEED}-compare-{signum.name}")
    scene = Scene(tmp_path)
    base, head = result(tmp_path / "base.json.gz", 1e-3, 1), result(tmp_path / "head.json.gz", 1.3e-3, 2)
    report = scene.root / "out" / "report.html"
    report.write_text("previous report")
    process = scene.start("compare", str(base), str(head), "--format", "html", "--output", str(report))
    time.sleep(rng.uniform(0.1, 2.0))
    process.send_signal(signum)
    code, err = scene.finish(process)
    if not (code == 4 and not err.strip()):  # 4 and silent: it had finished ("nothing judged") before the signal
        check_exit(signum, code, err)
    scene.assert_clean()
    text = report.read_text()
    assert text == "previous report" or text.rstrip().endswith("</html>")  # old or complete, never partial


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_signal_during_record(tmp_path, signum):
    rng = random.Random(f"{SEED}-record-{signum.name}")
    scene = Scene(tmp_path)
    folder = history(scene, 3)
    before = recorded_commits(folder)
    new = result(tmp_path / "new.json.gz", 1e-3, 99, benchmarks=10)
    process = scene.start("record", str(new), "--history", str(folder))
    time.sleep(rng.uniform(0.1, 1.5))
    process.send_signal(signum)
    code, err = scene.finish(process)
    check_exit(signum, code, err)
    scene.assert_clean()
    after = recorded_commits(folder)  # the history still loads
    assert before <= after, "a record was lost"
    assert after - before in (set(), {f"{99:040x}"})


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_signal_during_trend(tmp_path, signum):
    rng = random.Random(f"{SEED}-trend-{signum.name}")
    scene = Scene(tmp_path)
    folder = history(scene, 3)
    before = recorded_commits(folder)
    page = scene.root / "out" / "trend.html"
    process = scene.start("trend", "--history", str(folder), "-o", str(page))
    time.sleep(rng.uniform(0.1, 2.0))
    process.send_signal(signum)
    code, err = scene.finish(process)
    check_exit(signum, code, err)
    scene.assert_clean()
    assert recorded_commits(folder) == before
    assert not page.exists() or page.read_text().rstrip().endswith("</html>")


# -- a full disk ----------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "48k") -> Iterator[bool]:
    """A tiny tmpfs at ``folder`` where mounting is permitted (root); yields whether it is real."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, check=False
        )
        mounted = done.returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def full_disk_preload(scene: Scene) -> Path:
    """Where no small disk can be mounted: a sitecustomize that makes every file under the path in
    BW_ENOSPC_UNDER fail with ENOSPC when flushed to disk, as a full disk does."""
    hook = scene.root / "enospc"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(
        "import errno, os\n"
        "_fsync = os.fsync\n"
        "def fsync(fd):\n"
        "    if os.environ['BW_ENOSPC_UNDER'] in os.readlink(f'/proc/self/fd/{fd}'):\n"
        "        raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "    return _fsync(fd)\n"
        "os.fsync = fsync\n"
    )
    return hook


def run_on_full_disk(scene: Scene, real: bool, full: Path, *args: str) -> subprocess.CompletedProcess:
    env = scene.env()
    if not real:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(full_disk_preload(scene)), env.get("PYTHONPATH")]))
        env["BW_ENOSPC_UNDER"] = str(full)
    return subprocess.run(
        [sys.executable, "-m", "benchwatch", *args],
        cwd=scene.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


def test_full_disk_compare_keeps_the_old_report(tmp_path):
    scene = Scene(tmp_path)
    base, head = result(tmp_path / "base.json.gz", 1e-3, 1), result(tmp_path / "head.json.gz", 1.3e-3, 2)
    with small_disk(scene.root / "disk") as real:
        report = scene.root / "disk" / "report.html"
        report.write_text("previous report")
        done = run_on_full_disk(
            scene, real, report.parent, "compare", str(base), str(head), "--format", "html", "--output", str(report)
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr == f"benchwatch: error: {report}: cannot write: no space left on device\n"
        assert report.read_text() == "previous report"
        assert sorted(os.listdir(report.parent)) == ["report.html"]
    scene.assert_clean()


def test_full_disk_run_saves_its_results_elsewhere(tmp_path):
    scene = Scene(tmp_path, suite="def test_quick(benchmark):\n    benchmark.pedantic(lambda: None, rounds=5)\n")
    with small_disk(scene.root / "disk", size="8k") as real:
        filler = scene.root / "disk" / "filler"
        if real:  # leave room for the writability probe only, not for the result
            with contextlib.suppress(OSError):
                filler.write_bytes(b"x" * (7 << 10))
        done = run_on_full_disk(scene, real, filler.parent, "run", "-q", "-o", str(filler.parent / "result.json"))
        disk_files = sorted(os.listdir(scene.root / "disk"))
    saved = sorted(scene.root.glob("benchwatch-run-*.json"))
    assert done.returncode == 2, done.stderr
    assert len(saved) == 1, done.stderr
    assert done.stderr.endswith(f"; the results were saved to {saved[0]} instead\n")
    assert "no space left on device" in done.stderr
    assert len(load_result(saved[0]).benchmarks) == 1
    assert [name for name in disk_files if name.endswith(".tmp")] == []
    scene.assert_clean()


def test_full_disk_record_loses_no_record(tmp_path):
    scene = Scene(tmp_path)
    folder = history(scene, 2)
    before = recorded_commits(folder)
    new = result(tmp_path / "new.json.gz", 1e-3, 77, benchmarks=10)
    # Injected (ENOSPC when the new files are flushed): a real small disk would need the history on it first.
    done = run_on_full_disk(scene, False, folder, "record", str(new), "--history", str(folder))
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "no space left on device" in done.stderr.lower(), done.stderr
    assert recorded_commits(folder) == before
    scene.assert_clean()


# -- memory pressure and CPU throttling ------------------------------------------------------


def test_memory_pressure_and_a_crashing_benchmark(tmp_path):
    scene = Scene(tmp_path, suite=PRESSURE_SUITE)
    limit = 3 << 30  # address space: enough for Python and numpy, not for an 8 GiB bytearray

    def cap_memory() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    process = scene.start("run", "-q", "-o", "out/result.json", "--timeout", "120", preexec_fn=cap_memory)
    code, err = scene.finish(process)
    assert code == 3, err  # some benchmarks failed; the others' results are written
    outcome = {
        b.name.rsplit("::", 1)[1]: b.runs[0].status for b in load_result(scene.root / "out/result.json").benchmarks
    }
    assert outcome == {"test_allocates_too_much": "error", "test_crashes_after_forking": "crashed", "test_fine": "ok"}
    assert "MemoryError" in err
    scene.assert_clean()


def test_cpu_throttled_to_one_core_with_hogs(tmp_path):
    taskset = "/usr/bin/taskset" if Path("/usr/bin/taskset").exists() else None
    if taskset is None:
        pytest.skip("taskset is not installed (util-linux)")
    scene = Scene(tmp_path, suite="def test_quick(benchmark):\n    benchmark.pedantic(lambda: None, rounds=5)\n")
    hog = [taskset, "-c", "0", sys.executable, "-c", "while True: pass"]
    hogs = [subprocess.Popen(hog, env=scene.env()) for _ in range(2)]
    try:
        process = scene.start("run", "-q", "-o", "out/result.json", "--timeout", "120", prefix=(taskset, "-c", "0"))
        code, err = scene.finish(process)
    finally:
        for one in hogs:
            one.kill()
            one.wait()
    assert code == 0, err
    assert len(load_result(scene.root / "out/result.json").benchmarks) == 1
    scene.assert_clean()
