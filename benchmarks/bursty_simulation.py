"""Latency under simulated load that comes and goes: detection, false verdicts and coverage per estimator.

    .venv/bin/python benchmarks/bursty_simulation.py [--comparisons 20] [--seed 7]

The ``bursty`` model of tests/noise_models.py (30 benchmarks x 5 interleaved
runs x 200 samples per side; each run meets load with probability 0.35 and
then waits 5-80% of its time for a CPU, which only adds time).  For each
estimator and true ratio (1.0, 1.1, 1.2, 1.3): the share of benchmarks with a
gated latency regression, with a gated improvement, and the coverage of the
shown p50 and p95 intervals.  Prints a Markdown table (docs/statistics.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from noise_models import simulate  # noqa: E402

from benchwatch.compare import CompareSettings, compare  # noqa: E402
from benchwatch.compare.rules import DEFAULT_RULES  # noqa: E402

ESTIMATORS = {
    "contention-adjusted (shipped)": DEFAULT_RULES,
    "contention-adjusted, unweighted (k = 0)": dataclasses.replace(DEFAULT_RULES, contention_spread_growth=0.0),
    "Welch over runs (rules v4)": dataclasses.replace(DEFAULT_RULES, contention_adjust=False),
}
LATENCY = ("p50", "p95", "p99", "mean")


def measure(rules, factor: float, comparisons: int, seed: int, model: str = "bursty") -> dict[str, str]:
    rng = np.random.default_rng(seed)
    regressed = improved = benchmarks = 0
    covered = {"p50": [0, 0], "p95": [0, 0]}
    for _ in range(comparisons):
        base, head = simulate(rng, model, factor=factor)
        result = compare(base, head, CompareSettings(), rules=rules)
        benchmarks += len(base.benchmarks)
        regressed += len({m.benchmark for m in result.gated("regression") if m.metric in LATENCY})
        improved += len({m.benchmark for m in result.gated("improvement") if m.metric in LATENCY})
        for m in result.metric_comparisons():
            if m.metric in covered and math.isfinite(m.ci_low):
                covered[m.metric][0] += m.ci_low <= factor <= m.ci_high
                covered[m.metric][1] += 1

    def share(hit: int, total: int) -> str:
        return f"{hit}/{total} ({100 * hit / max(1, total):.1f}%)"

    return {
        "regression": share(regressed, benchmarks),
        "improvement": share(improved, benchmarks),
        "p50 covered": share(*covered["p50"]),
        "p95 covered": share(*covered["p95"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comparisons", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default="bursty", help="a model of tests/noise_models.py (hogs_both: steady hogs)")
    args = parser.parse_args()
    started = time.perf_counter()
    print("| estimator | true ratio | benchmarks called regression | called improvement | p50 covered | p95 covered |")
    print("|---|---|---|---|---|---|")
    for name, rules in ESTIMATORS.items():
        for factor in (1.0, 1.1, 1.2, 1.3):
            row = measure(rules, factor, args.comparisons, args.seed, args.model)
            print(f"| {name} | {factor:.1f} | " + " | ".join(row.values()) + " |", flush=True)
    print(
        f"\n{args.model}: {args.comparisons} comparisons per cell, seed {args.seed}: "
        f"{time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
