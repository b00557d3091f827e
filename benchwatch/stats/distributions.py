"""The distribution functions benchwatch's statistics use, without scipy.

Why not scipy: it is ~143 MB installed, and ``pip install benchwatch`` is meant
to stay under 150 MB with numpy (~73 MB) already in it.  The statistics need a
handful of functions (Student t tails and quantiles, the normal, digamma and
trigamma, one root finder), which are short to write and easy to check: asv
does the same in its ``_stats.py``.  ``tests/test_distributions.py`` checks
every function here and in :mod:`benchwatch.stats.special` against scipy (kept
as a test dependency) to 1e-10 relative over wide parameter grids.

* Student t, F and chi-square from the incomplete beta and gamma functions of
  :mod:`benchwatch.stats.special`; the normal from ``math.erfc``, its quantile
  by Wichura's AS 241 (PPND16, ~1e-16);
* quantiles of t, chi-square and F: Newton's method on the log of the smaller
  tail, kept inside a bracket (bisection when a step leaves it).

Every public function takes numbers or numpy arrays (broadcast together, NaN
in gives NaN out) and returns a float for scalar input, an array otherwise.
The special functions (digamma, trigamma, polygamma, brentq, ...) are
re-exported here so that statistics code has one import.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from benchwatch.stats.special import (
    betainc,
    betainc_pair,
    betaincc,
    brentq,
    digamma,
    gammainc,
    gammainc_pair,
    gammaincc,
    log_beta,
    polygamma,
    trigamma,
    vectorized,
)

_EPS = 2.220446049250313e-16

__all__ = [
    "betainc",
    "betaincc",
    "brentq",
    "chi2_cdf",
    "chi2_ppf",
    "chi2_sf",
    "digamma",
    "f_cdf",
    "f_ppf",
    "f_sf",
    "gammainc",
    "gammaincc",
    "log_beta",
    "normal_cdf",
    "normal_isf",
    "normal_ppf",
    "normal_sf",
    "polygamma",
    "t_cdf",
    "t_isf",
    "t_ppf",
    "t_sf",
    "trigamma",
]


# --- normal --------------------------------------------------------------------


def _normal_cdf(x: float) -> float:
    """Standard normal cumulative distribution function."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _normal_sf(x: float) -> float:
    """Standard normal survival function 1 - cdf(x)."""
    return 0.5 * math.erfc(x / math.sqrt(2.0))


def _poly(coefficients: tuple[float, ...], x: float) -> float:
    total = 0.0
    for coefficient in coefficients:
        total = total * x + coefficient
    return total


_AS241_CENTRAL = (
    (2509.0809287301226727, 33430.575583588128105, 67265.770927008700853, 45921.953931549871457,
     13731.693765509461125, 1971.5909503065514427, 133.14166789178437745, 3.387132872796366608),
    (5226.495278852545925, 28729.085735721942674, 39307.89580009271061, 21213.794301586595867,
     5394.1960214247511077, 687.1870074920579083, 42.313330701600911252, 1.0),
)  # fmt: skip
_AS241_NEAR = (
    (7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177, 1.27045825245236838258,
     3.64784832476320460504, 5.7694972214606914055, 4.6303378461565452959, 1.42343711074968357734),
    (1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966, 0.14810397642748007459,
     0.68976733498510000455, 1.6763848301838038494, 2.05319162663775882187, 1.0),
)  # fmt: skip
_AS241_FAR = (
    (2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386, 0.026532189526576123093,
     0.29656057182850489123, 1.7848265399172913358, 5.4637849111641143699, 6.6579046435011037772),
    (2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.868691311456132591e-4,
     0.0148753612908506148525, 0.13692988092273580531, 0.59983220655588793769, 1.0),
)  # fmt: skip


