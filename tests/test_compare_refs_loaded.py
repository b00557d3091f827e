"""compare-refs end to end with two CPU hogs running beside it the whole time.

One comparison on a machine made busy on purpose (two processes spinning on
the CPUs of this, often 2-core, machine for the whole test): head makes one
benchmark do +60% work, adds a comment, and leaves the other benchmark's code
as it was.  The slowdown must be a regression and the untouched benchmark must
get no verdict on any metric - by design (interleaved runs share the load, so
the comparison stays valid and only its intervals widen), not by retries.
The hogs are subprocesses this module starts and always kills.  This is the
suite's only real run of these scenarios (a separate comment-only comparison
repeated this one's false-alarm check on two benchmarks instead of one: 23 s
of the suite), and the re-render of saved results reads its files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_compare_refs import LIBRARY, _compare_refs, _git, _row, _verdict, init_project

from benchwatch.cli import main
from benchwatch.errors import EXIT_REGRESSION

pytestmark = pytest.mark.slow  # real compare-refs runs beside two CPU hogs

LIBRARY_SLOW = 32_000  # +60% work in parse_rows, as in test_compare_refs


@pytest.fixture(scope="module")
def hogs() -> Iterator[list[subprocess.Popen]]:
    processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield processes
    finally:
        for process in processes:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def loaded_repo(tmp_path_factory: pytest.TempPathFactory, hogs: list[subprocess.Popen]) -> Path:
    repo = tmp_path_factory.mktemp("loaded")
    init_project(repo)
    _git(repo, "tag", "base")
    (repo / "mylib.py").write_text(LIBRARY.format(parse_size=LIBRARY_SLOW) + "\n# a comment too\n")
    _git(repo, "commit", "-qam", "slower parse_rows")
    _git(repo, "tag", "slow")
    return repo


def test_hogs_are_running(hogs: list[subprocess.Popen]) -> None:
    assert all(process.poll() is None for process in hogs)


def test_real_slowdown_is_flagged_and_unchanged_code_is_not_beside_two_cpu_hogs(
    loaded_repo: Path, hogs, capsys
) -> None:
    code, report = _compare_refs(loaded_repo, capsys, "base", "slow")
    assert all(process.poll() is None for process in hogs)  # the load lasted the whole comparison
    assert _verdict(report, "test_parse_rows") == "regression", report["headline"]
    assert _row(report, "test_parse_rows")["ratio"] > 1.2
    untouched = [row for row in report["comparisons"] if row["benchmark"].endswith("test_aggregate")]
    assert untouched and all(row["verdict"] not in ("regression", "improvement") for row in untouched), untouched
    assert code == EXIT_REGRESSION


def test_saved_results_re_render_with_the_same_verdicts(loaded_repo: Path, capsys) -> None:
    """The previous test's result files, compared again by `benchwatch compare`: the same rows, verdicts, exit."""
    out = loaded_repo / "results" / "base-slow"
    code = main(
        [
            "compare",
            str(out / "base.json.gz"),
            str(out / "head.json.gz"),
            "--format",
            "json",
            "--config",
            str(loaded_repo / "pyproject.toml"),
        ]
    )
    report = json.loads(capsys.readouterr().out)
    saved = json.loads((out / "comparison.json").read_text())
    assert [(r["benchmark"], r["metric"], r["verdict"]) for r in report["comparisons"]] == [
        (r["benchmark"], r["metric"], r["verdict"]) for r in saved["comparisons"]
    ]
    assert saved["verdict"] == "regression" and code == EXIT_REGRESSION
