"""DeLong's variance of ROC-AUC, alone and for two scores of the same rows, in O(n log n).

DeLong, DeLong and Clarke-Pearson (1988) write AUC as the mean of per-row *structural components*:
a positive's share of negatives it outranks (ties count half), and a negative's share of
positives that outrank it. Their sample variances give the AUC's variance; their covariances give
the variance of the difference of two AUCs over the same rows (paired). The components depend on
a row's score only through its rank, so they are computed per distinct score after one sort, as
Sun and Xu (2014) do, never as the m x n comparison matrix. The interval is R pROC's default:
``auc +- z * sd``, clipped to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evalharness.metrics.stats import z_value


@dataclass(frozen=True)
class DeLongParts:
    """One score's structural components, one per row: a positive's share of negatives it outranks
    (``v10``) and a negative's share of positives outranking it (``v01``); NaN for the other class."""

    truth: np.ndarray
    v10: np.ndarray
    v01: np.ndarray
    auc: float
    """The AUC: the mean positive component (equally, the mean negative one)."""

    def variance(self) -> float:
        """DeLong's variance of the AUC: S10 / m + S01 / n; NaN with fewer than two of a class."""
        return covariance(self, self)


def delong_parts(truth: np.ndarray, score: np.ndarray) -> DeLongParts:
    """The structural components of ``score`` for boolean ``truth`` (both classes present)."""
    truth = np.asarray(truth, dtype=bool)
    _, group = np.unique(score, return_inverse=True)
    size = int(group.max()) + 1
    positives = np.bincount(group, weights=truth, minlength=size)
    negatives = np.bincount(group, weights=~truth, minlength=size)
    m, n = positives.sum(), negatives.sum()
    negatives_below = np.cumsum(negatives) - negatives
    positives_above = m - np.cumsum(positives)
    v10 = (negatives_below + 0.5 * negatives) / n  # per score group, for the positives in it
    v01 = (positives_above + 0.5 * positives) / m  # for the negatives in it
    auc = float((positives * (negatives_below + 0.5 * negatives)).sum() / (m * n))  # the Mann-Whitney count
    per_row_v10 = np.where(truth, v10[group], np.nan)
    per_row_v01 = np.where(truth, np.nan, v01[group])
    return DeLongParts(truth, per_row_v10, per_row_v01, auc)


def covariance(first: DeLongParts, second: DeLongParts) -> float:
    """DeLong's covariance of two AUCs over the same rows and truth (the variance when both are one)."""
    truth = first.truth
    m, n = int(truth.sum()), int((~truth).sum())
    if m < 2 or n < 2:
        return float("nan")
    a10, b10 = first.v10[truth], second.v10[truth]
    a01, b01 = first.v01[~truth], second.v01[~truth]
    s10 = float(((a10 - a10.mean()) * (b10 - b10.mean())).sum() / (m - 1))
    s01 = float(((a01 - a01.mean()) * (b01 - b01.mean())).sum() / (n - 1))
    return s10 / m + s01 / n


def normal_interval(estimate: float, variance: float, confidence: float, low: float = -math.inf,
                    high: float = math.inf) -> tuple[float, float] | None:  # fmt: skip
    """``estimate +- z * sqrt(variance)``, clipped to [low, high]; None when the variance is undefined."""
    if not math.isfinite(variance) or variance < 0:
        return None
    half = z_value(confidence) * math.sqrt(variance)
    return (max(low, estimate - half), min(high, estimate + half))


def delong_interval(parts: DeLongParts, confidence: float) -> tuple[float, float] | None:
    """pROC's DeLong interval of one AUC: ``auc +- z * sd``, clipped to [0, 1]."""
    return normal_interval(parts.auc, parts.variance(), confidence, 0.0, 1.0)


Interval = tuple[float, float] | None


def paired_intervals(candidate: DeLongParts, baseline: DeLongParts, confidence: float) -> tuple[Interval, Interval]:
    """DeLong's intervals of candidate AUC - baseline AUC (pROC's ``roc.test``) and, by the delta
    method, of candidate / baseline, over the same rows; (None, None) when the truths differ."""
    if not np.array_equal(candidate.truth, baseline.truth):
        return None, None
    a, b = candidate.auc, baseline.auc
    var_a, var_b, cov = candidate.variance(), baseline.variance(), covariance(candidate, baseline)
    difference = normal_interval(a - b, max(var_a + var_b - 2.0 * cov, 0.0), confidence)
    if b <= 0:
        return difference, None
    ratio_variance = var_a / b**2 + a**2 * var_b / b**4 - 2.0 * a * cov / b**3
    return difference, normal_interval(a / b, max(ratio_variance, 0.0), confidence)
