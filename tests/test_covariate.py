"""The speed-adjusted log ratio (ANCOVA on the canary): against scipy, textbook OLS and theory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchwatch.model import Run
from benchwatch.stats.covariate import (
    SLOW_RESIDUAL_FLOOR,
    UNSTABLE_CANARY_LOG,
    canary_covariate,
    covariate_log_ratio,
    fit_rows,
    keep_runs_with_covariate,
)
from benchwatch.stats.moderated import VariancePrior


def one_row(base, head, base_c, head_c, **options):
    fits = fit_rows([np.asarray(base)], [np.asarray(head)], [np.asarray(base_c)], [np.asarray(head_c)])
    return fits, covariate_log_ratio(fits, **options)


def test_without_covariate_variation_it_is_the_pooled_t_test_scipy_computes():
    base, head = np.array([0.0, 0.03, -0.02, 0.01, 0.02]), np.array([0.15, 0.2, 0.18, 0.12])
    fits, result = one_row(base, head, np.zeros(5), np.zeros(4))
    reference = scipy_stats.ttest_ind(head, base, equal_var=True)
    assert math.isnan(fits.slope[0]) and fits.df[0] == 7
    assert result.p_value[0] == pytest.approx(reference.pvalue, rel=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert (result.ci_low[0], result.ci_high[0]) == pytest.approx((low, high), rel=1e-9)


def test_with_a_covariate_it_matches_textbook_least_squares():
    rng = np.random.default_rng(1)
    base_c, head_c = rng.normal(0, 0.2, 5), rng.normal(0, 0.2, 5)
    base = 0.9 * base_c + rng.normal(0, 0.02, 5)
    head = 0.15 + 0.9 * head_c + rng.normal(0, 0.02, 5)
    fits, result = one_row(base, head, base_c, head_c)
    # textbook: beta_hat = (X'X)^-1 X'y, var = s^2 (X'X)^-1 with s^2 = RSS / (n - p)
    x = np.concatenate([base, head])
    covariate = np.concatenate([base_c, head_c])
    design = np.column_stack([np.ones(10), np.r_[np.zeros(5), np.ones(5)], covariate])
    coefficients, rss, _, _ = np.linalg.lstsq(design, x, rcond=None)
    s2 = rss[0] / 7
    se = math.sqrt(s2 * np.linalg.inv(design.T @ design)[1, 1])
    assert fits.estimate[0] == pytest.approx(coefficients[1], rel=1e-9)
    assert fits.slope[0] == pytest.approx(coefficients[2], rel=1e-9)
    assert result.std_error[0] == pytest.approx(se, rel=1e-9)
    t = coefficients[1] / se
    assert result.p_value[0] == pytest.approx(2 * scipy_stats.t.sf(abs(t), 7), rel=1e-9)
    assert fits.estimate[0] == pytest.approx(0.15, abs=0.03)


def test_t_statistics_follow_t_with_n_minus_3_df_under_the_null():
    rng = np.random.default_rng(2)
    rows = 4000
    base_c = np.where(rng.random((rows, 5)) < 0.3, 0.4, 0.0) + rng.normal(0, 0.02, (rows, 5))
    head_c = np.where(rng.random((rows, 5)) < 0.3, 0.4, 0.0) + rng.normal(0, 0.02, (rows, 5))
    base = 1.0 * base_c + rng.normal(0, 0.03, (rows, 5))
    head = 1.0 * head_c + rng.normal(0, 0.03, (rows, 5))
    # the outlier rule is one-sided and can only drop slow runs; here no run is far slow
    fits = fit_rows(list(base), list(head), list(base_c), list(head_c))
    result = covariate_log_ratio(fits)
    exact = fits.df == 7
    t = result.estimate[exact] / result.std_error[exact]
    assert scipy_stats.kstest(t, scipy_stats.t(7).cdf).pvalue > 0.001
    rejected = float(np.mean(result.p_value < 0.05))
    assert abs(rejected - 0.05) < 3.5 * math.sqrt(0.05 * 0.95 / rows), rejected


def test_a_far_slow_run_the_canary_missed_is_dropped_and_the_row_refitted():
    base = [0.0, 0.01, -0.01, 0.005, 0.4]  # the last base run was slowed by something unseen
    head = [0.18, 0.19, 0.17, 0.185, 0.175]
    fits, result = one_row(base, head, np.zeros(5), np.zeros(5))
    assert fits.n_base[0] == 4 and fits.n_head[0] == 5
    assert math.exp(result.estimate[0]) == pytest.approx(math.exp(0.18 - 0.00125), rel=0.01)


def test_fast_runs_are_never_dropped_and_small_deviations_stay():
    base = [0.0, 0.01, -0.01, 0.005, -0.4]
    head = [0.0, 0.01, -0.01, 0.005, SLOW_RESIDUAL_FLOOR * 0.5]
    fits, _ = one_row(base, head, np.zeros(5), np.zeros(5))
    assert fits.n_base[0] == 5 and fits.n_head[0] == 5


def test_each_side_keeps_at_least_two_runs():
    fits, _ = one_row([0.0, 0.01, 0.5, 0.6], [0.0, 0.01, -0.01, 0.0], np.zeros(4), np.zeros(4))
    assert fits.n_base[0] >= 2


def test_rows_with_a_single_run_on_a_side_are_not_fitted():
    fits, result = one_row([0.0], [0.1, 0.2], [0.0], [0.0, 0.0])
    assert math.isnan(fits.estimate[0]) and math.isnan(result.p_value[0])


def test_moderation_uses_the_prior_on_the_residual_variance():
    base, head = [0.0, 0.03, -0.02, 0.01, 0.02], [0.15, 0.2, 0.18, 0.12, 0.16]
    prior = VariancePrior(df=10.0, variance=0.0001, estimates=40)
    fits, plain = one_row(base, head, np.zeros(5), np.zeros(5))
    _, moderated = one_row(base, head, np.zeros(5), np.zeros(5), priors=[prior])
    expected = (10 * 0.0001 + 8 * fits.residual_variance[0]) / 18
    assert moderated.df[0] == 18
    assert moderated.std_error[0] == pytest.approx(fits.scale[0] * math.sqrt(expected))
    assert moderated.std_error[0] < plain.std_error[0]


def run_with_canary(before, after):
    return Run(samples=np.ones(3), canary_seconds=(before, after), canary_version=1)


def test_canary_covariate():
    assert canary_covariate(run_with_canary(1e-3, 1e-3)) == pytest.approx(math.log(1e-3))
    assert canary_covariate(run_with_canary(1e-3, 1e-3 * math.exp(UNSTABLE_CANARY_LOG * 1.01))) is None
    assert canary_covariate(Run(samples=np.ones(3))) is None


def test_keep_runs_with_covariate():
    steady = [run_with_canary(1e-3, 1e-3) for _ in range(3)]
    moved = run_with_canary(1e-3, 2e-3)
    runs, covariates, dropped = keep_runs_with_covariate([*steady, moved])
    assert runs == tuple(steady) and dropped == 1 and covariates.shape == (3,)
    # fewer than two steady runs: all are kept, with the mean of their two timings
    runs, covariates, dropped = keep_runs_with_covariate([steady[0], moved, moved])
    assert len(runs) == 3 and dropped == 0
    assert covariates.tolist() == pytest.approx([math.log(1e-3)] + [math.log(math.sqrt(2) * 1e-3)] * 2)
