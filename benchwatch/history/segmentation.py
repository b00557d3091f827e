"""Change points that respect trends and outliers: robust, trend-aware binary segmentation, many series at once.

Why not E-divisive alone (:mod:`benchwatch.history.changepoints`): on a
steadily rising series every window finds a "significant" split, so a trend
is cut into a staircase (69 change points on one 816-point series); on a
bimodal series every run of the other mode looks like a shift; and a Python
loop per series is too slow for 10,000 series in a report that must build
in seconds.

The model, on the log of the values (a 10% step is the same at 1 µs and 1 s):

* **noise** ``sigma`` per series, from first differences, which a level
  shift or a slope barely moves: the larger of the MAD estimate and the
  80th-percentile estimate of the centred differences, after outliers are
  replaced.  The MAD alone collapses on a bimodal series (most differences
  are ~0 when one mode dominates); the 80th percentile sees the other mode
  and widens the noise, so a bimodal series is reported as *noisy*, not as
  a string of change points;
* **outliers**: a point further than 5 sigma (MAD) from the median of its
  5-point neighbourhood is replaced by that median (Hampel filter), so a
  lone spike neither splits a segment nor inflates the noise;
* **segments** are constant or linear: a segment's cost is
  ``min(RSS of its mean, RSS of its line + beta * sigma^2)``, so a slope is
  used only where it earns a change point's worth of fit.  A steady trend is
  then one segment, not a staircase;
* **search**: binary segmentation, vectorised over all series (one numpy
  pass per round over every candidate split of every series).  A split is
  kept while it lowers the cost by more than ``beta * sigma^2``, with
  ``beta = z^2`` and ``z`` the normal quantile of ``max_pvalue / (2 n)``
  (a Bonferroni correction for the choice among ``n`` positions), leaves
  ``min_segment`` points on each side and shifts the level by at least
  ``min_magnitude``;
* **dependent noise** (issue 28): the price rises with the residuals' long-run
  variance (:mod:`benchwatch.history.dependence`), and a cycle found in them is
  taken out and the series segmented again (:mod:`benchwatch.history.cycles`).

Incremental behaviour: a new commit adds one term to the last segment's cost;
an older change point moves only if the new point changes which split of its
segment is best (a real new shift nearby), which
tests/test_segmentation.py checks over many random prefixes.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from benchwatch.history import cycles, dependence, screening, staircase
from benchwatch.history.changepoints import ChangePoint
from benchwatch.history.robust import NOISE_FLOOR, clean

DEFAULT_MAX_PVALUE = 0.001
DEFAULT_MIN_MAGNITUDE = 0.0
REPORT_MIN_MAGNITUDE = 0.02  # the trend report and `history show`: shifts under 2% are not worth a reader's look
DEFAULT_MIN_SEGMENT = 3
CANDIDATE_FACTOR = 1.0  # the price at which the search proposes; _prune keeps what still pays the full price
SLOPE_FACTOR = 1.0  # a segment's slope costs this many change points' price
BLOCK_CELLS = 131_072  # series x commits analysed together: numpy's speed, ~1 MB per temporary array
LONG_SERIES = 200  # commits: past this length the price grows where the noise is dependent (stricter_for)
LONG_PRICE = 1.0
NOISE_SHIFT = 0.5  # a change point shifts the level by at least this many noise sigmas
COARSE_FACTOR = dependence.MAX_FACTOR
CYCLES = True  # take a cycle out of a series with dependent noise (benchwatch/history/cycles.py)
DEPENDENCE_ROUNDS = 2  # re-estimate the long-run variance once after the first elimination


@dataclass(frozen=True)
class Segment:
    """A fitted piece of a series: positions ``start``..``stop``-1, log level ``level + slope * (i - start)``."""

    start: int
    stop: int
    level: float
    slope: float


@dataclass(frozen=True)
class SeriesFit:
    """What the segmentation found in one series (indices refer to the input's positions)."""

    change_points: tuple[ChangePoint, ...]
    segments: tuple[Segment, ...]
    noise: float  # sigma of the log values: ~ the relative run-to-run noise (0.03 = 3%)
    positions: np.ndarray  # input positions that held a finite value

    @property
    def fitted(self) -> np.ndarray:
        """The segments' log level at each of ``positions`` (computed when asked: the report does not need it)."""
        starts = np.searchsorted(self.positions, [segment.start for segment in self.segments])
        stops = np.searchsorted(self.positions, [segment.stop for segment in self.segments])
        parts = [
            segment.level + segment.slope * np.arange(stop - start, dtype=np.float64)
            for segment, start, stop in zip(self.segments, starts.tolist(), stops.tolist(), strict=True)
        ]
        return np.concatenate(parts) if parts else np.empty(0)


@lru_cache(maxsize=4096)
def beta_for(max_pvalue: float, length: int) -> float:
    """The penalty, in units of sigma^2, for one more change point among ``length`` positions (Bonferroni)."""
    tail = max_pvalue / (2.0 * max(length, 2))
    return float(NormalDist().inv_cdf(1.0 - tail) ** 2)


def stricter_for(lengths: np.ndarray) -> np.ndarray:
    """The price's factor past ``LONG_SERIES`` points, ``1 + LONG_PRICE * log(length / LONG_SERIES)``.

    Applied only where the noise proved dependent (:func:`_dependent_noise`): a long real series holds
    slow wanders, each a false change point at the plain price; on independent noise the stricter
    price only lost small steps (steps F1 0.9985 -> 0.9941, seasonal 1.00 -> 0.99,
    benchmarks/changepoint_quality.py).
    """
    return 1.0 + LONG_PRICE * np.log(np.maximum(lengths, LONG_SERIES) / LONG_SERIES)


def _compact(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Left-align each row's finite values: (values, their original columns, count per row)."""
    finite = np.isfinite(matrix)
    order = np.argsort(~finite, axis=1, kind="stable")
    values = np.take_along_axis(matrix, order, axis=1)
    lengths = finite.sum(axis=1)
    values[np.arange(values.shape[1])[None, :] >= lengths[:, None]] = np.nan
    return values, order, lengths


class _Prefix:
    """Prefix sums of 1, x, x^2, y, xy, y^2 per row: any segment's least-squares fits in O(1)."""

    def __init__(self, y: np.ndarray) -> None:
        rows, n = y.shape
        x = np.broadcast_to(np.arange(n, dtype=np.float64), (rows, n))
        data = np.nan_to_num(y)
        zero = np.zeros((rows, 1))
        parts = (x, x * x, data, x * data, data * data)
        self.sums = [np.concatenate((zero, np.cumsum(part, axis=1)), axis=1) for part in parts]

    def rows(self, rows: np.ndarray) -> _Prefix:
        """The same sums for some rows only, without summing again."""
        subset = object.__new__(_Prefix)
        subset.sums = [part[rows] for part in self.sums]
        return subset

    def at(self, rows: np.ndarray, columns: np.ndarray) -> list[np.ndarray]:
        """The five prefix sums of ``rows`` at ``columns`` (one column array per row)."""
        # One gather per part: indexing part[rows] first would copy every selected row whole.
        flat = rows[:, None] * self.sums[0].shape[1] + columns
        return [part.ravel().take(flat) for part in self.sums]


def _between(start: list[np.ndarray], stop: list[np.ndarray], count: np.ndarray) -> tuple[np.ndarray, ...]:
    """(n, Sx, Sxx, Sy, Sxy, Syy) of segments from the prefix sums at their ends."""
    return (count, *(b - a for a, b in zip(start, stop, strict=True)))


def _fits(stats: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(RSS of the mean, RSS of the line, mean, slope) of segments from their sums."""
    n, sx, sxx, sy, sxy, syy = stats
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = sy / n
        flat = np.maximum(syy - sy * mean, 0.0)
        vx = sxx - sx * sx / n
        cov = sxy - sx * sy / n
        slope = np.where((n >= 3) & (vx > 0), cov / vx, 0.0)
        line = np.maximum(flat - slope * cov, 0.0)
    return flat, line, mean, slope


def _cost(stats: tuple[np.ndarray, ...], slope_price: np.ndarray) -> np.ndarray:
    flat, line, _, _ = _fits(stats)
    return np.minimum(flat, line + SLOPE_FACTOR * slope_price)


def _binary_segmentation(
    prefix: _Prefix, lengths: np.ndarray, sigma2: np.ndarray, beta: np.ndarray, min_segment: int, min_shift: float
) -> np.ndarray:
    """Boolean cut matrix (rows, n+1): True at 0, at each change point and at the row's length."""
    rows, n = prefix.sums[0].shape[0], prefix.sums[0].shape[1] - 1
    cuts = np.zeros((rows, n + 1), dtype=bool)
    cuts[:, 0] = True
    cuts[np.arange(rows), lengths] = True
    active = np.flatnonzero(lengths >= 2 * min_segment)
    columns = np.arange(n + 1)
    t = np.arange(1, n)[None, :]
    while active.size:
        own = cuts[active]
        left = np.maximum.accumulate(np.where(own, columns, -1), axis=1)[:, : n - 1]
        right = np.minimum.accumulate(np.where(own, columns, n + 1)[:, ::-1], axis=1)[:, ::-1][:, 2:]
        valid = ~own[:, 1:n] & (t - left >= min_segment) & (right - t >= min_segment) & (t < lengths[active, None])
        a, b = np.where(valid, left, 0), np.where(valid, right, 1)
        price = (beta[active] * sigma2[active])[:, None]
        at_a, at_b = prefix.at(active, a), prefix.at(active, b)
        at_t = [part[active, 1:n] for part in prefix.sums]
        tt = t.astype(np.float64)
        head = _between(at_a, at_t, tt - a)
        tail = _between(at_t, at_b, b - tt)
        gain = _segment_costs(prefix, active, own, price[:, 0], a) - _cost(head, price) - _cost(tail, price)
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.abs(tail[3] / tail[0] - head[3] / head[0])
        gain = np.where(valid & (shift >= min_shift), gain, -np.inf)
        best = np.argmax(gain, axis=1)
        won = gain[np.arange(active.size), best] > price[:, 0]
        cuts[active[won], best[won] + 1] = True
        active = active[won]
    return cuts


def _segment_costs(
    prefix: _Prefix, active: np.ndarray, own: np.ndarray, price: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """The cost of the current segment starting at each of ``starts`` (rows of ``active``; cuts ``own``).

    Computed once per segment and gathered for its candidates: the same numbers as per candidate,
    for a few segments per row instead of every position.
    """
    rows, at = np.nonzero(own)
    same_row = np.zeros(rows.size, dtype=bool)
    same_row[:-1] = rows[:-1] == rows[1:]
    rows, first, stop = rows[same_row], at[same_row], np.roll(at, -1)[same_row]
    costs = np.zeros(own.shape)
    costs[rows, first] = _cost(_stats_between(prefix, active[rows], first, stop), price[rows])
    return np.take_along_axis(costs, starts, axis=1)


def segment_series(
    matrix: np.ndarray,
    *,
    max_pvalue: float = DEFAULT_MAX_PVALUE,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    min_segment: int = DEFAULT_MIN_SEGMENT,
    commits: list[str] | None = None,
) -> list[SeriesFit]:
    """Fit every row of ``matrix`` (rows = series, columns = commits, NaN = not measured; values > 0).

    Non-positive values are treated as missing (the analysis is on logs).
    """
    if not 0.0 < max_pvalue < 1.0:
        raise ValueError(f"max_pvalue must be in (0, 1), got {max_pvalue}")
    if min_segment < 2:
        raise ValueError(f"min_segment must be at least 2, got {min_segment}")
    if not min_magnitude >= 0:
        raise ValueError(f"min_magnitude must be >= 0, got {min_magnitude}")
    matrix = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
    if matrix.shape[1] < 2:  # nothing to split: each row is at most one point
        found = [np.flatnonzero(np.isfinite(row) & (row > 0)) for row in matrix]
        return [_flat(np.log(row[kept]), kept, NOISE_FLOOR) for row, kept in zip(matrix, found, strict=True)]
    fits: list[SeriesFit] = []
    block = max(BLOCK_CELLS // matrix.shape[1], 16)
    for start in range(0, matrix.shape[0], block):
        fits += _segment_block(
            matrix[start : start + block],
            max_pvalue=max_pvalue,
            min_shift=math.log1p(min_magnitude),
            min_segment=min_segment,
            commits=commits,
        )
    return fits


def _segment_block(
    matrix: np.ndarray, *, max_pvalue: float, min_shift: float, min_segment: int, commits: list[str] | None
) -> list[SeriesFit]:
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(matrix > 0, np.log(matrix), np.nan)
    values, order, lengths = _compact(logs)
    cleaned, sigma = clean(values)
    beta = np.array([beta_for(max_pvalue, int(length)) for length in lengths])
    price = sigma**2 * beta
    search = screening.worth_searching(cleaned, lengths, sigma**2 * beta * CANDIDATE_FACTOR, min_segment)
    searched = np.flatnonzero(search)
    prefix_all = _Prefix(cleaned[searched])  # one set of sums for the search, the pruning and the fits
    found = _cuts(prefix_all, lengths[searched], sigma[searched], beta[searched], min_segment, min_shift)
    again = _take_out_cycles(cleaned, searched, prefix_all, lengths[searched], *found, price[searched])
    if again.size:  # segmented again without their cycle
        prefix_all = _Prefix(cleaned[searched])
        redone = _cuts(
            prefix_all.rows(again),
            lengths[searched][again],
            sigma[searched][again],
            beta[searched][again],
            min_segment,
            min_shift,
        )
        found[0][again], found[1][again] = redone
    cuts = found[0]
    factor = np.ones(matrix.shape[0])
    factor[searched] = found[1]
    cut_row = dict(zip(searched.tolist(), range(cuts.shape[0]), strict=True))
    prefix = prefix_all.sums
    fits = []
    for row in range(matrix.shape[0]):
        length = int(lengths[row])
        positions = order[row, :length].copy()  # ascending: _compact's stable sort keeps finite columns in order
        if row in cut_row:
            k = cut_row[row]
            bounds = np.flatnonzero(cuts[k, : length + 1])
            sums = [part[k, bounds].tolist() for part in prefix]
            # Prices and p-values in the long-run variance (benchwatch/history/dependence.py); the noise shown is sigma.
            scale = float(sigma[row] * math.sqrt(factor[row]))
            fit = _describe(sums, positions, bounds.tolist(), scale, float(beta[row]), commits, float(sigma[row]))
            if any(segment.slope for segment in fit.segments):
                price_row = scale**2 * float(beta[row])
                sloped = [bool(segment.slope) for segment in fit.segments]
                steps = staircase.steps_for_slopes(
                    cleaned[row, :length], bounds.tolist(), sloped, price_row, min_segment, min_shift, SLOPE_FACTOR
                )
                if len(steps) > bounds.size:
                    bounds = np.asarray(steps)
                    sums = [part[k, bounds].tolist() for part in prefix]
                    fit = _describe(sums, positions, steps, scale, float(beta[row]), commits, float(sigma[row]))
            fits.append(fit)
        else:
            fits.append(_flat(cleaned[row, :length], positions, float(sigma[row])))
    return fits


def _cuts(
    prefix: _Prefix, lengths: np.ndarray, sigma: np.ndarray, beta: np.ndarray, min_segment: int, min_shift: float
) -> tuple[np.ndarray, np.ndarray]:
    """(cut matrix, long-run variance factor) of the series in ``prefix``: search, pruning, dependent noise."""
    cuts = _binary_segmentation(prefix, lengths, sigma**2, beta * CANDIDATE_FACTOR, min_segment, min_shift)
    price = sigma**2 * beta
    cuts = _prune_all(prefix, lengths, cuts, price, min_segment, min_shift)
    return cuts, _dependent_noise(prefix, lengths, cuts, price, sigma, min_shift)


def _take_out_cycles(
    cleaned: np.ndarray,
    searched: np.ndarray,
    prefix: _Prefix,
    lengths: np.ndarray,
    cuts: np.ndarray,
    factor: np.ndarray,
    price: np.ndarray,
) -> np.ndarray:
    """Subtract a cycle (benchwatch/history/cycles.py) from ``cleaned`` where the residuals hold one (in place).

    Only series whose noise proved dependent are looked at; returns their positions in ``searched``.
    """
    rows = np.flatnonzero(factor > 1.0)
    if rows.size == 0 or not CYCLES:
        return rows
    part = prefix.rows(rows)
    n = lengths[rows]
    # Around a coarse fit (the largest dependence factor's price): where the search cut a cycle into
    # half-periods, residuals around those pieces lose it, and the decision would flicker as commits come.
    coarse = cuts[rows].copy()
    strict = price[rows] * np.maximum(factor[rows], COARSE_FACTOR)
    _eliminate(part, coarse, n, strict, 0.0)
    residual, _ = dependence.residuals(n, coarse, part.sums, strict, SLOPE_FACTOR)
    cycle, found = cycles.sinusoids(residual, n)
    rows = rows[found]
    cleaned[searched[rows], : cycle.shape[1]] -= cycle[found]
    return rows


def _dependent_noise(
    every: _Prefix, lengths: np.ndarray, cuts: np.ndarray, price: np.ndarray, sigma: np.ndarray, min_shift: float
) -> np.ndarray:
    """Per row, the factor by which dependent noise raises the price; splits that no longer pay are dropped.

    The factor is the long-run variance's (dependence.inflation), times :func:`stricter_for` on long
    series; p-values use it too.  A split must also shift the level by ``NOISE_SHIFT`` noise sigmas
    (in long-run variance).
    """
    factor = np.ones(cuts.shape[0])
    # Only series with a change point: elsewhere there is nothing to eliminate and no p-value to give.
    rows = np.unique(_change_points(cuts, lengths)[0])
    if rows.size == 0:
        return factor
    stricter = stricter_for(lengths)
    for _ in range(DEPENDENCE_ROUNDS):
        # Each round on the series whose factor grew in the last (the others' splits all still pay).
        n, row_price, row_sigma, part = lengths[rows], price[rows], sigma[rows], cuts[rows]
        prefix = every.rows(rows)
        residual, starts = dependence.residuals(n, part, prefix.sums, row_price * factor[rows], SLOPE_FACTOR)
        found = np.maximum(dependence.inflation(residual, starts, n, row_sigma**2), factor[rows])
        grew = found > factor[rows]
        factor[rows] = found
        floor = np.maximum(min_shift, NOISE_SHIFT * row_sigma * np.sqrt(found))
        _eliminate(prefix, part, n, row_price * found * np.where(found > 1.0, stricter[rows], 1.0), floor)
        cuts[rows] = part
        rows = rows[grew]
        if rows.size == 0:
            break
    return np.where(factor > 1.0, factor * stricter, 1.0)


def _prune_all(
    prefix: _Prefix, lengths: np.ndarray, cuts: np.ndarray, price: np.ndarray, min_segment: int, min_shift: float
) -> np.ndarray:
    """Backward elimination, then local re-placement, of every series' change points, vectorised.

    Binary segmentation decides each split with the segments known at that
    moment; here, with all of them known, the change point whose removal
    costs least goes while that cost is below the price (or its shift below
    ``min_shift``), and each survivor moves to the best split between its
    neighbours (even-numbered ones first, then odd, so neighbours stay put
    while one moves), and a last elimination follows, as a move can make a
    removal pay.  Both look only at a change point's neighbouring segments,
    so a new commit at the end leaves earlier change points where they are
    unless it changes their own segments.
    """
    if cuts.shape[0] == 0:
        return cuts
    cuts = cuts.copy()
    _eliminate(prefix, cuts, lengths, price, min_shift)
    for parity in (0, 1):
        _replace(prefix, cuts, lengths, price, min_segment, parity)
    _eliminate(prefix, cuts, lengths, price, min_shift)
    return cuts


def _eliminate(
    prefix: _Prefix, cuts: np.ndarray, lengths: np.ndarray, price: np.ndarray, min_shift: float | np.ndarray
) -> None:
    """Drop, per series and round, the change point whose removal costs least, while that is below the price.

    ``min_shift``: one for all series (on the segments' means), or one per series (on the jump where the
    segments' fits meet: on a trend, the means of a rise, a drop and a rise can be alike).
    """
    while True:
        rows, points = _change_points(cuts, lengths)
        if rows.size == 0:
            return
        a, b = _neighbours(rows, points, lengths)
        delta = _split_gain(prefix, rows, a, points, b, price[rows])
        if isinstance(min_shift, np.ndarray):
            large = _jump(prefix, rows, a, points, b, price[rows]) >= min_shift[rows]
        else:
            large = _shift(prefix, rows, a, points, b) >= min_shift
        value = np.where(large, delta, -np.inf)
        order = np.lexsort((value, rows))
        first = np.ones(order.size, dtype=bool)
        first[1:] = rows[order][1:] != rows[order][:-1]
        weakest = order[first]
        drop = weakest[value[weakest] <= price[rows[weakest]]]
        if drop.size == 0:
            return
        cuts[rows[drop], points[drop]] = False


def _change_points(cuts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, position) of every change point (cuts other than 0 and the row's length), by row then position."""
    rows, points = np.nonzero(cuts[:, 1:-1])
    points = points + 1
    inner = points < lengths[rows]
    return rows[inner], points[inner]


def _neighbours(rows: np.ndarray, points: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The previous and next change point (or the series' ends) of each (row, point)."""
    same_before = np.zeros(rows.size, dtype=bool)
    same_before[1:] = rows[1:] == rows[:-1]
    a = np.where(same_before, np.roll(points, 1), 0)
    same_after = np.zeros(rows.size, dtype=bool)
    same_after[:-1] = rows[:-1] == rows[1:]
    b = np.where(same_after, np.roll(points, -1), lengths[rows])
    return a, b


def _stats_between(prefix: _Prefix, rows: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    count = (b - a).astype(np.float64)
    width = prefix.sums[0].shape[1]
    start, stop = rows * width + a, rows * width + b  # flat indices: one take per part beats 2-D fancy indexing
    return (count, *(part.ravel().take(stop) - part.ravel().take(start) for part in prefix.sums))


def _split_gain(
    prefix: _Prefix, rows: np.ndarray, a: np.ndarray, t: np.ndarray, b: np.ndarray, price: np.ndarray
) -> np.ndarray:
    whole = _cost(_stats_between(prefix, rows, a, b), price)
    return whole - _cost(_stats_between(prefix, rows, a, t), price) - _cost(_stats_between(prefix, rows, t, b), price)


def _shift(prefix: _Prefix, rows: np.ndarray, a: np.ndarray, t: np.ndarray, b: np.ndarray) -> np.ndarray:
    sums = prefix.sums[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs((sums[rows, b] - sums[rows, t]) / (b - t) - (sums[rows, t] - sums[rows, a]) / (t - a))


def _jump(
    prefix: _Prefix, rows: np.ndarray, a: np.ndarray, t: np.ndarray, b: np.ndarray, price: np.ndarray
) -> np.ndarray:
    """|jump| at ``t`` between the fits of a..t and t..b (a line where it pays its slope price, else the mean)."""
    ends = []
    for stats in (_stats_between(prefix, rows, a, t), _stats_between(prefix, rows, t, b)):
        flat, line, mean, slope = _fits(stats)
        slope = np.where(line + SLOPE_FACTOR * price < flat, slope, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ends.append(mean + slope * (t - stats[1] / stats[0]))
    return np.abs(ends[1] - ends[0])


def _replace(
    prefix: _Prefix, cuts: np.ndarray, lengths: np.ndarray, price: np.ndarray, min_segment: int, parity: int
) -> None:
    """Move every other change point (``parity``) to the best split between its neighbours, in place."""
    rows, points = _change_points(cuts, lengths)
    if rows.size == 0:
        return
    a, b = _neighbours(rows, points, lengths)
    rank = np.arange(rows.size) - np.searchsorted(rows, rows)  # position of each point within its row
    move = rank % 2 == parity
    rows, points, a, b = rows[move], points[move], a[move], b[move]
    if rows.size == 0:
        return
    t = np.arange(1, cuts.shape[1] - 1)[None, :]
    valid = (t - a[:, None] >= min_segment) & (b[:, None] - t >= min_segment)
    tt = np.where(valid, t, a[:, None] + 1)
    r, aa, bb = rows[:, None], a[:, None], b[:, None]
    costs = _cost(_stats_between(prefix, r, aa, tt), price[r]) + _cost(_stats_between(prefix, r, tt, bb), price[r])
    best = np.argmin(np.where(valid, costs, np.inf), axis=1) + 1
    keep = valid.any(axis=1)
    cuts[rows[keep], points[keep]] = False
    cuts[rows[keep], best[keep]] = True


def _flat(y: np.ndarray, positions: np.ndarray, sigma: float) -> SeriesFit:
    if y.size == 0:
        return SeriesFit((), (), sigma, positions)
    mean = float(y.mean())
    segment = Segment(int(positions[0]), int(positions[-1]) + 1, mean, 0.0)
    return SeriesFit((), (segment,), sigma, positions)


def _describe(
    sums: list[list[float]],
    positions: np.ndarray,
    bounds: list[int],
    sigma: float,
    beta: float,
    commits: list[str] | None,
    noise: float | None = None,
) -> SeriesFit:
    """Segments and change points of one series from its prefix sums at ``bounds`` (plain floats)."""
    segments = []
    price = beta * sigma * sigma
    for k, (start, stop) in enumerate(itertools.pairwise(bounds)):
        n = stop - start
        sx, sxx, sy, sxy, syy = (part[k + 1] - part[k] for part in sums)
        mean = sy / n
        slope = 0.0
        vx = sxx - sx * sx / n
        if n >= 3 and vx > 0:
            cov = sxy - sx * sy / n
            flat = max(syy - sy * mean, 0.0)
            if max(flat - cov * cov / vx, 0.0) + SLOPE_FACTOR * price < flat:
                slope = cov / vx
        # level at the segment's first point: x is the point's index, the line passes (mean x, mean y).
        level = mean - slope * (sx / n - start)
        segments.append(Segment(int(start), int(stop), level, slope))
    points = []
    last = len(positions) - 1
    for before, after in itertools.pairwise(segments):
        # The jump where the segments meet: the left line's next value against the right line's first.
        left = before.level + before.slope * (before.stop - before.start)
        shift = after.level - left
        n1, n2 = before.stop - before.start, after.stop - after.start
        z = abs(shift) / (sigma * math.sqrt(1.0 / n1 + 1.0 / n2))
        index = int(positions[after.start])
        points.append(
            ChangePoint(
                index=index,
                commit=None if commits is None else str(commits[index]),
                before_mean=math.exp(left),
                after_mean=math.exp(after.level),
                relative_change=math.expm1(shift),
                p_value=min(1.0, math.erfc(z / math.sqrt(2.0)) * max(last, 1)),
            )
        )
    original = [Segment(int(positions[s.start]), int(positions[s.stop - 1]) + 1, s.level, s.slope) for s in segments]
    noise = sigma if noise is None else noise
    return SeriesFit(change_points=tuple(points), segments=tuple(original), noise=noise, positions=positions)


def detect(
    values: np.ndarray | list[float],
    *,
    commits: list[str] | None = None,
    max_pvalue: float = DEFAULT_MAX_PVALUE,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    min_segment: int = DEFAULT_MIN_SEGMENT,
) -> list[ChangePoint]:
    """Change points of one series (the one-series face of :func:`segment_series`)."""
    fit = segment_series(
        np.asarray(values, dtype=np.float64)[None, :],
        max_pvalue=max_pvalue,
        min_magnitude=min_magnitude,
        min_segment=min_segment,
        commits=commits,
    )[0]
    return list(fit.change_points)
