"""Repeated compare-refs calls on a real +20% slowdown and on identical code.

    .venv/bin/python benchmarks/compare_refs_repeat.py --calls 10

Builds a temporary git repository whose library does real work (Python loop,
JSON round trip, regex scan, sorting), with three commits: ``base``, ``slow``
(every function does 20% more work) and ``same`` (a comment changes).  Then
runs ``benchwatch compare-refs base slow`` and ``benchwatch compare-refs base
same`` the given number of times each, with the default look schedule, and
prints how often each gated latency metric came out ``regression`` or
``improvement``, how many rows were "not comparable", and how many calls
exited 4 (nothing judged).  ``--heads same`` runs the A/A only.
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
    import json, random, re
    FACTOR = {factor}
    _R = random.Random(3)
    WORDS = ["".join(_R.choice("abcdefghij") for _ in range(_R.randint(3, 9))) for _ in range(8000)]
    RECORDS = [{{"id": i, "name": WORDS[i], "score": i * 0.5}} for i in range(4000)]
    NUMBERS = [_R.random() for _ in range(20000)]
    PATTERN = re.compile(r"\\b([a-e]+)([f-j]*)\\b")

    def n(size):
        return int(size * FACTOR)

    def loop():
        total = 0
        for value in range(n(8000)):
            total = (total * 31 + value) % 1_000_003
        return total

    def json_roundtrip():
        return json.loads(json.dumps(RECORDS[: n(600)]))

    def regex_scan():
        return len(PATTERN.findall(" ".join(WORDS[: n(3000)])))

    def sort_numbers():
        return sorted(NUMBERS[: n(8000)])
    """
)
SUITE = textwrap.dedent(
    """
    import mylib

    def test_loop(benchmark):
        benchmark(mylib.loop)

    def test_json_roundtrip(benchmark):
        benchmark(mylib.json_roundtrip)

    def test_regex_scan(benchmark):
        benchmark(mylib.regex_scan)

    def test_sort_numbers(benchmark):
        benchmark(mylib.sort_numbers)
    """
)
PYPROJECT = (
    '[tool.benchwatch]\nsuites = ["benchmarks"]\ntimeout = 120\n'
    'pytest_args = ["--benchmark-min-rounds=100", "--benchmark-max-time=0.1"]\n'
)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def build_repository(repo: Path) -> None:
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "bench@example.invalid")
    git(repo, "config", "user.name", "bench")
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / "test_lib.py").write_text(SUITE)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / ".gitignore").write_text(".benchwatch-cache/\nout/\n")
    (repo / "mylib.py").write_text(LIBRARY.format(factor=1.0))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "tag", "base")
    (repo / "mylib.py").write_text(LIBRARY.format(factor=1.2))
    git(repo, "commit", "-qam", "20% more work everywhere")
    git(repo, "tag", "slow")
    git(repo, "checkout", "-q", "base")
    (repo / "mylib.py").write_text(LIBRARY.format(factor=1.0) + "\n# a comment only\n")
    git(repo, "commit", "-qam", "comment only")
    git(repo, "tag", "same")


def run_calls(repo: Path, head: str, calls: int, max_time: float, extra: tuple[str, ...] = ()) -> list[dict]:
    reports = []
    for call in range(calls):
        out = repo / "out" / f"{head}-{call}"
        started = time.monotonic()
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchwatch",
                "compare-refs",
                "base",
                head,
                "--config",
                str(repo / "pyproject.toml"),
                "--format",
                "json",
                "--output-dir",
                str(out),
                "--max-time",
                str(max_time),
                "--seed",
                str(call),
                "--cache-dir",
                str(repo / "out" / "cache"),
                "-q",
                *extra,
            ],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode not in (0, 1, 4) or not completed.stdout.strip():
            raise SystemExit(f"compare-refs failed: {completed.stderr.strip()}")
        reports.append(json.loads(completed.stdout))
        reports[-1]["exit_code"] = completed.returncode
        print(
            f"{head} call {call + 1}/{calls}: {time.monotonic() - started:.0f} s, verdict {reports[-1]['verdict']}, "
            f"exit {completed.returncode}, load {os.getloadavg()[0]:.1f}; {reports[-1]['headline'][:160]}",
            file=sys.stderr,
            flush=True,
        )
    return reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--max-time", type=float, default=300)
    parser.add_argument("--heads", default="slow,same", help="comma-separated: slow (+20%%), same (A/A)")
    parser.add_argument("--no-instructions", action="store_true", help="latency only: skip the Callgrind pass")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="benchwatch-refs-") as scratch:
        repo = Path(scratch)
        build_repository(repo)
        print(
            "| refs | gated latency verdicts | regression | improvement | unchanged | inconclusive | not comparable "
            "| calls with any regression | calls that exited 4 |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for head in args.heads.split(","):
            extra = ("--no-instructions",) if args.no_instructions else ()
            reports = run_calls(repo, head, args.calls, args.max_time, extra)
            rows = [
                row
                for report in reports
                for row in report["comparisons"]
                if row["gated"] and row["metric"] in ("p50", "p95", "p99", "mean")
            ]
            count = {
                verdict: sum(row["verdict"] == verdict for row in rows)
                for verdict in ("regression", "improvement", "unchanged", "inconclusive")
            }
            not_comparable = sum(str(row.get("reason_code", "")).startswith("not-comparable") for row in rows)
            flagged_calls = sum(report["verdict"] == "regression" for report in reports)
            exits_4 = sum(report["exit_code"] == 4 for report in reports)
            print(
                f"| base vs {head} | {len(rows)} | {count['regression']} | {count['improvement']} | "
                f"{count['unchanged']} | {count['inconclusive']} | {not_comparable} | "
                f"{flagged_calls}/{len(reports)} | {exits_4}/{len(reports)} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
