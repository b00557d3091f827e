"""Writing output files (issue #11, item 5): benchwatch.output, used by every command.

Symlinks are followed, FIFOs and character devices written through (never
replaced), block devices refused, an overwritten file keeps its mode, a bad
output path is one line and exit 2 (before `run` starts its suite), and a
finished run's results are never lost.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from benchwatch import output
from benchwatch.cli import main
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.output import OutputError, check_writable, write_output
from benchwatch.resultfile import load_result, save_result


def side(path: Path, level: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    runs = tuple(Run(samples=level * rng.lognormal(0, 0.02, 50)) for _ in range(3))
    return save_result(
        ResultSet(benchmarks=(BenchmarkResult(name="alpha", runs=runs),), environment=Environment()), path
    )


@pytest.fixture
def pair(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return [str(side(tmp_path / "base.json", 1e-3, 1)), str(side(tmp_path / "head.json", 1e-3, 2))]


def is_report(text: str | bytes) -> bool:
    text = text.decode() if isinstance(text, bytes) else text
    return "benchwatch" in text and "alpha" in text


def compare(pair: list[str], *extra: str) -> int:
    return main(["compare", *pair, "--format", "markdown", *extra])


def test_output_onto_a_symlink_writes_the_target_and_keeps_the_link(pair, tmp_path):
    target = tmp_path / "reports" / "real.md"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    assert compare(pair, "--output", str(link)) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert is_report(target.read_text())
    assert sorted(os.listdir(target.parent)) == ["real.md"]  # no temporary file left


def test_output_onto_a_dangling_symlink_creates_its_target(pair, tmp_path):
    link = tmp_path / "link.md"
    link.symlink_to(tmp_path / "new.md")
    assert compare(pair, "--output", str(link)) == 0
    assert link.is_symlink() and is_report((tmp_path / "new.md").read_text())


def test_output_into_a_fifo_is_written_through(pair: list[str], tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert compare(pair, "--output", str(fifo)) == 0
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert is_report(received[0].decode())


def test_output_to_dev_null_leaves_the_device(pair):
    assert compare(pair, "--output", "/dev/null") == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="/dev/full is Linux-only")
def test_output_to_dev_full_is_one_line_and_the_device_stays(pair, capsys):
    assert compare(pair, "--output", "/dev/full") == 2
    assert capsys.readouterr().err == "benchwatch: error: /dev/full: cannot write: no space left on device\n"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_output_to_dev_stdout_reaches_stdout(pair, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchwatch", "compare", *pair, "--format", "markdown", "--output", "/dev/stdout"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert is_report(done.stdout)


def test_output_dash_is_stdout_for_run_files_too(tmp_path, capfdbinary):
    source = side(tmp_path / "in.json", 1e-3, 3)
    assert main(["import", str(source), "-o", "-"]) == 0
    captured = capfdbinary.readouterr()
    assert captured.out.startswith(b'{"schema_version"') and captured.out.endswith(b"}")
    assert captured.err == b"wrote -: 1 benchmarks, 3 runs\n"


def test_a_block_device_is_refused():
    devices = [entry.path for entry in os.scandir("/dev") if stat.S_ISBLK(os.stat(entry.path).st_mode)]
    if not devices:
        pytest.skip("no block device visible (container)")
    before = os.stat(devices[0])
    with pytest.raises(OutputError, match="is a block device; refusing to write a report over it"):
        write_output(Path(devices[0]), b"x")
    with pytest.raises(OutputError, match="is a block device"):
        check_writable(Path(devices[0]))
    assert os.stat(devices[0]).st_mtime == before.st_mtime


def test_overwriting_keeps_the_file_mode(pair, tmp_path):
    report = tmp_path / "private.md"
    report.write_text("old")
    report.chmod(0o600)
    assert compare(pair, "--output", str(report)) == 0
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert is_report(report.read_text())


def test_a_new_file_gets_the_umask_mode(tmp_path):
    mask = os.umask(0o022)
    try:
        write_output(tmp_path / "new.json", b"{}")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644


def test_a_path_under_a_file_is_one_line_exit_two(pair, tmp_path, capsys):
    (tmp_path / "plain").write_text("x")
    assert compare(pair, "--output", str(tmp_path / "plain" / "r.md")) == 2
    err = capsys.readouterr().err
    assert err == (
        f"benchwatch: error: {tmp_path / 'plain' / 'r.md'}: cannot write: "
        "a component of the path is a file, not a directory\n"
    )


def test_an_unwritable_directory_is_one_line_exit_two(pair, tmp_path, capsys, monkeypatch):
    # Permission bits do not stop root: inject what the kernel says to an ordinary user.
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(output.tempfile, "mkstemp", refuse)
    monkeypatch.setattr(output.os, "open", refuse)
    assert compare(pair, "--output", str(tmp_path / "r.md")) == 2
    assert (
        capsys.readouterr().err
        == f"benchwatch: error: {tmp_path / 'r.md'}: cannot write in {tmp_path}: Permission denied\n"
    )


def test_output_that_is_a_directory_is_one_line(pair, tmp_path, capsys):
    assert compare(pair, "--output", str(tmp_path)) == 2
    assert capsys.readouterr().err == f"benchwatch: error: {tmp_path}: is a directory; give a file name\n"


def test_a_write_leaves_no_named_temporary_while_the_data_goes_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Linux: the data goes into an unnamed O_TMPFILE file, so a SIGKILL mid-write leaves nothing.
    seen: list[list[str]] = []
    real_fsync = os.fsync

    def watching_fsync(fd):
        seen.append(sorted(os.listdir(tmp_path)))
        real_fsync(fd)

    monkeypatch.setattr(output.os, "fsync", watching_fsync)
    write_output(tmp_path / "r.json", b"{}")
    assert (tmp_path / "r.json").read_bytes() == b"{}"
    if sys.platform.startswith("linux"):
        assert seen == [[]]
    assert os.listdir(tmp_path) == ["r.json"]


def test_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    target.write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", full)
    with pytest.raises(OutputError, match="cannot write: no space left on device"):
        write_output(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["r.json"]


# -- benchwatch run: check first, never lose a finished run -----------------------------

SUITE = """
import os, pathlib

