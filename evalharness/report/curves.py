"""The curves of a binary classifier that the HTML report charts: ROC, precision-recall, calibration
(reliability) and the score distribution of each class, computed once from the predictions, in numpy,
and kept in run.json (reports render from the record alone), each capped at a few hundred points."""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_POINTS = 201
"""Points kept per curve: enough for a smooth chart, small in run.json whatever the row count."""
CALIBRATION_BINS = 10
SCORE_BINS = 20


def _thin(*columns: np.ndarray) -> list[list[float]]:
    """The columns at no more than MAX_POINTS evenly spaced positions, first and last kept."""
    size = len(columns[0])
    keep = np.unique(np.linspace(0, size - 1, min(size, MAX_POINTS)).round().astype(int))
    return [np.round(column[keep], 6).tolist() for column in columns]


def _operating_points(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives at each distinct threshold, highest first (scikit-learn's convention)."""
    order = np.argsort(-score, kind="mergesort")
    ranked, hits = score[order], truth[order].astype(float)
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]  # the last row of each distinct score
    true_positives = np.cumsum(hits)[last]
    return true_positives, (last + 1) - true_positives


def roc_curve(truth: np.ndarray, score: np.ndarray) -> dict[str, list[float]]:
    """False and true positive rates from (0, 0) to (1, 1)."""
    tp, fp = _operating_points(truth, score)
    tpr, fpr = np.r_[0.0, tp / max(tp[-1], 1)], np.r_[0.0, fp / max(fp[-1], 1)]
    fpr_kept, tpr_kept = _thin(fpr, tpr)
    return {"fpr": fpr_kept, "tpr": tpr_kept}


def precision_recall_curve(truth: np.ndarray, score: np.ndarray) -> dict[str, list[float]]:
    """Precision against recall, recall rising (the first point is the highest threshold's)."""
    tp, fp = _operating_points(truth, score)
    precision, recall = tp / (tp + fp), tp / max(tp[-1], 1)
    recall_kept, precision_kept = _thin(recall, precision)
    return {"recall": recall_kept, "precision": precision_kept}


def calibration(truth: np.ndarray, score: np.ndarray, bins: int = CALIBRATION_BINS) -> dict[str, list[float]]:
    """Mean predicted probability against the observed positive rate in equal-width bins of [0, 1]
    (empty bins left out), as scikit-learn's ``calibration_curve(strategy="uniform")``, with counts."""
    index = np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], score)  # as scikit-learn bins
    count = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=score, minlength=bins)
    observed = np.bincount(index, weights=truth.astype(float), minlength=bins)
    filled = count > 0
    return {
        "predicted": np.round(predicted[filled] / count[filled], 6).tolist(),
        "observed": np.round(observed[filled] / count[filled], 6).tolist(),
        "count": count[filled].tolist(),
    }


def score_histograms(truth: np.ndarray, score: np.ndarray, bins: int = SCORE_BINS) -> dict[str, list[float]]:
    """Counts of scores in equal-width bins of [0, 1], for the positive and the negative rows."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    clipped = np.clip(score, 0.0, 1.0)
    return {
        "edges": np.round(edges, 6).tolist(),
        "positive": np.histogram(clipped[truth], edges)[0].tolist(),
        "negative": np.histogram(clipped[~truth], edges)[0].tolist(),
    }


def classification_curves(truth: np.ndarray, score: np.ndarray, positive: Any) -> dict[str, Any] | None:
    """Every curve, or None when they mean nothing (no score, one class only, scores outside [0, 1])."""
    score = np.asarray(score, dtype=float)
    truth = np.asarray(truth, dtype=bool)
    finite = np.isfinite(score)
    score, truth = score[finite], truth[finite]
    if score.size == 0 or truth.all() or not truth.any() or score.min() < 0 or score.max() > 1:
        return None
    return {
        "positive_label": positive if isinstance(positive, (int, float, str, bool)) else str(positive),
        "rows": int(score.size), "positives": int(truth.sum()),
        "roc": roc_curve(truth, score), "pr": precision_recall_curve(truth, score),
        "calibration": calibration(truth, score), "scores": score_histograms(truth, score),
    }  # fmt: skip
