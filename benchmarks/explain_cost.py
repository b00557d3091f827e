"""What the explanation costs in a compare-refs run: its seconds, and its share of the run.

    .venv/bin/python benchmarks/explain_cost.py                       # the three-benchmark test project
    .venv/bin/python benchmarks/explain_cost.py --repo . --base HEAD --head HEAD --explain test_
    .venv/bin/python benchmarks/explain_cost.py --passes --repo .      # our suite, pass by pass

Without ``--repo`` it builds the project of ``tests/explain_project.py`` (two
helpers doing three times the work, one renamed, in two of four benchmarks)
and compares ``base`` with ``triple``.  Each call runs ``benchwatch compare-refs`` in a
subprocess and reads the line it prints at the end
(``explained N benchmark(s) in X s (P% of the run ...)``).

``--passes`` times, in one tree, what a compare-refs run is made of: one
timing pass over every benchmark (a run of one side; the default schedule
does at least 3 pairs, 6 such passes, plus memory and instruction passes)
against the explanation's passes for the first 10 benchmarks on "both
sides" (the tree twice), with the project's pytest arguments.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINE = re.compile(r"explained (\d+) benchmark\(s\) in ([\d.]+) s \((\d+)% of the run")


def _project(directory: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from explain_project import make_project

    directory.mkdir(parents=True)
    make_project(directory)
    return directory


def one_call(repo: Path, base: str, head: str, extra: list[str], output: Path) -> tuple[float, int, float, float]:
    """(wall seconds of the run, benchmarks explained, explanation seconds, its share)."""
    argv = [sys.executable, "-m", "benchwatch", "compare-refs", base, head, "--plain", "--format", "json"]
    argv += ["--output-dir", str(output), *extra]
    if base == head:
        argv.append("--allow-same")
    started = time.monotonic()
    completed = subprocess.run(argv, cwd=repo, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    found = _LINE.search(completed.stderr)
    if found is None:
        return wall, 0, 0.0, 0.0
    return wall, int(found.group(1)), float(found.group(2)), int(found.group(3)) / 100


def passes(repo: Path) -> None:
    """One timing pass over the suite against the explanation of 10 of its benchmarks (both sides)."""
    import shutil

    from benchwatch.config import load_config
    from benchwatch.explain.passes import ExplainSettings, profile_sides
    from benchwatch.runner.session import collect, suite_arguments
    from benchwatch.runner.worker import WorkerCommand, run_pass

    config = load_config(repo / "pyproject.toml")
    command = WorkerCommand(python=sys.executable, cwd=repo, pytest_args=config.pytest_args(scale=None, extra=[]))
    suites = suite_arguments(repo, config.get("suites", ["benchmarks"]), where=str(repo))
    collection = collect(command=command, suites=suites, timeout=300, where=str(repo))
    command = collection.command(command)
    started = time.monotonic()
    run_pass(command=command, mode="timing", targets=collection.names, timeout=300)
    timing = time.monotonic() - started
    names = collection.names[:10]
    settings = ExplainSettings(valgrind=shutil.which("valgrind"))
    started = time.monotonic()
    profiles = profile_sides(
        commands={"base": command, "head": command}, names=names, settings=settings, deadline=started + 3600
    )
    explaining = time.monotonic() - started
    failed = sum(1 for side in profiles.values() for found in side.values() if found.errors)
    print("| benchmarks | one timing pass (s) | explanation of 10, both sides (s) | profiles with errors |")
    print("|---:|---:|---:|---:|")
    print(f"| {len(collection.names)} | {timing:.1f} | {explaining:.1f} | {failed} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, help="repository to compare (default: a fresh test project)")
    parser.add_argument("--base", default="base")
    parser.add_argument("--head", default="triple")
    parser.add_argument("--explain", action="append", default=[], help="also explain these (compare-refs --explain)")
    parser.add_argument("--calls", type=int, default=1)
    parser.add_argument("--passes", action="store_true", help="time the passes in --repo (see above)")
    args = parser.parse_args()
    if args.passes:
        passes((args.repo or ROOT).resolve())
        return 0
    with tempfile.TemporaryDirectory(prefix="benchwatch-explain-cost-") as scratch:
        repo = args.repo.resolve() if args.repo else _project(Path(scratch) / "project")
        extra = [item for name in args.explain for item in ("--explain", name)]
        print("| call | run (s) | explained | explanation (s) | share |")
        print("|---|---:|---:|---:|---:|")
        for call in range(1, args.calls + 1):
            wall, count, seconds, share = one_call(repo, args.base, args.head, extra, Path(scratch) / f"out{call}")
            print(f"| {call} | {wall:.1f} | {count} | {seconds:.1f} | {share:.0%} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
