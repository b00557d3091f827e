"""How fast is compare() on a large suite?

    python benchmarks/bench_compare_speed.py [--benchmarks 1000] [--runs 5] [--samples 2000] [--bootstrap 0]
                                             [--no-canary]

Builds two synthetic result sets in memory (per side: benchmarks x runs x
samples, log-normal with a per-run factor, memory profiles and machine-speed
canary timings, so the speed-adjusted test runs; ``--no-canary`` times the
Welch path instead), times
``compare()`` and prints the seconds and the peak RSS of the process
(``resource.getrusage``; on Linux ``ru_maxrss`` is in KiB).  Target: 1,000
x 5 x 2,000 per side in <= 2 s and <= 2 GB on a 2-core machine (the
CPU time is printed too: on a shared machine the wall time includes waiting
for a CPU).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchwatch.compare import CompareSettings, compare
from benchwatch.model import BenchmarkResult, Environment, MemoryProfile, ResultSet, Run


def build_side(
    rng: np.random.Generator, levels: np.ndarray, runs: int, samples: int, factor: float, canary: bool
) -> ResultSet:
    benchmarks = []
    for index, level in enumerate(levels):
        speed = np.where(rng.random((runs, 1)) < 0.2, 1.5, 1.0)
        values = (
            level * factor * speed * np.exp(rng.normal(0, 0.05, (runs, 1))) * rng.lognormal(0, 0.1, (runs, samples))
        )
        canaries = 3e-4 * speed[:, 0, None] * np.exp(rng.normal(0, 0.02, (runs, 2)))
        benchmarks.append(
            BenchmarkResult(
                name=f"suite/bench_{index:05d}",
                runs=tuple(
                    Run(
                        samples=values[r],
                        memory=MemoryProfile(10_000_000, 5_000),
                        wall_seconds=1.0,
                        cpu_seconds=0.97,
                        load_average=0.8,
                        canary_seconds=tuple(canaries[r]) if canary else None,
                        canary_version=1 if canary else None,
                    )
                    for r in range(runs)
                ),
            )
        )
    return ResultSet(benchmarks=tuple(benchmarks), environment=Environment(cpu_count=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--bootstrap", type=int, default=0, help="bootstrap resamples per benchmark (0: off)")
    parser.add_argument("--no-canary", action="store_true", help="runs without canary timings (Welch path)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    levels = np.exp(rng.uniform(np.log(1e-5), np.log(1e-1), args.benchmarks))
    started = time.perf_counter()
    base = build_side(rng, levels, args.runs, args.samples, 1.0, not args.no_canary)
    head = build_side(rng, levels, args.runs, args.samples, 1.02, not args.no_canary)
    built = time.perf_counter() - started
    settings = CompareSettings(bootstrap_resamples=args.bootstrap, seed=1)
    started, cpu_started = time.perf_counter(), time.process_time()
    comparison = compare(base, head, settings)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = sum(1 for _ in comparison.metric_comparisons())
    print(
        f"suite: {args.benchmarks} benchmarks x {args.runs} runs x {args.samples} samples per side "
        f"(bootstrap resamples: {args.bootstrap})"
    )
    print(f"built results in {built:.2f} s")
    print(
        f"compare(): {elapsed:.2f} s ({cpu:.2f} s CPU) for {rows} metric comparisons "
        f"({comparison.diagnostics.latency_test} test), "
        f"verdict {comparison.verdict}"
    )
    print(f"peak RSS: {peak_kib / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
