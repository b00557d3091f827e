"""CI cost of the action's two PR modes on this repository's suite: one-side vs compare-refs.

    .venv/bin/python benchmarks/pr_mode_cost.py [-k EXPR] [--base HEAD~1] [--out DIR]

one-side measures the PR head once (``benchwatch run`` under the short environment the action
uses; fetching the stored base and comparing take well under a second); compare-refs measures base
and head interleaved with its default looks and budget.  The two run one after the other, never
side by side.  Prints wall time and the CPU time of each command and its workers, with the load
average before and after (a loaded machine stretches wall time, less so CPU time).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHWATCH = str(Path(sys.executable).parent / "benchwatch")


def _measure(command: list[str], *, env: dict[str, str] | None, log: Path) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as stream:
        status = subprocess.run(command, cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "exit": status.returncode,
        "wall": wall,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="keyword", help="pytest -k expression (default: the whole suite)")
    parser.add_argument("--base", default="HEAD~1", help="compare-refs base ref (default HEAD~1)")
    parser.add_argument("--out", type=Path, default=Path("results/pr-mode-cost"), help="output folder")
    args = parser.parse_args()
    out = (ROOT / args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    select = ["-k", args.keyword] if args.keyword else []
    short_env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "LC_ALL", "TZ") if name in os.environ}
    refs = ["--max-time", "900", "--output-dir", str(out / "refs"), "--cache-dir", str(out / "cache")]
    rows = {
        "one-side (benchwatch run, head only)": _measure(
            [BENCHWATCH, "run", "--plain", *select, "-o", str(out / "head.json.gz")], env=short_env, log=out / "run.log"
        ),
        "compare-refs (base and head, interleaved)": _measure(
            [BENCHWATCH, "compare-refs", "--plain", *refs, *select, "--", args.base, "HEAD"],
            env=None,
            log=out / "compare-refs.log",
        ),
    }
    print("| mode | exit | wall | CPU (all processes) | load average before → after |")
    print("|---|---:|---:|---:|---|")
    for name, row in rows.items():
        print(
            f"| {name} | {row['exit']} | {row['wall']:.0f} s | {row['cpu']:.0f} s | "
            f"{row['load_before']:.1f} → {row['load_after']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
