"""compare-refs on the 64-benchmark µs-scale suite: the wall time and the runner's peak RSS (issue 24's targets).

    .venv/bin/python benchmarks/microsuite_refs.py                      # with instructions
    .venv/bin/python benchmarks/microsuite_refs.py -- --no-instructions
    .venv/bin/python benchmarks/microsuite_refs.py --change docs        # a docs-only control

Copies tests/fixtures/microsuite (a src-layout library, 64 pytest-benchmark
benchmarks of 0.3-100 µs) into a temporary git repository, commits it, then
commits a change: ``slower`` makes ``records.group_by_parity`` do its work
twice (its 4 benchmarks about 2x slower, the other 60 unchanged); ``docs``
edits only the README.  Runs ``benchwatch compare-refs HEAD~1 HEAD`` once,
polls the runner's peak resident set, and prints the elapsed time, the exit
code and the comparison's counts.  Figures: docs/cost.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "tests" / "fixtures" / "microsuite"
SLOWER = '    for value in values:\n        groups["even" if value % 2 == 0 else "odd"].append(value)\n'


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def make_project(where: Path, change: str) -> Path:
    repo = where / "microsuite"
    shutil.copytree(SUITE, repo, ignore=shutil.ignore_patterns("results", "__pycache__"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    if change == "slower":
        records = repo / "src" / "microlib" / "records.py"
        text = records.read_text()
        assert SLOWER in text, "records.group_by_parity changed: update this script"
        twice = SLOWER + "    groups.clear()\n" + SLOWER
        records.write_text(text.replace(SLOWER, twice))
    else:
        (repo / "README.md").write_text("Docs only.\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", f"head: {change}")
    return repo


def peak_rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--change", choices=("slower", "docs"), default="slower")
    parser.add_argument("extra", nargs="*", help="arguments for benchwatch compare-refs (after --)")
    args = parser.parse_args()
    benchwatch = Path(sys.executable).with_name("benchwatch")
    with tempfile.TemporaryDirectory(prefix="microsuite-refs-") as scratch:
        repo = make_project(Path(scratch), args.change)
        out = Path(scratch) / "out"
        command = [str(benchwatch), "compare-refs", "HEAD~1", "HEAD", "--repo", str(repo), "--plain"]
        command += ["--output-dir", str(out), "--no-explain", *args.extra]
        log = Path(scratch) / "compare-refs.log"
        started = time.monotonic()
        with log.open("w") as stream:  # a file, not a pipe: progress lines would fill a pipe nobody reads yet
            process = subprocess.Popen(command, stdout=stream, stderr=subprocess.STDOUT, text=True)
            peak = 0
            while process.poll() is None:
                peak = max(peak, peak_rss_kib(process.pid) or 0)
                time.sleep(0.5)
        elapsed = time.monotonic() - started
        print("\n".join(log.read_text().splitlines()[-12:]))
        comparison = out / "comparison.json"
        counts = {}
        if comparison.exists():
            document = json.loads(comparison.read_text())
            for row in document.get("comparisons", []):
                if row.get("gated"):
                    key = f"{row['metric']} {row['verdict']}"
                    counts[key] = counts.get(key, 0) + 1
        print(
            f"change {args.change}: exit {process.returncode}, {elapsed / 60:.1f} min, "
            f"runner peak RSS {peak / 1024:.0f} MiB"
        )
        print(f"gated rows: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
