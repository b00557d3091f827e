"""Per-run statistics and the Welch t on log per-run statistics.

Model and assumptions (why the gate is a t on per-run statistics):

* A side (base or head) is a set of process runs of the same code.  Runs are
  *exchangeable* within a side: each is a fresh process measured under the
  same procedure, so their order carries no information.
* For a latency metric m (p50, p95, p99, mean) each run i yields one number
  s_i = statistic_m(samples of run i).  Its logarithm x_i = log(s_i) is
  roughly normal across runs (process-level effects such as memory layout
  and CPU frequency act multiplicatively), with a side-specific variance.
* The samples inside one run are never treated as independent observations:
  they only serve to compute s_i.  On a shared CI machine runs of identical
  code differ by up to +-24% in median, far more than the within-run
  standard error suggests, so any test that pools samples is wildly
  overconfident.

The Welch two-sample t on {x_i} (head vs base) then estimates the log ratio
mean(x_head) - mean(x_base) with an interval whose width honestly reflects
how few runs there are (the t quantile with Welch-Satterthwaite degrees of
freedom grows quickly as runs get scarce).  ``exp`` of the estimate is the
ratio of geometric means of the per-run statistics.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from benchwatch.stats.moderated import VariancePrior, moderate, welch_side_df

#: Column order of :class:`RunTable` statistics.
TABLE_METRICS = ("p50", "p95", "p99", "mean")
_QUANTILES = (0.50, 0.95, 0.99)

#: MAD -> standard deviation factor for normal data (the one definition).
MAD_TO_SD = 1.4826
#: Interquartile range -> standard deviation factor for normal data.
IQR_TO_SD = 1.349

#: A quantile estimate needs this many samples beyond it in the tail per run
#: (p95: 5 / 0.05 = 100 samples; p99: 500) before a per-run quantile is
#: stable enough to gate on; with fewer it is essentially the run's maximum.
TAIL_SAMPLES_NEEDED = 5

# Stacked runs are processed in blocks of at most this many float64 values,
# so a large suite does not need a copy of all samples at once.
_BLOCK_VALUES = 8_000_000


def min_samples_for_quantile(q: float, tail_samples: int = TAIL_SAMPLES_NEEDED) -> int:
    """Samples each run needs for quantile ``q`` to be judged: ceil(tail_samples / (1 - q)).

    Rounded before the ceiling so that floating-point noise does not turn
    100.00000000000004 (q = 0.95) into 101.
    """
    if not 0.0 <= q < 1.0:
        raise ValueError(f"quantile must be in [0, 1), got {q!r}")
    return math.ceil(round(tail_samples / (1.0 - q), 9))


@dataclass(frozen=True)
class RunTable:
    """Per-run statistics of many runs, one row per run.

    ``values[:, j]`` holds the ``TABLE_METRICS[j]`` statistic of each run
    (NaN for a run without samples); ``robust_cv`` is the within-run robust
    coefficient of variation IQR / 1.349 / median (the quartiles come from
    the same partial sort as the quantiles); ``sizes`` the sample
    count of each run.
    """

    values: np.ndarray
    robust_cv: np.ndarray
    sizes: np.ndarray

    def column(self, metric: str) -> np.ndarray:
        return self.values[:, TABLE_METRICS.index(metric)]


def run_table(samples: Sequence[np.ndarray]) -> RunTable:
    """Compute p50/p95/p99/mean and the robust CV of each run, vectorised.

    Runs with the same sample count are stacked into a matrix and reduced
    along axis 1 (``np.quantile`` with the default linear interpolation, the
    same estimator as :meth:`benchwatch.model.Run.statistic`).  Empty runs
    get NaN.
    """
    count = len(samples)
    values = np.full((count, len(TABLE_METRICS)), np.nan)
    robust_cv = np.full(count, np.nan)
    sizes = np.fromiter((np.size(s) for s in samples), dtype=np.int64, count=count)
    groups: dict[int, list[int]] = defaultdict(list)
    for index, size in enumerate(sizes.tolist()):
        if size:
            groups[size].append(index)
    for size, indices in groups.items():
        step = max(1, _BLOCK_VALUES // size)
        for start in range(0, len(indices), step):
            block = indices[start : start + step]
            matrix = np.stack([np.asarray(samples[i], dtype=np.float64) for i in block])
            rows = np.asarray(block)
            values[rows, 3] = matrix.mean(axis=1)
            # one partial sort gives the three quantiles and the quartiles
            quantiles = _partition_quantiles(matrix, (*_QUANTILES, 0.25, 0.75))
            values[rows, 0:3] = quantiles[:3].T
            median, iqr = quantiles[0], quantiles[4] - quantiles[3]
            with np.errstate(divide="ignore", invalid="ignore"):
                robust_cv[rows] = np.where(median > 0, iqr / IQR_TO_SD / median, np.nan)
    return RunTable(values=values, robust_cv=robust_cv, sizes=sizes)


def _partition_quantiles(matrix: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """Row quantiles with numpy's default linear interpolation, by one in-place sort of the rows.

    Equal to ``np.quantile(matrix, quantiles, axis=1)``.  A full sort, not a
    partition around the ten order statistics needed: numpy's vectorised
    sort beat that multi-pivot partition on rows of benchmark samples
    (docs/reliability.md, "Measurements behind design choices").
    Reorders ``matrix`` in place.
    """
    size = matrix.shape[1]
    positions = [(size - 1) * q for q in quantiles]
    lows = [math.floor(p) for p in positions]
    highs = [min(low + 1, size - 1) for low in lows]
    matrix.sort(axis=1)
    out = np.empty((len(quantiles), matrix.shape[0]))
    for index, (position, low, high) in enumerate(zip(positions, lows, highs, strict=True)):
        fraction = position - low
        out[index] = matrix[:, low] + (matrix[:, high] - matrix[:, low]) * fraction
    return out


@dataclass(frozen=True)
class WelchResult:
    """Log-ratio test results, one entry per compared row (from the Welch t here, or in the
    same shape from the speed-adjusted ANCOVA of :mod:`benchwatch.stats.covariate`).

    ``estimate`` = mean(log head) - mean(log base); ``ci_low``/``ci_high``
    its two-sided interval at ``confidence``; ``p_value`` the two-sided
    p-value for H0: no change; ``df`` the Welch-Satterthwaite degrees of
    freedom; ``n_base``/``n_head`` the runs used.  Rows with fewer than two
    runs on a side get NaN everywhere but ``estimate``.
    """

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    df: np.ndarray
    std_error: np.ndarray
    n_base: np.ndarray
    n_head: np.ndarray

    @property
    def ratio(self) -> np.ndarray:
        return np.exp(self.estimate)

    @property
    def ratio_ci(self) -> tuple[np.ndarray, np.ndarray]:
        return np.exp(self.ci_low), np.exp(self.ci_high)


def _as_rows(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array[None, :] if array.ndim == 1 else array


def welch_log_ratio(
    base: np.ndarray,
    head: np.ndarray,
    confidence: float = 0.95,
    priors: Sequence[VariancePrior | None] | None = None,
) -> WelchResult:
    """Welch two-sample t of ``head`` vs ``base``, row by row.

    ``base`` and ``head`` are log per-run statistics: 1-D (one comparison)
    or 2-D ``(rows, runs)`` padded with NaN where a row has fewer runs.  The
    result has one entry per row.  It agrees with
    ``scipy.stats.ttest_ind(head, base, equal_var=False)`` (statistic,
    p-value and ``confidence_interval``) but runs all rows at once.

    When both sides have zero spread the interval collapses to the estimate
    and the p-value is 1 for no difference and 0 otherwise (deterministic
    data); with fewer than two runs on a side everything but the estimate is
    NaN, because the between-run variance cannot be estimated from one run.

    ``priors`` (one per row, or None) moderates each side's variance with
    :func:`benchwatch.stats.moderated.moderate`; each side then brings its own
    degrees of freedom plus half the prior's to the Welch-Satterthwaite
    formula (:func:`benchwatch.stats.moderated.welch_side_df`).
    """
    from scipy.special import stdtr, stdtrit  # lazily: scipy's start-up is paid by comparisons only

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    base_rows, head_rows = _as_rows(base), _as_rows(head)
    if base_rows.shape[0] != head_rows.shape[0]:
        raise ValueError("base and head must have the same number of rows")
    n_base = np.sum(~np.isnan(base_rows), axis=1)
    n_head = np.sum(~np.isnan(head_rows), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), _quiet_nan_warnings():
        mean_base = np.nanmean(base_rows, axis=1) if base_rows.shape[1] else np.full(len(n_base), np.nan)
        mean_head = np.nanmean(head_rows, axis=1) if head_rows.shape[1] else np.full(len(n_head), np.nan)
        var_base = np.where(n_base >= 2, np.nanvar(base_rows, axis=1, ddof=1), np.nan)
        var_head = np.where(n_head >= 2, np.nanvar(head_rows, axis=1, ddof=1), np.nan)
        df_base, df_head = (n_base - 1).astype(np.float64), (n_head - 1).astype(np.float64)
        if priors is not None:
            var_base, df_base, var_head, df_head = _moderated(priors, var_base, df_base, var_head, df_head)
        estimate = mean_head - mean_base
        term_base, term_head = var_base / n_base, var_head / n_head
        se2 = term_base + term_head
        std_error = np.sqrt(se2)
        df = se2**2 / (term_base**2 / df_base + term_head**2 / df_head)
        t_stat = estimate / std_error
        p_value = 2.0 * stdtr(df, -np.abs(t_stat))
        half_width = stdtrit(df, 0.5 + confidence / 2.0) * std_error
    degenerate = (se2 == 0) & (n_base >= 2) & (n_head >= 2)
    if degenerate.any():
        p_value = np.where(degenerate, np.where(estimate == 0, 1.0, 0.0), p_value)
        half_width = np.where(degenerate, 0.0, half_width)
    return WelchResult(
        estimate=estimate,
        ci_low=estimate - half_width,
        ci_high=estimate + half_width,
        p_value=p_value,
        df=df,
        std_error=std_error,
        n_base=n_base,
        n_head=n_head,
    )


def _moderated(
    priors: Sequence[VariancePrior | None],
    var_base: np.ndarray,
    df_base: np.ndarray,
    var_head: np.ndarray,
    df_head: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if len(priors) != len(var_base):
        raise ValueError("one prior (or None) per row is needed")
    var_base, df_base, var_head, df_head = (
        np.array(a, dtype=np.float64) for a in (var_base, df_base, var_head, df_head)
    )
    by_prior: dict[VariancePrior, list[int]] = defaultdict(list)
    for row, prior in enumerate(priors):
        if prior is not None:
            by_prior[prior].append(row)
    for prior, rows in by_prior.items():
        index = np.asarray(rows)
        var_base[index] = moderate(var_base[index], df_base[index], prior)[0]
        var_head[index] = moderate(var_head[index], df_head[index], prior)[0]
        df_base[index] = welch_side_df(df_base[index], prior)
        df_head[index] = welch_side_df(df_head[index], prior)
    return var_base, df_base, var_head, df_head


class _quiet_nan_warnings:
    """Silence numpy's RuntimeWarnings for all-NaN rows (their result is NaN by design)."""

    def __enter__(self) -> None:
        import warnings

        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._context.__exit__(kind, error, traceback)


def pad_rows(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Stack 1-D arrays of unequal length into a NaN-padded 2-D array."""
    width = max((len(row) for row in rows), default=0)
    out = np.full((len(rows), width), np.nan)
    for index, row in enumerate(rows):
        out[index, : len(row)] = row
    return out
