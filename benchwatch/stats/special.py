"""Special functions for benchwatch's distributions (see distributions.py for why not scipy).

* regularized incomplete beta: the continued fraction (Numerical Recipes, modified
  Lentz) on the side of ``I_x(a, b) = 1 - I_{1-x}(b, a)`` where it converges, with
  the complement passed in exactly so that both tails keep relative accuracy;
  for a large and b <= 1 (Student t with many degrees of freedom) DiDonato &
  Morris's asymptotic expansion BGRAT; near the mode with a and b both large, the
  prefactor expanded around the mode as in TOMS 708;
* log of the beta function without the cancellation of ``lgamma`` for large arguments;
* regularized incomplete gamma: series below ``a + 1``, continued fraction above;
* digamma and polygamma: recurrence up to x >= 20, then the asymptotic
  (Bernoulli) series; digamma near its positive root by its Taylor series, so
  that small values keep relative accuracy;
* ``brentq``: Brent's 1973 root finder, as in scipy.optimize.

Every function named without a leading underscore takes numbers or numpy
arrays (broadcast together, NaN in gives NaN out) and returns a float for scalar
input, an array otherwise.  ``tests/test_distributions.py`` checks them against scipy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

_EPS = 2.220446049250313e-16
_TINY = 1e-300
_MAX_ITER = 100_000
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
#: B_2k / (2k)! is not needed: the asymptotic series use B_2k / (2k) and
#: B_2k directly.  B_2 ... B_20.
_BERNOULLI_2K = (
    1.0 / 6.0,
    -1.0 / 30.0,
    1.0 / 42.0,
    -1.0 / 30.0,
    5.0 / 66.0,
    -691.0 / 2730.0,
    7.0 / 6.0,
    -3617.0 / 510.0,
    43867.0 / 798.0,
    -174611.0 / 330.0,
)
#: The positive root of digamma, as the nearest float plus the rest (1.46163214496836234126...).
_DIGAMMA_ROOT = 1.4616321449683623
_DIGAMMA_ROOT_REST = 9.549995429965697e-17


def vectorized(func: Callable[..., float]) -> Callable[..., Any]:
    """Broadcast a scalar function over numpy arrays; scalar in, float out."""
    vector = np.vectorize(func, otypes=[np.float64])

    def wrapper(*args: Any) -> Any:
        if all(np.ndim(arg) == 0 for arg in args):
            return float(func(*(float(arg) for arg in args)))
        return vector(*args)

    wrapper.__name__ = func.__name__.lstrip("_")
    wrapper.__doc__ = func.__doc__
    return wrapper


# --- log gamma and log beta ----------------------------------------------------


#: The coefficients B_2k / (2k (2k - 1)) of the Stirling series, k = 1..8.
_STIRLING = tuple(b2k / (2 * k * (2 * k - 1)) for k, b2k in enumerate(_BERNOULLI_2K[:8], start=1))


def _lgamma_correction(x: float) -> float:
    """lgamma(x) minus Stirling's (x - 1/2) log x - x + log sqrt(2 pi), for x >= 10."""
    inv2 = 1.0 / (x * x)
    total = 0.0
    power = 1.0 / x
    for coefficient in _STIRLING:
        total += coefficient * power
        power *= inv2
    return total


# Cached: a Student t quantile's Newton steps ask for log B(df/2, 1/2) of the same df several times.
@lru_cache(maxsize=1024)
def log_beta(a: float, b: float) -> float:
    """log B(a, b) for a, b > 0, accurate also when a or b is large."""
    small, large = min(a, b), max(a, b)
    if large < 10.0:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    total = a + b
    # (large - 1/2) log(large) - (total - 1/2) log(total) without cancelling large terms.
    stirling = -(large - 0.5) * math.log1p(small / large) - small * math.log(total)
    correction = _lgamma_correction(large) - _lgamma_correction(total)
    if small < 10.0:
        return math.lgamma(small) + stirling + small + correction
    return _LOG_SQRT_2PI + (small - 0.5) * math.log(small) + stirling + correction + _lgamma_correction(small)


