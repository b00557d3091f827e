"""Empirical-Bayes moderation of between-run variances across the benchmarks of a comparison.

With five process runs a side, each side's between-run variance (of log
per-run statistics) rests on four degrees of freedom, and after runs are
excluded (preempted, off machine speed) sometimes on one.  The Welch
interval then needs t quantiles of 2-12 and misses real +20% changes.  But a
suite measures many benchmarks on the same machine in the same processes:
their between-run variances are related.  Smyth's moderated t (Smyth 2004,
"Linear models and empirical Bayes methods for assessing differential
expression in microarray experiments", SAGMB 3(1); limma's ``squeezeVar``)
borrows that strength:

* Model: each side's true variance sigma^2 is drawn from a scaled
  inverse-chi-square prior with ``d0`` degrees of freedom and scale ``s0^2``;
  given sigma^2 the sample variance s^2 on ``d`` degrees of freedom is
  sigma^2 chi^2_d / d.  Then s^2 / s0^2 ~ F(d, d0).
* ``d0`` and ``s0^2`` are fitted by the method of moments on log s^2
  (:func:`fit_variance_prior`): the spread of log s^2 beyond what chi^2
  sampling explains measures how different the benchmarks really are.
  Alike benchmarks give a large ``d0`` (strong pooling); very different
  ones a small ``d0`` (little pooling, close to plain Welch).
* The posterior variance is (d0 s0^2 + d s^2) / (d0 + d) on d0 + d degrees
  of freedom (:func:`moderate`).  In the Welch-Satterthwaite formula each
  side counts its own d plus *half* of d0 (:func:`welch_side_df`): both
  sides borrow from the same prior, and counting d0 twice made the test
  reject identical code 5.5-6% of the time at alpha = 5% in our
  simulations; with half each it stays at 4.5-5% when base and head share
  a true variance (the identical-code case).

What it claims: under the model, with base and head sharing a true
variance, the moderated Welch test keeps its nominal level (checked by
simulation in tests/test_moderated.py, with the fit checked against the
priors it was drawn from); when the two sides' variances are drawn
independently and the prior is heavy-tailed (d0 <= 3) the level rises to
about 6%, which is why priors with d0 < ``MIN_PRIOR_DF`` are not used.  In
compare() the verdict rules add BH control, the threshold and the
half-threshold interval rule on top, and the simulated and real A/A
false-regression rates stay far below 1%.  What it does not: the prior is fitted from
*this* comparison's benchmarks, so a suite of one or two benchmarks gets no
moderation (at least ``MIN_ESTIMATES`` side variances are needed), and a
benchmark far noisier than its suite still gets its own large variance,
shrunk only as far as the fitted ``d0`` allows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Fewer side variances than this: no prior is fitted (plain Welch).
MIN_ESTIMATES = 8
#: A fitted prior this weak (benchmarks very unlike each other) is not used:
#: it would barely narrow intervals and its test level is the least exact.
MIN_PRIOR_DF = 4.0


@dataclass(frozen=True)
class VariancePrior:
    """The fitted prior: ``df`` (d0, may be infinite) and ``variance`` (s0^2), from ``estimates`` variances."""

    df: float
    variance: float
    estimates: int

    def to_dict(self) -> dict[str, float | int | None]:
        return {"df": None if math.isinf(self.df) else self.df, "variance": self.variance, "estimates": self.estimates}


def trigamma_inverse(value: float) -> float:
    """y > 0 with trigamma(y) = value (trigamma decreases from +inf to 0 on (0, inf))."""
    from scipy.optimize import brentq
    from scipy.special import polygamma

    if not value > 0:
        raise ValueError(f"trigamma takes only positive values, got {value!r}")
    if value > 1e7:
        return 1.0 / math.sqrt(value)
    if value < 1e-6:
        return 1.0 / value
    return float(brentq(lambda y: float(polygamma(1, y)) - value, 1e-9, 1e9, xtol=1e-12, rtol=1e-12))


def fit_variance_prior(
    variances: np.ndarray, dfs: np.ndarray, *, min_estimates: int = MIN_ESTIMATES, min_prior_df: float = MIN_PRIOR_DF
) -> VariancePrior | None:
    """Fit (d0, s0^2) to sample variances ``variances`` on ``dfs`` degrees of freedom.

    Uses the moments of e = log s^2 - digamma(d/2) + log(d/2): its mean is
    log s0^2 - digamma(d0/2) + log(d0/2) and its variance beyond the
    sampling part mean(trigamma(d/2)) is trigamma(d0/2).  Zero, negative,
    non-finite variances and d < 1 are left out; None when fewer than
    ``min_estimates`` remain or the fitted d0 is below ``min_prior_df``.
    """
    from scipy.special import digamma, polygamma

    variances = np.asarray(variances, dtype=np.float64).ravel()
    dfs = np.asarray(dfs, dtype=np.float64).ravel()
    usable = np.isfinite(variances) & (variances > 0) & np.isfinite(dfs) & (dfs >= 1)
    variances, dfs = variances[usable], dfs[usable]
    if variances.size < min_estimates:
        return None
    half = dfs / 2.0
    # A suite's dfs take a handful of values (runs - 1): each function is evaluated once per distinct value.
    distinct, where = np.unique(half, return_inverse=True)
    e = np.log(variances) - digamma(distinct)[where] + np.log(half)
    e_mean = float(e.mean())
    excess = float(e.var(ddof=1) - polygamma(1, distinct)[where].mean())
    if excess <= 0:
        return VariancePrior(df=math.inf, variance=math.exp(e_mean), estimates=int(variances.size))
    d0 = 2.0 * trigamma_inverse(excess)
    if d0 < min_prior_df:
        return None
    s0_squared = math.exp(e_mean + float(digamma(d0 / 2.0)) - math.log(d0 / 2.0))
    return VariancePrior(df=d0, variance=s0_squared, estimates=int(variances.size))


def moderate(variances: np.ndarray, dfs: np.ndarray, prior: VariancePrior | None) -> tuple[np.ndarray, np.ndarray]:
    """Posterior variances and their degrees of freedom (unchanged without a prior).

    With an infinite ``d0`` every variance becomes s0^2 on infinite degrees
    of freedom.  Entries with d < 1 (a single run) are returned unchanged:
    one run says nothing about its own spread, and compare() keeps such
    benchmarks inconclusive rather than trusting the prior alone.
    """
    variances = np.asarray(variances, dtype=np.float64)
    dfs = np.asarray(dfs, dtype=np.float64)
    if prior is None:
        return variances, dfs
    apply = np.isfinite(dfs) & (dfs >= 1)
    if math.isinf(prior.df):
        posterior = np.where(apply, prior.variance, variances)
        posterior_df = np.where(apply, np.inf, dfs)
        return posterior, posterior_df
    with np.errstate(invalid="ignore"):
        posterior = np.where(apply, (prior.df * prior.variance + dfs * variances) / (prior.df + dfs), variances)
    return posterior, np.where(apply, prior.df + dfs, dfs)


def welch_side_df(dfs: np.ndarray, prior: VariancePrior | None) -> np.ndarray:
    """Degrees of freedom one side brings to the Welch-Satterthwaite formula: its own plus half the prior's."""
    dfs = np.asarray(dfs, dtype=np.float64)
    if prior is None:
        return dfs
    return np.where(np.isfinite(dfs) & (dfs >= 1), dfs + prior.df / 2.0, dfs)
