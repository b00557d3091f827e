"""Benjamini-Hochberg q-values across the latency tests of one comparison.

A suite of 50 benchmarks x 4 metrics is 200 tests; at a per-test level of
5% about ten would be flagged on identical code.  BH controls the expected
fraction of false discoveries among the flagged tests (the false discovery
rate) at ``alpha``: a test is a discovery when its q-value is below alpha.
Under the complete null (nothing changed) this also bounds the chance of any
false discovery by alpha.  BH is valid for independent or positively
dependent tests, which is what metrics of one benchmark are (p50 and mean
move together).
"""

from __future__ import annotations

import numpy as np


def bh_qvalues(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), same shape as the input.

    NaN p-values (tests that could not be run, e.g. one run per side) are not
    part of the family and stay NaN; the others are adjusted as
    ``scipy.stats.false_discovery_control(method="bh")`` does: p_(i) m / i,
    made monotone from the largest p down, capped at 1.
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = ~np.isnan(p)
    if valid.any():
        if ((p[valid] < 0) | (p[valid] > 1)).any():
            raise ValueError("p-values must lie in [0, 1]")
        out[valid] = _bh(p[valid])
    return out


def _bh(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    scaled = p[order] * p.size / np.arange(1, p.size + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty_like(p)
    out[order] = np.clip(adjusted, 0.0, 1.0)
    return out