# --- incomplete beta -----------------------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float, y: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz); converges for x < (a + 1) / (a + b + 2).

    Its first term 1 - (a + b) x / (a + 1) nearly cancels when a is large and
    x near 1 (Student t with many degrees of freedom); it is formed from y = 1 - x.
    """
    first = (1.0 - b + (a + b) * y) if x > 0.5 else (a + 1.0 - (a + b) * x)
    c, d = 1.0, first / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            delta = c * d
            h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def _log1pmx(u: float) -> float:
    """log(1 + u) - u without cancellation for small u (the atanh series)."""
    if abs(u) >= 0.5:
        return math.log1p(u) - u
    r = u / (2.0 + u)
    r2 = r * r
    total, power = 0.0, r * r2
    for k in range(1, 60):
        term = power / (2 * k + 1)
        total += term
        if abs(term) < _EPS * abs(total):
            break
        power *= r2
    return -u * u / (2.0 + u) + 2.0 * total


def _beta_front(a: float, b: float, x: float, y: float) -> float:
    """x^a y^b / (a B(a, b)), with y = 1 - x given exactly by the caller."""
    total = a + b
    delta = x - a / total if x < 0.5 else b / total - y
    if min(a, b) >= 10.0 and abs(delta * total) < 0.9 * min(a, b):
        # Both large, x not far from the mode a / (a + b): expand around the mode, as
        # TOMS 708 does, since a log x + b log y - log B(a, b) cancels terms of size a + b.
        exponent = a * _log1pmx(delta * total / a) + b * _log1pmx(-delta * total / b)
        scale = math.sqrt(a * b / (2.0 * math.pi * total))
        correction = _lgamma_correction(total) - _lgamma_correction(a) - _lgamma_correction(b)
        return scale * math.exp(exponent + correction) / a
    log_x = math.log(x) if x < 0.5 else math.log1p(-y)
    log_y = math.log(y) if y < 0.5 else math.log1p(-x)
    return math.exp(a * log_x + b * log_y - log_beta(a, b)) / a


@lru_cache(maxsize=64)
def _bgrat_coefficients(b: float) -> tuple[float, ...]:
    """DiDonato & Morris's p_n (eq. 9.4) for n < 30; they depend on b only (1/2 for Student t)."""
    p = [1.0]
    for n in range(1, 30):
        pn = sum((m * b - n) * p[n - m] / math.factorial(2 * m + 1) for m in range(1, n))
        p.append(pn / n + (b - 1.0) / math.factorial(2 * n + 1))
    return tuple(p)


