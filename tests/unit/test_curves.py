"""The report's classifier curves against scikit-learn, and where they are left out."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import calibration, metrics

from evalharness.report.curves import MAX_POINTS, classification_curves


def _data(rows: int = 20_000, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.random(rows) < 0.2
    score = np.where(truth, rng.beta(5, 2, rows), rng.beta(2, 5, rows)).round(3)  # ties, as real scores have
    return truth, score


def test_roc_and_precision_recall_agree_with_scikit_learn() -> None:
    truth, score = _data()
    curves = classification_curves(truth, score, 1)
    assert curves is not None and curves["rows"] == 20_000 and curves["positives"] == int(truth.sum())
    roc = curves["roc"]
    assert len(roc["fpr"]) <= MAX_POINTS and (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (
        0,
        0,
        1,
        1,
    )
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(metrics.roc_auc_score(truth, score), abs=2e-3)
    fpr, tpr, _ = metrics.roc_curve(truth, score, drop_intermediate=False)
    assert np.interp(0.1, roc["fpr"], roc["tpr"]) == pytest.approx(np.interp(0.1, fpr, tpr), abs=5e-3)
    precision, recall, _ = metrics.precision_recall_curve(truth, score)
    pr = curves["pr"]
    assert pr["recall"][-1] == 1.0 and pr["precision"][-1] == pytest.approx(
        precision[0], abs=1e-6
    )  # every row positive
    assert np.all(np.diff(pr["recall"]) >= 0) and len(pr["recall"]) <= MAX_POINTS


def test_calibration_is_scikit_learns_uniform_curve_and_histograms_count_every_row() -> None:
    truth, score = _data()
    curves = classification_curves(truth, score, "fraud")
    assert curves is not None and curves["positive_label"] == "fraud"
    observed, predicted = calibration.calibration_curve(truth, score, n_bins=10, strategy="uniform")
    assert curves["calibration"]["observed"] == pytest.approx(observed, abs=1e-6)
    assert curves["calibration"]["predicted"] == pytest.approx(predicted, abs=1e-6)
    assert sum(curves["calibration"]["count"]) == 20_000
    hist = curves["scores"]
    assert sum(hist["positive"]) == truth.sum() and sum(hist["negative"]) == (~truth).sum()
    assert hist["positive"] == np.histogram(score[truth], np.linspace(0, 1, 21))[0].tolist()


@pytest.mark.parametrize(
    ("truth", "score"),
    [([True, True], [0.2, 0.9]), ([False, False], [0.2, 0.9]), ([True, False], [0.2, 1.7]), ([], [])],
    ids=["one class", "no positive", "not a probability", "empty"],
)
def test_curves_are_left_out_where_they_mean_nothing(truth: list[bool], score: list[float]) -> None:
    assert classification_curves(np.array(truth, bool), np.array(score, float), 1) is None
