"""The head/base ratio adjusted for machine speed: an ANCOVA on log per-run statistics.

Shared VMs switch between CPU speed states for seconds at a time (see
:mod:`benchwatch.runner.canary`): on our 2-vCPU runner pure-Python code ran
1.4-1.9x slower in the slow state, and in bad hours half the runs of a side
fell into it.  Every run records the canary's timing right before and after
its measurement, so each run i has a covariate c_i = mean log canary time.

Model, per benchmark and metric, over the runs of both sides::

    x_i = a + delta * head_i + beta * (c_i - mean(c)) + e_i,   e_i ~ N(0, sigma^2)

where x_i is the log per-run statistic.  ``delta`` is the log ratio
head/base at equal machine speed; ``beta`` is how strongly this benchmark
follows the machine's speed (about 1 for interpreter-bound code, near 0 for
code that waits in C or on memory), fitted per benchmark.  This is the
textbook analysis of covariance with a concomitant variable the treatment
cannot affect: the canary is benchwatch's own fixed code, identical on both
sides, so its timings carry no trace of the code under test, and the test of
``delta`` keeps its level under the model whatever the machine did.
Degrees of freedom: runs - 3 (runs - 2 when the canary did not vary or
there are fewer than five runs, then the covariate is dropped).  The residual variance can be moderated across
the suite (:mod:`benchwatch.stats.moderated`), then the degrees of freedom
are d0 + runs - 3.

What it assumes and does not claim: log time is linear in log canary time
within the range the runs cover (two states and a line through them fit
that); the residual spread is the same on both sides; runs are independent.
When one side ran only in one state and the other only in another, delta and
beta cannot be told apart and the fit extrapolates: compare() therefore uses
this model only where the two sides' machine speeds overlap (interleaved or
randomised runs, :mod:`benchwatch.stats.speed`), and calls latency "not
comparable" otherwise.  Runs whose canary changed by more than 12% between
before and after (the state switched mid-measurement) have no usable
covariate and are left out while two steady runs remain
(:func:`steady_covariates`); that rule reads only the canary, never the
benchmark's timings.  No run is dropped for being slow (an earlier version
dropped runs far slower than the fit and refitted; whether it stays is
judged by the ablation in docs/statistics.md; :func:`slow_residual_runs`).

Everything here is a function of arrays, vectorised over rows (benchmark x
metric): runs are NaN-padded into ``(rows, runs)`` matrices.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchwatch.stats.moderated import VariancePrior, moderate
from benchwatch.stats.runlevel import MAD_TO_SD, WelchResult, pad_rows

#: A run whose canary before and after differ by more than this (log) changed
#: machine state while it was measured (the value CompareRules.unstable_canary
#: ships with).
UNSTABLE_CANARY_LOG = math.log(1.12)
#: Canary covariates spread less than this (log sd) carry no information:
#: the covariate is dropped from the model.
MIN_COVARIATE_SPREAD = 1e-9
#: The covariate is fitted only with at least this many runs (two for the
#: side means, one for the slope, two for the residual variance).
MIN_RUNS_FOR_SLOPE = 5


def steady_covariates(
    canary_logs: np.ndarray, *, unstable_log: float = UNSTABLE_CANARY_LOG, min_runs: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Which runs to fit, and each run's covariate (mean log canary time).

    ``canary_logs`` is ``(runs, timings)``, NaN where a run has no canary.
    Runs whose timings spread more than ``unstable_log`` are left out when at
    least ``min_runs`` steady runs remain; otherwise every run is kept with
    the mean of its timings as covariate.  That covariate is noisier, which
    only costs precision: the canary is independent of the code under test,
    so an error in it cannot bias the test of the side effect, and code that
    does not follow the canary (C-heavy benchmarks, whose runs on our runner
    were often all "unsteady") keeps all its runs.  Runs without any canary
    get the median covariate of the others.
    """
    logs = np.asarray(canary_logs, dtype=np.float64).reshape(len(canary_logs), -1)
    known = np.all(np.isfinite(logs), axis=1) & (logs.shape[1] > 0)
    means = np.full(len(logs), np.nan)
    if known.any():
        means[known] = logs[known].mean(axis=1)
    spread = np.zeros(len(logs))
    if known.any():
        spread[known] = logs[known].max(axis=1) - logs[known].min(axis=1)
    steady = known & (spread <= unstable_log)
    keep = steady if steady.sum() >= min_runs else np.ones(len(logs), dtype=bool)
    fill = float(np.median(means[known])) if known.any() else 0.0
    return keep, np.where(known, means, fill)


