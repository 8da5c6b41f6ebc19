"""ROC-AUC from scores, as the Mann-Whitney statistic with ties counted half.

Its interval is DeLong's by default (O(n log n), R pROC's default), or a seeded row bootstrap
(``interval: bootstrap``, O(resamples x rows)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from evalharness.compare.options import ComparableOptions
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.delong import delong_interval, delong_parts
from evalharness.metrics.stats import bootstrap_rows, percentile_interval
from evalharness.predictions import Predictions
from evalharness.suite.fields import Bounds, GateOptions


class AucOptions(ComparableOptions):
    """Options of ``auc``: thresholds and how its interval is found (binary tasks, scores required)."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)

    interval: Literal["delong", "bootstrap"] = Field(
        "delong",
        description="delong: DeLong's variance, O(n log n) (R pROC's default); bootstrap: the seeded row "
        "bootstrap, O(resamples x rows)",
    )


def _auc_from_groups(positives: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """AUC from per-score-group counts of shape (..., G), groups in ascending score order."""
    negatives_below = np.cumsum(negatives, axis=-1) - negatives
    wins = (positives * (negatives_below + 0.5 * negatives)).sum(axis=-1)
    pairs = positives.sum(axis=-1) * negatives.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return wins / pairs


def roc_auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for boolean ``truth``; NaN if one class is absent."""
    _, group = np.unique(score, return_inverse=True)
    size = int(group.max()) + 1 if group.size else 0
    positives = np.bincount(group, weights=truth, minlength=size)
    negatives = np.bincount(group, weights=~truth, minlength=size)
    return float(_auc_from_groups(positives, negatives))


def _bootstrap_auc(truth: np.ndarray, score: np.ndarray, settings: MetricSettings) -> np.ndarray:
    """AUC of each row resample; one gather and one bincount per resample chunk."""
    return bootstrap_rows(len(truth), settings, "auc", auc_resampler(truth, score))


def auc_resampler(truth: np.ndarray, score: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """AUC recomputed on (b, n) row-index resamples, grouped by distinct score (grouped on the first
    call: a suite that never resamples, with DeLong's interval and no baseline, never pays for it)."""
    grouped: list[tuple[np.ndarray, int]] = []

    def statistic(indices: np.ndarray) -> np.ndarray:
        if not grouped:
            _, group = np.unique(score, return_inverse=True)
            grouped.append((2 * group.astype(np.int64) + truth, int(group.max()) + 1))  # (score group, label)
        cell, size = grouped[0]
        resamples = indices.shape[0]
        flat = cell[indices]
        flat += (2 * size * np.arange(resamples, dtype=np.int64))[:, None]
        counts = np.bincount(flat.ravel(), minlength=resamples * 2 * size).reshape(resamples, size, 2)
        return _auc_from_groups(counts[..., 1], counts[..., 0])

    return statistic


@dataclass(frozen=True)
class Auc:
    """ROC-AUC of the positive-class score; seeded bootstrap interval."""

    name: str = "auc"
    options: type[GateOptions] = AucOptions
    description: str = "probability a random positive scores above a random negative"

    def compute(self, predictions: Predictions, options: AucOptions, settings: MetricSettings) -> MetricValue:
        """ROC-AUC over every row; needs the target to produce a score."""
        if predictions.score is None:
            raise ValueError("auc needs a score from the target; map one under target.outputs.score")
        truth, _ = predictions.binary_truth()
        score = np.asarray(predictions.score, dtype=float)
        if np.isnan(score).any():
            raise ValueError(f"auc needs a score for every row; {int(np.isnan(score).sum())} rows have none")
        positives, negatives = int(truth.sum()), int((~truth).sum())
        details = {"positives": positives, "negatives": negatives, "positive_label": _plain_label(predictions)}
        if positives == 0 or negatives == 0:
            return MetricValue(value=float("nan"), n=len(predictions), interval=None, method=options.interval,
                               row_loss=predictions.row_loss, details=details,
                               undefined=_one_class(positives, negatives))  # fmt: skip
        if options.interval == "bootstrap":
            samples = _bootstrap_auc(truth, score, settings)
            interval, method, parts = percentile_interval(samples, settings.confidence), "bootstrap", None
            value = roc_auc(truth, score)
        else:
            samples, method, parts = None, "delong", delong_parts(truth, score)
            interval, value = delong_interval(parts, settings.confidence), parts.auc
            details["standard_error"] = float(np.sqrt(parts.variance()))
        return MetricValue(value=value, n=len(predictions), interval=interval, method=method,
                           row_loss=predictions.row_loss, details=details, samples=samples, delong=parts,
                           resample=auc_resampler(truth, score))  # fmt: skip


def _one_class(positives: int, negatives: int) -> str:
    """Why AUC is undefined: it ranks positives against negatives, and one side is empty."""
    present = "positive" if positives else "negative"
    return f"auc needs both classes and every expected answer is {present} ({positives + negatives} rows)"


AUC = Auc()


def _plain_label(predictions: Predictions) -> object:
    """The positive class as plain JSON (kept so a stored run can be scored again from its rows)."""
    label = predictions.resolved_positive_label()
    return label.item() if isinstance(label, np.generic) else label
