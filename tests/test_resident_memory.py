"""The resident-set memory figure (peak_rss): it sees what a DuckDB query really holds.

Real `benchwatch run` memory passes (one fresh worker per benchmark) on a
DuckDB query whose hash aggregate holds one entry per row.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
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


def _kernel_at_least(major: int, minor: int) -> bool:
    try:
        parts = platform.release().split(".")
        return (int(parts[0]), int(parts[1])) >= (major, minor)
    except (ValueError, IndexError):
        return False


@pytest.mark.skipif(not _kernel_at_least(5, 14), reason="MADV_POPULATE_READ needs Linux >= 5.14")
def test_file_pages_are_mapped_before_the_window_so_a_forked_child_does_not_count_code_pages() -> None:
    """Fork leaves file mappings' page tables behind: a child's first run of library code faulted them in."""
    code = textwrap.dedent(
        """
        import os, json, sys
        from benchwatch.runner.memory_pass import ResidentSetWindow, map_file_pages

        def rss_file():
            for line in open("/proc/self/status"):
                if line.startswith("RssFile:"):
                    return int(line.split()[1])

        import decimal, email.parser, xml.dom.minidom  # library code the parent has mapped
        pid = os.fork()
        if pid == 0:
            before = rss_file()
            map_file_pages()
            mapped = rss_file()
            window = ResidentSetWindow()
            decimal.Decimal(1) / 7
            email.parser.Parser().parsestr("a: b\\n\\nbody")
            xml.dom.minidom.parseString("<a><b/></a>")
            print(json.dumps([before, mapped, window.peak_above_start()]))
            sys.stdout.flush()
            os._exit(0)
        os.waitpid(pid, 0)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, mapped, growth = json.loads(out)
    assert mapped > before + 1024  # KiB: the child started without most of its code pages
    assert growth is not None and growth < 1024 * 1024  # the calls' growth holds no code pages