def _normal_ppf(p: float) -> float:
    """Standard normal quantile (Wichura 1988, AS 241 PPND16)."""
    if math.isnan(p) or not 0.0 <= p <= 1.0:
        return math.nan
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        numerator, denominator = _AS241_CENTRAL
        return q * _poly(numerator, r) / _poly(denominator, r)
    r = math.sqrt(-math.log(min(p, 1.0 - p)))
    numerator, denominator = _AS241_NEAR if r <= 5.0 else _AS241_FAR
    r -= 1.6 if r <= 5.0 else 5.0
    value = _poly(numerator, r) / _poly(denominator, r)
    return -value if q < 0 else value


def _normal_isf(q: float) -> float:
    """Inverse survival function of the standard normal: x with sf(x) = q."""
    return -_normal_ppf(q)


normal_cdf = vectorized(_normal_cdf)
normal_sf = vectorized(_normal_sf)
normal_ppf = vectorized(_normal_ppf)
normal_isf = vectorized(_normal_isf)


# --- quantiles by safeguarded Newton -------------------------------------------


def _solve_decreasing(
    value_and_slope: Callable[[float], tuple[float, float]], x: float, lo: float, hi: float = math.inf
) -> float:
    """Root of a decreasing g on (lo, hi) from the guess x: Newton steps, bisection when a step leaves the bracket.

    ``value_and_slope(x)`` returns (g(x), g'(x)).  Bisection is geometric on
    positive brackets, since quantiles span many orders of magnitude.
    """
    for _ in range(400):
        value, slope = value_and_slope(x)
        if value == 0.0:
            return x
        if value > 0.0:
            lo = x
        else:
            hi = x
        candidate = x - value / slope if slope < 0.0 and math.isfinite(slope) else math.nan
        if not lo < candidate < hi:
            if math.isinf(hi):
                candidate = max(4.0 * x, 1.0) if x >= 0.0 else x / 4.0
            elif math.isinf(lo):
                candidate = min(4.0 * x, -1.0) if x <= 0.0 else x / 4.0
            elif lo > 0.0 and hi > 4.0 * lo:
                candidate = math.sqrt(lo * hi)
            elif lo == 0.0 and hi > 1e-300:
                candidate = hi / 16.0
            else:
                candidate = 0.5 * (lo + hi)
        if abs(candidate - x) <= 4.0 * _EPS * abs(candidate) or candidate in (lo, hi):
            return candidate
        x = candidate
    raise ArithmeticError("quantile iteration did not converge")


def _tail_equation(
    log_tail: Callable[[float], float], log_pdf: Callable[[float], float], target: float, lower: bool
) -> Callable[[float], tuple[float, float]]:
    """g(x) = log(tail(x)) - log(target), decreasing in x, with its slope; ``lower``: the tail is the cdf."""
    log_target = math.log(target)

    def equation(x: float) -> tuple[float, float]:
        log_value = log_tail(x)
        ratio = math.exp(min(log_pdf(x) - log_value, 700.0)) if log_value > -math.inf else math.inf
        if lower:
            return log_target - log_value, -ratio
        return log_value - log_target, -ratio

    return equation


def _safe_log(value: float) -> float:
    return math.log(value) if value > 0.0 else -math.inf


# --- Student t -----------------------------------------------------------------


def _t_beta_arguments(x: float, df: float) -> tuple[float, float]:
    """(df / (df + x^2), x^2 / (df + x^2)), each computed directly (no 1 - ... cancellation, no overflow)."""
    if x * x < df:
        square = x * x
        return df / (df + square), square / (df + square)
    ratio = (df / x) / x
    return ratio / (1.0 + ratio), 1.0 / (1.0 + ratio)


