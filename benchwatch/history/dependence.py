"""Noise that is not independent from commit to commit: a change point's price in long-run variance.

The segmentation prices a split in units of the noise ``sigma^2`` estimated from first differences,
which is right when the noise of successive commits is independent.  A machine whose speed wanders
for a few commits, or a weekly cycle, makes neighbouring residuals alike: differences are then small
(sigma looks low) while the mean of a stretch of commits moves much more than ``sigma / sqrt(n)``,
and every wander reads as a change point (precision 0.6 on AR(1) noise with phi up to 0.8, 0.2 with
a cycle of a few sigmas: ``benchmarks/changepoint_quality.py``).

Here, once the search has found its segments, each series' residuals around them give

* their variance ``s^2`` (what the segments leave unexplained), and
* their lag-1 autocorrelation ``rho``, shrunk by two standard errors (``2 / sqrt(n)``) so that white
  noise, whose estimate scatters around 0, is left alone;

and the price is raised to the long-run variance ``s^2 (1 + rho) / (1 - rho)`` where that exceeds
``sigma^2`` (the variance of a mean of dependent values, the quantity a mean-shift test compares).
Splits that no longer pay are eliminated; p-values use the same variance.
"""

from __future__ import annotations

import numpy as np

MAX_RHO = 0.9  # beyond this the factor (19) would turn any series into one segment
MAX_FACTOR = 25.0


def residuals(
    lengths: np.ndarray, cuts: np.ndarray, sums: list[np.ndarray], price: np.ndarray, slope_factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """(residuals of each value around its segment's fit, NaN past the row's length; segment start per value).

    A segment's fit is its mean, or its line where the line pays its slope price (as the segmentation
    decides), from the prefix sums ``sums`` (x, x^2, y, xy, y^2 with a leading 0 column), which hold the
    values too.
    """
    rows, n = cuts.shape[0], cuts.shape[1] - 1
    y = np.diff(sums[2], axis=1)  # the values, from their prefix sums
    columns = np.arange(n)
    starts = np.maximum.accumulate(np.where(cuts[:, :n], columns, 0), axis=1)
    stops = np.minimum.accumulate(np.where(cuts[:, 1 : n + 1], columns + 1, n)[:, ::-1], axis=1)[:, ::-1]
    stops = np.minimum(stops, lengths[:, None])
    width = sums[0].shape[1]
    base = np.arange(rows)[:, None] * width
    count = np.maximum(stops - starts, 1).astype(np.float64)
    sx, sxx, sy, sxy, syy = (part.ravel().take(base + stops) - part.ravel().take(base + starts) for part in sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sy / count
        vx = sxx - sx * sx / count
        cov = sxy - sx * sy / count
        slope = np.where((count >= 3) & (vx > 0), cov / vx, 0.0)
        flat = np.maximum(syy - sy * mean, 0.0)
        line = np.maximum(flat - slope * cov, 0.0)
        slope = np.where(line + slope_factor * price[:, None] < flat, slope, 0.0)
        fitted = mean + slope * (columns[None, :] - sx / count)
    inside = columns[None, :] < lengths[:, None]
    return np.where(inside, y - fitted, np.nan), starts


def inflation(residual: np.ndarray, starts: np.ndarray, lengths: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """Per row, the factor (>= 1) by which the long-run variance of the residuals exceeds ``sigma2``."""
    valid = np.isfinite(residual)
    r = np.where(valid, residual, 0.0)
    pairs = valid[:, 1:] & valid[:, :-1] & (starts[:, 1:] == starts[:, :-1])  # neighbours in one segment
    counts = valid.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = (r * r).sum(axis=1) / np.maximum(counts, 1)
        rho = (r[:, 1:] * r[:, :-1] * pairs).sum(axis=1) / np.maximum((r * r).sum(axis=1), 1e-300)
        rho = np.clip(rho - 2.0 / np.sqrt(np.maximum(lengths, 1)), 0.0, MAX_RHO)
        long_run = variance * (1.0 + rho) / (1.0 - rho)
        factor = np.where(rho > 0, long_run / sigma2, 1.0)
    return np.clip(np.nan_to_num(factor, nan=1.0), 1.0, MAX_FACTOR)
