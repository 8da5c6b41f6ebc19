"""Confidence intervals: Wilson for proportions, seeded percentile bootstrap otherwise."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from evalharness.metrics.base import MetricSettings


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for ``confidence`` (1.95996... for 0.95)."""
    return NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)


def wilson_interval(successes: int, n: int, confidence: float) -> tuple[float, float] | None:
    """Wilson score interval of a proportion; ``None`` when there is no trial."""
    if n <= 0:
        return None
    z = z_value(confidence)
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def rng_for(settings: MetricSettings, name: str) -> np.random.Generator:
    """A generator seeded by the suite seed and the metric name: same draws on every machine and worker."""
    return np.random.default_rng([settings.seed, zlib.crc32(name.encode("utf-8"))])


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float] | None:
    """Percentile interval of bootstrap ``samples``, ignoring resamples where the metric is undefined."""
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return None
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    return (float(low), float(high))


def bootstrap_counts(counts: np.ndarray, settings: MetricSettings, name: str) -> np.ndarray:
    """Resample a confusion matrix as if its rows were resampled with replacement.

    Drawing N rows with replacement makes the cell counts multinomial with the observed cell
    frequencies, so the bootstrap costs O(resamples x cells) instead of O(resamples x rows).
    """
    total = int(counts.sum())
    flat = counts.reshape(-1).astype(float)
    draws = rng_for(settings, name).multinomial(total, flat / total, size=settings.resamples)
    return draws.reshape(settings.resamples, *counts.shape)


