"""The decision rules of the tools people use today, applied to benchwatch results.

Each rule answers "would this tool flag a slowdown of this benchmark?" from
the same files benchwatch compares, the way the tool itself decides:

* pytest-benchmark ``--benchmark-compare-fail=mean:10%``: one run per side
  (the saved run vs the current one); fails when the mean grew by more than
  10%.  No statistical test.
* asv (``asv continuous`` / ``compare``): Mann-Whitney U on the raw samples
  at p < 0.002 *and* a ratio of at least ``--factor`` 1.1 (asv pools the
  samples of its interleaved rounds).
* pyperf ``compare_to --min-speed 10``: a two-sample t-test on all values
  (pooled over worker processes) at the 95% level, and a change of at least
  10% in the mean.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from benchwatch.model import BenchmarkResult

THRESHOLD = 0.10


def pytest_benchmark_flags(base: BenchmarkResult, head: BenchmarkResult) -> bool:
    base_mean = float(np.mean(base.ok_runs[0].samples))
    head_mean = float(np.mean(head.ok_runs[0].samples))
    return head_mean > base_mean * (1 + THRESHOLD)


def asv_flags(base: BenchmarkResult, head: BenchmarkResult) -> bool:
    base_samples, head_samples = base.pooled_samples(), head.pooled_samples()
    p_value = stats.mannwhitneyu(base_samples, head_samples, alternative="two-sided").pvalue
    ratio = float(np.median(head_samples) / np.median(base_samples))
    return p_value < 0.002 and ratio >= 1 + THRESHOLD


def pyperf_flags(base: BenchmarkResult, head: BenchmarkResult) -> bool:
    base_samples, head_samples = base.pooled_samples(), head.pooled_samples()
    p_value = stats.ttest_ind(base_samples, head_samples, equal_var=True).pvalue
    ratio = float(np.mean(head_samples) / np.mean(base_samples))
    return p_value < 0.05 and ratio >= 1 + THRESHOLD


RULES = {
    "pytest-benchmark mean:10%": pytest_benchmark_flags,
    "asv MWU p<0.002 & ×1.1": asv_flags,
    "pyperf t-test & 10%": pyperf_flags,
}
