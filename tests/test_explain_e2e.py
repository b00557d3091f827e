"""The explanation end to end: compare-refs on a real project, and a real C extension under Callgrind.

The project (tests/explain_project.py) has four benchmarks; head makes one
helper do three times the work inside one of them, and renames another
(three times the work too) inside a second one.  One compare-refs serves
both claims.  The DuckDB case scans twice the rows on head, which only the
native profile can see.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import textwrap
import time
from pathlib import Path

import pytest
from explain_project import make_project

from benchwatch.cli import main
from benchwatch.explain.diff import explain_all
from benchwatch.explain.passes import ExplainSettings, profile_sides
from benchwatch.runner.worker import WorkerCommand

pytestmark = pytest.mark.slow
CHANGED = "benchmarks/test_lib.py::test_format_rows"
RENAMED = "benchmarks/test_lib.py::test_format_cells"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("explained")
    make_project(repo)
    return repo


@pytest.fixture(scope="module")
def compared(project: Path) -> tuple[dict, str]:
    """compare-refs ``base`` with ``triple``: its JSON report and its PR comment."""
    out = project / "results" / "triple"
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        _compare_refs(project, out)
    return json.loads(printed.getvalue()), (out / "comment.md").read_text(encoding="utf-8")


def _compare_refs(repo: Path, out: Path) -> None:
    main(
        [
            "compare-refs",
            "base",
            "triple",
            "--config",
            str(repo / "pyproject.toml"),
            "--looks",
            "3",
            "--max-time",
            "600",
            "--memory-runs",
            "0",
            "--plain",
            "--format",
            "json",
            "--output-dir",
            str(out),
        ]
    )


def _functions(report: dict, benchmark: str) -> list[dict]:
    explanation = next(e for e in report["explanations"] if e["benchmark"] == benchmark)
    return explanation["python"]["functions"][: explanation["python"]["significant"]]


def _comment_block(comment: str, benchmark: str) -> str:
    """The lines of the comment's explanation under ``benchmark`` (up to the next benchmark)."""
    why = comment.split("#### Why", 1)[1]
    start = why.index(f"**{benchmark}**")
    rest = why[start:].split("\n- **", 1)[0]
    return rest.split("\n\n", 1)[0]


def test_the_helper_doing_three_times_the_work_is_named_under_its_benchmark_only(compared: tuple[dict, str]) -> None:
    report, comment = compared
    assert any(row["benchmark"] == CHANGED and row["verdict"] == "regression" for row in report["comparisons"])
    top = _functions(report, CHANGED)[:5]
    helper = next(row for row in top if row["name"] == "_pad_fields")
    assert helper["base_calls"] == helper["head_calls"] == 300  # per call of the benchmark, exact
    assert helper["head_own"] > 1.5 * helper["base_own"]
    for explanation in report["explanations"]:
        if explanation["benchmark"] != CHANGED:
            assert all("_pad_fields" not in row["name"] for row in explanation["python"]["functions"])
    block = _comment_block(comment, CHANGED)
    assert "\\_pad_fields · mylib.py:5 · calls/call 300 → 300" in block
    assert comment.count("\\_pad_fields ·") == 1


def test_a_renamed_helper_shows_as_one_removed_and_one_added(compared: tuple[dict, str]) -> None:
    report, comment = compared
    assert any(row["benchmark"] == RENAMED and row["verdict"] == "regression" for row in report["comparisons"])
    rows = {row["name"]: row for row in _functions(report, RENAMED)}
    assert rows["_pad_cells"]["change"] == "removed" and rows["_pad_cells"]["head_calls"] == 0
    assert rows["_pad_columns"]["change"] == "added" and rows["_pad_columns"]["head_calls"] == 300
    block = _comment_block(comment, RENAMED)
    assert "(gone) \\_pad_cells" in block and "(new) \\_pad_columns" in block


DUCKDB_SUITE = textwrap.dedent(
    """
    import duckdb
    import pytest

    ROWS = {rows}

    @pytest.fixture(scope="module")
    def con():
        connection = duckdb.connect()
        connection.execute("SET threads TO 1")
        connection.execute(f"CREATE TABLE t AS SELECT hash(range) % 100003 AS k FROM range({{ROWS}})")
        return connection

    def test_scan(benchmark, con):
        benchmark(lambda: con.execute("SELECT sum(k) FROM t").fetchall())
    """
)


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_duckdb_scanning_twice_the_rows_is_native_cost_in_duckdb(tmp_path: Path) -> None:
    commands = {}
    for side, rows in (("base", 1_000_000), ("head", 2_000_000)):
        (tmp_path / side).mkdir()
        (tmp_path / side / "test_scan.py").write_text(DUCKDB_SUITE.format(rows=rows))
        commands[side] = WorkerCommand(python=sys.executable, cwd=tmp_path / side)
    name = "test_scan.py::test_scan"
    settings = ExplainSettings(valgrind=shutil.which("valgrind"), timeout=600)
    profiles = profile_sides(commands=commands, names=[name], settings=settings, deadline=time.monotonic() + 900)
    (explanation,) = explain_all({name: "regression"}, profiles["base"], profiles["head"])
    assert explanation.native is not None, explanation.notes
    library, base, head = explanation.native.libraries[0]
    assert library.startswith("_duckdb") and head > 1.5 * base  # the cost is native, in DuckDB's library
    # DuckDB's own scan is named where its symbols survive: twice the calls for twice the rows
    scans = [row for row in explanation.native.top if row.name.startswith("duckdb::") and "Scan" in row.name]
    assert any(1.8 < row.head_calls / row.base_calls < 2.2 for row in scans if row.base_calls)
    assert all(row.delta > 0 for row in explanation.native.top[:3])
    # the Python side sees one call into DuckDB per benchmark call, on both sides
    assert explanation.python is not None
    executes = [row for row in explanation.python.changes if "execute" in row.name]
    assert all(row.base_calls == row.head_calls for row in executes)