def steady_covariates_grouped(
    canary_logs: np.ndarray, sizes: np.ndarray, *, unstable_log: float = UNSTABLE_CANARY_LOG, min_runs: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`steady_covariates` of consecutive groups of runs (``sizes`` runs each) at once, per run."""
    logs = np.asarray(canary_logs, dtype=np.float64).reshape(len(canary_logs), -1)
    sizes = np.asarray(sizes, dtype=np.int64)
    group = np.repeat(np.arange(sizes.size), sizes)
    known = np.all(np.isfinite(logs), axis=1) & (logs.shape[1] > 0)
    means = np.full(len(logs), np.nan)
    spread = np.zeros(len(logs))
    if known.any():
        means[known] = logs[known].mean(axis=1)
        spread[known] = logs[known].max(axis=1) - logs[known].min(axis=1)
    steady = known & (spread <= unstable_log)
    enough = np.bincount(group, weights=steady, minlength=sizes.size) >= min_runs
    keep = np.where(enough[group], steady, True)
    covariate = means.copy()
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) if sizes.size else sizes
    for g in np.unique(group[~known]).tolist():  # rare: runs without a canary get their group's median
        rows = slice(int(starts[g]), int(starts[g] + sizes[g]))
        known_here = known[rows]
        fill = float(np.median(means[rows][known_here])) if known_here.any() else 0.0
        covariate[rows] = np.where(known_here, means[rows], fill)
    return keep, covariate


@dataclass(frozen=True)
class CovariateFits:
    """Least-squares fits, one entry per row (benchmark x metric)."""

    estimate: np.ndarray  # delta
    scale: np.ndarray  # sqrt([(X'X)^-1]_delta): standard error = scale * sigma
    residual_variance: np.ndarray
    df: np.ndarray
    slope: np.ndarray  # beta, NaN when the covariate was dropped
    n_base: np.ndarray
    n_head: np.ndarray


def _side_moments(
    values: np.ndarray, covariate: np.ndarray, weight: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Per row: run count, (weighted) means of x and c, within-side centred sums, and the sum of weights."""
    present = np.isfinite(values) & np.isfinite(covariate)
    count = present.sum(axis=1)
    w = np.where(present, 1.0 if weight is None else weight, 0.0)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = np.where(present, values * w, 0.0).sum(axis=1) / total
        mean_c = np.where(present, covariate * w, 0.0).sum(axis=1) / total
        dx = np.where(present, values - mean_x[:, None], 0.0)
        dc = np.where(present, covariate - mean_c[:, None], 0.0)
    sums = (w * dx * dx).sum(axis=1), (w * dc * dc).sum(axis=1), (w * dx * dc).sum(axis=1)
    return count, mean_x, mean_c, *sums, total


def fit_rows(
    base_logs: Sequence[np.ndarray] | np.ndarray,
    head_logs: Sequence[np.ndarray] | np.ndarray,
    base_covariates: Sequence[np.ndarray] | np.ndarray,
    head_covariates: Sequence[np.ndarray] | np.ndarray,
    *,
    one_sided: bool = False,
    spread_growth: float = 0.0,
) -> CovariateFits:
    """Fit the model of the module doc to each row; rows that cannot be fitted get NaN.

    ``one_sided``: the covariate can only add time (a run's CPU wait), so a
    row whose fitted slope is negative is fitted without it (the slope is
    constrained to >= 0, and at the boundary the covariate drops out).
    ``spread_growth`` k > 0: a run's residual variance grows with its
    covariate, sigma^2 (1 + k c^2) (how far a contended run lands from the
    line varies with how long it waited), so the fit is weighted least squares
    with weights 1 / (1 + k c^2) and the formulas below use weighted sums.

    Each argument is a list of 1-D arrays (one per row) or a NaN-padded 2-D
    array; ``*_logs[k]`` and ``*_covariates[k]`` pair up run by run.  A row
    needs at least two runs on each side and one residual degree of freedom.
    Closed form: with side means and within-side sums S_cc, S_xc, S_xx,
    beta = S_xc / S_cc, delta = (x1 - x0) - beta (c1 - c0), and
    var(delta) = sigma^2 (1/n0 + 1/n1 + (c1 - c0)^2 / S_cc).
    """
    b, h = _matrix(base_logs), _matrix(head_logs)
    bc, hc = _matrix(base_covariates), _matrix(head_covariates)
    weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    if spread_growth > 0:
        weights = (1.0 / (1.0 + spread_growth * bc**2), 1.0 / (1.0 + spread_growth * hc**2))
    n0, x0, c0, sxx0, scc0, sxc0, w0 = _side_moments(b, bc, weights[0])
    n1, x1, c1, sxx1, scc1, sxc1, w1 = _side_moments(h, hc, weights[1])
    n = n0 + n1
    sxx, scc, sxc = sxx0 + sxx1, scc0 + scc1, sxc0 + sxc1
    with np.errstate(invalid="ignore", divide="ignore"):
        all_c = np.concatenate([np.where(np.isfinite(b), bc, np.nan), np.where(np.isfinite(h), hc, np.nan)], axis=1)
        spread = np.nanstd(all_c, axis=1) if all_c.shape[1] else np.zeros(len(n))
        with_covariate = (spread > MIN_COVARIATE_SPREAD) & (n >= MIN_RUNS_FOR_SLOPE) & (scc > 0)
        if one_sided:
            with_covariate &= sxc > 0
        slope = np.where(with_covariate, sxc / scc, 0.0)
        estimate = (x1 - x0) - slope * (c1 - c0)
        rss = np.maximum(sxx - slope * sxc, 0.0)
        df = (n - np.where(with_covariate, 3, 2)).astype(np.float64)
        scale2 = 1.0 / w0 + 1.0 / w1 + np.where(with_covariate, (c1 - c0) ** 2 / scc, 0.0)
        variance = rss / df
    usable = (n0 >= 2) & (n1 >= 2) & (df >= 1)
    nan = np.full(len(n), np.nan)
    return CovariateFits(
        estimate=np.where(usable, estimate, nan),
        scale=np.where(usable, np.sqrt(scale2), nan),
        residual_variance=np.where(usable, variance, nan),
        df=np.where(usable, df, nan),
        slope=np.where(usable & with_covariate, slope, nan),
        n_base=n0.astype(np.int64),
        n_head=n1.astype(np.int64),
    )


def _matrix(rows: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        return rows.astype(np.float64, copy=False)
    return pad_rows([np.asarray(row, dtype=np.float64) for row in rows])


def _t_quantiles(p: float, df: np.ndarray) -> np.ndarray:
    """The t quantile ``p`` once per distinct df (moderated rows of a metric share theirs)."""
    from scipy.special import stdtrit  # lazily: scipy's start-up is paid by comparisons only

    df = np.asarray(df, dtype=np.float64)
    out = np.full(df.shape, np.nan)
    finite = np.isfinite(df) | (df == np.inf)
    if finite.any():
        unique, inverse = np.unique(df[finite], return_inverse=True)
        out[finite] = np.asarray(stdtrit(unique, p), dtype=np.float64).reshape(-1)[inverse]
    return out


def covariate_log_ratio(
    fits: CovariateFits, confidence: float = 0.95, priors: Sequence[VariancePrior | None] | None = None
) -> WelchResult:
    """Intervals and two-sided p-values for delta, with optionally moderated residual variances.

    Returned in the same shape as :func:`benchwatch.stats.runlevel.welch_log_ratio`
    so that verdicts and reports treat both alike.
    """
    from scipy.special import stdtr

    variance, df = fits.residual_variance.copy(), fits.df.copy()
    if priors is not None:
        by_prior: dict[VariancePrior, list[int]] = defaultdict(list)
        for row, prior in enumerate(priors):
            if prior is not None and np.isfinite(df[row]):
                by_prior[prior].append(row)
        for prior, rows in by_prior.items():
            index = np.asarray(rows)
            variance[index], df[index] = moderate(variance[index], df[index], prior)
    with np.errstate(invalid="ignore", divide="ignore"):
        std_error = fits.scale * np.sqrt(variance)
        t_stat = fits.estimate / std_error
        p_value = 2.0 * np.asarray(stdtr(df, -np.abs(t_stat)), dtype=np.float64)
        half_width = _t_quantiles(0.5 + confidence / 2.0, df) * std_error
    degenerate = (std_error == 0) & np.isfinite(fits.estimate)
    if degenerate.any():
        p_value = np.where(degenerate, np.where(fits.estimate == 0, 1.0, 0.0), p_value)
        half_width = np.where(degenerate, 0.0, half_width)
    return WelchResult(
        estimate=fits.estimate,
        ci_low=fits.estimate - half_width,
        ci_high=fits.estimate + half_width,
        p_value=p_value,
        df=df,
        std_error=std_error,
        n_base=fits.n_base,
        n_head=fits.n_head,
    )


#: Defaults of :func:`slow_residual_runs` (CompareRules.slow_residual_mads / _floor).
SLOW_RESIDUAL_MADS = 3.0
SLOW_RESIDUAL_FLOOR = 0.05


def slow_residual_runs(
    base: np.ndarray,
    head: np.ndarray,
    base_covariates: np.ndarray | None = None,
    head_covariates: np.ndarray | None = None,
    *,
    mads: float = SLOW_RESIDUAL_MADS,
    floor: float = SLOW_RESIDUAL_FLOOR,
    min_runs: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the runs far *slower* than the fit of their row, per side; ``(rows, runs)`` each.

    The residual of a run is its log statistic minus its side's mean and
    (with covariates) the fitted canary term; a run whose residual exceeds
    the row's median residual by more than max(``mads`` robust SDs, ``floor``)
    was slowed by something the canary did not see.  One-sided, because
    contention only slows code down; blind to the side, because the residuals
    come from a fit that already contains the side effect.  A row where a
    side would keep fewer than ``min_runs`` runs loses none.
    """
    bc: np.ndarray = base_covariates if base_covariates is not None else np.zeros_like(base)
    hc: np.ndarray = head_covariates if head_covariates is not None else np.zeros_like(head)
    n0, x0, c0, _, scc0, sxc0, _ = _side_moments(base, bc)
    n1, x1, c1, _, scc1, sxc1, _ = _side_moments(head, hc)
    with np.errstate(invalid="ignore", divide="ignore"):
        scc = scc0 + scc1
        slope = np.where((scc > 0) & (n0 + n1 >= MIN_RUNS_FOR_SLOPE), (sxc0 + sxc1) / scc, 0.0)
        residual_base = base - x0[:, None] - slope[:, None] * (bc - c0[:, None])
        residual_head = head - x1[:, None] - slope[:, None] * (hc - c1[:, None])
        residuals = np.concatenate([residual_base, residual_head], axis=1)
        centre = np.nanmedian(residuals, axis=1) if residuals.shape[1] else np.zeros(len(base))
        spread = MAD_TO_SD * np.nanmedian(np.abs(residuals - centre[:, None]), axis=1)
        limit = centre + np.maximum(mads * spread, floor)
        slow_base = residual_base > limit[:, None]
        slow_head = residual_head > limit[:, None]
    keeps_enough = (n0 - slow_base.sum(axis=1) >= min_runs) & (n1 - slow_head.sum(axis=1) >= min_runs)
    return slow_base & keeps_enough[:, None], slow_head & keeps_enough[:, None]
