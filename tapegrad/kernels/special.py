"""Special functions on arrays: lgamma, digamma, polygamma, erfc, erfinv, i0/i1, igamma.

numpy has none of them and tapegrad does not depend on scipy, so they are written here,
vectorised, in float64 (a float32 input is computed in float64 and rounded once at the
end). Each docstring says which method it uses; all agree with torch to about 1e-13
relative on ordinary inputs, and follow torch at the poles, at ±inf and at NaN.

Two come from the C library, as `tapegrad.kernels.reference.erf` does: ``lgamma`` and
``erfc`` (``math.lgamma``/``math.erfc`` mapped over the elements, ~0.1 µs each).

The methods, in one line each:

* ``digamma`` ψ(x) = d ln Γ(x)/dx: the recurrence ψ(x) = ψ(x + 1) − 1/x lifts x above 10,
  where the asymptotic series ψ(x) ≈ ln x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ) is exact to
  rounding; negative x by the reflection ψ(x) = ψ(1 − x) − π/tan(πx).
* ``polygamma(n, x)`` = ψ⁽ⁿ⁾(x) = (−1)ⁿ⁺¹ n! ζ(n + 1, x) for n ≥ 1 (n = 1 reflected below
  1/2 as torch does: ψ₁(x) = π²/sin²(πx) − ψ₁(1 − x)), with the Hurwitz zeta
  ζ(s, q) = Σₖ (q + k)⁻ˢ summed directly until q + k ≥ 10 and the Euler–Maclaurin tail
  beyond.
* ``erfinv``: a rough closed-form start (Winitzki's, 2e-3 relative) polished by Newton's
  method on erf (or on erfc near ±1, where erf has no digits left).
* ``i0``, ``i1`` (modified Bessel functions): the power series
  Iᵥ(x) = Σ (x/2)²ᵏ⁺ᵛ / (k! (k + ν)!) up to |x| = 30, the asymptotic series
  eˣ/√(2πx) Σ (−1)ᵏ ∏(4ν² − (2j − 1)²) / (k! (8x)ᵏ) beyond.
* ``igamma(a, x)`` = P(a, x), the regularised lower incomplete gamma function: its power
  series for x < a + 1, Legendre's continued fraction for Q = 1 − P (Lentz's method)
  otherwise; ``igammac`` is Q.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["digamma", "erfc", "erfinv", "i0", "i1", "igamma", "igammac", "lgamma",
           "polygamma"]

_ASYMPTOTIC_FROM = 10.0


def _float64(x: np.ndarray) -> np.ndarray:
    return np.array(x, dtype=np.float64)  # a copy: the loops below write into it


def _like(out: np.ndarray, x: np.ndarray) -> np.ndarray:
    dtype = x.dtype if np.asarray(x).dtype.kind == "f" else np.float64
    return np.asarray(out, dtype=dtype)


def _lgamma_float(x: float) -> float:
    try:
        return math.lgamma(x)
    except ValueError:  # the poles 0, −1, −2...: torch and C give +inf
        return math.inf


_lgamma_ufunc = np.frompyfunc(_lgamma_float, 1, 1)
_erfc_ufunc = np.frompyfunc(math.erfc, 1, 1)


def lgamma(x: np.ndarray) -> np.ndarray:
    """ln |Γ(x)|, from the C library (+inf at the poles 0, −1, −2... and at ±inf)."""
    return _like(_lgamma_ufunc(_float64(x)), x)


def erfc(x: np.ndarray) -> np.ndarray:
    """1 − erf(x) without the cancellation (erfc(10) = 2.1e-45, not 0)."""
    return _like(_erfc_ufunc(_float64(x)), x)


# Bernoulli numbers B₂, B₄ ... B₁₆: the coefficients of the Euler–Maclaurin tails
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def digamma(x: np.ndarray) -> np.ndarray:
    """ψ(x) = Γ'(x)/Γ(x) (see the module docstring). ψ(±0) = ∓inf and ψ at a negative
    integer is NaN, as in torch; ψ(inf) = inf."""
    v = _float64(x)
    finite = np.isfinite(v)
    negative = v < 0
    with np.errstate(all="ignore"):
        # reflection, with tan of the fractional part (π·x itself loses digits for large x)
        shift = np.where(negative, -np.pi / np.tan(np.pi * np.fmod(v, 1.0)), 0.0)
        z = np.where(negative, 1 - v, v)
        z = np.where(finite & (z != 0), z, _ASYMPTOTIC_FROM).ravel()  # specials come last
        shift = shift.ravel()
        _lift_above(z, shift, lambda v: -1 / v)
        w = 1 / (z * z)
        series = np.zeros_like(z)
        for k, b in reversed(list(enumerate(_BERNOULLI, start=1))):  # Horner's rule in w
            series = (series + b / (2 * k)) * w
        out = (shift + np.log(z) - 0.5 / z - series).reshape(v.shape)
    out = np.where(v == 0, np.copysign(np.inf, -v), out)
    out = np.where(negative & (v == np.trunc(v)), np.nan, out)  # poles (and −inf)
    out = np.where(v == np.inf, np.inf, out)
    out = np.where(np.isnan(v), np.nan, out)
    return _like(out, x)


def hurwitz_zeta(s: int, q: np.ndarray) -> np.ndarray:
    """ζ(s, q) = Σₖ₌₀ (q + k)⁻ˢ for an integer s ≥ 2: the terms summed until q + k ≥ 10,
    then the Euler–Maclaurin tail  N¹⁻ˢ/(s − 1) + N⁻ˢ/2 + Σⱼ B₂ⱼ/(2j)! s(s+1)…(s+2j−2)
    N⁻ˢ⁻²ʲ⁺¹. Inf at q = 0, −1, −2... (a term 1/0ˢ); NaN at q = −inf."""
    q = _float64(q)
    z = np.where(np.isfinite(q), q, _ASYMPTOTIC_FROM).ravel()
    total = np.zeros_like(z)
    with np.errstate(all="ignore"):
        _lift_above(z, total, lambda v: _inverse_power(v, s))
        p = _inverse_power(z, s)  # N⁻ˢ
        # the tail's Bernoulli terms, in powers of w = 1/N², summed by Horner's rule
        coefficients, rising, factorial = [], float(s), 2.0  # s(s+1)…(s+2j−2), (2j)!
        for j, b in enumerate(_BERNOULLI, start=1):
            coefficients.append(b / factorial * rising)
            rising *= (s + 2 * j - 1) * (s + 2 * j)
            factorial *= (2 * j + 1) * (2 * j + 2)
        w = 1 / (z * z)
        series = np.full_like(z, coefficients[-1])
        for c in reversed(coefficients[:-1]):
            series = series * w + c
        out = (total + p * z / (s - 1) + 0.5 * p + p / z * series).reshape(q.shape)
    out = np.where(q == np.inf, 0.0, out)
    return np.where(np.isnan(q) | (q == -np.inf), np.nan, out)


def _inverse_power(z: np.ndarray, s: int) -> np.ndarray:
    """z⁻ˢ for a small integer s, by multiplication (a float power is several times
    slower)."""
    r = 1 / z
    p = r.copy()
    for _ in range(s - 1):
        p *= r
    return p


def _lift_above(z: np.ndarray, total: np.ndarray, term: Any) -> None:
    """The recurrence that lifts every element of the flat array ``z`` to at least 10:
    while z < 10, ``total += term(z)`` and ``z += 1`` (in place), on the elements that
    still need it only (at most ~10 passes for moderate inputs; more for very negative
    ones, which pass one by one towards 10)."""
    need = np.flatnonzero(z < _ASYMPTOTIC_FROM)
    while need.size:
        zz = z[need]
        total[need] += term(zz)
        zz += 1
        z[need] = zz
        need = need[zz < _ASYMPTOTIC_FROM]


def polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma (n = 0 is digamma itself)."""
    if n == 0:
        return digamma(x)
    v = _float64(x)
    with np.errstate(all="ignore"):
        if n == 1:  # trigamma, reflected below 1/2 as torch does: π²/sin²(πx) − ψ₁(1 − x)
            low = v < 0.5
            zeta = hurwitz_zeta(2, np.where(low, 1 - v, v))
            # sin(πx) in x's own precision, as torch: at a pole (a negative integer) it is
            # rounding noise, and torch's value there is π² over that noise squared
            xs = np.asarray(x)
            t = xs.dtype.type if xs.dtype.kind == "f" else np.float32
            sin = np.sin(t(np.pi) * np.asarray(xs, dtype=t))
            reflection = (t(np.pi) * t(np.pi) / (sin * sin)).astype(np.float64)
            out = np.where(low, reflection - zeta, zeta)
            return _like(out, x)
        zeta = hurwitz_zeta(n + 1, v)
        # torch's zeta (Cephes') is +inf at every q ≤ 0 that is an integer (−inf and −0
        # too) and NaN at q = +inf
        zeta = np.where((v <= 0) & (v == np.floor(v)), np.inf, zeta)
        zeta = np.where(v == np.inf, np.nan, zeta)
        out = (-1.0) ** (n + 1) * math.factorial(n) * zeta
    return _like(out, x)


