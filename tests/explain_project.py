"""A four-benchmark project for the explanation's end-to-end tests (tests/test_explain_e2e.py).

``triple`` makes one helper, ``_pad_fields``, do three times the work inside
one benchmark (``test_format_rows``); the others never call it.  The same
commit renames another helper (``_pad_cells`` -> ``_pad_columns``) and makes
it do three times the work, inside ``test_format_cells`` only.  One
compare-refs (``base`` with ``triple``) thus serves both tests.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

LIBRARY = textwrap.dedent(
    """
    ROWS = [[f"field{{i}}-{{j}}" for j in range(8)] for i in range(300)]


    def _pad_fields(fields, width):
        padded = fields
        for _ in range({repeat}):
            padded = [field.ljust(width + len(padded)) for field in fields]
        return padded


    def format_rows(rows):
        return ["|".join(_pad_fields(row, 12)) for row in rows]


    def {cells}(fields, width):
        padded = fields
        for _ in range({repeat}):
            padded = [field.rjust(width + len(padded)) for field in fields]
        return padded


    def format_cells(rows):
        return ["".join({cells}(row, 10)) for row in rows]


    def checksum(n):
        total = 0
        for value in range(n):
            total = (total * 31 + value) % 1_000_003
        return total


    def parse_numbers(text):
        return [int(part) for part in text.split(",") if part]
    """
)
SUITE = textwrap.dedent(
    """
    import mylib

    TEXT = ",".join(str(i) for i in range(3000))


    def test_format_rows(benchmark):
        assert len(benchmark(mylib.format_rows, mylib.ROWS)) == 300


    def test_format_cells(benchmark):
        assert len(benchmark(mylib.format_cells, mylib.ROWS)) == 300


    def test_checksum(benchmark):
        assert benchmark(mylib.checksum, 20_000) >= 0


    def test_parse_numbers(benchmark):
        assert len(benchmark(mylib.parse_numbers, TEXT)) == 3000
    """
)
# Counts gate too: three times a helper's work is an exact instruction regression, so the change (and
# with it the explanation) is found however loaded the machine is; p50 alone missed it beside other tests.
PYPROJECT = (
    '[tool.benchwatch]\nsuites = ["benchmarks"]\ntimeout = 120\ninstructions = true\n'
    'pytest_args = ["--benchmark-min-rounds=40", "--benchmark-max-time=0.05"]\n'
    '[tool.benchwatch.compare]\ngate = ["p50", "instructions"]\n'
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def write_library(repo: Path, *, cells: str = "_pad_cells", repeat: int = 4) -> None:
    (repo / "mylib.py").write_text(LIBRARY.format(cells=cells, repeat=repeat))


def make_project(repo: Path) -> None:
    """Tags ``base`` and ``triple`` (both helpers do 3x the work; one of them under a new name)."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "dev@example.invalid")
    git(repo, "config", "user.name", "Dev")
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "test_lib.py").write_text(SUITE)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / ".gitignore").write_text(".benchwatch-cache/\nresults/\n")
    write_library(repo)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "tag", "base")
    write_library(repo, cells="_pad_columns", repeat=12)
    git(repo, "commit", "-qam", "pad three times over; _pad_cells renamed")
    git(repo, "tag", "triple")
