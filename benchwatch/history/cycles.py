"""A cycle in a benchmark's history (a weekly job, a machine's daily load): found and taken out before the search.

A cycle of a few noise sigmas makes neighbouring commits alike, which the segmentation's lag-1 model of
dependent noise (:mod:`benchwatch.history.dependence`) reads as a slow wander: it raises the price of
*every* split up to 25-fold, so real steps next to a cycle went unseen (recall 0.64 on
``benchmarks/changepoint_quality.py``'s trends + autocorrelated + cycle set).  A cycle is not a wander:
its effect on a long segment's mean averages out.  Where the residuals around a series' segments hold
one sinusoid (period ``MIN_PERIOD``-``MAX_PERIOD`` commits) that explains at least ``MIN_FRACTION`` of
their variance, and more than the largest of the candidate frequencies of white noise would
(2 (log F + 7) / n, about a 1e-3 false-alarm rate), the sinusoid is subtracted and the series segmented again.
"""

from __future__ import annotations

import math

import numpy as np

MIN_PERIOD = 4.0  # commits: shorter cycles barely move a 3-commit segment's mean
MAX_PERIOD = 31.0  # commits: longer ones are a wander, which the long-run variance handles
MIN_FRACTION = 0.15  # of the residuals' variance
PADDING = 4
_WHITE_TAIL = 7.0  # log(1 / 1e-3)


def sinusoids(residual: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the fitted sinusoid per row, zero where there is none; which rows hold one).

    ``residual``: the residuals around each row's segments, NaN past the row's length.  The frequency
    is the periodogram's largest in the band; its amplitude and phase by least squares.
    """
    rows, n = residual.shape
    valid = np.isfinite(residual)
    r = np.where(valid, residual, 0.0)
    plain = np.fft.rfftfreq(n)
    independent = int(((plain >= 1.0 / MAX_PERIOD) & (plain <= 1.0 / MIN_PERIOD)).sum())  # for white noise's maximum
    if not independent:
        return np.zeros_like(r), np.zeros(rows, dtype=bool)
    # Zero-padded four-fold: a cycle between two of the n frequencies is fitted, not half of it.
    frequencies = np.fft.rfftfreq(PADDING * n)
    band = (frequencies >= 1.0 / MAX_PERIOD) & (frequencies <= 1.0 / MIN_PERIOD)
    power = np.abs(np.fft.rfft(r, n=PADDING * n, axis=1)) ** 2
    power[:, ~band] = 0.0
    frequency = frequencies[power.argmax(axis=1)][:, None]
    angle = 2.0 * np.pi * frequency * np.arange(n)[None, :]
    c, s = np.cos(angle) * valid, np.sin(angle) * valid
    cc, ss, cs = (c * c).sum(axis=1), (s * s).sum(axis=1), (c * s).sum(axis=1)
    rc, rs = (r * c).sum(axis=1), (r * s).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        determinant = cc * ss - cs * cs
        a = (rc * ss - rs * cs) / determinant
        b = (rs * cc - rc * cs) / determinant
        fraction = (a * rc + b * rs) / (r * r).sum(axis=1)
    white = 2.0 * (math.log(independent) + _WHITE_TAIL) / np.maximum(lengths, 1)
    held = np.isfinite(fraction) & (fraction >= np.maximum(MIN_FRACTION, white))
    fitted = np.where(held[:, None], a[:, None] * c + b[:, None] * s, 0.0)
    return np.nan_to_num(fitted), held
