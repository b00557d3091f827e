"""The runner's per-sample overhead against pytest-benchmark's own.

    .venv/bin/python benchmarks/bench_runner_overhead.py

Runs the same near-empty benchmarks (``overhead/trivial_overhead.py``) with
plain ``pytest --benchmark-json`` and through ``benchwatch run`` (several
processes each, alternating), and prints the per-sample minimum and median of
both.  benchwatch records pytest-benchmark's own samples, so any extra
per-sample cost would show up as higher figures on the benchwatch side.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SUITE = "benchmarks/overhead/trivial_overhead.py"
ARGS = ["--benchmark-min-rounds=2000", "--benchmark-max-time=0.5"]
PROCESSES = 4


def plain_pytest(scratch: Path, index: int) -> dict[str, np.ndarray]:
    out = scratch / f"plain-{index}.json"
    subprocess.run(
        [sys.executable, "-m", "pytest", SUITE, "-q", "-p", "no:cacheprovider", *ARGS, f"--benchmark-json={out}"],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    document = json.loads(out.read_text())
    return {b["name"]: np.array(b["stats"]["data"]) for b in document["benchmarks"]}


def through_benchwatch(scratch: Path, index: int) -> dict[str, np.ndarray]:
    out = scratch / f"benchwatch-{index}.json"
    argv = [
        sys.executable,
        "-m",
        "benchwatch",
        "run",
        "--suite",
        SUITE,
        "--runs",
        "1",
        "--memory-runs",
        "0",
        "-q",
        "-o",
        str(out),
    ] + [f"--pytest-arg={arg}" for arg in ARGS]
    subprocess.run(argv, cwd=REPO, check=True, capture_output=True)
    document = json.loads(out.read_text())
    return {b["name"].split("::")[-1]: np.array(b["runs"][0]["samples"]) for b in document["benchmarks"]}


def main() -> int:
    collected: dict[str, dict[str, list[np.ndarray]]] = {"pytest-benchmark": {}, "benchwatch run": {}}
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for index in range(PROCESSES):
            for label, runner in (("pytest-benchmark", plain_pytest), ("benchwatch run", through_benchwatch)):
                for name, samples in runner(scratch, index).items():
                    collected[label].setdefault(name, []).append(samples)
    print("| benchmark | runner | samples | min per sample | median of run medians |")
    print("|---|---|---|---|---|")
    for name in sorted(collected["pytest-benchmark"]):
        for label in collected:
            runs = collected[label][name]
            minimum = min(float(run.min()) for run in runs)
            median = float(np.median([np.median(run) for run in runs]))
            count = sum(run.size for run in runs)
            print(f"| {name} | {label} | {count} | {minimum * 1e9:.1f} ns | {median * 1e9:.1f} ns |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