def _t_sf(x: float, df: float) -> float:
    """Survival function P(T > x) of Student's t with ``df`` (> 0, may be inf) degrees of freedom."""
    if math.isnan(x) or math.isnan(df) or df <= 0:
        return math.nan
    if math.isinf(df):
        return _normal_sf(x)
    if x == 0.0:
        return 0.5
    if math.isinf(x):
        return 0.0 if x > 0 else 1.0
    beta_x, beta_y = _t_beta_arguments(x, df)
    if beta_x < 1e-200:
        # Far tail (x^2 / df > 1e200): the leading term x_b^a / (a B(a, 1/2)) is exact to
        # double precision, and taken in logs it does not underflow with x_b.
        log_beta_x = math.log(df) - 2.0 * math.log(abs(x))
        lower = math.exp(0.5 * df * log_beta_x - math.log(0.5 * df) - log_beta(0.5 * df, 0.5))
    else:
        lower = betainc_pair(0.5 * df, 0.5, beta_x, beta_y)[0]
    return 0.5 * lower if x > 0 else 1.0 - 0.5 * lower


def _t_cdf(x: float, df: float) -> float:
    """Cumulative distribution function P(T <= x) of Student's t."""
    return _t_sf(-x, df)


def _t_log_pdf(x: float, df: float) -> float:
    if x * x < df:
        log_kernel = math.log1p(x * x / df)
    else:
        log_kernel = 2.0 * math.log(abs(x)) - math.log(df) + math.log1p(df / x / x)
    return -0.5 * (df + 1.0) * log_kernel - 0.5 * math.log(df) - log_beta(0.5 * df, 0.5)


def _t_isf(q: float, df: float) -> float:
    """Inverse survival function of Student's t: x with sf(x) = q."""
    if math.isnan(q) or math.isnan(df) or df <= 0 or not 0.0 <= q <= 1.0:
        return math.nan
    if math.isinf(df):
        return _normal_isf(q)
    if q == 0.0:
        return math.inf
    if q == 1.0:
        return -math.inf
    if q == 0.5:
        return 0.0
    if q > 0.5:
        return -_t_isf(1.0 - q, df)
    if df == 1.0:
        return 1.0 / math.tan(math.pi * q)
    guess = max(_t_cornish_fisher(q, df), 1e-300)
    if df < 5.0:
        # The t tail falls like x^-df: start from that power law, not the normal.
        log_guess = -(math.log(q * df) + log_beta(0.5 * df, 0.5) - 0.5 * df * math.log(df)) / df
        if log_guess > 709.0:
            return math.inf  # beyond the largest float
        guess = max(guess, math.exp(log_guess))
    equation = _tail_equation(lambda x: _safe_log(_t_sf(x, df)), lambda x: _t_log_pdf(x, df), q, lower=False)
    return _solve_decreasing(equation, guess, 0.0)


