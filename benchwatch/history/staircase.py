"""Short staircases inside sloped segments (a step of :mod:`benchwatch.history.segmentation`).

``y`` are a series' cleaned log values, ``bounds`` its segment boundaries
(indices into ``y``, first 0, last its length) and ``price`` the cost of one
change point (beta sigma^2), as in the segmentation.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

MAX_STEPS_FOR_A_SLOPE = 3  # more steps than this in a sloped segment: a trend, kept as a line


def steps_for_slopes(
    y: np.ndarray,
    bounds: list[int],
    sloped: list[bool],
    price: float,
    min_segment: int,
    min_shift: float,
    slope_factor: float,
) -> list[int]:
    """``bounds`` with a sloped segment replaced by flat steps where those cost less, splits priced as usual.

    Binary segmentation adds one split at a time, and a single split of a
    short staircase (two or three close steps) fits worse than one line
    through it, so the staircase was read as a slope.  Within each sloped
    segment, flat-only splits are searched; 2 to ``MAX_STEPS_FOR_A_SLOPE``
    steps are kept when their fit plus one price per split beats the line
    plus its slope price (one step instead of a line was already weighed by
    the search).  A real trend needs many steps to follow and keeps its line.
    """
    kept = [bounds[0]]
    for has_slope, (start, stop) in zip(sloped, itertools.pairwise(bounds), strict=True):
        if has_slope:
            piece = y[start:stop]
            x = np.arange(piece.size, dtype=np.float64)
            centred = x - x.mean()
            # The line's RSS: the flat RSS less what the slope explains.
            flat = float(((piece - piece.mean()) ** 2).sum())
            line = max(flat - float(centred @ piece) ** 2 / float(centred @ centred), 0.0)
            total = np.concatenate(([0.0], np.cumsum(piece)))
            squares = np.concatenate(([0.0], np.cumsum(piece * piece)))
            inner, steps_rss = _flat_splits(total, squares, price, min_segment, min_shift)
            if (
                2 <= len(inner) <= MAX_STEPS_FOR_A_SLOPE
                and steps_rss + len(inner) * price < line + slope_factor * price
            ):
                kept += [start + cut for cut in inner]
        kept.append(stop)
    return kept


def _flat_splits(
    total: np.ndarray, squares: np.ndarray, price: float, min_segment: int, min_shift: float
) -> tuple[list[int], float]:
    """Greedy flat-only binary segmentation of a piece from its cumulative sums: (inner cuts, total RSS)."""

    def rss(a: int, b: int) -> float:
        return max(float(squares[b] - squares[a] - (total[b] - total[a]) ** 2 / (b - a)), 0.0)

    def best_split(a: int, b: int) -> tuple[float, int]:
        t = np.arange(a + min_segment, b - min_segment + 1)
        if t.size == 0:
            return -math.inf, a
        left, right = total[t] - total[a], total[b] - total[t]
        gain = (
            rss(a, b) - (squares[t] - squares[a] - left**2 / (t - a)) - (squares[b] - squares[t] - right**2 / (b - t))
        )
        gain = np.where(np.abs(right / (b - t) - left / (t - a)) >= min_shift, gain, -np.inf)
        k = int(np.argmax(gain))
        return float(gain[k]), int(t[k])

    end = total.size - 1
    pieces = {(0, end): best_split(0, end)}  # each piece's best split, found once
    while True:
        (a, b), (gain, at) = max(pieces.items(), key=lambda item: item[1][0])
        if not gain > price or len(pieces) - 1 > MAX_STEPS_FOR_A_SLOPE:
            # (More steps than a short staircase has: a trend, which the caller keeps as a line.)
            cuts = sorted({0, end, *(piece[0] for piece in pieces)})
            return cuts[1:-1], sum(rss(x, y) for x, y in itertools.pairwise(cuts))
        del pieces[(a, b)]
        pieces[(a, at)] = best_split(a, at)
        pieces[(at, b)] = best_split(at, b)
