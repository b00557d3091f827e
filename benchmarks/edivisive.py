"""E-divisive means with t-test pruning: the change-point detector before the segmentation.

Kept out of the package as the reference that ``changepoint_quality.py`` scores the
segmentation (:mod:`benchwatch.history.segmentation`) against.

The method follows the one Apache Otava (formerly Hunter; Fleming et al.,
ICPE 2023, https://doi.org/10.1145/3578244.3583719) built on Matteson and
James's E-divisive (https://doi.org/10.48550/arXiv.1306.4933); this is an
independent implementation of the published algorithm, not a copy.

Two passes over the log of the values (performance changes act
multiplicatively, and a log makes a 10% slowdown the same step at 1 ms and
at 1 s):

1. **Split.**  A window of ``window`` points slides along the series (it
   advances by half a window, or to the last change point it found).  In
   each window, E-divisive repeatedly picks the split ``tau`` that
   maximises the energy statistic

       Q(X, Y) = 2/(n+m) sum|X_i - Y_j| - 2m/((n+m)(n-1)) sum_{i<k}|X_i - X_k|
                 - 2n/((n+m)(m-1)) sum_{j<k}|Y_j - Y_k|

   over every segment between the change points found so far and every
   right end ``kappa`` of ``Y``; a candidate is kept while a two-sided
   Student t-test between its left and right pieces gives a p-value at most
   ``first_pass_factor * max_pvalue`` (a relaxed level: these are *weak*
   change points).  The union over windows is the candidate set.
2. **Merge.**  Each weak change point is tested against its neighbouring
   segments (previous change point to it, it to the next).  Repeatedly the
   weakest is dropped -- the highest p-value while one exceeds
   ``max_pvalue``, else the smallest relative magnitude while one is below
   ``min_magnitude`` -- and its neighbours are re-tested, until every
   survivor passes both.  Before those, a change point with fewer than
   ``min_segment`` points on one side is dropped (blips and outliers), and
   the p-value is Bonferroni-corrected for the choice of the split among the
   segment's positions (``correct_for_selection``).

Everything is a pure function of the input array: no random permutations
(Otava's t-test replaces the original permutation test), so the result is
deterministic.  Cost: a window's energy matrix is built once from a 2D prefix
sum of pairwise distances, so every candidate search is O(window^2) numpy
work; a 500-point series takes a few milliseconds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from benchwatch.history.changepoints import ChangePoint

DEFAULT_WINDOW = 50
DEFAULT_MAX_PVALUE = 0.001
DEFAULT_MIN_MAGNITUDE = 0.0
DEFAULT_MIN_SEGMENT = 3
FIRST_PASS_FACTOR = 10.0


@dataclass(frozen=True)
class _Segments:
    """Test of one split point between two segments of the analysed (log) series."""

    index: int
    p_value: float
    mean_left: float
    mean_right: float


def detect_change_points(
    values: Sequence[float] | np.ndarray,
    *,
    commits: Sequence[str] | None = None,
    window: int = DEFAULT_WINDOW,
    max_pvalue: float = DEFAULT_MAX_PVALUE,
    min_magnitude: float = DEFAULT_MIN_MAGNITUDE,
    log: bool = True,
    min_segment: int = DEFAULT_MIN_SEGMENT,
    correct_for_selection: bool = True,
    first_pass_factor: float = FIRST_PASS_FACTOR,
) -> list[ChangePoint]:
    """Change points of ``values`` (one value per commit, oldest first), sorted by index.

    ``log`` analyses log(values) (all values must then be > 0; NaN entries
    are dropped first and indices refer to the original positions).
    ``min_magnitude`` is a relative change (0.05 = 5%) below which a change
    point is dropped even when significant.  Two departures from Otava, both
    on by default and both cutting false alarms (see docs/changepoints.md):
    ``min_segment`` drops a change point that leaves fewer than that many
    points on either side (a lone outlier or a blip of two commits is
    bracketed by two candidates; the weaker goes first), and
    ``correct_for_selection`` multiplies the merge step's p-value by the
    number of positions the split was chosen from (Bonferroni), since the
    t-test is applied where the statistic is largest.  ``min_segment=1,
    correct_for_selection=False`` gives Otava's rules.  Raises ValueError on
    bad options or (with ``log``) non-positive values.
    """
    if window < 4:
        raise ValueError(f"window must be at least 4 points, got {window}")
    if not 0.0 < max_pvalue < 1.0:
        raise ValueError(f"max_pvalue must be in (0, 1), got {max_pvalue}")
    if min_segment < 1:
        raise ValueError(f"min_segment must be at least 1, got {min_segment}")
    if min_magnitude < 0:
        raise ValueError(f"min_magnitude must be >= 0, got {min_magnitude}")
    raw = np.asarray(values, dtype=np.float64).reshape(-1)
    if commits is not None and len(commits) != raw.size:
        raise ValueError(f"{len(commits)} commits for {raw.size} values")
    keep = np.flatnonzero(np.isfinite(raw))
    series = raw[keep]
    if log:
        if (series <= 0).any():
            raise ValueError("log analysis needs positive values (pass log=False for others)")
        series = np.log(series)
    if series.size < 4:
        return []

    first_pass = min(max_pvalue * first_pass_factor, 0.5) if max_pvalue < 0.5 else max_pvalue
    weak = _split(series, window, first_pass)
    kept = _merge(series, weak, max_pvalue, min_magnitude, log, min_segment, correct_for_selection)

    points = []
    for test in kept:
        before, after = (
            (math.exp(test.mean_left), math.exp(test.mean_right)) if log else (test.mean_left, test.mean_right)
        )
        relative = after / before - 1.0 if before != 0 else math.inf
        original = int(keep[test.index])
        points.append(
            ChangePoint(
                index=original,
                commit=None if commits is None else str(commits[original]),
                before_mean=before,
                after_mean=after,
                relative_change=relative,
                p_value=test.p_value,
            )
        )
    return points


# -- split: E-divisive in sliding windows -------------------------------------


def _split(series: np.ndarray, window: int, max_pvalue: float) -> list[int]:
    """Weak change points: the union of E-divisive's significant splits over sliding windows."""
    found: set[int] = set()
    step = max(window // 2, 1)
    start = 0
    size = series.size
    while start < size:
        end = min(start + window, size)
        local = _divisive(series[start:end], max_pvalue)
        found.update(start + index for index in local)
        last = start + local[-1] if local else 0
        start = max(last, start + step)
    return sorted(found)


def _divisive(segment: np.ndarray, max_pvalue: float) -> list[int]:
    """E-divisive within one window: split while the best candidate passes the t-test."""
    length = segment.size
    if length < 3:
        return []
    distances = np.abs(segment[:, None] - segment[None, :])
    prefix = np.zeros((length + 1, length + 1))
    prefix[1:, 1:] = distances.cumsum(axis=0).cumsum(axis=1)
    sums = np.concatenate(([0.0], np.cumsum(segment)))
    squares = np.concatenate(([0.0], np.cumsum(segment * segment)))
    cuts: list[int] = []
    cache: dict[tuple[int, int], tuple[float, int]] = {}
    while True:
        bounds = [0, *cuts, length]
        best: tuple[float, int, int, int] | None = None  # (qhat, tau, left, right)
        for left, right in itertools.pairwise(bounds):
            if right - left < 2:
                continue
            key = (left, right)
            if key not in cache:
                cache[key] = _best_split(prefix, left, right)
            qhat, tau = cache[key]
            if best is None or qhat > best[0]:
                best = (qhat, tau, left, right)
        if best is None:
            return cuts
        _, tau, left, right = best
        if _t_test_from_sums(sums, squares, left, tau, right).p_value > max_pvalue:
            return cuts
        cuts = sorted([*cuts, tau])


@lru_cache(maxsize=512)
def _coefficients(length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights of Q's three sums for an interval of ``length`` points (rows tau-a = 1.., columns kappa-a = 2..).

    Invalid cells (kappa <= tau) get -inf in the returned mask so they never win.
    """
    n = np.arange(1, length, dtype=np.float64)[:, None]
    m = np.arange(2, length + 1, dtype=np.float64)[None, :] - n
    total = n + m
    with np.errstate(divide="ignore", invalid="ignore"):
        between = 2.0 / total
        x_weight = np.where(n > 1, 2.0 * m / (total * (n - 1.0)), 0.0) / 2.0  # /2: block sums count pairs twice
        y_weight = np.where(m > 1, 2.0 * n / (total * (m - 1.0)), 0.0) / 2.0
    invalid = np.where(m >= 1, 0.0, -np.inf)
    for array in (between, x_weight, y_weight, invalid):
        array.flags.writeable = False
    return between, x_weight, y_weight, invalid


def _best_split(prefix: np.ndarray, a: int, b: int) -> tuple[float, int]:
    """max over (tau, kappa) of Q(X = z[a:tau], Y = z[tau:kappa]), a < tau < kappa <= b; returns (Q, tau).

    ``prefix[i, j]`` is the sum of |z_r - z_c| over r < i, c < j, so every
    block sum is four lookups; rows are tau = a+1..b-1, columns kappa = a+2..b.
    """
    between_w, x_w, y_w, invalid = _coefficients(b - a)
    diagonal = np.diagonal(prefix)
    p_tk = prefix[a + 1 : b, a + 2 : b + 1]  # P[tau, kappa]
    p_at = prefix[a, a + 1 : b]  # P[a, tau]
    d_tau = diagonal[a + 1 : b]
    row = (p_at - d_tau)[:, None]  # terms that depend on tau only
    # between = P[tau,kappa] - P[a,kappa] - P[tau,tau] + P[a,tau]
    between = p_tk - prefix[a, a + 2 : b + 1][None, :] + row
    # 2 * within_x = P[tau,tau] - 2 P[a,tau] + P[a,a];  2 * within_y = P[kappa,kappa] - 2 P[tau,kappa] + P[tau,tau]
    within_x = (d_tau - 2.0 * p_at + prefix[a, a])[:, None]
    within_y = diagonal[a + 2 : b + 1][None, :] - 2.0 * p_tk + d_tau[:, None]
    q = between_w * between - x_w * within_x - y_w * within_y + invalid
    flat = int(np.argmax(q))
    return float(q.flat[flat]), a + 1 + flat // q.shape[1]


# -- merge: prune weak change points -----------------------------------------


def _merge(
    series: np.ndarray,
    weak: list[int],
    max_pvalue: float,
    min_magnitude: float,
    log: bool,
    min_segment: int = 1,
    correct_for_selection: bool = False,
) -> list[_Segments]:
    """Drop the weakest change point until all pass the segment-length, p-value and magnitude thresholds."""
    prefix = np.concatenate(([0.0], np.cumsum(series)))
    prefix_sq = np.concatenate(([0.0], np.cumsum(series * series)))
    points = list(weak)

    def test(position: int) -> _Segments:
        left = points[position - 1] if position > 0 else 0
        right = points[position + 1] if position + 1 < len(points) else series.size
        result = _t_test_from_sums(prefix, prefix_sq, left, points[position], right)
        if correct_for_selection:
            # The split was chosen as the best of (right - left - 1) positions: Bonferroni over them.
            adjusted = min(1.0, result.p_value * max(right - left - 1, 1))
            result = _Segments(result.index, adjusted, result.mean_left, result.mean_right)
        return result

    def shortest_side(position: int) -> int:
        left = points[position - 1] if position > 0 else 0
        right = points[position + 1] if position + 1 < len(points) else series.size
        return min(points[position] - left, right - points[position])

    tests = [test(position) for position in range(len(points))]
    while tests:
        short = [i for i in range(len(tests)) if shortest_side(i) < min_segment]
        if short:
            # A blip of a few commits (or a lone outlier) is bracketed by two candidates: drop the weaker.
            worst = max(short, key=lambda i: (tests[i].p_value, -i))
        else:
            worst = max(range(len(tests)), key=lambda i: (tests[i].p_value, -i))
            if tests[worst].p_value <= max_pvalue:
                worst = min(range(len(tests)), key=lambda i: (_magnitude(tests[i], log), i))
                if _magnitude(tests[worst], log) >= min_magnitude:
                    break
        del points[worst], tests[worst]
        for position in (worst - 1, worst):
            if 0 <= position < len(points):
                tests[position] = test(position)
    return tests


def _magnitude(test: _Segments, log: bool) -> float:
    if log:
        return math.expm1(abs(test.mean_right - test.mean_left))
    if test.mean_left == 0 or test.mean_right == 0:
        return math.inf if test.mean_left != test.mean_right else 0.0
    ratio = test.mean_right / test.mean_left
    return max(abs(ratio - 1.0), abs(1.0 / ratio - 1.0))


def _t_test_from_sums(prefix: np.ndarray, prefix_sq: np.ndarray, a: int, tau: int, b: int) -> _Segments:
    n1, n2 = tau - a, b - tau
    s1, s2 = prefix[tau] - prefix[a], prefix[b] - prefix[tau]
    q1, q2 = prefix_sq[tau] - prefix_sq[a], prefix_sq[b] - prefix_sq[tau]
    mean1, mean2 = s1 / n1, s2 / n2
    ss1, ss2 = max(q1 - s1 * mean1, 0.0), max(q2 - s2 * mean2, 0.0)
    return _Segments(index=tau, p_value=_student_p(n1, n2, mean1, mean2, ss1, ss2), mean_left=mean1, mean_right=mean2)


def _student_p(n1: int, n2: int, mean1: float, mean2: float, ss1: float, ss2: float) -> float:
    """Two-sided pooled-variance Student t-test from counts, means and sums of squared deviations."""
    df = n1 + n2 - 2
    if df < 1:
        return 1.0
    difference = abs(mean2 - mean1)
    # Sums of squares below rounding noise of the means count as zero spread.
    scale = max(abs(mean1), abs(mean2), 1.0)
    pooled = (ss1 + ss2) / df
    if pooled <= (1e-12 * scale) ** 2:
        return 0.0 if difference > 1e-12 * scale else 1.0
    t = difference / math.sqrt(pooled * (1.0 / n1 + 1.0 / n2))
    # Imported here: the trend report imports ChangePoint and must start fast.
    from scipy.special import stdtr

    return float(2.0 * stdtr(df, -t))
