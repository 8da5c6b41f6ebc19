"""The two-sample Kolmogorov-Smirnov test without scipy: what ``scipy.stats.ks_2samp(a, b)`` answers.

Importing ``scipy.stats`` costs most of a second, more than the rest of a small suite's start-up, so
drift's KS test lives here, on numpy and the standard library. The statistic is computed exactly as
scipy does (so ties count the same); the two-sided p-value follows scipy's method 'auto':

- exact when neither sample has more than :data:`MAX_EXACT_N` values: for equal sizes the alternating
  sum of binomial ratios, otherwise the share of lattice paths from (0, 0) to (n1, n2) that leave the
  band ``|x/n1 - y/n2| < d`` (Hodges 1958, computed outward as Viehmann 2021 recommends, so a small
  p-value keeps its relative precision);
- otherwise the Kolmogorov distribution of ``round(n1 * n2 / (n1 + n2))`` values at ``d``
  (:mod:`evalharness.metrics.kstwo`).

The lattice count is where the time goes. Column by column, the number of paths that have left the
band obeys ``Q(i, j) = Q(i - 1, j) + Q(i, j - 1)``: one cumulative sum per column over the band's
rows, with paths counted as binomials outside it. The counts are stored scaled by a power of two,
rescaled as they grow. A column's counts span a range that grows with the band's width; where it
would exceed :data:`MAX_SPAN_BITS`, the small counts at the bottom of the band could not be held
beside the large ones, and the proportions are computed instead, one anti-diagonal at a time
(slower, but every value lies in [0, 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evalharness.metrics.kstwo import kstwo_sf, log_factorials

MAX_EXACT_N = 10_000
"""scipy's limit for the exact p-value under method 'auto'."""
MAX_SPAN_BITS = 800
"""The widest range (in bits) of path counts in one column that the fast lattice count accepts. Counts
are kept at most 2**1000 and rescaled to about 2**800, so the smallest that matter stay above 2**0; one
lost below 2**-1074 then weighs less than 2**-1074 of the p-value (see :func:`_count_paths_outside`)."""
_TOP_BITS, _RESCALED_BITS = 1000, 800
"""Scaled counts are rescaled once the largest exceeds 2**1000, back to about 2**800."""


@dataclass(frozen=True)
class KSResult:
    """The KS statistic and its two-sided p-value."""

    statistic: float
    pvalue: float


def ks_2samp(first: np.ndarray, second: np.ndarray) -> KSResult:
    """The two-sided two-sample KS test of ``first`` against ``second``, as ``scipy.stats.ks_2samp`` gives it."""
    a, b = np.sort(np.asarray(first, dtype=float)), np.sort(np.asarray(second, dtype=float))
    if not (a.size and b.size):
        raise ValueError("ks_2samp needs at least one value in each sample")
    d = ks_statistic(a, b)
    n1, n2 = a.size, b.size
    if max(n1, n2) <= MAX_EXACT_N:
        d, p = exact_pvalue(n1, n2, d)
        if p is not None:
            return KSResult(d, p)
    large, small = float(max(n1, n2)), float(min(n1, n2))
    return KSResult(d, min(max(kstwo_sf(d, round(large * small / (large + small))), 0.0), 1.0))


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """The largest distance between the two samples' ECDFs (``a`` and ``b`` sorted), computed as scipy does."""
    both = np.concatenate([a, b])
    gaps = np.searchsorted(a, both, side="right") / a.size - np.searchsorted(b, both, side="right") / b.size
    below, above = min(max(-float(gaps.min()), 0.0), 1.0), float(gaps.max())
    return below if below > above else above


def exact_pvalue(n1: int, n2: int, d: float) -> tuple[float, float | None]:
    """The statistic rounded to the lattice (h / lcm) and its exact p-value, or None where it is not a
    probability (scipy then falls back on the asymptotic distribution)."""
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    h = int(np.round(d * lcm))
    d = h * 1.0 / lcm
    if h == 0:
        return d, 1.0
    if n1 == n2:  # rounding can take this sum past 1, where scipy gives up on it: so do we
        p = equal_sizes_pvalue(n1, h)
    else:  # a share of paths, at most 1 in scipy's arithmetic; ours may round past it
        p = min(lattice_pvalue(n1, n2, h), 1.0)
    return d, (p if 0.0 <= p <= 1.0 else None)


