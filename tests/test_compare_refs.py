"""compare-refs on a temporary git repository: its errors, and the helpers the end-to-end tests share.

The slowdown is extra work (more loop iterations), not a sleep, so it is
the kind of change the tool exists to catch.  The real run of the scenario
(a +60% slowdown beside an untouched benchmark) and the re-render of its
saved results are tests/test_compare_refs_loaded.py's: it ran here too, on
an unloaded machine, with weaker assertions (a busy machine could make the
slowdown inconclusive), which the same run beside two CPU hogs must meet
strictly.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from benchwatch.cli import main
from benchwatch.errors import EXIT_INPUT_ERROR
from benchwatch.refs.session import shard_of

LIBRARY = textwrap.dedent(
    """
    def checksum(n):
        total = 0
        for value in range(n):
            total = (total * 31 + value) % 1_000_003
        return total

    def parse_rows():
        return checksum({parse_size})

    def aggregate():
        return checksum(20_000)
    """
)
SUITE = textwrap.dedent(
    """
    import mylib

    def test_parse_rows(benchmark):
        assert benchmark(mylib.parse_rows) >= 0

    def test_aggregate(benchmark):
        assert benchmark(mylib.aggregate) >= 0
    """
)
# Latency end to end; the Callgrind pass has its own compare-refs test (test_instruction_pass.py).
PYPROJECT = (
    '[tool.benchwatch]\nsuites = ["benchmarks"]\ntimeout = 120\ninstructions = false\n'
    'pytest_args = ["--benchmark-min-rounds=40", "--benchmark-max-time=0.05"]\n'
    '[tool.benchwatch.compare]\ngate = ["p50"]\n'
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def init_project(repo: Path) -> str:
    """A git repository on ``main`` with the suite and library at their base commit; its hash."""
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "dev@example.invalid")
    _git(repo, "config", "user.name", "Dev")
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "test_lib.py").write_text(SUITE)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / ".gitignore").write_text(".benchwatch-cache/\nresults/\n")
    (repo / "mylib.py").write_text(LIBRARY.format(parse_size=20_000))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("project")
    init_project(repo)
    _git(repo, "tag", "base")
    (repo / "mylib.py").write_text(LIBRARY.format(parse_size=32_000))  # +60% work in parse_rows
    _git(repo, "commit", "-qam", "slower parse_rows")
    _git(repo, "tag", "slow")
    _git(repo, "checkout", "-q", "base")
    _git(repo, "checkout", "-q", "-b", "docs")
    (repo / "NOTES.md").write_text("nothing measurable\n")
    (repo / "mylib.py").write_text(LIBRARY.format(parse_size=20_000) + "\n# a comment only\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "comment only")
    _git(repo, "tag", "same")
    return repo


def _compare_refs(repo: Path, capsys, *args: str) -> tuple[int, dict]:
    out = repo / "results" / "-".join(args[:2]).replace("/", "_")
    code = main(
        [
            "compare-refs",
            *args,
            "--config",
            str(repo / "pyproject.toml"),
            "--looks",
            "3,5",
            "--max-time",
            "600",
            "--memory-runs",
            "1",
            "--plain",
            "--format",
            "json",
            "--output-dir",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert (out / "base.json.gz").is_file() and (out / "head.json.gz").is_file()
    return code, report


def _verdict(report: dict, benchmark: str, metric: str = "p50") -> str:
    for row in report["comparisons"]:
        if row["benchmark"].endswith(benchmark) and row["metric"] == metric:
            return row["verdict"]
    raise AssertionError(f"{benchmark} {metric} not in report")


def _row(report: dict, benchmark: str, metric: str = "p50") -> dict:
    return next(r for r in report["comparisons"] if r["benchmark"].endswith(benchmark) and r["metric"] == metric)


@pytest.mark.slow
def test_unknown_ref_is_a_clear_error(repo: Path, capsys) -> None:
    code = main(["compare-refs", "no-such-ref", "slow", "--config", str(repo / "pyproject.toml"), "-q"])
    assert code == EXIT_INPUT_ERROR
    assert capsys.readouterr().err.strip() == f"benchwatch: error: no-such-ref: unknown git ref in {repo}"


@pytest.mark.slow
def test_dirty_tree_needs_a_flag(repo: Path, capsys) -> None:
    (repo / "mylib.py").write_text((repo / "mylib.py").read_text() + "\n# uncommitted\n")
    try:
        code = main(["compare-refs", "base", "--config", str(repo / "pyproject.toml"), "-q"])
        assert code == EXIT_INPUT_ERROR
        assert "uncommitted changes" in capsys.readouterr().err
    finally:
        _git(repo, "checkout", "--", "mylib.py")


@pytest.mark.slow
def test_ref_without_the_suite(repo: Path, capsys, tmp_path: Path) -> None:
    _git(repo, "checkout", "-q", "--orphan", "empty")
    _git(repo, "rm", "-rq", "--cached", ".")
    (repo / "only.txt").write_text("x")
    _git(repo, "add", "only.txt")
    _git(repo, "commit", "-qm", "no suite")
    _git(repo, "checkout", "-qf", "docs")
    code = main(["compare-refs", "base", "empty", "--config", str(repo / "pyproject.toml"), "-q"])
    assert code == EXIT_INPUT_ERROR
    assert "has no suite at benchmarks" in capsys.readouterr().err


def test_shards_partition_benchmarks_deterministically() -> None:
    names = [f"benchmarks/test_x.py::test_{i}" for i in range(200)]
    shards = [shard_of(name, 4) for name in names]
    assert shards == [shard_of(name, 4) for name in names]
    assert set(shards) == {1, 2, 3, 4}
    assert all(20 < shards.count(i) < 80 for i in (1, 2, 3, 4))
