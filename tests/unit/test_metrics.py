"""Metric values checked against scikit-learn; intervals against closed forms and by seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from evalharness.metrics.base import MetricSettings
from evalharness.metrics.registry import UnknownMetricError, get_metric, metric_names
from evalharness.metrics.stats import bootstrap_counts, wilson_interval
from evalharness.predictions import Predictions

SETTINGS = MetricSettings(confidence=0.95, resamples=500, seed=11)


def _predictions(expected, predicted, score=None, positive=None) -> Predictions:  # type: ignore[no-untyped-def]
    n = len(expected)
    frame = pd.DataFrame({"x": np.arange(n)})
    return Predictions(np.arange(n), np.asarray(expected), np.asarray(predicted), score, frame, positive)


@pytest.fixture(scope="module")
def binary() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    truth = rng.integers(0, 2, 3000)
    score = np.round(np.clip(0.35 * truth + 0.65 * rng.random(3000), 0, 1), 2)  # rounded: many ties
    return truth, (score >= 0.5).astype(int), score


def _value(name: str, predictions: Predictions, **options: object) -> float:
    metric = get_metric(name)
    return metric.compute(predictions, metric.options(**options), SETTINGS).value


def test_binary_metrics_match_scikit_learn(binary) -> None:  # type: ignore[no-untyped-def]
    truth, predicted, score = binary
    p = _predictions(truth, predicted, score)
    assert _value("accuracy", p) == pytest.approx(skm.accuracy_score(truth, predicted), abs=1e-12)
    assert _value("precision", p) == pytest.approx(skm.precision_score(truth, predicted), abs=1e-12)
    assert _value("recall", p) == pytest.approx(skm.recall_score(truth, predicted), abs=1e-12)
    assert _value("f1", p) == pytest.approx(skm.f1_score(truth, predicted), abs=1e-12)
    assert _value("auc", p) == pytest.approx(skm.roc_auc_score(truth, score), abs=1e-12)


def test_macro_metrics_match_scikit_learn_on_three_classes() -> None:
    rng = np.random.default_rng(9)
    truth = rng.choice(["cat", "dog", "eel"], 900, p=[0.5, 0.3, 0.2])
    predicted = np.where(rng.random(900) < 0.7, truth, rng.choice(["cat", "dog", "eel"], 900))
    p = _predictions(truth, predicted)
    for name, reference in (("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)):
        assert _value(name, p, average="macro") == pytest.approx(
            reference(truth, predicted, average="macro"), abs=1e-12
        )
    assert (p.confusion == skm.confusion_matrix(truth, predicted, labels=p.labels)).all()


def test_string_labels_need_a_declared_positive_class() -> None:
    truth = np.array(["fraud", "ok", "ok", "fraud"])
    predicted = np.array(["fraud", "ok", "fraud", "ok"])
    with pytest.raises(ValueError, match="set dataset.positive_label"):
        _value("precision", _predictions(truth, predicted))
    expected = skm.precision_score(truth, predicted, pos_label="fraud")
    assert _value("precision", _predictions(truth, predicted, positive="fraud")) == pytest.approx(expected)


def test_zero_division_is_undefined_unless_a_number_is_asked_for() -> None:
    truth, predicted = np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0])
    p = _predictions(truth, predicted)
    assert np.isnan(_value("precision", p))  # scikit-learn warns: ill-defined
    for number in (0.0, 1.0):
        expected = skm.precision_score(truth, predicted, zero_division=number)
        assert _value("precision", p, zero_division=number) == expected == number


def test_wilson_interval_matches_closed_form() -> None:
    low, high = wilson_interval(8, 10, 0.95)
    assert low == pytest.approx(0.4901624, abs=1e-6)
    assert high == pytest.approx(0.9433178, abs=1e-6)
    assert wilson_interval(0, 0, 0.95) is None
    assert wilson_interval(10, 10, 0.95)[1] == 1.0  # type: ignore[index]


def test_proportions_get_wilson_and_others_bootstrap(binary) -> None:  # type: ignore[no-untyped-def]
    truth, predicted, score = binary
    p = _predictions(truth, predicted, score)
    accuracy = get_metric("accuracy").compute(p, get_metric("accuracy").options(), SETTINGS)
    assert accuracy.method == "wilson" and accuracy.n == 3000
    assert accuracy.interval == wilson_interval(int((truth == predicted).sum()), 3000, 0.95)
    precision = get_metric("precision").compute(p, get_metric("precision").options(), SETTINGS)
    assert precision.n == int(predicted.sum())
    for name, method in (("f1", "bootstrap"), ("auc", "delong")):
        value = get_metric(name).compute(p, get_metric(name).options(), SETTINGS)
        assert value.method == method
        low, high = value.interval
        assert low < value.value < high
        assert high - low < 0.1


def test_bootstrap_is_reproducible_by_seed(binary) -> None:  # type: ignore[no-untyped-def]
    truth, predicted, score = binary
    p = _predictions(truth, predicted, score)
    metric = get_metric("auc")
    options = metric.options(interval="bootstrap")
    first = metric.compute(p, options, SETTINGS).interval
    again = metric.compute(p, options, SETTINGS).interval
    other = metric.compute(p, options, MetricSettings(0.95, 500, seed=12)).interval
    assert first == again
    assert first != other


def test_confusion_bootstrap_matches_row_bootstrap_distribution() -> None:
    """Multinomial resampling of cells is the row bootstrap: compare means and spreads of F1."""
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, 2000)
    predicted = np.where(rng.random(2000) < 0.8, truth, 1 - truth)
    counts = np.bincount(truth * 2 + predicted, minlength=4).reshape(2, 2)
    cells = bootstrap_counts(counts, MetricSettings(resamples=4000, seed=3), "f1")
    f1_cells = 2 * cells[:, 1, 1] / (2 * cells[:, 1, 1] + cells[:, 0, 1] + cells[:, 1, 0])
    rows = rng.integers(0, 2000, size=(4000, 2000))
    f1_rows = np.array([skm.f1_score(truth[r], predicted[r]) for r in rows[:400]])
    assert f1_cells.mean() == pytest.approx(f1_rows.mean(), abs=0.003)
    assert f1_cells.std() == pytest.approx(f1_rows.std(), rel=0.2)


def test_auc_needs_scores() -> None:
    with pytest.raises(ValueError, match="needs a score"):
        _value("auc", _predictions([0, 1], [0, 1]))


def test_row_loss_uses_the_score_of_the_expected_class() -> None:
    p = _predictions([1, 0, 1], [1, 1, 0], np.array([0.9, 0.8, 0.3]))
    assert p.row_loss.tolist() == pytest.approx([0.1, 0.8, 0.7])
    worst = p.worst(count=2)
    assert [row["id"] for row in worst] == [1, 2]


def test_registry_lists_builtins_and_suggests() -> None:
    assert {"accuracy", "precision", "recall", "f1", "auc"} <= set(metric_names())
    with pytest.raises(UnknownMetricError, match="did you mean 'recall'"):
        get_metric("recal")
