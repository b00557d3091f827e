"""benchwatch.stats.distributions and .special against scipy (a test dependency only), to 1e-10 relative."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from scipy import optimize, special, stats

from benchwatch.stats import distributions as dist

RTOL = 1e-10
#: Below this scipy's reference and ours may be denormal or zero: not compared.
SMALLEST = 1e-300

DFS = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.7, 7.0, 10.0, 23.3, 50.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7]
XS = [
    1e-3,
    0.05,
    0.3,
    0.7,
    1.0,
    1.5,
    2.0,
    2.6,
    3.5,
    5.0,
    8.0,
    12.0,
    20.0,
    40.0,
    100.0,
    1e3,
    1e5,
    1e10,
    1e50,
]
PS = [1e-30, 1e-10, 1e-5, 1e-3, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.49]
PS += [1.0 - p for p in PS[4:]] + [0.5]


def worst_relative_error(pairs: Iterable[tuple[float, float, object]]) -> tuple[float, object]:
    """The largest |ours - reference| / |reference| over (ours, reference, where) with a reference above SMALLEST."""
    worst: tuple[float, object] = (0.0, None)
    count = 0
    for ours, reference, where in pairs:
        if not math.isfinite(reference) or abs(reference) < SMALLEST:
            continue
        count += 1
        error = abs(ours - reference) / abs(reference)
        if not error <= worst[0]:
            worst = (error, (where, ours, reference))
    assert count > 20, "the grid compared too few points"
    return worst


def test_t_sf_and_cdf_match_scipy_over_a_wide_grid() -> None:
    pairs = []
    for df in DFS:
        for x in XS:
            for value in (x, -x):
                pairs.append((dist.t_sf(value, df), stats.t.sf(value, df), ("sf", value, df)))
                pairs.append((dist.t_cdf(value, df), stats.t.cdf(value, df), ("cdf", value, df)))
    error, where = worst_relative_error(pairs)
    assert error < RTOL, where


def test_t_near_zero_matches_the_cauchy_closed_form() -> None:
    # scipy rounds t.cdf(1e-10, 1) to 0.5; the closed form keeps the 3e-11 above it.
    for x in (1e-12, 1e-10, 1e-6, 0.1, 3.0, 1e8):
        assert dist.t_cdf(x, 1.0) == pytest.approx(0.5 + math.atan(x) / math.pi, rel=1e-14)
        assert dist.t_sf(x, 1.0) == pytest.approx(math.atan2(1.0, x) / math.pi, rel=1e-12)


def test_t_quantiles_match_scipy_and_invert_the_tails() -> None:
    pairs = []
    for df in DFS:
        for p in PS:
            ours = dist.t_ppf(p, df)
            pairs.append((ours, stats.t.ppf(p, df), ("ppf", p, df)))
            pairs.append((dist.t_isf(p, df), stats.t.isf(p, df), ("isf", p, df)))
            if p < 0.5:
                pairs.append((dist.t_cdf(ours, df), p, ("cdf(ppf)", p, df)))
    error, where = worst_relative_error(pairs)
    assert error < RTOL, where
    assert dist.t_ppf(0.5, 3.0) == 0.0
    # Beyond scipy's range (its t.isf(1e-100, 0.5) is 4.7e153, whose sf is 1e-77): our own round trip.
    for q, df in ((1e-100, 0.5), (1e-300, 1.0), (1e-200, 2.5), (1e-300, 30.0)):
        assert dist.t_sf(dist.t_isf(q, df), df) == pytest.approx(q, rel=1e-12)
    assert dist.t_ppf(0.0, 3.0) == -math.inf
    assert dist.t_isf(0.0, 3.0) == math.inf


def test_t_with_infinite_df_is_the_normal() -> None:
    for x in (-5.0, -0.5, 0.0, 1.96, 8.0):
        assert dist.t_cdf(x, math.inf) == pytest.approx(stats.norm.cdf(x), rel=1e-14)
    assert dist.t_ppf(0.975, math.inf) == pytest.approx(stats.norm.ppf(0.975), rel=1e-14)


def test_normal_matches_scipy() -> None:
    pairs = []
    for x in np.linspace(-37.0, 37.0, 297):
        pairs.append((dist.normal_cdf(x), stats.norm.cdf(x), ("cdf", x)))
        pairs.append((dist.normal_sf(x), stats.norm.sf(x), ("sf", x)))
    for p in [*PS, 1e-300]:
        pairs.append((dist.normal_ppf(p), stats.norm.ppf(p), ("ppf", p)))
        pairs.append((dist.normal_isf(p), stats.norm.isf(p), ("isf", p)))
    error, where = worst_relative_error(pairs)
    assert error < RTOL, where


def test_chi2_matches_scipy() -> None:
    pairs = []
    for df in (0.1, 0.5, 1.0, 2.0, 3.0, 5.5, 10.0, 30.0, 100.0, 1e3, 1e4):
        for x in (1e-8, 1e-3, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 100.0, 300.0, 1e3, 1e4, 2e4):
            pairs.append((dist.chi2_cdf(x, df), stats.chi2.cdf(x, df), ("cdf", x, df)))
            pairs.append((dist.chi2_sf(x, df), stats.chi2.sf(x, df), ("sf", x, df)))
        for p in PS:
            pairs.append((dist.chi2_ppf(p, df), stats.chi2.ppf(p, df), ("ppf", p, df)))
    error, where = worst_relative_error(pairs)
    assert error < RTOL, where


def test_f_matches_scipy() -> None:
    pairs = []
    for dfn in (0.5, 1.0, 2.0, 4.5, 10.0, 50.0, 1e3):
        for dfd in (0.5, 1.0, 3.0, 8.0, 30.0, 1e3, 1e5):
            for x in (1e-6, 1e-2, 0.3, 1.0, 2.0, 5.0, 30.0, 1e3, 1e6):
                pairs.append((dist.f_cdf(x, dfn, dfd), stats.f.cdf(x, dfn, dfd), ("cdf", x, dfn, dfd)))
                pairs.append((dist.f_sf(x, dfn, dfd), stats.f.sf(x, dfn, dfd), ("sf", x, dfn, dfd)))
            for p in (1e-10, 1e-3, 0.05, 0.3, 0.5, 0.7, 0.95, 0.999):
                pairs.append((dist.f_ppf(p, dfn, dfd), stats.f.ppf(p, dfn, dfd), ("ppf", p, dfn, dfd)))
    error, where = worst_relative_error(pairs)
    assert error < RTOL, where


def test_incomplete_beta_and_gamma_match_scipy() -> None:
    pairs = []
    shapes = (0.05, 0.5, 1.0, 3.0, 10.0, 20.0, 100.0, 1e4, 1e6)
    for a in shapes:
        for b in shapes:
            for x in (1e-8, 1e-3, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999, 1.0 - 1e-8):
                pairs.append((dist.betainc(a, b, x), special.betainc(a, b, x), ("betainc", a, b, x)))
                pairs.append((dist.betaincc(a, b, x), special.betaincc(a, b, x), ("betaincc", a, b, x)))
        for x in (1e-6, 0.01, 0.5, 1.0, 3.0, 10.0, 50.0, 200.0, 1e4, 1e6):
            pairs.append((dist.gammainc(a, x), special.gammainc(a, x), ("gammainc", a, x)))
            pairs.append((dist.gammaincc(a, x), special.gammaincc(a, x), ("gammaincc", a, x)))
    error, where = worst_relative_error(pairs)
    assert error < RTOL, where


def test_log_beta_is_exact_where_lgamma_cancels() -> None:
    # log B(a, 1/2) = log Gamma(1/2) - (1/2) log a + 1/(8a) - 1/(192 a^3) + ... for large a.
    for a in (1e4, 5e5, 1e8):
        expected = math.lgamma(0.5) - 0.5 * math.log(a) + 1.0 / (8.0 * a) - 1.0 / (192.0 * a**3)
        assert dist.log_beta(a, 0.5) == pytest.approx(expected, rel=1e-14)
    for a, b in ((0.3, 2.0), (5.0, 7.0), (12.0, 40.0), (1e3, 1e3)):
        assert dist.log_beta(a, b) == pytest.approx(float(special.betaln(a, b)), rel=1e-12)


def test_digamma_and_polygamma_match_scipy() -> None:
    points = [*np.geomspace(1e-9, 1e9, 181), -0.5, -1.3, -2.7, -10.2, 1.3, 1.46, 1.47, 1.6]
    pairs = [(dist.digamma(x), float(special.digamma(x)), ("digamma", x)) for x in points]
    pairs += [
        (dist.polygamma(n, x), float(special.polygamma(n, x)), ("polygamma", n, x))
        for n in range(1, 7)
        for x in points
        if x > 0
    ]
    pairs += [(dist.trigamma(x), float(special.polygamma(1, x)), ("trigamma", x)) for x in points if x > 0]
    error, where = worst_relative_error(pairs)
    assert error < RTOL, where


def test_digamma_keeps_relative_accuracy_next_to_its_root() -> None:
    root = 1.4616321449683623
    for offset in (1e-12, 1e-9, 1e-6, -1e-6, 1e-3, -0.2):
        reference = float(special.digamma(root + offset))
        assert dist.digamma(root + offset) == pytest.approx(reference, rel=1e-9 if abs(offset) < 1e-9 else RTOL)


def test_brentq_finds_the_roots_scipy_finds() -> None:
    functions: list[tuple[Callable[[float], float], float, float]] = [
        (lambda x: x**3 - 2.0 * x - 5.0, 2.0, 3.0),
        (lambda x: math.cos(x) - x, 0.0, 1.0),
        (lambda x: float(special.polygamma(1, x)) - 0.37, 1e-9, 1e9),
        (lambda x: math.exp(x) - 1e6, -50.0, 50.0),
    ]
    for func, lo, hi in functions:
        ours = dist.brentq(func, lo, hi, xtol=1e-14, rtol=1e-14)
        assert ours == pytest.approx(optimize.brentq(func, lo, hi, xtol=1e-14, rtol=1e-14), rel=1e-12)
    with pytest.raises(ValueError, match="different signs"):
        dist.brentq(lambda x: x * x + 1.0, -1.0, 1.0)


def test_arrays_broadcast_and_nan_propagates() -> None:
    x = np.array([[0.5], [2.0]])
    df = np.array([3.0, np.inf, np.nan])
    out = dist.t_sf(x, df)
    assert isinstance(out, np.ndarray)
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[:, :2], stats.t.sf(x, df[:2]), rtol=RTOL)
    assert np.isnan(out[:, 2]).all()
    assert isinstance(dist.t_ppf(0.975, np.float64(4.0)), float)
    np.testing.assert_allclose(dist.digamma(np.array([0.5, 3.0])), special.digamma([0.5, 3.0]), rtol=RTOL)
    assert math.isnan(dist.t_sf(1.0, -2.0))
    assert math.isnan(dist.t_ppf(1.5, 3.0))
