"""The survival function of the two-sided one-sample Kolmogorov-Smirnov statistic D_n, without scipy.

``kstwo_sf(d, n)`` answers what ``scipy.stats.kstwo.sf(d, n)`` does, choosing among the same methods
for the same (n, d) as scipy's ``_kolmogn`` (Simard and L'Ecuyer 2011):

- the closed forms of Ruben and Gambino for n*d <= 1 and n*d >= n - 1;
- twice the one-sided Smirnov probability (the Birnbaum-Tingey sum) for d >= 0.5, and for large
  n*d**2, where it is within rounding of the two-sided tail;
- Durbin's matrix (Marsaglia, Tsang and Wang 2003) for small n*d**1.5 (scipy uses Pomeranz's recursion
  for some small n; both are exact, so their answers agree to rounding);
- the Pelz-Good expansion otherwise.
"""

from __future__ import annotations

import math

import numpy as np

_MIN_LOG = -708.3964185322641
"""log of the smallest normal double: exp() below this underflows."""
_log_fact_table = np.zeros(1)


def log_factorials(size: int) -> np.ndarray:
    """``log(k!)`` for k < size (at least), from a table kept for the process and grown on demand."""
    global _log_fact_table
    if _log_fact_table.size < size:
        _log_fact_table = np.array([math.lgamma(k + 1.0) for k in range(max(size, 2 * _log_fact_table.size))])
    return _log_fact_table


def kstwo_sf(d: float, n: int) -> float:
    """P(D_n >= d) for the two-sided one-sample KS statistic of n values."""
    if d >= 1.0:
        return 0.0
    if d <= 0.0:
        return 1.0
    t = n * d
    if t <= 1.0:
        return 1.0 - _ruben_gambino_low(n, t)
    if t >= n - 1:
        return 2.0 * (1.0 - d) ** n
    nd2 = t * d
    if d >= 0.5 or (n <= 140 and nd2 > 4.0) or (n > 140 and 2.2 <= nd2 < 370.0):
        return 2.0 * smirnov_sf(n, d)
    if n > 140 and nd2 >= 370.0:
        return 0.0
    if n <= 140 or (n <= 100_000 and n * d**1.5 <= 1.4):
        return 1.0 - durbin_cdf(n, d)
    return 1.0 - pelz_good_cdf(n, d)


def _ruben_gambino_low(n: int, t: float) -> float:
    """P(D_n < d) for 1/(2n) < d = t/n <= 1/n: n! / n**n * (2t - 1)**n."""
    if t <= 0.5:
        return 0.0
    if n <= 140:
        return float(np.prod(np.arange(1, n + 1) * (1.0 / n) * (2 * t - 1)))
    return math.exp(_log_factorial_over_power(n) + n * math.log(2 * t - 1))


def _log_factorial_over_power(n: int) -> float:
    """log(n! / n**n) by Stirling's series, with n*log(n) taken out first (no cancellation)."""
    r = 1.0 / n
    series = r * (1 / 12 - r**2 * (1 / 360 - r**2 * (1 / 1260 - r**2 * (1 / 1680 - r**2 / 1188))))
    return 0.5 * math.log(n) - n + 0.5 * math.log(2 * math.pi) + series


def smirnov_sf(n: int, d: float) -> float:
    """P(D+_n >= d), the one-sided statistic: Birnbaum and Tingey's sum
    d * sum_v C(n, v) (d + v/n)**(v-1) (1 - d - v/n)**(n-v) over v < n(1 - d), in logs."""
    if n == 1:
        return 1.0 - d
    if d <= 0.0:
        return 1.0
    if d >= 1.0:
        return 0.0
    below = math.floor(n * d)
    if below == 0 or (below == 1 and n * d == 1.0):
        return 1.0 - d * (1.0 + d) ** (n - 1)
    if -2 * n * d * d < _MIN_LOG:
        return 0.0
    if below >= n - 1:
        return (1.0 - d) ** n
    if n > 1_000_000:  # scipy's cut-off: an approximation, (6nd + 1)**2 / 18n
        return math.exp(-((6.0 * n * d + 1) ** 2) / 18.0 / n)
    v = np.arange(n - below)
    log_fact = log_factorials(n + 1)
    log_terms = (
        log_fact[n] - log_fact[v] - log_fact[n - v]
        + (v - 1) * np.log(d + v / n)
        + (n - v) * np.log(((n - v) - n * d) / n)
    )  # fmt: skip
    peak = float(log_terms.max())
    return d * math.exp(peak) * float(np.exp(log_terms - peak).sum())