def _beta_large_a_small_b(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) for a >= 15, b <= 1, x > 0.7: DiDonato & Morris's asymptotic expansion (BGRAT, eq. 9).

    The continued fraction loses about log10(a) digits there (Student t with
    many degrees of freedom); this series does not.
    """
    log_x = math.log1p(-y)
    t = a + 0.5 * (b - 1.0)
    u = -t * log_x
    if u <= 0.0:
        return 1.0
    # j_n below is DiDonato & Morris's J_n times h = u^b e^-u / Gamma(b), so that
    # nothing is divided by an h that underflows in the far tail.
    h = math.exp(b * math.log(u) - u - math.lgamma(b))
    prefix = math.exp(math.lgamma(b) - log_beta(a, b) - b * math.log(t))  # Gamma(a + b) / Gamma(a) / t^b
    # Q(1/2, u) = erfc(sqrt(u)): the Student t case, and much cheaper than the general series.
    j = math.erfc(math.sqrt(u)) if b == 0.5 else gammainc_pair(b, u)[1]
    total = prefix * j
    p = _bgrat_coefficients(b)
    half_log_x_squared = (0.5 * log_x) ** 2
    log_x_power, b2n, t4 = h, b, 4.0 * t * t
    for n in range(1, len(p)):
        j = (b2n * (b2n + 1.0) * j + (u + b2n + 1.0) * log_x_power) / t4
        log_x_power *= half_log_x_squared
        b2n += 2.0
        term = prefix * p[n] * j
        total += term
        if abs(term) <= _EPS * abs(total):
            break
    return total


def betainc_pair(a: float, b: float, x: float, y: float) -> tuple[float, float]:
    """(I_x(a, b), 1 - I_x(a, b)) with y = 1 - x; each keeps relative accuracy."""
    if x <= 0.0:
        return 0.0, 1.0
    if y <= 0.0:
        return 1.0, 0.0
    if b <= 1.0 and a >= 15.0 and y < 0.3:
        lower = _beta_large_a_small_b(a, b, x, y)
        if lower < 0.9:
            return lower, 1.0 - lower
    if a <= 1.0 and b >= 15.0 and x < 0.3:
        upper = _beta_large_a_small_b(b, a, y, x)
        if upper < 0.9:
            return 1.0 - upper, upper
    if x < (a + 1.0) / (a + b + 2.0):
        lower = _beta_front(a, b, x, y) * _beta_continued_fraction(a, b, x, y)
        return lower, 1.0 - lower
    upper = _beta_front(b, a, y, x) * _beta_continued_fraction(b, a, y, x)
    return 1.0 - upper, upper


def _betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if math.isnan(a + b + x) or a <= 0 or b <= 0 or not 0.0 <= x <= 1.0:
        return math.nan
    return betainc_pair(a, b, x, 1.0 - x)[0]


def _betaincc(a: float, b: float, x: float) -> float:
    """Complement 1 - I_x(a, b), accurate where it is small."""
    if math.isnan(a + b + x) or a <= 0 or b <= 0 or not 0.0 <= x <= 1.0:
        return math.nan
    return betainc_pair(a, b, x, 1.0 - x)[1]


betainc = vectorized(_betainc)
betaincc = vectorized(_betaincc)


# --- incomplete gamma ----------------------------------------------------------


def _gamma_front(a: float, x: float) -> float:
    """x^a e^-x / Gamma(a); for large a expanded around x = a (no cancellation of terms of size a)."""
    if a >= 10.0 and 0.1 * a < x < 10.0 * a:
        return math.sqrt(a / (2.0 * math.pi)) * math.exp(a * _log1pmx((x - a) / a) - _lgamma_correction(a))
    return math.exp(a * math.log(x) - x - math.lgamma(a))


def gammainc_pair(a: float, x: float) -> tuple[float, float]:
    """(P(a, x), Q(a, x)), the regularized lower and upper incomplete gamma functions."""
    if x <= 0.0:
        return 0.0, 1.0
    if math.isinf(x):
        return 1.0, 0.0
    if x < a + 1.0:
        term = total = 1.0 / a
        for n in range(1, _MAX_ITER):
            term *= x / (a + n)
            total += term
            if abs(term) < abs(total) * _EPS:
                lower = total * _gamma_front(a, x)
                return lower, 1.0 - lower
        raise ArithmeticError(f"incomplete gamma series did not converge (a={a}, x={x})")
    b = x + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for n in range(1, _MAX_ITER):
        numerator = -n * (n - a)
        b += 2.0
        d = numerator * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + numerator / c
        c = c if abs(c) > _TINY else _TINY
        delta = c * d
        h *= delta
        if abs(delta - 1.0) < _EPS:
            upper = h * _gamma_front(a, x)
            return 1.0 - upper, upper
    raise ArithmeticError(f"incomplete gamma continued fraction did not converge (a={a}, x={x})")


def _gammainc(a: float, x: float) -> float:
    """Regularized lower incomplete gamma P(a, x) for a > 0, x >= 0."""
    if math.isnan(a + x) or a <= 0 or x < 0:
        return math.nan
    return gammainc_pair(a, x)[0]


def _gammaincc(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x)."""
    if math.isnan(a + x) or a <= 0 or x < 0:
        return math.nan
    return gammainc_pair(a, x)[1]


gammainc = vectorized(_gammainc)
gammaincc = vectorized(_gammaincc)


# --- digamma and polygamma -----------------------------------------------------


def _hurwitz_zeta(s: float, x: float) -> float:
    """zeta(s, x) = sum_k (x + k)^-s for s > 1, x > 0: direct terms up to N, then Euler-Maclaurin."""
    start = max(20.0, 2.0 * s + 10.0)
    total = 0.0
    while x < start:
        total += x**-s
        x += 1.0
    total += x ** (1.0 - s) / (s - 1.0) + 0.5 * x**-s
    factor = 0.5 * s * x ** (-s - 1.0)
    for k, b2k in enumerate(_BERNOULLI_2K, start=1):
        if k > 1:
            factor *= (s + 2 * k - 3) * (s + 2 * k - 2) / ((2 * k - 1) * (2 * k) * x * x)
        term = b2k * factor
        total += term
        if abs(term) < _EPS * abs(total):
            break
    return total


def _digamma_asymptotic(x: float) -> float:
    total = 0.0
    for shifted in range(math.ceil(max(0.0, 20.0 - x))):
        total -= 1.0 / (x + shifted)
    x += math.ceil(max(0.0, 20.0 - x))
    inv2 = 1.0 / (x * x)
    series = 0.0
    power = inv2
    for k, b2k in enumerate(_BERNOULLI_2K[:7], start=1):
        series += b2k / (2 * k) * power
        power *= inv2
    return total + math.log(x) - 0.5 / x - series


