"""Which series could hold a change point or a slope at all: a cheap screen before the segmentation's search."""

from __future__ import annotations

import numpy as np


def worth_searching(y: np.ndarray, lengths: np.ndarray, price: np.ndarray, min_segment: int) -> np.ndarray:
    """Rows where some split or a slope could pay its price: a cheap screen before the full search.

    A one-split mean-shift gain (the CUSUM statistic) and the whole row's
    line-against-mean gain are computed for every row in one pass; a row
    where neither reaches the price is one flat segment.  (The full search
    can only find more where segments are lines, and a line needs the
    slope screen to pass.)
    """
    n = y.shape[1]
    data = np.nan_to_num(y)
    cumulative = np.cumsum(data, axis=1)[:, :-1]
    total = np.take_along_axis(np.cumsum(data, axis=1), (lengths - 1)[:, None].clip(0), 1)
    t = np.arange(1, n, dtype=np.float64)[None, :]
    length = lengths[:, None].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = (cumulative - t / length * total) ** 2 * length / (t * (length - t))
    valid = (t >= min_segment) & (length - t >= min_segment)
    best = np.where(valid, gain, 0.0).max(axis=1, initial=0.0)
    x = np.arange(n, dtype=np.float64)[None, :]
    inside = x < length
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_x = (x * inside).sum(axis=1, keepdims=True) / length
        mean_y = total / length
        centred = np.where(inside, x - mean_x, 0.0)
        slope_gain = ((centred * (data - mean_y)).sum(axis=1)) ** 2 / (centred**2).sum(axis=1)
    return (lengths >= 2 * min_segment) & ((best > price) | (np.nan_to_num(slope_gain) > price))