def erfinv(x: np.ndarray) -> np.ndarray:
    """The inverse of erf on [−1, 1] (±inf at ±1, NaN outside).

    Start: Winitzki's closed form, erfinv(x) ≈ sgn(x) √(√(t² − ln(1 − x²)/a) − t) with
    t = 2/(πa) + ln(1 − x²)/2 and a = 0.147. Then Newton's method, y ← y − f(y)/f'(y):
    on f(y) = erf(y) − x for |x| ≤ 0.5, on f(y) = erfc(y) − (1 − x) beyond (1 − x is exact
    there, and erfc keeps its relative precision where erf is within an ulp of 1)."""
    v = _float64(x)
    s, m = np.sign(v), np.abs(v)
    with np.errstate(all="ignore"):
        a = 0.147
        ln = np.log1p(-m * m)
        t = 2 / (np.pi * a) + ln / 2
        y = np.sqrt(np.sqrt(t * t - ln / a) - t)
        inner = m <= 0.5
        rest = 1 - m
        slope = 2 / math.sqrt(math.pi)
        for _ in range(4):  # quadratic convergence from 2e-3: 4 steps reach rounding
            erf_y = np.asarray(_erf(y), dtype=np.float64)
            erfc_y = np.asarray(_erfc_ufunc(y), dtype=np.float64)
            f = np.where(inner, erf_y - m, rest - erfc_y)
            step = f / (slope * np.exp(-y * y))
            y = np.where(np.isfinite(step), y - step, y)
        out = s * y
    out = np.where(m == 1, np.copysign(np.inf, v), out)
    out = np.where(m > 1, np.nan, out)
    out = np.where(v == 0, v, out)  # erfinv(−0) = −0
    return _like(out, x)


