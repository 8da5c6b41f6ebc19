"""Paired statistics of a candidate against its baseline on the same rows.

Proportions over rows both sides share (accuracy; recall over the positives) get Newcombe's
interval for a paired difference (method 10, from the two Wilson intervals and the correlation
of the pairs) and McNemar's exact test. Every metric gets the paired bootstrap: the same row
resamples for both sides, so what the rows share cancels out of the difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evalharness.metrics.base import MetricSettings
from evalharness.metrics.stats import (
    RatioTerms,
    Resampler,
    bootstrap_rows,
    distinct_rows,
    percentile_interval,
    rng_for,
    wilson_interval,
)


@dataclass(frozen=True)
class PairedCounts:
    """The 2 x 2 table of paired successes: both right, only the candidate, only the baseline, neither."""

    both: int
    only_candidate: int
    only_baseline: int
    neither: int

    @property
    def n(self) -> int:
        """Rows counted on both sides."""
        return self.both + self.only_candidate + self.only_baseline + self.neither

    @classmethod
    def of(cls, candidate: np.ndarray, baseline: np.ndarray) -> PairedCounts:
        """Counts from per-row successes (1.0, 0.0; NaN for rows neither side counts)."""
        counted = ~np.isnan(candidate) & ~np.isnan(baseline)
        a, b = candidate[counted] > 0.5, baseline[counted] > 0.5
        return cls(int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum()), int((~a & ~b).sum()))


def mcnemar_exact(counts: PairedCounts) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs against Binomial(b + c, 1/2)."""
    discordant = counts.only_candidate + counts.only_baseline
    if discordant == 0:
        return 1.0
    smaller = min(counts.only_candidate, counts.only_baseline)
    log_half = discordant * math.log(0.5)
    logs = [math.lgamma(discordant + 1) - math.lgamma(k + 1) - math.lgamma(discordant - k + 1) + log_half
            for k in range(smaller + 1)]  # fmt: skip
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(value - top) for value in logs)
    return min(1.0, 2.0 * tail)


def newcombe_paired_interval(counts: PairedCounts, confidence: float) -> tuple[float, float] | None:
    """Newcombe's (1998) method 10 interval of p_candidate - p_baseline for paired proportions."""
    n = counts.n
    if n == 0:
        return None
    right_candidate = counts.both + counts.only_candidate
    right_baseline = counts.both + counts.only_baseline
    p1, p2 = right_candidate / n, right_baseline / n
    l1, u1 = wilson_interval(right_candidate, n, confidence) or (p1, p1)
    l2, u2 = wilson_interval(right_baseline, n, confidence) or (p2, p2)
    phi = _phi(counts)
    below = math.sqrt(max((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2, 0.0))
    above = math.sqrt(max((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2, 0.0))
    difference = p1 - p2
    return (max(-1.0, difference - below), min(1.0, difference + above))


def _phi(counts: PairedCounts) -> float:
    """The correlation of the paired successes (0 when a margin is empty)."""
    a, b, c, d = counts.both, counts.only_candidate, counts.only_baseline, counts.neither
    product = (a + b) * (c + d) * (a + c) * (b + d)
    return 0.0 if product == 0 else (a * d - b * c) / math.sqrt(product)


def paired_bootstrap(
    candidate: Resampler, baseline: Resampler, n: int, settings: MetricSettings, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Each side's metric over the same row resamples: two (resamples,) arrays."""

    def statistic(indices: np.ndarray) -> np.ndarray:
        return np.stack([candidate(indices), baseline(indices)], axis=1)

    samples = bootstrap_rows(n, settings, f"{name}:paired", statistic)
    return samples[:, 0], samples[:, 1]


def difference_interval(
    candidate: np.ndarray, baseline: np.ndarray, confidence: float
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """Percentile intervals of candidate - baseline and of candidate / baseline over resamples."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = candidate / baseline
    return percentile_interval(candidate - baseline, confidence), percentile_interval(ratio, confidence)


def paired_terms_bootstrap(
    candidate: RatioTerms, baseline: RatioTerms, settings: MetricSettings, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """The paired bootstrap of two ratio-of-sums metrics, exactly and without touching rows.

    A row is summarised by its terms on both sides; rows alike are interchangeable, so drawing n
    rows with replacement is a multinomial over the kinds of row (a handful for labels: right or
    wrong on each side), and each resample's sums are counts times the kinds' terms.
    """
    joint = np.hstack([candidate.matrix(), baseline.matrix()])
    kinds, frequency = distinct_rows(joint)
    total = int(frequency.sum())
    draws = rng_for(settings, f"{name}:paired").multinomial(total, frequency / total, size=settings.resamples)
    sums = draws @ kinds
    width = candidate.matrix().shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return candidate.value(sums[:, :width]), baseline.value(sums[:, width:])