def durbin_cdf(n: int, d: float) -> float:
    """P(D_n < d) by Durbin's matrix: n!/n**n times the middle entry of H**n, H of order 2k - 1 for
    k = ceil(n d). Powers are taken by squaring, with the scale kept as a separate power of two."""
    nd = n * d
    if nd <= 0.5:
        return 0.0
    k = math.ceil(nd)
    matrix = _durbin_matrix(k, k - nd)
    power, power_bits = np.eye(2 * k - 1), 0
    square, square_bits = matrix, 0
    remaining = n
    while remaining:
        if remaining % 2:
            power, power_bits = power @ square, power_bits + square_bits
        remaining //= 2
        if remaining:
            square, square_bits = square @ square, 2 * square_bits
            mantissa, bits = math.frexp(float(square[k - 1, k - 1]))
            if bits > 128:
                square, square_bits = square * 2.0**-bits, square_bits + bits
    middle = float(power[k - 1, k - 1])
    if middle <= 0.0:
        return 0.0
    return math.exp(math.log(middle) + power_bits * math.log(2) + _log_factorial_over_power_exact(n))


def _log_factorial_over_power_exact(n: int) -> float:
    """log(n! / n**n): exact sum for small n, Stirling's series beyond."""
    return math.lgamma(n + 1.0) - n * math.log(n) if n <= 140 else _log_factorial_over_power(n)


def _durbin_matrix(k: int, h: float) -> np.ndarray:
    """Durbin's (2k-1) x (2k-1) matrix for d = (k - h)/n, 0 <= h < 1."""
    m = 2 * k - 1
    order = np.arange(m)
    inverse_factorials = np.exp(-np.array([math.lgamma(i + 1.0) for i in range(m + 1)]))
    lag = order[:, None] - order[None, :] + 1
    matrix = np.where(lag >= 0, inverse_factorials[np.clip(lag, 0, m)], 0.0)
    edge = (1.0 - h ** (order + 1.0)) * inverse_factorials[order + 1]
    matrix[:, 0] = edge
    matrix[-1, :] = edge[::-1]
    matrix[-1, 0] = (1.0 - 2 * h**m + max(2 * h - 1.0, 0.0) ** m) * inverse_factorials[m]
    return matrix


def pelz_good_cdf(n: int, d: float) -> float:
    """P(D_n < d) by the Pelz-Good expansion K0 + K1/sqrt(n) + K2/n + K3/n**1.5 in z = d sqrt(n)."""
    z = math.sqrt(n) * d
    z2 = z * z
    log_q = -(math.pi**2) / 8 / z2
    if log_q < -708:
        return 0.0
    pi2 = math.pi**2
    odd = 2.0 * np.arange(1, math.ceil(16 * z / math.pi) + 1) - 1
    m2 = odd * odd
    weights = np.exp(m2 * log_q)
    k1 = -z2 + pi2 * m2 / 4
    k2 = 6 * z2**3 + 2 * z2**2 + (2 * z2**2 - 5 * z2) * pi2 * m2 / 4 + pi2**2 * (1 - 2 * z2) * m2**2 / 16
    k3 = (
        -30 * z2**3 - 90 * z2**4 + pi2 * (135 * z2**2 - 96 * z2**3) * m2 / 4
        + pi2**2 * (212 * z2**2 - 60 * z2) * m2**2 / 16 + pi2**3 * (5 - 30 * z2) * m2**3 / 64
    )  # fmt: skip
    root = math.sqrt(2 * math.pi)
    terms = [float(np.sum(weights * c)) * root for c in (np.ones_like(m2), k1, k2, k3)]
    terms = [terms[0] / z, terms[1] / (6 * z2**2), terms[2] / (72 * z**7), terms[3] / (6480 * z2**5)]
    k = np.arange(1, math.ceil(16 * z / math.pi) + 1, dtype=float)
    extra = k * k * np.exp(-pi2 / 2 / z2 * k * k)
    terms[2] += float(np.sum(extra)) * pi2 * root / (-36 * z**3)
    terms[3] += float(np.sum((3 * z2 - pi2 * k * k) * extra)) * pi2 * root / (216 * z2**3)
    return sum(term / n ** (index / 2) for index, term in enumerate(terms))