#: Taylor coefficients of digamma at its positive root, psi^(k)(x0) / k! = (-1)^(k+1) zeta(k + 1, x0).
_DIGAMMA_TAYLOR = tuple((-1.0) ** (k + 1) * _hurwitz_zeta(k + 1.0, _DIGAMMA_ROOT) for k in range(1, 40))


def _digamma(x: float) -> float:
    """Digamma psi(x) = d/dx log Gamma(x)."""
    if math.isnan(x) or (x <= 0.0 and x == math.floor(x)):
        return math.nan
    if x < 0.0:
        return _digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    h = (x - _DIGAMMA_ROOT) - _DIGAMMA_ROOT_REST
    if abs(h) < 0.25:
        total, power = 0.0, h
        for coefficient in _DIGAMMA_TAYLOR:
            total += coefficient * power
            power *= h
        return total
    return _digamma_asymptotic(x)


def _polygamma(n: float, x: float) -> float:
    """The n-th derivative of digamma (n = 0 is digamma itself), for x > 0 when n >= 1."""
    if math.isnan(n + x) or n < 0 or n != math.floor(n):
        return math.nan
    if n == 0:
        return _digamma(x)
    if x <= 0.0:
        return math.nan
    order = int(n)
    return (-1.0) ** (order + 1) * math.exp(math.lgamma(order + 1.0)) * _hurwitz_zeta(order + 1.0, x)


def _trigamma(x: float) -> float:
    """Trigamma, the derivative of digamma."""
    return _polygamma(1.0, x)


digamma = vectorized(_digamma)
trigamma = vectorized(_trigamma)
polygamma = vectorized(_polygamma)


# --- root finding --------------------------------------------------------------


def brentq(
    func: Callable[[float], float],
    a: float,
    b: float,
    xtol: float = 2e-12,
    rtol: float = 4 * _EPS,
    maxiter: int = 100,
) -> float:
    """A root of ``func`` in [a, b], where func(a) and func(b) differ in sign (Brent 1973; scipy's brentq)."""
    x_pre, x_cur = float(a), float(b)
    f_pre, f_cur = func(x_pre), func(x_cur)
    if f_pre * f_cur > 0:
        raise ValueError("f(a) and f(b) must have different signs")
    if f_pre == 0:
        return x_pre
    if f_cur == 0:
        return x_cur
    x_blk = f_blk = s_pre = s_cur = 0.0
    for _ in range(maxiter):
        if f_pre != 0 and f_cur != 0 and (f_pre < 0) != (f_cur < 0):
            x_blk, f_blk = x_pre, f_pre
            s_pre = s_cur = x_cur - x_pre
        if abs(f_blk) < abs(f_cur):
            x_pre, x_cur, x_blk = x_cur, x_blk, x_cur
            f_pre, f_cur, f_blk = f_cur, f_blk, f_cur
        delta = 0.5 * (xtol + rtol * abs(x_cur))
        s_bis = 0.5 * (x_blk - x_cur)
        if f_cur == 0 or abs(s_bis) < delta:
            return x_cur
        if abs(s_pre) > delta and abs(f_cur) < abs(f_pre):
            if x_pre == x_blk:
                s_try = -f_cur * (x_cur - x_pre) / (f_cur - f_pre)  # secant
            else:
                d_pre = (f_pre - f_cur) / (x_pre - x_cur)
                d_blk = (f_blk - f_cur) / (x_blk - x_cur)
                s_try = (
                    -f_cur * (f_blk * d_blk - f_pre * d_pre) / (d_blk * d_pre * (f_blk - f_pre))
                )  # inverse quadratic
            if 2 * abs(s_try) < min(abs(s_pre), 3 * abs(s_bis) - delta):
                s_pre, s_cur = s_cur, s_try
            else:
                s_pre = s_cur = s_bis
        else:
            s_pre = s_cur = s_bis
        x_pre, f_pre = x_cur, f_cur
        x_cur += s_cur if abs(s_cur) > delta else (delta if s_bis > 0 else -delta)
        f_cur = func(x_cur)
    raise ArithmeticError(f"brentq did not converge in {maxiter} iterations")
