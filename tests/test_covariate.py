"""The speed-adjusted log ratio (ANCOVA on the canary): against scipy, textbook OLS and theory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchwatch.stats.covariate import (
    UNSTABLE_CANARY_LOG,
    covariate_log_ratio,
    fit_rows,
    steady_covariates,
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


def test_no_run_is_dropped_for_being_slow():
    """Selecting runs by their own timings is not independent of the outcome: every run is fitted."""
    base = [0.0, 0.01, -0.01, 0.005, 0.4]
    head = [0.18, 0.19, 0.17, 0.185, 0.175]
    fits, _ = one_row(base, head, np.zeros(5), np.zeros(5))
    assert fits.n_base[0] == 5 and fits.n_head[0] == 5
    assert fits.estimate[0] == pytest.approx(np.mean(head) - np.mean(base))


def test_padded_matrices_and_lists_give_the_same_fits():
    rng = np.random.default_rng(5)
    base, head = rng.normal(0, 0.1, (3, 6)), rng.normal(0.1, 0.1, (3, 6))
    base_c, head_c = rng.normal(0, 0.2, (3, 6)), rng.normal(0, 0.2, (3, 6))
    base[1, 4:] = np.nan
    as_lists = fit_rows(
        [r[np.isfinite(r)] for r in base],
        list(head),
        [c[:4] if i == 1 else c for i, c in enumerate(base_c)],
        list(head_c),
    )
    as_matrix = fit_rows(base, head, base_c, head_c)
    assert np.allclose(as_lists.estimate, as_matrix.estimate) and list(as_matrix.n_base) == [6, 4, 6]


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


def test_steady_covariates_leave_out_runs_whose_canary_moved():
    moved = math.log(1e-3) + UNSTABLE_CANARY_LOG * 1.01
    logs = np.log(np.array([[1e-3, 1e-3], [1.1e-3, 1.1e-3], [1e-3, 1e-3]]))
    logs = np.vstack([logs, [math.log(1e-3), moved]])
    keep, covariates = steady_covariates(logs)
    assert keep.tolist() == [True, True, True, False]
    assert covariates[0] == pytest.approx(math.log(1e-3))
    # fewer than two steady runs: all kept, each with the mean of its timings
    keep, covariates = steady_covariates(logs[[0, 3, 3]])
    assert keep.all() and covariates[1] == pytest.approx((math.log(1e-3) + moved) / 2)
    # a run without canary gets the median of the others
    keep, covariates = steady_covariates(np.array([[0.0, 0.0], [np.nan, np.nan], [0.2, 0.2], [0.1, 0.1]]))
    assert covariates[1] == pytest.approx(0.1) and keep.tolist() == [True, False, True, True]