def _t_cornish_fisher(q: float, df: float) -> float:
    """Start for the t quantile: the normal one plus four terms in 1/df (Abramowitz & Stegun 26.7.5).

    Within ~1e-4 for df >= 5 at ordinary levels, so Newton needs two or three steps.
    """
    z = _normal_isf(q)
    z2 = z * z
    terms = (
        (z2 + 1.0) * z / 4.0,
        ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0,
        (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0,
        ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0,
    )
    return z + sum(term / df ** (power + 1) for power, term in enumerate(terms))


def _t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t: x with cdf(x) = p."""
    return -_t_isf(p, df)


t_sf = vectorized(_t_sf)
t_cdf = vectorized(_t_cdf)
t_isf = vectorized(_t_isf)
t_ppf = vectorized(_t_ppf)


# --- chi-square and F ----------------------------------------------------------


def _chi2_cdf(x: float, df: float) -> float:
    """Cumulative distribution function of chi-square with ``df`` degrees of freedom."""
    if math.isnan(x) or math.isnan(df) or df <= 0:
        return math.nan
    return gammainc_pair(0.5 * df, max(x, 0.0) * 0.5)[0]


def _chi2_sf(x: float, df: float) -> float:
    """Survival function of chi-square."""
    if math.isnan(x) or math.isnan(df) or df <= 0:
        return math.nan
    return gammainc_pair(0.5 * df, max(x, 0.0) * 0.5)[1]


def _chi2_log_pdf(x: float, df: float) -> float:
    half = 0.5 * df
    return (half - 1.0) * math.log(x) - 0.5 * x - half * math.log(2.0) - math.lgamma(half)


def _positive_quantile(
    p: float, cdf_sf: Callable[[float], tuple[float, float]], log_pdf: Callable[[float], float], guess: float
) -> float:
    """x > 0 with cdf(x) = p, solving on the smaller tail so that both ends keep relative accuracy."""
    if math.isnan(p) or not 0.0 <= p <= 1.0:
        return math.nan
    if p == 0.0:
        return 0.0
    if p == 1.0:
        return math.inf
    lower = p < 0.5
    if lower:
        equation = _tail_equation(lambda x: _safe_log(cdf_sf(x)[0]), log_pdf, p, lower=True)
    else:
        equation = _tail_equation(lambda x: _safe_log(cdf_sf(x)[1]), log_pdf, 1.0 - p, lower=False)
    return _solve_decreasing(equation, guess, 0.0)


def _chi2_ppf(p: float, df: float) -> float:
    """Quantile of chi-square."""
    if math.isnan(df) or df <= 0:
        return math.nan
    # Wilson-Hilferty, or the leading term of the lower tail where that goes negative.
    z = _normal_ppf(p) if 0.0 < p < 1.0 else 0.0
    cube = 1.0 - 2.0 / (9.0 * df) + z * math.sqrt(2.0 / (9.0 * df))
    guess = (
        df * cube**3
        if cube > 0.2
        else 2.0 * math.exp((math.log(max(p, 1e-300)) + math.lgamma(0.5 * df + 1.0)) / (0.5 * df))
    )
    return _positive_quantile(
        p, lambda x: gammainc_pair(0.5 * df, 0.5 * x), lambda x: _chi2_log_pdf(x, df), max(guess, 1e-300)
    )


chi2_cdf = vectorized(_chi2_cdf)
chi2_sf = vectorized(_chi2_sf)
chi2_ppf = vectorized(_chi2_ppf)


def _f_pair(x: float, dfn: float, dfd: float) -> tuple[float, float]:
    """(cdf, sf) of the F distribution at x >= 0."""
    if x <= 0.0:
        return 0.0, 1.0
    if math.isinf(x):
        return 1.0, 0.0
    scaled = dfn * x
    return betainc_pair(0.5 * dfn, 0.5 * dfd, scaled / (scaled + dfd), dfd / (scaled + dfd))


def _f_cdf(x: float, dfn: float, dfd: float) -> float:
    """Cumulative distribution function of F with (dfn, dfd) degrees of freedom."""
    if math.isnan(x + dfn + dfd) or dfn <= 0 or dfd <= 0:
        return math.nan
    return _f_pair(x, dfn, dfd)[0]


def _f_sf(x: float, dfn: float, dfd: float) -> float:
    """Survival function of F."""
    if math.isnan(x + dfn + dfd) or dfn <= 0 or dfd <= 0:
        return math.nan
    return _f_pair(x, dfn, dfd)[1]


def _f_log_pdf(x: float, dfn: float, dfd: float) -> float:
    scaled = dfn * x
    return (
        0.5 * dfn * math.log(scaled / (scaled + dfd))
        + 0.5 * dfd * math.log(dfd / (scaled + dfd))
        - math.log(x)
        - log_beta(0.5 * dfn, 0.5 * dfd)
    )


def _f_ppf(p: float, dfn: float, dfd: float) -> float:
    """Quantile of F."""
    if math.isnan(dfn + dfd) or dfn <= 0 or dfd <= 0:
        return math.nan
    return _positive_quantile(p, lambda x: _f_pair(x, dfn, dfd), lambda x: _f_log_pdf(x, dfn, dfd), 1.0)


f_cdf = vectorized(_f_cdf)
f_sf = vectorized(_f_sf)
f_ppf = vectorized(_f_ppf)
