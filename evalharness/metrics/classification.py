"""Accuracy, precision, recall and F1 from the confusion matrix, binary or macro-averaged.

Every score is a function of confusion counts with any leading batch dimensions, so the point
estimate and all bootstrap resamples go through the same vectorised code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field

from evalharness.compare.options import ComparableOptions
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.stats import bootstrap_counts, percentile_interval, ratio_parts, wilson_interval
from evalharness.predictions import Predictions
from evalharness.suite.fields import Bounds, GateOptions

PerClass = Callable[[np.ndarray], np.ndarray]


class AccuracyOptions(ComparableOptions):
    """Options of ``accuracy``: thresholds only."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)


ZeroDivision = Literal["error"] | Annotated[float, Field(ge=0, le=1)]


class AveragedOptions(ComparableOptions):
    """Options of precision, recall and F1: ``binary`` (positive class) or ``macro`` average."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)

    average: Literal["binary", "macro"] = "binary"
    zero_division: ZeroDivision = Field(
        "error",
        description="a score whose denominator is 0 (precision with no predicted positives, recall of a class "
        "never expected) is undefined and its gate errors; 0 or 1 scores it that instead (scikit-learn's option)",
    )


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN (undefined) where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    return np.divide(numerator, denominator, out=np.full_like(numerator, np.nan), where=denominator > 0)


def _fill(scores: np.ndarray, zero_division: float | str) -> np.ndarray:
    """Undefined scores replaced by the suite's ``zero_division`` number (kept NaN for ``error``)."""
    return scores if zero_division == "error" else np.where(np.isnan(scores), float(zero_division), scores)


def _true_positives(counts: np.ndarray) -> np.ndarray:
    return np.diagonal(counts, axis1=-2, axis2=-1)


def _predicted_totals(counts: np.ndarray) -> np.ndarray:
    """How often each class was predicted: column totals, without the no-answer column of a
    (..., K, K + 1) matrix (those rows count against recall, never for a class's precision)."""
    return counts.sum(axis=-2)[..., : counts.shape[-2]]


def per_class_precision(counts: np.ndarray) -> np.ndarray:
    """Precision of each class from (..., K, K) counts (rows expected, columns predicted)."""
    return _safe_ratio(_true_positives(counts), _predicted_totals(counts))


def per_class_recall(counts: np.ndarray) -> np.ndarray:
    """Recall of each class from (..., K, K) counts."""
    return _safe_ratio(_true_positives(counts), counts.sum(axis=-1))


def per_class_f1(counts: np.ndarray) -> np.ndarray:
    """F1 of each class: 2 TP / (2 TP + FP + FN) = 2 TP / (row total + column total)."""
    return _safe_ratio(2 * _true_positives(counts), counts.sum(axis=-1) + _predicted_totals(counts))


RowTerms = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(expected one-hot, predicted one-hot), both (n, K) -> per-row (numerator, denominator), (n, K)."""


def precision_terms(expected: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row and class: (true positive, predicted positive)."""
    return expected & predicted, predicted