def test_quick(benchmark):
    pathlib.Path(os.environ["BW_MARK"]).write_text("ran")
    action = os.environ.get("BW_BREAK_OUTPUT")
    if action:  # the output directory goes bad while the suite runs
        os.rmdir(action)
        pathlib.Path(action).write_text("now a file")
    benchmark.pedantic(lambda: None, rounds=5)
"""


def run_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "benchmarks").mkdir(parents=True)
    (project / "benchmarks" / "test_suite.py").write_text(SUITE)
    (project / "pyproject.toml").write_text(
        '[tool.benchwatch]\nsuites = ["benchmarks"]\nruns = 1\nmemory = false\ninstructions = false\n'
    )
    return project


def run_cli(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "benchwatch", "run", "-q", *args],
        cwd=project,
        env={**os.environ, "BW_MARK": str(project / "ran"), **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_run_with_a_bad_output_fails_before_the_suite_runs(tmp_path):
    project = run_project(tmp_path)
    (project / "plain").write_text("x")
    done = run_cli(project, "-o", "plain/x.json")
    assert done.returncode == 2
    assert (
        done.stderr
        == "benchwatch: error: plain/x.json: cannot write: a component of the path is a file, not a directory\n"
    )
    assert not (project / "ran").exists()  # the suite never started


@pytest.mark.slow
def test_run_whose_output_goes_bad_saves_the_results_in_the_working_directory(tmp_path):
    project = run_project(tmp_path)
    (project / "out").mkdir()
    done = run_cli(project, "-o", "out/x.json.gz", BW_BREAK_OUTPUT=str(project / "out"))
    assert (project / "ran").exists()
    assert done.returncode == 2
    saved = sorted(project.glob("benchwatch-run-*.json.gz"))
    assert len(saved) == 1
    assert done.stderr == (
        "benchwatch: error: out/x.json.gz: cannot write: a component of the path is a file, not a directory; "
        f"the results were saved to {saved[0]} instead\n"
    )
    assert [b.name for b in load_result(saved[0]).benchmarks] == ["benchmarks/test_suite.py::test_quick"]


def test_fallback_names_never_overwrite(tmp_path):
    (tmp_path / "benchwatch-run-X.json.gz").write_text("keep")
    assert output.fallback_path(tmp_path, "benchwatch-run-X.json.gz").name == "benchwatch-run-X-1.json.gz"


def test_a_rebuildable_file_is_replaced_atomically_without_a_flush_to_disk(tmp_path, monkeypatch) -> None:
    import os as os_module

    from benchwatch.output import write_output

    flushed: list[int] = []
    real_fsync = os_module.fsync

    def recording_fsync(fd: int) -> None:
        flushed.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os_module, "fsync", recording_fsync)
    target = tmp_path / "chunk-0.json"
    target.write_bytes(b"old")
    write_output(target, b"new", durable=False)
    assert target.read_bytes() == b"new" and not flushed
    assert [p.name for p in tmp_path.iterdir()] == ["chunk-0.json"]  # no temporary left behind
    write_output(target, b"newer")
    assert target.read_bytes() == b"newer" and flushed
