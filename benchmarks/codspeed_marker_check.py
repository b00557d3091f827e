"""A pytest-codspeed marker-form suite under compare-refs, with one benchmark made slower.

    .venv/bin/python benchmarks/codspeed_marker_check.py --calls 3 --change 0.3

Builds a temporary git repository whose suite is written the way
pytest-codspeed documents its marker form (``pytestmark =
pytest.mark.benchmark()``, test bodies that repeat an operation and take no
fixture), with two commits: ``base`` and ``slow`` (``parse_rows`` does
``--change`` more work, the two other benchmarks are untouched).  Runs
``benchwatch compare-refs base slow`` ``--calls`` times with the default
look schedule and budget, and prints each call's verdicts, the load average
and the time taken.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

LIBRARY = textwrap.dedent(
    """
    import json

    RECORDS = [{{"id": i, "name": str(i) * 3}} for i in range(2000)]

    def checksum(n):
        total = 0
        for value in range(n):
            total = (total * 31 + value) % 1_000_003
        return total

    def parse_rows():
        return checksum({parse_size})

    def aggregate():
        return checksum(20_000)

    def encode():
        return json.dumps(RECORDS[:300])
    """
)
SUITE = textwrap.dedent(
    """
    import pytest
    import mylib

    pytestmark = pytest.mark.benchmark()

    def test_parse_rows():
        for _ in range(10):
            mylib.parse_rows()

    def test_aggregate():
        for _ in range(10):
            mylib.aggregate()

    def test_encode():
        for _ in range(10):
            mylib.encode()
    """
)
PYPROJECT = '[tool.benchwatch]\nsuites = ["benchmarks"]\ntimeout = 120\n'


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def build_repository(repo: Path, change: float) -> None:
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "bench@example.invalid")
    git(repo, "config", "user.name", "bench")
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "test_lib.py").write_text(SUITE)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / ".gitignore").write_text("results/\n")
    (repo / "mylib.py").write_text(LIBRARY.format(parse_size=20_000))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "tag", "base")
    (repo / "mylib.py").write_text(LIBRARY.format(parse_size=round(20_000 * (1 + change))))
    git(repo, "commit", "-qam", f"parse_rows does {change:.0%} more work")
    git(repo, "tag", "slow")


def _ratio(row: dict) -> str:
    """The ratio, or why there is none (a row without an estimate says so)."""
    if row.get("ratio") is None:
        return f"(no estimate: {row.get('reason_code') or row.get('reason', '')})"
    return f"x{row['ratio']:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--change", type=float, default=0.3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="benchwatch-marker-") as scratch:
        repo, cache = Path(scratch) / "repo", Path(scratch) / "cache"
        repo.mkdir()
        build_repository(repo, args.change)
        for call in range(args.calls):
            started, load = time.monotonic(), os.getloadavg()[0]
            command = [sys.executable, "-m", "benchwatch", "compare-refs", "base", "slow", "--repo", str(repo)]
            command += ["--cache-dir", str(cache), "--format", "json", "--seed", str(call), "-q"]
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=False,
            )
            if completed.returncode not in (0, 1):
                raise SystemExit(f"compare-refs failed ({completed.returncode}): {completed.stderr.strip()}")
            report = json.loads(completed.stdout)
            rows = [
                f"{row['benchmark'].split('::')[-1]} {row['metric']} {row['verdict']} {_ratio(row)}"
                for row in report["comparisons"]
                if row["gated"] and row["metric"] in ("p50", "p95", "instructions")
            ]
            print(
                f"call {call + 1}: exit {completed.returncode}, {time.monotonic() - started:.0f} s, "
                f"load {load:.1f} -> {os.getloadavg()[0]:.1f}: " + "; ".join(rows),
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
