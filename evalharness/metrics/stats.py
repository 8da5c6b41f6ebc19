"""Confidence intervals: Wilson for proportions, seeded percentile bootstrap otherwise."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from statistics import NormalDist

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
