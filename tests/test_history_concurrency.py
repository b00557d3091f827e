"""Concurrent ``benchwatch record`` processes on one history (issue 11 item 4, issue 13 target).

Real processes, started together behind a barrier file so their
read-check-write sections overlap: every record must be kept.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from benchwatch.history import store
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.resultfile import save_result

pytestmark = pytest.mark.slow  # recorders run as concurrent processes

_RECORDER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    go = Path(sys.argv[1])
    while not go.exists():
        time.sleep(0.001)
    from benchwatch import cli
    sys.exit(cli.main(sys.argv[2:]))
    """
)


def _result(commit: str, seed: int) -> ResultSet:
    rng = np.random.default_rng(seed)
    benchmarks = tuple(
        BenchmarkResult(name=f"bench_{k}", runs=tuple(Run(samples=rng.lognormal(-7, 0.05, 20)) for _ in range(3)))
        for k in range(20)
    )
    return ResultSet(benchmarks=benchmarks, environment=Environment(git_commit=commit, git_branch="main"))


def _trial(tmp_path: Path, trial: int, writers: int) -> list[subprocess.CompletedProcess[bytes]]:
    history = tmp_path / f"history-{trial}"
    go = tmp_path / f"go-{trial}"
    processes = []
    for k in range(writers):
        path = tmp_path / f"result-{trial}-{k}.json"
        save_result(_result(f"{trial:02d}{k:038x}", seed=k), path)
        command = [sys.executable, "-c", _RECORDER, str(go), "record", str(path), "--history", str(history)]
        command += ["--date", f"2024-05-01T00:00:0{k}Z"]
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    go.touch()
    return [
        subprocess.CompletedProcess(p.args, p.wait(timeout=300), p.stdout.read(), p.stderr.read())  # type: ignore[union-attr]
        for p in processes
    ]


def test_four_concurrent_recorders_lose_nothing(tmp_path):
    writers, trials = 4, 3
    for trial in range(trials):
        finished = _trial(tmp_path, trial, writers)
        assert [done.returncode for done in finished] == [0] * writers, [done.stderr for done in finished]
        history = store.load_history(tmp_path / f"history-{trial}")
        assert sorted(record.commit for record in history.records) == [f"{trial:02d}{k:038x}" for k in range(writers)]
        assert all(len(record.benchmarks) == 20 for record in history.records)
        records = tmp_path / f"history-{trial}" / "records"
        assert len(list(records.glob("*.parquet"))) == writers
        assert not [p for p in records.iterdir() if not p.name.endswith(".parquet")]  # no temporary files left


def test_concurrent_recorders_of_one_commit_keep_exactly_one(tmp_path):
    history = tmp_path / "history"
    go = tmp_path / "go"
    path = tmp_path / "result.json"
    save_result(_result("f" * 40, seed=1), path)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _RECORDER, str(go), "record", str(path), "--history", str(history)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    go.touch()
    codes = sorted(p.wait(timeout=300) for p in processes)
    assert codes == [0, 2, 2]  # one wins; the others are told the commit is already there
    assert [r.commit for r in store.load_history(history).records] == ["f" * 40]
