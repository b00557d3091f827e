"""The compact form of a run's samples in result files (schema version 5).

Why: a µs-scale benchmark takes 20,000-200,000 samples per run
(pytest-benchmark's one second of rounds of a few µs); as JSON text every
sample cost ~9 bytes gzipped, so 64 such benchmarks made result files of
150 MB per side, past the action's artifact cap.

What is kept, exactly: the number of samples; the order statistics every
quantile benchwatch uses is computed from (minimum, quartiles, p50, p95,
p99, maximum: for each, the two sorted positions numpy's linear
interpolation reads, and their neighbours), so ``np.quantile`` of the
decoded samples at those quantiles equals that of the original samples,
bit for bit; and the mean, as a figure beside them (``mean``).

What is approximated: every other sample is stored on a logarithmic grid of
relative step ``GRID_STEP`` (1e-5), i.e. to within 5 parts in a million of
its value; decoded means differ from the original mean by less than that
(8.7e-8 at most over 1.15 million samples of 8 runs, docs/cost.md).

What is lost: the order in which the samples were taken (they come back
sorted).  No statistic of benchwatch depends on it: quantiles, means, the
robust CV and the hierarchical bootstrap treat a run's samples as a set.

Runs of at most ``VERBATIM_UP_TO`` samples are stored as they are.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

ENCODING = "log-grid-1"
GRID_STEP = 1e-5
VERBATIM_UP_TO = 1000
#: Quantiles whose order statistics are stored exactly: the gated ones, the robust CV's quartiles, the range.
EXACT_QUANTILES = (0.0, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)


def exact_positions(count: int) -> list[int]:
    """Sorted positions read by the linear-interpolation quantiles of ``EXACT_QUANTILES``, with neighbours."""
    positions: set[int] = set()
    for quantile in EXACT_QUANTILES:
        low = math.floor((count - 1) * quantile)
        positions.update(range(max(0, low - 1), min(count, low + 3)))
    return sorted(positions)


def pack(samples: np.ndarray) -> dict[str, Any] | None:
    """The compact form of ``samples``, or None when they are kept verbatim (few, or not all finite and >= 0)."""
    values = np.asarray(samples, dtype=np.float64)
    if values.size <= VERBATIM_UP_TO or not (np.isfinite(values).all() and (values >= 0).all()):
        return None
    ordered = np.sort(values)
    positive = ordered[ordered > 0]
    codes = np.rint(np.log(positive) / math.log1p(GRID_STEP)).astype(np.int64)
    grid, counts = np.unique(codes, return_counts=True)
    exact = exact_positions(values.size)
    return {
        "encoding": ENCODING,
        "count": int(values.size),
        "step": GRID_STEP,
        "zeros": int(values.size - positive.size),
        "first": int(grid[0]) if grid.size else 0,
        "gaps": np.diff(grid).tolist(),
        "counts": counts.tolist(),
        "exact": [[position, float(ordered[position])] for position in exact],
        "mean": float(values.mean()),
    }


def unpack(packed: dict[str, Any]) -> np.ndarray:
    """The samples of a compact form, sorted; ValueError when it is inconsistent."""
    if packed.get("encoding") != ENCODING:
        raise ValueError(f"unknown sample encoding {packed.get('encoding')!r}")
    count, zeros = int(packed["count"]), int(packed["zeros"])
    gaps = np.asarray(packed["gaps"], dtype=np.int64)
    counts = np.asarray(packed["counts"], dtype=np.int64)
    if counts.size != gaps.size + (1 if counts.size else 0) or (counts < 1).any() or (gaps < 1).any():
        raise ValueError("grid gaps and counts do not match")
    if zeros < 0 or zeros + int(counts.sum()) != count:
        raise ValueError(f"counts add up to {zeros + int(counts.sum())} samples, not {count}")
    grid = int(packed["first"]) + np.concatenate(([0], np.cumsum(gaps))) if counts.size else np.empty(0)
    values = np.concatenate((np.zeros(zeros), np.repeat(np.exp(grid * math.log1p(float(packed["step"]))), counts)))
    for position, value in packed["exact"]:
        position = int(position)
        if not 0 <= position < count:
            raise ValueError(f"exact sample position {position} outside 0..{count - 1}")
        # Clamping the neighbours keeps the decoded samples sorted, so the pinned
        # value stays at its sorted position (neighbours move by under one grid step).
        np.minimum(values[:position], value, out=values[:position])
        values[position] = value
        np.maximum(values[position + 1 :], value, out=values[position + 1 :])
    return values
