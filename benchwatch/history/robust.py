"""Robust noise and outliers of many series at once (a step of :mod:`benchwatch.history.segmentation`).

``values`` are rows of log values, left-aligned, NaN past each row's length.
"""

from __future__ import annotations

import math

import numpy as np

NOISE_FLOOR = 1e-4  # relative: below any timer's resolution; keeps deterministic series finite
_HAMPEL_HALF = 2
_HAMPEL_K = 5.0
_MAD_SCALE = 1.0 / (0.6744897501960817 * math.sqrt(2.0))
_Q80_SCALE = 1.0 / (1.2815515655446004 * math.sqrt(2.0))


def sorted_quantile(ordered: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile (linear interpolation) of each row of ``ordered`` (sorted, NaN last; ``counts`` finite)."""
    position = q * np.maximum(counts - 1, 0)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, np.maximum(counts - 1, 0))
    fraction = position - low
    take = np.take_along_axis
    below = take(ordered, low[..., None], axis=-1)[..., 0]
    above = take(ordered, high[..., None], axis=-1)[..., 0]
    return np.where(counts > 0, below + fraction * (above - below), np.nan)


def rolling_median(values: np.ndarray, half: int) -> np.ndarray:
    # Sorting each small window (NaN sorts last) is far faster than nanmedian's per-window loop.
    padded = np.pad(values, ((0, 0), (half, half)), constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=1)
    if half != 2:
        ordered = np.sort(windows, axis=-1)
        return sorted_quantile(ordered, np.isfinite(ordered).sum(axis=-1), 0.5)
    # Five values: the median of e and the middle two of a-d, by min/max (no sort, the same value);
    # windows with a missing value (the ends of a row) take the sorting path.
    a, b, c, d, e = (windows[..., k] for k in range(5))
    low, high = np.maximum(np.minimum(a, b), np.minimum(c, d)), np.minimum(np.maximum(a, b), np.maximum(c, d))
    median = np.maximum(np.minimum(low, high), np.minimum(np.maximum(low, high), e))
    partial = ~np.isfinite(windows).all(axis=-1)
    ordered = np.sort(windows[partial], axis=-1)
    median[partial] = sorted_quantile(ordered, np.isfinite(ordered).sum(axis=-1), 0.5)
    return median


def _noise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(MAD-based sigma, 80th-percentile sigma) of each row's first differences (NaN = missing)."""
    differences = np.diff(values, axis=1)
    counts = np.isfinite(differences).sum(axis=1)
    centre = sorted_quantile(np.sort(differences, axis=1), counts, 0.5)
    spread = np.sort(np.abs(differences - centre[:, None]), axis=1)
    mad = sorted_quantile(spread, counts, 0.5) * _MAD_SCALE
    q80 = sorted_quantile(spread, counts, 0.8) * _Q80_SCALE
    return np.nan_to_num(mad, nan=0.0), np.nan_to_num(q80, nan=0.0)


def clean(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outliers replaced (Hampel) and the noise sigma per row; ``values`` are compacted logs.

    The 80th percentile of the raw differences guards both steps against a
    bimodal series: there it is wide, so the other mode is neither clipped
    as outliers nor read as shifts.
    """
    _, raw_q80 = _noise(values)
    median = rolling_median(values, _HAMPEL_HALF)
    threshold = _HAMPEL_K * np.maximum(raw_q80, NOISE_FLOOR)[:, None]
    with np.errstate(invalid="ignore"):
        outlier = np.abs(values - median) > threshold
    cleaned = np.where(outlier, median, values)
    mad, q80 = _noise(cleaned)
    return cleaned, np.maximum(np.maximum(mad, q80), np.maximum(raw_q80, NOISE_FLOOR))
