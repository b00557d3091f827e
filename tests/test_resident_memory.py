"""The resident-set memory figure (peak_rss): it sees what a DuckDB query really holds.

Real `benchwatch run` memory passes (one fresh worker per benchmark) on a
DuckDB query whose hash aggregate holds one entry per row.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from benchwatch.compare import compare
from benchwatch.model import ResultSet
from benchwatch.runner.session import RunSettings, run_suites

pytest.importorskip("duckdb")
pytestmark = pytest.mark.slow  # real benchwatch runs of DuckDB queries

SUITE = textwrap.dedent(
    """
    import duckdb
    import pytest

    ROWS = {rows}

    @pytest.fixture(scope="module")
    def con():
        connection = duckdb.connect()
        connection.execute("SET threads=1")
        connection.execute("SELECT 1").fetchall()
        yield connection
        connection.close()

    def test_group_every_row(benchmark, con):
        query = f"SELECT count(*) FROM (SELECT i AS g, count(*) FROM range({{ROWS}}) t(i) GROUP BY g)"
        assert benchmark(lambda: con.execute(query).fetchall()) == [(ROWS,)]
    """
)
FAST = ("--benchmark-max-time=0.01", "--benchmark-min-rounds=2")


def measure(tmp_path: Path, label: str, rows: int) -> ResultSet:
    project = tmp_path / label
    (project / "benchmarks").mkdir(parents=True)
    (project / "benchmarks" / "test_rows.py").write_text(SUITE.format(rows=rows))
    # 4 runs: what a memory change needs per side to reach alpha (rules version 5)
    return run_suites(repo=project, settings=RunSettings(runs=4, timeout=120, pytest_args=FAST))


def test_twice_the_rows_moves_peak_rss_by_more_than_20_percent_and_identical_code_stays_within_tolerance(
    tmp_path: Path,
) -> None:
    base = measure(tmp_path, "base", 300_000)
    same = measure(tmp_path, "same", 300_000)
    doubled = measure(tmp_path, "doubled", 600_000)
    [benchmark] = base.benchmarks
    assert all(run.memory is not None and run.memory.rss_peak_bytes for run in benchmark.runs)
    base_rss = benchmark.statistic("peak_rss")
    assert base_rss > 4 * 2**20  # megabytes of hash table, not the Python result
    assert doubled.benchmarks[0].statistic("peak_rss") / base_rss > 1.2

    def peak_rss_row(head: ResultSet):
        [row] = [m for m in compare(base, head).metric_comparisons() if m.metric == "peak_rss"]
        return row

    grown = peak_rss_row(doubled)
    assert grown.gated and grown.verdict == "regression" and grown.unit == "bytes"
    unchanged = peak_rss_row(same)
    assert unchanged.gated and unchanged.verdict == "unchanged", unchanged.reason
