"""A metric undefined on the data (n = 0, one class only) makes its gate error; it never passes.

Regression: ``precision: {min: 0.0}`` PASSED with n = 0 and "within thresholds". Where scikit-learn
warns that a value is ill-defined, the gate errors with the reason; ``zero_division: 0`` or ``1``
asks for scikit-learn's number instead, and gets exactly it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from evalharness.gates import judge
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.registry import get_metric
from evalharness.predictions import Predictions
from evalharness.session import EvalSession
from evalharness.suite.fields import GateOptions
from tests.builders import logistic_onnx, two_feature_frame, write_suite

SETTINGS = MetricSettings(resamples=200, seed=3)


def _compute(name: str, expected: np.ndarray, predicted: np.ndarray, **options: object) -> MetricValue:
    frame = pd.DataFrame({"x": np.arange(len(expected))})
    predictions = Predictions(np.arange(len(expected)), expected, predicted, None, frame)
    metric = get_metric(name)
    return metric.compute(predictions, metric.options(**options), SETTINGS)


def _warns_ill_defined(function, *args, **kwargs) -> bool:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        function(*args, **kwargs)
    return any(issubclass(w.category, UndefinedMetricWarning) for w in caught)


def test_precision_without_predicted_positives_is_undefined_as_scikit_learn_says() -> None:
    truth, predicted = np.array([0, 1, 1, 0, 1]), np.zeros(5, int)
    assert _warns_ill_defined(skm.precision_score, truth, predicted)
    value = _compute("precision", truth, predicted)
    assert np.isnan(value.value) and value.n == 0 and value.interval is None
    assert value.undefined == "precision is undefined: the target never predicted the class (1)"
    for number in (0.0, 1.0):
        scored = _compute("precision", truth, predicted, zero_division=number)
        assert scored.value == skm.precision_score(truth, predicted, zero_division=number)


def test_macro_recall_of_a_class_never_expected_is_undefined() -> None:
    truth, predicted = np.array(["a", "a", "b", "b"]), np.array(["a", "c", "b", "b"])
    assert _warns_ill_defined(skm.recall_score, truth, predicted, average="macro")
    value = _compute("recall", truth, predicted, average="macro")
    assert np.isnan(value.value)
    assert value.undefined == "recall is undefined: the expected answers never hold the class: c"
    assert value.details["per_class"] == {"a": 0.5, "b": 1.0, "c": None}
    for number in (0.0, 1.0):
        scored = _compute("recall", truth, predicted, average="macro", zero_division=number)
        assert scored.value == pytest.approx(skm.recall_score(truth, predicted, average="macro", zero_division=number))


def test_f1_without_predicted_positives_is_defined_as_in_scikit_learn() -> None:
    truth, predicted = np.array([0, 1, 1, 0, 1]), np.zeros(5, int)
    assert not _warns_ill_defined(skm.f1_score, truth, predicted)
    value = _compute("f1", truth, predicted)
    assert value.value == skm.f1_score(truth, predicted) == 0.0 and value.undefined is None


def test_auc_with_one_class_is_undefined() -> None:
    frame = pd.DataFrame({"x": np.arange(4)})
    predictions = Predictions(np.arange(4), np.ones(4, int), np.ones(4, int), np.array([0.2, 0.9, 0.4, 0.7]), frame)
    assert _warns_ill_defined(skm.roc_auc_score, np.ones(4, int), predictions.score)
    value = get_metric("auc").compute(predictions, get_metric("auc").options(), SETTINGS)
    assert np.isnan(value.value) and value.interval is None
    assert value.undefined == "auc needs both classes and every expected answer is positive (4 rows)"


@pytest.mark.parametrize("limits", [{"min": 0.0}, {"max": 1.0}, {"min": 0.0, "max": 1.0}])
def test_an_undefined_value_errors_whatever_the_thresholds(limits: dict[str, float]) -> None:
    value = MetricValue(float("nan"), 0, None, "wilson", undefined="no predicted positives")
    verdict = judge("precision", value, GateOptions(**limits), "estimate")
    assert verdict.status == "error" and verdict.passed is False
    assert verdict.reason == "no predicted positives, so the gate cannot pass"


def test_an_undefined_value_without_thresholds_is_reported_with_its_reason() -> None:
    value = MetricValue(float("nan"), 0, None, "wilson", undefined="no predicted positives")
    verdict = judge("precision", value, GateOptions(), "estimate")
    assert verdict.status == "info" and verdict.reason == "reported only; no predicted positives"


def _never_positive(tmp_path: Path, metrics: str) -> Path:
    """A real ONNX model that answers 0 for every row (bias -20), on labels with both classes."""
    logistic_onnx(tmp_path / "model.onnx", [0.0, 0.0], -20.0)
    two_feature_frame(200).to_csv(tmp_path / "data.csv", index=False)
    return write_suite(tmp_path, metrics)


def test_a_suite_gate_on_an_undefined_precision_errors(tmp_path: Path) -> None:
    suite = _never_positive(tmp_path, "precision: {min: 0.0}\nrecall: {max: 0.9}")
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    try:
        precision = state.run_for(suite).evaluate_gate("precision", "suite.yaml::precision")
        recall = state.run_for(suite).evaluate_gate("recall", "suite.yaml::recall")
    finally:
        state.close()
    assert precision.status == "error" and precision.value is None and precision.n == 0
    assert "never predicted the class (1), so the gate cannot pass; set zero_division: 0" in precision.message
    assert recall.status == "passed" and recall.value == 0.0 and recall.n > 0  # defined: 0 of the positives found


def test_zero_division_in_a_suite_scores_the_number(tmp_path: Path) -> None:
    suite = _never_positive(tmp_path, "precision: {min: 0.5, zero_division: 1}")
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    try:
        gate = state.run_for(suite).evaluate_gate("precision", "suite.yaml::precision")
    finally:
        state.close()
    assert gate.status == "passed" and gate.value == 1.0 and gate.details["zero_division"] == 1.0


def _gates(tmp_path: Path, metrics: str, labels: int | None = None) -> dict[str, object]:
    """Every gate of a suite over the never-positive model; all labels ``labels`` when given."""
    suite = _never_positive(tmp_path, metrics)
    if labels is not None:
        frame = pd.read_csv(tmp_path / "data.csv")
        frame.assign(y=labels).to_csv(tmp_path / "data.csv", index=False)
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    try:
        run = state.run_for(suite)
        return {name: run.evaluate_gate(name, f"suite.yaml::{name}") for name in run.spec.metrics.model_fields_set}
    finally:
        state.close()


def test_consistency_with_no_applicable_row_errors_with_its_reason(tmp_path: Path) -> None:
    """Regression: a rule whose ``when`` never held gave "consistency is undefined on this data"."""
    rules = "consistency:\n  min: 0.9\n  rules:\n    - {name: never, when: x1 > 1000.0, rule: predicted == 1}"
    gate: Any = _gates(tmp_path, rules)["consistency"]
    assert gate.status == "error" and gate.n == 0
    assert gate.message.endswith("no rule or check applied to any row (n = 0), so the gate cannot pass")


def test_robustness_with_no_row_right_on_clean_inputs_errors_with_its_reason(tmp_path: Path) -> None:
    perturb = "robustness:\n  min: 0.5\n  perturb:\n    - {recipe: noise, columns: [x1], scale: 0.1}"
    gate: Any = _gates(tmp_path, perturb, labels=1)["robustness"]  # the model answers 0 for every row
    assert gate.status == "error"
    assert gate.message.endswith(
        "no row is answered right on the clean inputs, so nothing is kept, so the gate cannot pass"
    )


def test_a_declared_positive_label_reads_as_the_suite_writes_it(tmp_path: Path) -> None:
    suite = _never_positive(tmp_path, "precision: {min: 0.0}")
    suite.write_text(suite.read_text().replace("inputs: [x1, x2]}", "inputs: [x1, x2], positive_label: 1}"))
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    try:
        gate = state.run_for(suite).evaluate_gate("precision", "suite.yaml::precision")
    finally:
        state.close()
    assert "the target never predicted the class (1), so" in gate.message  # not (1.0)
