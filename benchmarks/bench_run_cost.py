"""What one side of ``benchwatch run`` costs: wall time per phase, the runner's peak RSS, the file size.

    .venv/bin/python benchmarks/bench_run_cost.py                       # our suite (the main job's run)
    .venv/bin/python benchmarks/bench_run_cost.py --repo tests/fixtures/microsuite -- --no-instructions

Runs ``benchwatch run`` once on the project ``--repo`` (extra arguments after
``--`` go to it), polls the runner's peak resident set (``VmHWM``; its
workers are other processes), and prints the phase table the run recorded
in ``settings.cost``, the gzipped result's size and the sample count.
The figures for our suites are in docs/cost.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.5


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
    parser.add_argument("--repo", type=Path, default=REPO, help="project to run (default: this repository)")
    parser.add_argument("--keep", type=Path, help="keep the result file here")
    parser.add_argument("extra", nargs="*", help="arguments for benchwatch run (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-run-cost-") as scratch:
        output = args.keep or Path(scratch) / "result.json.gz"
        argv = [sys.executable, "-m", "benchwatch", "run", "--repo", str(args.repo), "-q", "-o", str(output)]
        started = time.monotonic()
        process = subprocess.Popen([*argv, *args.extra], cwd=REPO)
        peak = 0
        while process.poll() is None:
            peak = max(peak, peak_rss_kib(process.pid) or 0)
            time.sleep(POLL_SECONDS)
        elapsed = time.monotonic() - started
        if process.returncode not in (0, 3):
            print(f"benchwatch run exited with {process.returncode}", file=sys.stderr)
            return 1
        from benchwatch.cli.cost_table import benchmark_table, phase_table
        from benchwatch.resultfile import load_result

        result = load_result(output)
        samples = sum(run.samples.size for benchmark in result.benchmarks for run in benchmark.runs)
        print(f"benchwatch run: {elapsed:.0f} s wall, runner peak RSS {peak / 1024:.0f} MiB")
        size = output.stat().st_size / 1e6
        print(f"result: {size:.2f} MB gzipped, {len(result.benchmarks)} benchmarks, {samples} samples")
        print(phase_table(result.settings["cost"]))
        print(benchmark_table(result.settings["cost"], limit=10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
