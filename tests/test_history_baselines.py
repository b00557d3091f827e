"""Stored results beside a history's records (``record --keep-result``) and ``history baseline``."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from benchwatch import cli
from benchwatch.history import baselines
from benchwatch.resultfile import load_result

pytest.importorskip("duckdb", reason="the history extra (DuckDB) is not installed")

FIXTURE = Path(__file__).parent / "fixtures" / "results" / "v2_result.json"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _record(history: Path, commit: str, date: str, capsys) -> int:
    args = ["--history", str(history), "--commit", commit, "--date", date, "--keep-result", "--keep-results", "2"]
    code = cli.main(["record", str(FIXTURE), *args])
    capsys.readouterr()
    return code


def test_compact_result_rounds_samples_and_drops_capture_paths() -> None:
    result = load_result(FIXTURE)
    compact = baselines.compact_result(result, commit="c" * 40)
    assert compact.environment.git_commit == "c" * 40
    for before, after in zip(result.benchmarks, compact.benchmarks, strict=True):
        for run_before, run_after in zip(before.runs, after.runs, strict=True):
            assert run_after.samples.shape == run_before.samples.shape
            # four significant digits: at most 0.05% off, and no more digits than that
            np.testing.assert_allclose(run_after.samples, run_before.samples, rtol=5e-4)
            assert all(float(f"{value:.4g}") == value for value in run_after.samples.tolist())
            if run_after.memory is not None:
                assert run_after.memory.capture_path is None
                assert run_before.memory is not None
                assert run_after.memory.peak_bytes == run_before.memory.peak_bytes


def test_record_keeps_the_newest_results_only(tmp_path: Path, capsys) -> None:
    history = tmp_path / "history"
    commits = [f"{digit}" * 40 for digit in "1234"]
    for day, commit in enumerate(commits, start=1):
        assert _record(history, commit, f"2026-01-0{day}T00:00:00Z", capsys) == 0
    assert baselines.stored_commits(history) == set(commits[2:])  # --keep-results 2: the two newest
    stored = load_result(history / "results" / f"{commits[3]}.json.gz")
    assert stored.environment.git_commit == commits[3]
    assert [b.name for b in stored.benchmarks] == [b.name for b in load_result(FIXTURE).benchmarks]
    # --skip-existing on a recorded commit still keeps a missing result
    (history / "results" / f"{commits[3]}.json.gz").unlink()
    code = cli.main(
        ["record", str(FIXTURE), "--history", str(history), "--commit", commits[3], "--skip-existing", "--keep-result"]
    )
    assert code == 0 and "kept the result of 444444444444" in capsys.readouterr().out
    assert commits[3] in baselines.stored_commits(history)


def test_keep_result_needs_a_full_commit_and_writes_nothing_otherwise(tmp_path: Path, capsys) -> None:
    history = tmp_path / "history"
    code = cli.main(["record", str(FIXTURE), "--history", str(history), "--commit", "abc123", "--keep-result"])
    assert code == 2 and "full 40-hex commit sha" in capsys.readouterr().err
    assert not history.exists()


@pytest.fixture
def repository(tmp_path: Path, capsys) -> dict:
    """main: c0..c3; a benchwatch-history branch storing the results of c0 and c1."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "dev@example.invalid")
    _git(repo, "config", "user.name", "Dev")
    commits = []
    for index in range(4):
        (repo / "file.txt").write_text(f"{index}\n")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", f"c{index}")
        commits.append(_git(repo, "rev-parse", "HEAD"))
    branch = tmp_path / "branch"
    _git(tmp_path, "init", "-q", "-b", "benchwatch-history", str(branch))
    for day, commit in enumerate(commits[:2], start=1):
        assert _record(branch / "history", commit, f"2026-01-0{day}T00:00:00Z", capsys) == 0
    _git(branch, "add", "-A")
    _git(branch, "-c", "user.name=bot", "-c", "user.email=bot@example.invalid", "commit", "-qm", "record")
    _git(branch, "push", "-q", str(repo), "HEAD:benchwatch-history")
    return {"repo": repo, "commits": commits, "history": branch / "history"}


def _baseline(repository: dict, commit: str, *source: str, output: Path) -> int:
    return cli.main(
        ["history", "baseline", "--repo", str(repository["repo"]), "--commit", commit, *source, "-o", str(output)]
    )


def test_baseline_takes_the_nearest_recorded_ancestor_from_the_branch(repository, tmp_path: Path, capsys) -> None:
    c0, c1, _, c3 = repository["commits"]
    out = tmp_path / "base.json.gz"
    assert _baseline(repository, c3, "--history-ref", "benchwatch-history", output=out) == 0
    label = capsys.readouterr().out.strip()
    assert label == f"stored run: nearest recorded ancestor of the merge base {c3[:12]}, 2 commits back"
    assert load_result(out).environment.git_commit == c1  # not c0: the nearest one
    assert _baseline(repository, c1, "--history-ref", "benchwatch-history", output=out) == 0
    assert capsys.readouterr().out.strip() == "stored run of the merge base"
    assert _baseline(repository, "HEAD~3", "--history", str(repository["history"]), output=out) == 0
    assert load_result(out).environment.git_commit == c0


def test_baseline_errors_are_one_line(repository, tmp_path: Path, capsys) -> None:
    c3 = repository["commits"][3]
    out = tmp_path / "base.json.gz"
    assert _baseline(repository, c3, "--history-ref", "benchwatch-history", "--max-distance", "1", output=out) == 2
    err = capsys.readouterr().err
    assert "no stored result for" in err and "benchwatch record --keep-result" in err and len(err.splitlines()) == 1
    assert _baseline(repository, c3, "--history-ref", "main", output=out) == 2  # a ref without a history
    assert "no stored result for" in capsys.readouterr().err
    assert _baseline(repository, c3, "--history-ref", "no-such-branch", output=out) == 2
    assert "git rev-parse" in capsys.readouterr().err
    assert _baseline(repository, c3, "--history-ref", "main:../x", output=out) == 2
    assert "not a git ref" in capsys.readouterr().err
    assert not out.exists()


def test_a_stored_file_that_is_not_a_result_is_refused(repository, tmp_path: Path, capsys) -> None:
    c1 = repository["commits"][1]
    (repository["history"] / "results" / f"{c1}.json.gz").write_bytes(gzip.compress(json.dumps({"x": 1}).encode()))
    out = tmp_path / "base.json.gz"
    assert _baseline(repository, c1, "--history", str(repository["history"]), output=out) == 2
    assert str(out) in capsys.readouterr().err
    assert not out.exists()
