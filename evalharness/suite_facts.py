"""What a suite's record says about its predictions and targets, beside its gates: rows, timing,
the confusion matrix, classifier curves, a capped sample of wrong rows, and the targets' files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evalharness.suite.loader import display_path
from evalharness.targets.base import file_sha256
from evalharness.untrusted import bounded_value, max_cell_chars

if TYPE_CHECKING:
    from evalharness.predictions import Predictions
    from evalharness.suite.loader import LoadedSuite

LABEL_METRICS = frozenset({"accuracy", "precision", "recall", "f1", "auc"})
MAX_CONFUSION_LABELS = 50


def prediction_facts(predictions: Predictions, spec: Any, metric_order: list[str]) -> dict[str, Any]:
    """Rows, timing, confusion matrix and a capped sample of wrong rows; labels and row values cut to
    the suite's ``max_cell_chars`` (rows.jsonl keeps every answer whole)."""
    limit = max_cell_chars(spec)
    facts: dict[str, Any] = {"rows": len(predictions), "predict_seconds": predictions.seconds}
    label_task = any(name in LABEL_METRICS for name in metric_order)
    if predictions.is_sequence or not label_task or len(predictions.labels) > MAX_CONFUSION_LABELS:
        return facts  # answers are not classes (text, sequences): no confusion matrix
    wrong, labels = np.flatnonzero(~predictions.correct), predictions.labels
    counts = predictions.confusion
    matrix = {
        "labels": bounded_value([label.item() if hasattr(label, "item") else label for label in labels], limit),
        "matrix": counts[:, : len(labels)].tolist(),
    }
    if counts.shape[1] > len(labels):  # rows with no answer, per expected label
        matrix["no_answer"] = counts[:, len(labels)].tolist()
    return {
        **facts,
        "curves": _curves(predictions),
        "confusion_matrix": matrix,
        "failing_rows_total": int(wrong.size),
        "failing_rows": predictions.rows(wrong[: spec.report.failing_rows_cap], predictions.row_loss, limit),
    }


def _curves(predictions: Predictions) -> dict[str, Any] | None:
    """The report's classifier curves, when the target gives a score for a two-class task."""
    from evalharness.report.curves import classification_curves

    if predictions.score is None or len(predictions.labels) != 2 or not predictions.knows_positive:
        return None
    truth, _ = predictions.binary_truth()
    return classification_curves(truth, predictions.score, predictions.resolved_positive_label())


def declared_target(suite: LoadedSuite, target: Any) -> dict[str, Any]:
    """What the suite says about a target of it, before (or without) loading it."""
    if not hasattr(target, "path"):
        return {"kind": target.kind}
    path = suite.resolve(target.path)
    return {"kind": target.kind, "path": display_path(path), "sha256": file_sha256(path) if path.is_file() else None}


def portable(facts: dict[str, Any]) -> dict[str, Any]:
    """Target facts with its file shown relative to the working directory when below it."""
    if isinstance(facts.get("path"), str):
        facts = {**facts, "path": display_path(Path(facts["path"]))}
    return facts
