"""Does a benchmark's place in its run move its latency?  The order test for shuffled runs.

    .venv/bin/benchwatch run --runs 10 --no-instructions --memory-runs 0 -o shuffled.json.gz
    .venv/bin/python benchmarks/order_effect.py shuffled.json.gz

Each run of a shuffled result measured its benchmarks in the order
``run_order(names, run)`` (benchwatch/runner/schedule.py), so every run's
position of each benchmark is known.  For each benchmark, Spearman's rank
correlation between its place in the run and the run's median; the p-values
are combined over benchmarks with Fisher's method (scipy).  A place that
mattered (a warm cache after a similar benchmark, a process that slows as it
ages) shows as correlations of one sign and a small combined p; shuffling
then turns it into run-to-run noise, where a fixed order made it a bias.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy import stats

from benchwatch.resultfile import load_result
from benchwatch.runner.schedule import run_order


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result", help="a result of `benchwatch run` (shuffled order, no --against)")
    args = parser.parse_args()
    result = load_result(args.result)
    if not str(result.settings.get("order", "")).startswith("shuffled"):
        print(f"{args.result}: not a shuffled run (order: {result.settings.get('order')!r})", file=sys.stderr)
        return 2
    names = [b.name for b in result.benchmarks]
    runs = min(len(b.runs) for b in result.benchmarks)
    positions = {n: [run_order(names, r).index(n) for r in range(1, runs + 1)] for n in names}
    pvalues, rhos = [], []
    print(f"{'benchmark':60} {'rho':>6} {'p':>7}")
    for benchmark in result.benchmarks:
        medians = [float(np.median(run.samples)) for run in benchmark.runs[:runs]]
        rho, p = stats.spearmanr(positions[benchmark.name], medians)
        rhos.append(float(rho))
        pvalues.append(float(p))
        print(f"{benchmark.name[-60:]:60} {rho:6.2f} {p:7.3f}")
    combined = stats.combine_pvalues(pvalues, method="fisher")
    print(
        f"{len(names)} benchmarks x {runs} runs: median rho {np.median(rhos):.2f}, "
        f"Fisher combined p = {combined.pvalue:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
