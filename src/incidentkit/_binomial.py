"""Exact confidence bounds for a binomial proportion (Clopper-Pearson), in pure Python.

The bounds are quantiles of beta distributions, found by bisection on the
regularized incomplete beta function (a continued fraction, as in Numerical
Recipes' ``betacf``, evaluated in log space so that millions of trials do not
overflow).
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["lower_bound", "requests_needed", "upper_bound"]

_EPSILON: Final = 1e-15
_TINY: Final = 1e-300
_MAX_TERMS: Final = 20_000
_BISECTIONS: Final = 100


def _continued_fraction(a: float, b: float, x: float) -> float:
    """Evaluate the continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_TERMS + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        step = d * c
        h *= step
        if abs(step - 1.0) < _EPSILON:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """Return the regularized incomplete beta function I_x(a, b), for a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _continued_fraction(b, a, 1.0 - x) / b


def _beta_quantile(q: float, a: float, b: float) -> float:
    """Return x with I_x(a, b) = q, by bisection."""
    low, high = 0.0, 1.0
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if incomplete_beta(a, b, middle) < q:
            low = middle
        else:
            high = middle
        if high - low <= 1e-15 * max(high, 1e-300):
            break
    return (low + high) / 2


def upper_bound(bad: int, total: int, confidence: float) -> float:
    """Return the one-sided Clopper-Pearson upper bound on the bad share at ``confidence``."""
    if total <= 0:
        return 1.0
    if bad >= total:
        return 1.0
    return _beta_quantile(confidence, bad + 1, total - bad)


def lower_bound(bad: int, total: int, confidence: float) -> float:
    """Return the one-sided Clopper-Pearson lower bound on the bad share at ``confidence``."""
    if total <= 0 or bad <= 0:
        return 0.0
    return _beta_quantile(1.0 - confidence, bad, total - bad + 1)


def requests_needed(rate: float, limit: float, confidence: float) -> int | None:
    """Return how many requests at a bad share of ``rate`` make the upper bound reach ``limit``.

    ``None`` when no number does (``rate`` is at or above ``limit``).
    """
    if rate >= limit or limit >= 1.0:
        return None if rate >= limit else 1
    high = 1
    while upper_bound(round(rate * high), high, confidence) > limit:
        high *= 2
        if high > 1 << 40:
            return None
    low = high // 2
    while high - low > max(1, high // 1000):
        middle = (low + high) // 2
        if upper_bound(round(rate * middle), middle, confidence) > limit:
            low = middle
        else:
            high = middle
    return high
