"""The log-ratio test of every benchmark x latency metric of a comparison, in one place.

Two tests, chosen per comparison:

* with machine-speed canaries on every run of both sides: the ANCOVA of
  :mod:`benchwatch.stats.covariate` (log per-run statistic on side and log
  canary time);
* otherwise: the Welch t on log per-run statistics of
  :mod:`benchwatch.stats.runlevel`.

Either way the residual (ANCOVA) or per-side (Welch) variances can be
moderated across the suite, one empirical-Bayes prior per metric
(:mod:`benchwatch.stats.moderated`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from benchwatch.stats.covariate import covariate_log_ratio, fit_rows
from benchwatch.stats.moderated import VariancePrior, fit_variance_prior
from benchwatch.stats.runlevel import WelchResult, pad_rows, welch_log_ratio

METHOD_WELCH = "welch"
METHOD_SPEED_ADJUSTED = "speed-adjusted"


@dataclass(frozen=True)
class LatencyTests:
    """Results per row, the method used and the fitted prior of each metric."""

    result: WelchResult
    method: str
    priors: dict[str, VariancePrior]


def _fit_priors(metrics: Sequence[str], variances: np.ndarray, dfs: np.ndarray) -> dict[str, VariancePrior]:
    priors = {}
    for metric in dict.fromkeys(metrics):
        rows = np.array([row_metric == metric for row_metric in metrics])
        prior = fit_variance_prior(variances[rows], dfs[rows])
        if prior is not None:
            priors[metric] = prior
    return priors


def _side_variances(metrics: Sequence[str], base_logs: Sequence[np.ndarray], head_logs: Sequence[np.ndarray]):
    names, variances, dfs = [], [], []
    for metric, base, head in zip(metrics, base_logs, head_logs, strict=False):
        for logs in (base, head):
            if logs.size >= 2:
                names.append(metric)
                variances.append(float(np.var(logs, ddof=1)))
                dfs.append(logs.size - 1.0)
    return names, np.asarray(variances), np.asarray(dfs)


def log_ratio_tests(
    *,
    metrics: Sequence[str],
    base_logs: Sequence[np.ndarray],
    head_logs: Sequence[np.ndarray],
    base_covariates: Sequence[np.ndarray] | None,
    head_covariates: Sequence[np.ndarray] | None,
    confidence: float,
    moderate: bool,
) -> LatencyTests:
    """Test every row (``metrics[k]`` names row k's metric); covariates given means the ANCOVA."""
    if base_covariates is not None and head_covariates is not None:
        fits = fit_rows(base_logs, head_logs, base_covariates, head_covariates)
        priors = _fit_priors(metrics, fits.residual_variance, fits.df) if moderate else {}
        result = covariate_log_ratio(fits, confidence, [priors.get(metric) for metric in metrics])
        return LatencyTests(result=result, method=METHOD_SPEED_ADJUSTED, priors=priors)
    priors = _fit_priors(*_side_variances(metrics, base_logs, head_logs)) if moderate else {}
    result = welch_log_ratio(
        pad_rows(base_logs), pad_rows(head_logs), confidence, priors=[priors.get(metric) for metric in metrics]
    )
    return LatencyTests(result=result, method=METHOD_WELCH, priors=priors)