def equal_sizes_pvalue(n: int, h: int) -> float:
    """P(D >= h/n) for two samples of n: 2 * (A0 - A0*A1 + A0*A1*A2 - ...) evaluated from the inside out,
    where A_k is binom(2n, n - (k+1)h) / binom(2n, n - kh) as a product of h ratios, multiplied and
    divided in scipy's order so the sum rounds as scipy's does (it decides when to give up on it)."""
    k = np.arange(n // h + 1, dtype=float)
    ratios = np.ones_like(k)
    for j in range(h):
        ratios = (n - k * h - j) * ratios / (n + k * h + j + 1)
    total = 0.0
    for ratio in ratios[::-1].tolist():
        total = ratio * (1.0 - total)
    return 2.0 * total


def _band(cols: int, rows: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Per column i of the (cols x rows) lattice, the rows [lo, hi) strictly inside ``|i*rows - j*cols| < h*g``."""
    g = math.gcd(cols, rows)
    cg, rg = cols // g, rows // g
    i = np.arange(cols + 1, dtype=np.int64)
    lo = np.maximum((rg * i - h) // cg + 1, 0)
    hi = np.minimum(-(-(rg * i + h) // cg), rows + 1)
    return lo, hi


def lattice_pvalue(n1: int, n2: int, h: int) -> float:
    """The share of lattice paths from (0, 0) to (n1, n2) that leave the band of half-width h / lcm."""
    cols, rows = sorted((n1, n2))  # one column per value of the smaller sample: fewer, taller steps
    lo, hi = _band(cols, rows, h)
    if np.any(hi <= lo):
        return 1.0  # a column with no row inside: every path leaves
    log_fact = log_factorials(cols + rows + 1)
    i = np.arange(cols + 1)
    log_top = _log_binom(log_fact, i + hi - 1, i)  # the largest count a column holds
    log_bottom = _log_binom(log_fact, i + np.maximum(lo - 1, 0), i)
    span = np.max(log_top[1:] - np.minimum(log_bottom[1:], log_bottom[:-1])) / math.log(2)
    if span > MAX_SPAN_BITS:
        return lattice_pvalue_by_diagonals(cols, rows, h)
    return _count_paths_outside(cols, rows, lo, hi, log_fact, log_top)


def _log_binom(log_fact: np.ndarray, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log C(n, k), elementwise."""
    return log_fact[n] - log_fact[k] - log_fact[n - k]


def _scales(log_top: np.ndarray) -> np.ndarray:
    """Per column, the power of two its counts are divided by: 0 while they are small, then moved so the
    largest count stays between 2**800 and 2**1000."""
    top_bits = (log_top / math.log(2)).tolist()
    scales, scale = [], 0
    for bits in top_bits:
        if bits - scale > _TOP_BITS:
            scale = math.floor(bits) - _RESCALED_BITS
        scales.append(scale)
    return np.array(scales)


def _count_paths_outside(cols: int, rows: int, lo: np.ndarray, hi: np.ndarray, log_fact: np.ndarray,
                         log_top: np.ndarray) -> float:  # fmt: skip
    """The lattice count by columns: ``counts[j + 1]`` holds Q(i, j), the paths to (i, j) that left the band.

    Outside the band Q is the binomial C(i + j, i). The rows above the first column's band are filled
    in advance with the count of the column where each enters the band (scaled as that column is); the
    row below the band is set per column; the rest is one cumulative sum per column.
    """
    scale = _scales(log_top)
    i = np.arange(cols + 1)
    ln2 = math.log(2)
    counts = np.zeros(rows + 2)
    above = np.arange(hi[0], rows + 1)
    enters = np.searchsorted(hi, above, side="right")  # the column whose band first reaches the row
    counts[above + 1] = np.exp(_log_binom(log_fact, enters - 1 + above, enters - 1) - scale[enters] * ln2)
    base_rows = np.maximum(lo - 1, 0)
    bases = np.where(lo > 0, np.exp(_log_binom(log_fact, i + base_rows, i) - scale * ln2), 0.0).tolist()
    starts, stops, scales = lo.tolist(), (hi + 1).tolist(), scale.tolist()
    accumulate = np.add.accumulate  # an in-place running sum; np.cumsum's wrapper costs twice as much
    for column in range(1, cols + 1):
        start = starts[column]
        if scales[column] != scales[column - 1]:
            counts[start + 1 : stops[column - 1]] *= 2.0 ** (scales[column - 1] - scales[column])
        counts[start] = bases[column]
        window = counts[start : stops[column]]
        accumulate(window, out=window)
    outside = float(counts[rows + 1])
    if outside <= 0.0:
        return 0.0
    log_total = float(_log_binom(log_fact, np.array(cols + rows), np.array(cols)))
    return math.exp(math.log(outside) + scales[-1] * ln2 - log_total)


def lattice_pvalue_by_diagonals(cols: int, rows: int, h: int) -> float:
    """The same share, as proportions: P(i, j) = (i P(i-1, j) + j P(i, j-1)) / (i + j) inside the band, 1
    outside; swept one anti-diagonal at a time so each step is a few array operations."""
    g = math.gcd(cols, rows)
    cg, rg = cols // g, rows // g
    share = np.ones(rows + 2)  # share[j + 1] is P on the current diagonal; every row outside the band holds 1
    share[1] = 0.0  # the origin is inside
    row_index = np.arange(-1, rows + 1, dtype=float)
    last_lo = 0
    for t in range(1, cols + rows + 1):
        lo = max((rg * t - h) // (rg + cg) + 1, t - cols, 0)
        hi = min(-(-(rg * t + h) // (rg + cg)), min(t, rows) + 1)
        if hi <= lo:
            return 1.0
        j = row_index[lo + 1 : hi + 1]
        share[lo + 1 : hi + 1] = ((t - j) * share[lo + 1 : hi + 1] + j * share[lo:hi]) / t
        share[last_lo + 1 : lo + 1] = 1.0  # rows the band has moved past
        last_lo = lo
    return float(share[rows + 1])