_erf = np.frompyfunc(math.erf, 1, 1)


def _bessel_i(nu: int, x: np.ndarray) -> np.ndarray:
    """Iᵥ(x) for ν = 0, 1 (see the module docstring): the series where |x| ≤ 30, the
    asymptotic expansion beyond (overflowing to inf past |x| ≈ 713, as in torch)."""
    v = _float64(x)
    ax = np.abs(v)
    small = ax <= 30
    with np.errstate(all="ignore"):
        xs = np.where(small, ax, 0.0)
        q = xs * xs / 4
        term = (xs / 2) ** nu  # k = 0: (x/2)^ν / ν!
        total = term.copy()
        for k in range(1, 120):  # the largest term is near k = x/2 = 15; 120 is plenty
            term = term * q / (k * (k + nu))
            total += term
        xl = np.where(small, 30.0, ax)
        coefficient, tail = 1.0, np.ones_like(xl)
        for k in range(1, 30):
            coefficient *= -(4 * nu * nu - (2 * k - 1) ** 2) / (k * 8)
            tail += coefficient / xl ** k
        large = np.exp(xl) / np.sqrt(2 * np.pi * xl) * tail
        out = np.where(small, total, large)
    if nu % 2:
        out = np.copysign(out, v)  # I₁ is odd (and I₀ even)
    return np.where(np.isnan(v), np.nan, out)


