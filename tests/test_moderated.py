"""Empirical-Bayes variance moderation: against theory, scipy and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special
from scipy import stats as scipy_stats

from benchwatch.compare import CompareSettings, compare
from benchwatch.model import BenchmarkResult, Environment, ResultSet, Run
from benchwatch.stats.moderated import (
    MIN_ESTIMATES,
    VariancePrior,
    fit_variance_prior,
    moderate,
    trigamma_inverse,
)
from benchwatch.stats.runlevel import welch_log_ratio


@pytest.mark.parametrize("value", [1e-5, 0.01, 0.3, 1.0, 4.0, 100.0, 1e5])
def test_trigamma_inverse_inverts_scipy_polygamma(value):
    assert special.polygamma(1, trigamma_inverse(value)) == pytest.approx(value, rel=1e-6)


def test_trigamma_inverse_rejects_non_positive_values():
    with pytest.raises(ValueError):
        trigamma_inverse(0.0)


def draw_from_prior(rng, count, d0, s0_squared, d):
    """Sample variances on ``d`` df whose true variances follow the scaled inverse chi-square prior."""
    true = d0 * s0_squared / rng.chisquare(d0, count) if math.isfinite(d0) else np.full(count, s0_squared)
    return true, true * rng.chisquare(d, count) / d


@pytest.mark.parametrize("d0, s0_squared", [(5.0, 0.01), (12.0, 0.0004), (40.0, 0.002)])
def test_fit_recovers_the_prior_it_was_drawn_from(d0, s0_squared):
    rng = np.random.default_rng(1)
    _, sample = draw_from_prior(rng, 20_000, d0, s0_squared, d=4)
    prior = fit_variance_prior(sample, np.full(sample.size, 4.0))
    assert prior is not None and prior.estimates == sample.size
    assert prior.df == pytest.approx(d0, rel=0.25)
    assert prior.variance == pytest.approx(s0_squared, rel=0.05)


def test_equal_true_variances_give_an_infinite_or_huge_prior_df():
    rng = np.random.default_rng(2)
    _, sample = draw_from_prior(rng, 20_000, math.inf, 0.01, d=4)
    prior = fit_variance_prior(sample, np.full(sample.size, 4.0))
    assert prior.df > 200 and prior.variance == pytest.approx(0.01, rel=0.03)


def test_no_prior_from_too_few_or_unusable_variances():
    assert fit_variance_prior(np.full(MIN_ESTIMATES - 1, 0.01), np.full(MIN_ESTIMATES - 1, 4.0)) is None
    junk = np.array([0.0, np.nan, -1.0, np.inf] * 4)
    assert fit_variance_prior(junk, np.full(junk.size, 4.0)) is None
    assert fit_variance_prior(np.full(20, 0.01), np.zeros(20)) is None  # single runs say nothing


def test_posterior_is_the_df_weighted_mean():
    prior = VariancePrior(df=6.0, variance=0.01, estimates=30)
    posterior, df = moderate(np.array([0.04, 0.0025]), np.array([2.0, 4.0]), prior)
    assert posterior == pytest.approx([(6 * 0.01 + 2 * 0.04) / 8, (6 * 0.01 + 4 * 0.0025) / 10])
    assert df.tolist() == [8.0, 10.0]
    infinite = VariancePrior(df=math.inf, variance=0.01, estimates=30)
    posterior, df = moderate(np.array([0.04, 0.5]), np.array([4.0, 0.0]), infinite)
    assert posterior.tolist() == [0.01, 0.5] and df.tolist() == [math.inf, 0.0]  # a single run stays as it is


def test_a_negligible_prior_is_plain_welch_as_scipy_computes_it():
    rng = np.random.default_rng(3)
    base, head = rng.normal(0.0, 0.05, 5), rng.normal(0.1, 0.08, 4)
    weak = VariancePrior(df=1e-9, variance=0.01, estimates=30)
    result = welch_log_ratio(base, head, priors=[weak])
    reference = scipy_stats.ttest_ind(head, base, equal_var=False)
    assert result.p_value[0] == pytest.approx(reference.pvalue, rel=1e-6)
    low, high = reference.confidence_interval(0.95)
    assert (result.ci_low[0], result.ci_high[0]) == pytest.approx((low, high), rel=1e-6)


def test_an_infinite_prior_df_is_a_z_test_with_the_prior_variance():
    base, head = np.array([0.0, 0.02, -0.01, 0.01]), np.array([0.1, 0.12, 0.09])
    prior = VariancePrior(df=math.inf, variance=0.0009, estimates=30)
    result = welch_log_ratio(base, head, priors=[prior])
    se = math.sqrt(0.0009 / 4 + 0.0009 / 3)
    z = (head.mean() - base.mean()) / se
    assert result.std_error[0] == pytest.approx(se)
    assert result.p_value[0] == pytest.approx(2 * scipy_stats.norm.sf(z))
    assert result.ci_high[0] - result.estimate[0] == pytest.approx(scipy_stats.norm.ppf(0.975) * se)


def moderated_rejections(rng, rows, d0, *, effect=0.0, sigma_scale=0.05, runs=(5, 5)):
    """Share of rows with p < 0.05, moderated and plain, when the true variance of each row
    (shared by its base and head, as for identical code) follows the prior."""
    true, _ = draw_from_prior(rng, rows, d0, sigma_scale**2, d=4)
    sd = np.sqrt(true)[:, None]
    base = rng.normal(0.0, 1.0, (rows, runs[0])) * sd
    head = rng.normal(0.0, 1.0, (rows, runs[1])) * sd + effect
    variances = np.concatenate([base.var(axis=1, ddof=1), head.var(axis=1, ddof=1)])
    dfs = np.concatenate([np.full(rows, runs[0] - 1.0), np.full(rows, runs[1] - 1.0)])
    prior = fit_variance_prior(variances, dfs)
    moderated = welch_log_ratio(base, head, priors=[prior] * rows).p_value
    plain = welch_log_ratio(base, head).p_value
    return float(np.mean(moderated < 0.05)), float(np.mean(plain < 0.05))


@pytest.mark.slow  # Monte-Carlo level check: 12 cases of a few thousand simulated comparisons
@pytest.mark.parametrize("d0", [4.0, 10.0, 30.0, math.inf])
@pytest.mark.parametrize("runs", [(5, 5), (5, 2), (3, 5)])
def test_moderated_welch_keeps_its_level_under_the_model(d0, runs):
    moderated, plain = moderated_rejections(np.random.default_rng(4), 20_000, d0, runs=runs)
    # binomial sd at 5% and 20,000 rows is 0.0015; allow 3.5 sd
    assert moderated <= 0.05 + 0.0055, moderated
    if runs == (5, 2):
        # plain Welch is itself liberal this unbalanced (about 6.4%); moderation fixes that
        assert plain > moderated, (plain, moderated)
    else:
        assert plain <= 0.05 + 0.0055, plain


def test_a_weak_prior_is_not_used():
    rng = np.random.default_rng(8)
    _, sample = draw_from_prior(rng, 20_000, 2.0, 0.01, d=4)
    assert fit_variance_prior(sample, np.full(sample.size, 4.0)) is None


def test_moderated_welch_is_more_powerful_when_benchmarks_are_alike():
    moderated, plain = moderated_rejections(np.random.default_rng(5), 5_000, 20.0, effect=0.06)
    assert moderated > plain + 0.07, (moderated, plain)
    # most of all where a side is left with two runs (after excluding disturbed ones)
    moderated, plain = moderated_rejections(np.random.default_rng(5), 5_000, 20.0, effect=0.08, runs=(5, 2))
    assert moderated > plain + 0.15, (moderated, plain)


# -- in compare(): a suite of very different benchmarks ------------------------------------


def mixed_suite(rng, *, factor=1.0, benchmarks=20, runs=5, wild_every=5, wild_sigma=0.25):
    """Most benchmarks calm (2% between runs), every ``wild_every``-th one wild: a misfit for one prior."""
    results = []
    for index in range(benchmarks):
        sigma = wild_sigma if wild_every and index % wild_every == 0 else 0.02
        level = 1e-3 * (1 + index)
        results.append(
            BenchmarkResult(
                name=f"bench_{index}",
                runs=tuple(
                    Run(samples=level * factor * math.exp(rng.normal(0.0, sigma)) * rng.lognormal(0.0, 0.03, 150))
                    for _ in range(runs)
                ),
            )
        )
    return ResultSet(benchmarks=tuple(results), environment=Environment(cpu_count=2))


@pytest.mark.parametrize("wild_every, wild_sigma", [(5, 0.25), (5, 0.05), (10, 0.08), (20, 0.12)])
def test_misfit_prior_does_not_raise_false_alarms_on_the_noisy_benchmarks(wild_every, wild_sigma):
    # Very wild benchmarks make the fitted d0 small, and no prior is used; milder
    # ones still get one fitted (the case where the calm majority could pull the
    # wild minority's variance down too far).
    rng = np.random.default_rng(6)
    alarms = total = 0
    for _ in range(60):
        result = compare(
            mixed_suite(rng, wild_every=wild_every, wild_sigma=wild_sigma),
            mixed_suite(rng, wild_every=wild_every, wild_sigma=wild_sigma),
            CompareSettings(),
        )
        alarms += sum(1 for m in result.gated("regression"))
        total += sum(1 for m in result.metric_comparisons() if m.gated and m.metric in ("p50", "p95"))
    upper = scipy_stats.beta.ppf(0.99, alarms + 1, total - alarms)
    assert upper < 0.01, (alarms, total)


def test_compare_reports_the_fitted_priors_and_can_switch_moderation_off():
    rng = np.random.default_rng(7)
    base, head = mixed_suite(rng, wild_every=0), mixed_suite(rng, factor=1.2, wild_every=0)
    # every benchmark +20% in files without machine evidence: judged only on the claim of one machine
    moderated = compare(base, head, CompareSettings(assume_same_machine=True))
    plain = compare(base, head, CompareSettings(moderate_variances=False, assume_same_machine=True))
    priors = moderated.diagnostics.variance_priors
    assert set(priors) >= {"p50", "mean"} and priors["p50"]["estimates"] == 40
    assert plain.diagnostics.variance_priors == {}
    p50 = {m.benchmark: m for m in moderated.metric_comparisons() if m.metric == "p50"}
    plain_p50 = {m.benchmark: m for m in plain.metric_comparisons() if m.metric == "p50"}
    # same estimates, different intervals
    assert all(p50[name].ratio == pytest.approx(plain_p50[name].ratio) for name in p50)
    assert any(
        p50[name].ci_high - p50[name].ci_low != pytest.approx(plain_p50[name].ci_high - plain_p50[name].ci_low)
        for name in p50
    )