def bootstrap_rows(
    n: int, settings: MetricSettings, name: str, statistic: Callable[[np.ndarray], np.ndarray], budget: int = 4_000_000
) -> np.ndarray:
    """Row-level bootstrap: ``statistic`` maps a (b, n) array of row indices to b values.

    Resamples are drawn in chunks so memory stays near ``budget`` integers at any n.
    """
    rng = rng_for(settings, name)
    chunk = max(1, budget // max(n, 1))
    dtype = np.int32 if n < 2**31 else np.int64
    values = []
    for start in range(0, settings.resamples, chunk):
        size = min(chunk, settings.resamples - start)
        values.append(statistic(rng.integers(0, n, size=(size, n), dtype=dtype)))
    return np.concatenate(values) if values else np.empty(0)


Resampler = Callable[[np.ndarray], np.ndarray]
"""A metric recomputed on row resamples: a (b, n) array of row indices -> b values."""


def resample_weights(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each row is drawn in each resample: (b, n) indices -> (b, n) counts."""
    resamples = indices.shape[0]
    offsets = (np.arange(resamples, dtype=np.int64) * n)[:, None]
    return np.bincount((indices + offsets).ravel(), minlength=resamples * n).reshape(resamples, n)


@dataclass(frozen=True)
class RatioTerms:
    """A metric as a ratio of per-row sums (or the mean over K such ratios): see :func:`ratio_resampler`."""

    numerator: np.ndarray
    denominator: np.ndarray
    fill: float = float("nan")

    def matrix(self) -> np.ndarray:
        """Numerators then denominators, one row per dataset row: (n, 2K)."""
        rows = len(self.numerator)
        return np.hstack([np.asarray(self.numerator, float).reshape(rows, -1),
                          np.asarray(self.denominator, float).reshape(rows, -1)])  # fmt: skip

    def value(self, sums: np.ndarray) -> np.ndarray:
        """The metric from (..., 2K) sums of :meth:`matrix` columns."""
        top, bottom = np.split(sums, 2, axis=-1)
        ratios = np.divide(top, bottom, out=np.full_like(top, self.fill, dtype=float), where=bottom > 0)
        return ratios.mean(axis=-1)


def ratio_resampler(numerator: np.ndarray, denominator: np.ndarray, fill: float = float("nan")) -> Resampler:
    """A metric that is a ratio of per-row sums, or the mean over K such ratios (a macro average).

    ``numerator`` and ``denominator`` are (n,) or (n, K) per-row terms: accuracy is (correct, 1),
    binary precision (true positive, predicted positive), F1 (2 TP, expected + predicted positive),
    consistency (rules held, rules applicable). A ratio with nothing below it is ``fill`` (NaN:
    undefined in that resample). Each resample costs two matrix products, whatever K is. The terms
    become floats on the first call only: a suite that never resamples them keeps them compact.
    """
    rows = len(numerator)
    as_floats: list[np.ndarray] = []

    def statistic(indices: np.ndarray) -> np.ndarray:
        if not as_floats:
            as_floats.extend(np.asarray(terms, dtype=float).reshape(rows, -1) for terms in (numerator, denominator))
        top_terms, bottom_terms = as_floats
        weights = resample_weights(indices, rows).astype(float)
        top, bottom = weights @ top_terms, weights @ bottom_terms
        ratios = np.divide(top, bottom, out=np.full_like(top, fill), where=bottom > 0)
        return ratios.mean(axis=1)

    return statistic


def compact(terms: Any) -> np.ndarray:
    """Per-row terms in the smallest dtype that holds them exactly: whole numbers from 0 to 255 (right
    or wrong, rules held) as one byte a value instead of eight; anything else as it is."""
    array = np.asarray(terms)
    if array.dtype == bool or array.dtype == np.uint8 or array.dtype.kind not in "iuf" or not array.size:
        return array
    low, high = array.min(), array.max()
    if not (np.isfinite(low) and np.isfinite(high) and low >= 0 and high <= 255):
        return array
    small = array.astype(np.uint8)
    return small if np.array_equal(small, array) else array


MAX_KINDS = 4096
"""The most kinds of row a multinomial bootstrap enumerates (never more than a quarter of the
rows: a multinomial draw costs O(kinds), resampling rows O(rows)); past it, rows are resampled."""


def row_kinds(matrix: np.ndarray, max_kinds: int = MAX_KINDS) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct rows of ``matrix`` (K, columns) and how often each occurs (K,), or None when
    there could be more than ``max_kinds``. Each column is sorted once on its own (a row-wise
    ``np.unique(axis=0)`` is about 16 times slower); a row's kind is its columns' codes in mixed radix."""
    code = np.zeros(len(matrix), dtype=np.int64)
    values, radix = [], 1
    for column in np.asarray(matrix).T:
        distinct, inverse = np.unique(column, return_inverse=True)
        radix *= len(distinct)
        if radix > max_kinds:
            return None
        code = code * len(distinct) + inverse.ravel()
        values.append(distinct)
    frequency = np.bincount(code, minlength=radix)
    present = np.flatnonzero(frequency)
    digits, remainder = [], present
    for distinct in reversed(values):
        remainder, digit = np.divmod(remainder, len(distinct))
        digits.append(distinct[digit])
    return np.column_stack(digits[::-1]).astype(float), frequency[present].astype(float)


def distinct_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``matrix`` and their counts, however many: :func:`row_kinds` when few."""
    found = row_kinds(matrix)
    if found is not None:
        return found
    kinds, inverse = np.unique(matrix, axis=0, return_inverse=True)
    return kinds.astype(float), np.bincount(inverse.ravel(), minlength=len(kinds)).astype(float)


def terms_bootstrap(terms: RatioTerms, settings: MetricSettings, name: str) -> tuple[np.ndarray, str]:
    """Bootstrap values of a ratio-of-sums metric and how they were drawn.

    When the rows fall into few kinds (right or wrong on clean and perturbed inputs), drawing n rows
    with replacement is a multinomial over the kinds: the same distribution as the row bootstrap,
    at O(resamples x kinds) whatever the row count. Otherwise rows are resampled.
    """
    matrix = terms.matrix()
    kinds = row_kinds(matrix, min(MAX_KINDS, len(matrix) // 4))
    if kinds is None:
        resample = ratio_resampler(terms.numerator, terms.denominator, terms.fill)
        return bootstrap_rows(len(matrix), settings, name, resample), "bootstrap (rows)"
    distinct, frequency = kinds
    total = int(frequency.sum())
    draws = rng_for(settings, name).multinomial(total, frequency / total, size=settings.resamples)
    with np.errstate(invalid="ignore", divide="ignore"):
        return terms.value(draws.astype(float) @ distinct), "bootstrap (rows, multinomial over kinds)"


def ratio_parts(numerator: np.ndarray, denominator: np.ndarray, fill: float = float("nan")) -> dict[str, Any]:
    """``MetricValue`` fields for a ratio of per-row sums: its terms and its resampler."""
    terms = RatioTerms(compact(numerator), compact(denominator), fill)
    return {"terms": terms, "resample": ratio_resampler(terms.numerator, terms.denominator, fill)}