def i0(x: np.ndarray) -> np.ndarray:
    """I₀(x), the modified Bessel function of the first kind of order 0."""
    return _like(_bessel_i(0, x), x)


def i1(x: np.ndarray) -> np.ndarray:
    """I₁(x) = I₀'(x), the modified Bessel function of order 1 (i0's derivative)."""
    return _like(_bessel_i(1, x), x)


_ITERATIONS = 500


def _igamma_pair(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P, Q, use_series): both regularised incomplete gammas, each computed by the method
    that is accurate for it, the other as 1 minus it."""
    with np.errstate(all="ignore"):
        log_prefix = a * np.log(x) - x - np.asarray(_lgamma_ufunc(a), dtype=np.float64)
        use_series = x < a + 1
        # the power series: P = x^a e^−x / Γ(a + 1) Σₙ xⁿ / ((a + 1)…(a + n))
        ap = np.where(use_series, a, 1.0)
        xs = np.where(use_series, x, 0.0)
        term = 1 / ap
        total = term.copy()
        for _ in range(_ITERATIONS):
            ap = ap + 1
            term = term * xs / ap
            total += term
            if np.all(np.abs(term) <= np.abs(total) * 1e-17):
                break
        p_series = total * np.exp(log_prefix)
        # Legendre's continued fraction for Q, evaluated by the modified Lentz method
        xc = np.where(use_series, a + 2.0, x)
        tiny = 1e-300
        b = xc + 1 - a
        c = np.full_like(b, 1 / tiny)
        d = 1 / b
        h = d.copy()
        for i in range(1, _ITERATIONS):
            an = -i * (i - a)
            b = b + 2
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1 / d
            delta = d * c
            h = h * delta
            if np.all(np.abs(delta - 1) <= 1e-16):
                break
        q_fraction = np.exp(log_prefix) * h
    p = np.where(use_series, p_series, 1 - q_fraction)
    q = np.where(use_series, 1 - p_series, q_fraction)
    return p, q, use_series


def _igamma_edges(a: np.ndarray, x: np.ndarray, lower: bool, out: np.ndarray) -> np.ndarray:
    """torch's values where the methods do not apply (P shown; Q is 1 − P): NaN for a or
    x negative or NaN, and for a = x = 0 or both infinite; P(0, x > 0) = 1; P(a, 0) = 0;
    P(inf, x) = 0; P(a, inf) = 1."""
    one, zero = (1.0, 0.0) if lower else (0.0, 1.0)
    out = np.where(np.isinf(x), one, out)
    out = np.where(np.isinf(a), zero, out)
    out = np.where(x == 0, zero, out)
    out = np.where(a == 0, one, out)
    bad = (a < 0) | (x < 0) | np.isnan(a) | np.isnan(x) | ((a == 0) & (x == 0)) | (
        np.isinf(a) & np.isinf(x))
    return np.where(bad, np.nan, out)


def igamma(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(a, x) = γ(a, x)/Γ(a), the regularised lower incomplete gamma function."""
    a64, x64 = np.broadcast_arrays(_float64(a), _float64(x))
    p, _, _ = _igamma_pair(*_safe(a64, x64))
    return _igamma_edges(a64, x64, True, p)


def igammac(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) = 1 − P(a, x), the regularised upper incomplete gamma function."""
    a64, x64 = np.broadcast_arrays(_float64(a), _float64(x))
    _, q, _ = _igamma_pair(*_safe(a64, x64))
    return _igamma_edges(a64, x64, False, q)


def _safe(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary values where the edge cases sit (their results are replaced after)."""
    ok = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
    return np.where(ok, a, 1.0), np.where(ok, x, 1.0)