def recall_terms(expected: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row and class: (true positive, actual positive)."""
    return expected & predicted, expected


def f1_terms(expected: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row and class: (2 TP, its share of row total + column total) = (2 TP, 2 TP + FP + FN)."""
    both = (expected & predicted).astype(float)
    return 2 * both, expected.astype(float) + predicted.astype(float)


def one_hot(predictions: Predictions) -> tuple[np.ndarray, np.ndarray]:
    """Expected and predicted labels as (n, K) booleans over :attr:`Predictions.labels`."""
    classes = np.arange(len(predictions.labels))
    expected, predicted = predictions.codes
    return expected[:, None] == classes, predicted[:, None] == classes


def binary_counts(predictions: Predictions) -> np.ndarray:
    """2 x 2 counts with index 1 the positive class: [[TN, FP], [FN, TP]]."""
    truth, predicted = predictions.binary_truth()
    return np.bincount(truth.astype(int) * 2 + predicted.astype(int), minlength=4).reshape(2, 2)


@dataclass(frozen=True)
class Accuracy:
    """Share of rows whose predicted label equals the expected one; Wilson interval."""

    name: str = "accuracy"
    options: type[GateOptions] = AccuracyOptions
    description: str = "share of rows predicted correctly"

    def compute(self, predictions: Predictions, options: GateOptions, settings: MetricSettings) -> MetricValue:
        """Accuracy over every row."""
        n = len(predictions)
        correct = int(predictions.correct.sum())
        value = correct / n if n else float("nan")
        return MetricValue(
            value=value,
            n=n,
            interval=wilson_interval(correct, n, settings.confidence),
            method="wilson",
            row_loss=predictions.row_loss,
            undefined=None if n else "there are no rows",
            **ratio_parts(predictions.correct, np.ones(n)),
            successes=predictions.correct.astype(float),
        )


@dataclass(frozen=True)
class AveragedMetric:
    """Precision, recall or F1: binary on the positive class, or the unweighted mean over classes.

    ``denominator_axis`` makes a binary score a proportion (Wilson interval): precision divides
    by predicted positives (axis 0 sums over expected), recall by actual positives. F1 is not a
    proportion and always gets a bootstrap interval.
    """

    name: str
    per_class: PerClass
    row_terms: RowTerms
    description: str
    denominator_axis: int | None
    undefined_when: str
    options: type[GateOptions] = AveragedOptions

    def compute(self, predictions: Predictions, options: AveragedOptions, settings: MetricSettings) -> MetricValue:
        """The metric with its interval and per-row loss."""
        if options.average == "macro":
            return self._macro(predictions, options, settings)
        return self._binary(predictions, options, settings)

    def _binary(self, predictions: Predictions, options: AveragedOptions, settings: MetricSettings) -> MetricValue:
        counts = binary_counts(predictions)
        value = float(_fill(self.per_class(counts), options.zero_division)[1])
        truth, predicted = predictions.binary_truth()
        relevant = {0: predicted, 1: truth}.get(self.denominator_axis or 0, truth | predicted)
        loss = np.where(relevant, predictions.row_loss, 0.0)
        if self.denominator_axis is None:
            samples = _fill(self.per_class(bootstrap_counts(counts, settings, self.name)), options.zero_division)
            interval, method, n = percentile_interval(samples[:, 1], settings.confidence), "bootstrap", len(predictions)
        else:
            n = int(counts.sum(axis=self.denominator_axis)[1])
            interval, method = wilson_interval(int(counts[1, 1]), n, settings.confidence), "wilson"
        positive = predictions.resolved_positive_label()
        details = {"positive_label": positive, "average": "binary", "zero_division": options.zero_division}
        shown = int(positive) if isinstance(positive, float) and positive.is_integer() else positive
        undefined = f"{self.undefined_when} ({shown!r})" if np.isnan(value) else None
        top, bottom = self.row_terms(truth[:, None], predicted[:, None])
        successes = np.where(truth, predicted, np.nan) if self.name == "recall" else None  # same rows both sides
        return MetricValue(
            value, n, interval, method, loss, _plain_details(details), undefined=undefined,
            **ratio_parts(top, bottom, _fill_value(options.zero_division)), successes=successes,
        )  # fmt: skip

    def _macro(self, predictions: Predictions, options: AveragedOptions, settings: MetricSettings) -> MetricValue:
        counts = predictions.confusion
        raw = self.per_class(counts)
        per_class = _fill(raw, options.zero_division)
        samples = _fill(self.per_class(bootstrap_counts(counts, settings, self.name)), options.zero_division)
        details = {
            "average": "macro",
            "zero_division": options.zero_division,
            "per_class": {str(label): _finite(score) for label, score in zip(predictions.labels, per_class)},
        }
        undefined_classes = [str(label) for label, score in zip(predictions.labels, per_class) if np.isnan(score)]
        undefined = f"{self.undefined_when}: {', '.join(undefined_classes[:10])}" if undefined_classes else None
        top, bottom = self.row_terms(*one_hot(predictions))
        return MetricValue(
            value=float(per_class.mean()),
            n=len(predictions),
            interval=percentile_interval(samples.mean(axis=-1), settings.confidence),
            method="bootstrap",
            row_loss=predictions.row_loss,
            details=details,
            undefined=undefined,
            **ratio_parts(top, bottom, _fill_value(options.zero_division)),
        )


def _fill_value(zero_division: float | str) -> float:
    """What an undefined ratio counts as in a resample: the suite's number, or NaN (left out)."""
    return float("nan") if zero_division == "error" else float(zero_division)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _plain_details(details: dict[str, object]) -> dict[str, object]:
    return {key: (value.item() if isinstance(value, np.generic) else value) for key, value in details.items()}


ACCURACY = Accuracy()
PRECISION = AveragedMetric(
    "precision", per_class_precision, precision_terms, "share of predicted positives that are positive", 0,
    "precision is undefined: the target never predicted the class",
)  # fmt: skip
RECALL = AveragedMetric(
    "recall", per_class_recall, recall_terms, "share of actual positives that were found", 1,
    "recall is undefined: the expected answers never hold the class",
)  # fmt: skip
F1 = AveragedMetric(
    "f1", per_class_f1, f1_terms, "harmonic mean of precision and recall", None,
    "f1 is undefined: the class is neither expected nor predicted",
)  # fmt: skip
