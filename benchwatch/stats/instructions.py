"""The spread of instruction counts: how far a side's per-run counts lie apart.

The verdicts on counts (:func:`benchwatch.compare.instructions.compare_counts`) are built on it.
"""

from __future__ import annotations

import math

import numpy as np


def relative_spread(values: np.ndarray) -> float:
    """(max - min) / median; 0 for a single value."""
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return 0.0
    median = float(np.median(values))
    return float(np.ptp(values)) / median if median > 0 else math.inf
