"""Counted workers' fixed directories: another holder is waited for, never replaced by a random name."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from benchwatch.runner import scratch
from benchwatch.runner.scratch import fixed_directory


@pytest.fixture
def temporary_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_second_run_waits_for_the_path_and_gets_the_same_one(temporary_root: Path) -> None:
    # Another process ("another benchwatch") holds the directory for a while.
    holder = textwrap.dedent(
        f"""
        import sys, tempfile, time
        tempfile.tempdir = {str(temporary_root)!r}
        from benchwatch.runner.scratch import fixed_directory
        with fixed_directory("benchwatch-counts-warm-1") as path:
            (path / "mine").write_text("holder")
            print(path, flush=True)
            time.sleep(1.5)
            released = time.time()
        print(released, flush=True)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    held = Path(process.stdout.readline().strip())
    with fixed_directory("benchwatch-counts-warm-1") as path:
        entered = time.time()
        assert path == held == temporary_root / "benchwatch-counts-warm-1"
        assert list(path.iterdir()) == []  # the holder's files went with it
    released = float(process.stdout.readline())
    assert process.wait(timeout=30) == 0
    assert entered >= released
    assert list(temporary_root.iterdir()) == []  # directory and lock file gone


def test_a_leftover_of_a_killed_run_is_emptied_and_reused(temporary_root: Path) -> None:
    leftover = temporary_root / "benchwatch-counts-warm-2"
    leftover.mkdir()
    (leftover / "callgrind.out.123.1").write_text("old")
    with fixed_directory("benchwatch-counts-warm-2") as path:
        assert path == leftover and list(path.iterdir()) == []
    assert list(temporary_root.iterdir()) == []


def test_a_lock_that_cannot_be_opened_falls_back_to_a_random_name(
    temporary_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(path: Path, **_: object):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(scratch, "exclusive_lock", refused)
    with fixed_directory("benchwatch-counts-warm-3") as path:
        assert path.parent == temporary_root and path.name.startswith("benchwatch-counts-warm-3-")
        assert path.is_dir()
    assert not path.exists()


def test_a_leftover_that_cannot_be_removed_gives_a_random_name(
    temporary_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = temporary_root / "benchwatch-counts-warm-4"
    stuck.mkdir()
    monkeypatch.setattr(scratch.shutil, "rmtree", lambda path, ignore_errors=False: None)  # another user's
    with fixed_directory("benchwatch-counts-warm-4") as path:
        assert path != stuck and path.name.startswith("benchwatch-counts-warm-4-") and path.is_dir()
