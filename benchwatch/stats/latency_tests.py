"""The log-ratio test of every benchmark x latency metric of a comparison, in one place.

Two tests, chosen per comparison by the comparator's latency strategy:

* where the sides shared a machine speed and every run has benchwatch's
  canary: the ANCOVA of :mod:`benchwatch.stats.covariate` (log per-run
  statistic on side and log canary time);
* where runs waited for a CPU (contention that comes and goes): the same
  ANCOVA with each run's CPU-wait time as covariate, its slope one-sided;
* otherwise: the Welch t on log per-run statistics of
  :mod:`benchwatch.stats.runlevel`.

Either way the residual (ANCOVA) or per-side (Welch) variances can be
moderated across the suite, one empirical-Bayes prior per metric
(:mod:`benchwatch.stats.moderated`).  Inputs are NaN-padded ``(rows, runs)``
matrices of log per-run statistics (and covariates); ``metrics[k]`` names
row k's metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchwatch.stats.covariate import covariate_log_ratio, fit_rows
from benchwatch.stats.moderated import MIN_ESTIMATES, MIN_PRIOR_DF, VariancePrior, fit_variance_prior
from benchwatch.stats.runlevel import WelchResult, welch_log_ratio

METHOD_WELCH = "welch"
METHOD_SPEED_ADJUSTED = "speed-adjusted"
METHOD_CONTENTION_ADJUSTED = "contention-adjusted"


@dataclass(frozen=True)
class LatencyTests:
    """Results per row, the method used, the fitted prior of each metric, and the ANCOVA slopes (or None)."""

    result: WelchResult
    method: str
    priors: dict[str, VariancePrior]
    slope: np.ndarray | None = None


def _fit_priors(
    metrics: np.ndarray, variances: np.ndarray, dfs: np.ndarray, min_estimates: int, min_prior_df: float
) -> dict[str, VariancePrior]:
    priors = {}
    for metric in dict.fromkeys(metrics.tolist()):
        rows = metrics == metric
        prior = fit_variance_prior(variances[rows], dfs[rows], min_estimates=min_estimates, min_prior_df=min_prior_df)
        if prior is not None:
            priors[metric] = prior
    return priors


def _side_variances(metrics: np.ndarray, *sides: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each side's between-run variance (ddof 1) and its df, with the row's metric, where a side has >= 2 runs."""
    names, variances, dfs = [], [], []
    for logs in sides:
        count = np.sum(np.isfinite(logs), axis=1)
        usable = count >= 2
        if not usable.any():
            continue
        names.append(metrics[usable])
        variances.append(np.nanvar(logs[usable], axis=1, ddof=1))
        dfs.append(count[usable] - 1.0)
    if not names:
        return np.empty(0, dtype=object), np.empty(0), np.empty(0)
    return np.concatenate(names), np.concatenate(variances), np.concatenate(dfs)


def log_ratio_tests(
    *,
    metrics: Sequence[str],
    base_logs: np.ndarray,
    head_logs: np.ndarray,
    base_covariates: np.ndarray | None,
    head_covariates: np.ndarray | None,
    confidence: float,
    moderate: bool,
    min_estimates: int = MIN_ESTIMATES,
    min_prior_df: float = MIN_PRIOR_DF,
    method: str = METHOD_SPEED_ADJUSTED,
    spread_growth: float = 0.0,
) -> LatencyTests:
    """Test every row; covariates given means the ANCOVA (see the module doc).

    ``method`` names the covariate: the canary (speed-adjusted) or the run's
    CPU wait (contention-adjusted, whose slope is one-sided: waiting only adds time).
    """
    names = np.asarray(metrics, dtype=object)
    if base_covariates is not None and head_covariates is not None:
        one_sided = method == METHOD_CONTENTION_ADJUSTED
        fits = fit_rows(
            base_logs,
            head_logs,
            base_covariates,
            head_covariates,
            one_sided=one_sided,
            spread_growth=spread_growth if one_sided else 0.0,
        )
        priors = _fit_priors(names, fits.residual_variance, fits.df, min_estimates, min_prior_df) if moderate else {}
        result = covariate_log_ratio(fits, confidence, [priors.get(metric) for metric in metrics])
        return LatencyTests(result=result, method=method, priors=priors, slope=fits.slope)
    priors = _fit_priors(*_side_variances(names, base_logs, head_logs), min_estimates, min_prior_df) if moderate else {}
    result = welch_log_ratio(base_logs, head_logs, confidence, priors=[priors.get(metric) for metric in metrics])
    return LatencyTests(result=result, method=METHOD_WELCH, priors=priors)
