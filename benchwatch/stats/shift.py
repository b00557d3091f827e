"""Whether a whole suite moved by one factor: the signature of a machine change, not of code.

Files without benchwatch's canary (plain pytest-benchmark, pyperf, other
tools) cannot show the machine's speed.  What they can show: when the base
was recorded at half machine speed, every benchmark of the suite moved the
same way, by about the same factor (84 of 160 latency rows were called
regression or improvement on identical code that way).  Code changes rarely
move every benchmark of a suite in one direction beyond the threshold.  This
flags the pattern; it does not decide verdicts (a change to a shared code
path can do it too), the headline says what it looks like.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SuiteShift:
    """``moved`` of ``benchmarks`` moved beyond the threshold in one direction; their median ratio."""

    benchmarks: int
    moved: int
    median_ratio: float


def uniform_shift(log_ratios: np.ndarray, *, threshold: float, min_benchmarks: int, share: float) -> SuiteShift | None:
    """The suite-wide shift in per-benchmark log ratios (one per benchmark, NaN ignored), or None.

    Flagged when at least ``min_benchmarks`` ratios are known and at least
    ``share`` of them lie beyond ``log(1 + threshold)`` on the same side.
    """
    values = np.asarray(log_ratios, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < min_benchmarks:
        return None
    limit = math.log1p(threshold)
    for moved in (values > limit, values < -limit):
        if moved.sum() >= share * values.size:
            return SuiteShift(
                benchmarks=int(values.size), moved=int(moved.sum()), median_ratio=float(np.exp(np.median(values)))
            )
    return None
