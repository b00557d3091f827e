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
Degrees of freedom: runs - 3 (runs - 2 when the canary did not vary, then
the covariate is dropped).  The residual variance can be moderated across
the suite (:mod:`benchwatch.stats.moderated`), then the degrees of freedom
are d0 + runs - 3.

What it assumes and does not claim: log time is linear in log canary time
within the range the runs cover (two states and a line through them fit
that); the residual spread is the same on both sides; runs are independent.
When one side ran only in one state and the other only in another, delta and
beta cannot be told apart: the standard error grows and the verdict is
inconclusive rather than wrong.  Runs whose canary changed by more than 12%
between before and after (the state switched mid-measurement) have no
usable covariate and are left out while two steady runs remain
(:func:`keep_runs_with_covariate`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchwatch.model import Run
from benchwatch.stats.distributions import t_ppf, t_sf
from benchwatch.stats.moderated import VariancePrior, moderate
from benchwatch.stats.runlevel import WelchResult
from benchwatch.stats.speed import canary_logs

#: A run whose canary before and after differ by more than this (log) changed
#: machine state while it was measured: its covariate is unknown.
UNSTABLE_CANARY_LOG = math.log(1.12)
#: Canary covariates spread less than this (log sd) carry no information:
#: the covariate is dropped from the model.
MIN_COVARIATE_SPREAD = 1e-9


MIN_RUNS_WITH_COVARIATE = 2


def canary_covariate(run: Run) -> float | None:
    """Mean log canary time around the run, or None without a usable (steady) canary."""
    logs = canary_logs(run)
    if logs is None or logs.max() - logs.min() > UNSTABLE_CANARY_LOG:
        return None
    return float(logs.mean())


def keep_runs_with_covariate(runs: Sequence[Run]) -> tuple[tuple[Run, ...], np.ndarray, int]:
    """The runs to fit, their covariates, and how many runs were left out.

    Runs whose canary moved during the measurement are left out when at
    least two steady runs remain; otherwise every run is kept with the mean
    of its two canary timings as covariate.  That covariate is noisier, which
    only costs precision: the canary is independent of the code under test,
    so an error in it cannot bias the test of the side effect, and code that
    does not follow the canary (C-heavy benchmarks, whose runs on our runner
    were often all "unsteady") keeps all its runs.
    """
    covariates = [canary_covariate(run) for run in runs]
    kept = [(run, value) for run, value in zip(runs, covariates, strict=False) if value is not None]
    if len(kept) >= MIN_RUNS_WITH_COVARIATE:
        return tuple(run for run, _ in kept), np.array([value for _, value in kept]), len(runs) - len(kept)
    means = [None if (logs := canary_logs(run)) is None else float(logs.mean()) for run in runs]
    known = [value for value in means if value is not None]
    fill = float(np.median(known)) if known else 0.0
    return tuple(runs), np.array([fill if value is None else value for value in means]), 0


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


#: A run whose residual is this many robust SDs (MAD x 1.4826) *slower* than
#: the fit, and at least ``SLOW_RESIDUAL_FLOOR`` (log), was slowed by something
#: the canary did not see (a disturbance that came and went within the
#: measurement): it is left out and the row refitted once.  One-sided because
#: contention only ever slows code down; blind to the side, since residuals
#: are taken from the fit that already contains the side effect.
SLOW_RESIDUAL_MADS = 3.0
SLOW_RESIDUAL_FLOOR = 0.05


def _least_squares(x: np.ndarray, head: np.ndarray, covariate: np.ndarray):
    columns = [np.ones(x.size), head]
    centred = covariate - covariate.mean()
    with_covariate = bool(np.std(centred) > MIN_COVARIATE_SPREAD) and x.size >= 5
    if with_covariate:
        columns.append(centred)
    design = np.column_stack(columns)
    gram_inverse = np.linalg.pinv(design.T @ design)
    coefficients = gram_inverse @ design.T @ x
    residual = x - design @ coefficients
    return coefficients, residual, gram_inverse, x.size - design.shape[1], with_covariate


def _slow_outliers(residual: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Mask of runs to keep: all but the far-too-slow ones, at least two per side."""
    scale = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    limit = max(SLOW_RESIDUAL_MADS * scale, SLOW_RESIDUAL_FLOOR)
    keep = residual <= np.median(residual) + limit
    for side in (0.0, 1.0):
        if np.sum(keep & (head == side)) < 2:
            return np.ones(residual.size, dtype=bool)
    return keep


def fit_rows(
    base_logs: Sequence[np.ndarray],
    head_logs: Sequence[np.ndarray],
    base_covariates: Sequence[np.ndarray],
    head_covariates: Sequence[np.ndarray],
) -> CovariateFits:
    """Fit the model of the module doc to each row; rows that cannot be fitted get NaN.

    A row needs at least two runs on each side and one residual degree of
    freedom.  Each ``*_logs[k]`` and ``*_covariates[k]`` pair up run by run.
    Far-too-slow runs (see ``SLOW_RESIDUAL_MADS``) are dropped and the row
    refitted; ``n_base``/``n_head`` count the runs finally used.
    """
    rows = len(base_logs)
    out = {key: np.full(rows, np.nan) for key in ("estimate", "scale", "residual_variance", "df", "slope")}
    n_base = np.array([len(values) for values in base_logs], dtype=np.int64)
    n_head = np.array([len(values) for values in head_logs], dtype=np.int64)
    for row in range(rows):
        if n_base[row] < 2 or n_head[row] < 2:
            continue
        x = np.concatenate([base_logs[row], head_logs[row]])
        head = np.concatenate([np.zeros(n_base[row]), np.ones(n_head[row])])
        covariate = np.concatenate([base_covariates[row], head_covariates[row]])
        fit = _least_squares(x, head, covariate)
        if fit[3] >= 2:
            keep = _slow_outliers(fit[1], head)
            if not keep.all():
                x, head, covariate = x[keep], head[keep], covariate[keep]
                fit = _least_squares(x, head, covariate)
                n_base[row], n_head[row] = int(np.sum(head == 0)), int(np.sum(head == 1))
        coefficients, residual, gram_inverse, df, with_covariate = fit
        if df < 1:
            continue
        out["estimate"][row] = coefficients[1]
        out["scale"][row] = math.sqrt(max(gram_inverse[1, 1], 0.0))
        out["residual_variance"][row] = float(residual @ residual) / df
        out["df"][row] = df
        if with_covariate:
            out["slope"][row] = coefficients[2]
    return CovariateFits(n_base=n_base, n_head=n_head, **out)


def covariate_log_ratio(
    fits: CovariateFits, confidence: float = 0.95, priors: Sequence[VariancePrior | None] | None = None
) -> WelchResult:
    """Intervals and two-sided p-values for delta, with optionally moderated residual variances.

    Returned in the same shape as :func:`benchwatch.stats.runlevel.welch_log_ratio`
    so that verdicts and reports treat both alike.
    """
    variance, df = fits.residual_variance.copy(), fits.df.copy()
    if priors is not None:
        for row, prior in enumerate(priors):
            if prior is not None and np.isfinite(df[row]):
                posterior, posterior_df = moderate(variance[row : row + 1], df[row : row + 1], prior)
                variance[row], df[row] = posterior[0], posterior_df[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        std_error = fits.scale * np.sqrt(variance)
        t_stat = fits.estimate / std_error
        p_value = 2.0 * t_sf(np.abs(t_stat), df)
        half_width = t_ppf(0.5 + confidence / 2.0, df) * std_error
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
