"""The positive class is matched by value (1 = '1' = 1.0 = True) and must occur in the expected column.

Regression for labels that never matched: ``positive_label: '1'`` on integer labels gave
precision = recall = F1 = 0 and a ``max`` gate passed. Every number is checked against
scikit-learn with the positive class it would be given.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from evalharness.cli import main
from evalharness.errors import SuiteError
from evalharness.labels import match_label
from evalharness.session import EvalSession
from tests.builders import logistic_onnx, two_feature_frame, write_suite

BINARY = "precision: {min: 0.0}\nrecall: {min: 0.0}\nf1: {max: 0.99}\nauc: {min: 0.0}"


@pytest.mark.parametrize(
    ("label", "values", "found"),
    [
        (1, [0, 1], 1),
        ("1", [0, 1], 1),
        (1.0, [0, 1], 1),
        (True, [0, 1], 1),
        ("true", [0, 1], 1),
        (1, [False, True], True),
        ("1", [False, True], True),
        ("1", ["0", "1"], "1"),
        (1, [0.0, 1.0], 1.0),
        (1, ["0.0", "1.0"], "1.0"),
        ("yes", ["no", "yes"], "yes"),
        ("yes", [0, 1], None),
        (True, ["no", "yes"], None),
        (True, [1, 2, 3], None),
        (2, [0, 1], None),
        ("1", ["1", "01"], "1"),
        (1, ["1", "01"], None),  # two writings of 1 and no exact one: ambiguous, so no match
    ],
)
def test_labels_match_by_value(label: object, values: list[object], found: object) -> None:
    matched = match_label(label, np.asarray(values, dtype=object))
    assert matched == found and type(matched) is type(found)


def _project(
    tmp_path: Path, labels: dict[int, object] | None = None, positive: str = "", metrics: str = BINARY
) -> Path:
    logistic_onnx(tmp_path / "model.onnx", [1.0, 1.0], 0.0)
    frame = two_feature_frame(300, seed=4)
    if labels is not None:
        frame["y"] = frame["y"].map(labels)
    frame.to_csv(tmp_path / "data.csv", index=False)
    extra = f", positive_label: {positive}" if positive else ""
    dataset = f"{{path: data.csv, id: row_id, expected: y, inputs: [x1, x2]{extra}}}"
    return write_suite(tmp_path, metrics, dataset=dataset)


def _values(suite: Path) -> dict[str, float]:
    state = EvalSession.load([str(suite)], suite.parent / "reports")
    try:
        run = state.run_for(suite)
        return {name: run.metric_value(name).value for name in ("precision", "recall", "f1", "auc")}
    finally:
        state.close()


def _reference(tmp_path: Path) -> dict[str, float]:
    """scikit-learn on the same rows, with positive class 1 and the model's own probabilities."""
    frame = pd.read_csv(tmp_path / "data.csv")
    truth = (frame["y"].astype(str).isin(["1", "True", "yes"])).to_numpy()
    z = frame["x1"].to_numpy(np.float32) + frame["x2"].to_numpy(np.float32)
    score = 1.0 / (1.0 + np.exp(-z))
    predicted = score > 0.5
    return {
        "precision": skm.precision_score(truth, predicted),
        "recall": skm.recall_score(truth, predicted),
        "f1": skm.f1_score(truth, predicted),
        "auc": skm.roc_auc_score(truth, score),
    }


@pytest.mark.parametrize("positive", ["1", "'1'", "1.0", "'1.0'", "true", "yes"])
def test_every_writing_of_one_scores_the_positive_class(tmp_path: Path, positive: str) -> None:
    values = _values(_project(tmp_path, positive=positive))
    reference = _reference(tmp_path)
    for name, expected in reference.items():
        assert values[name] == pytest.approx(expected, abs=1e-6), name
    assert values["f1"] > 0.7  # the bug scored 0.0


def test_a_boolean_column_takes_one_as_its_positive_class(tmp_path: Path) -> None:
    values = _values(_project(tmp_path, {0: False, 1: True}, positive="1"))
    assert values == pytest.approx(_reference(tmp_path), abs=1e-6)


def _problems(suite: Path) -> str:
    with pytest.raises(SuiteError) as error:
        EvalSession.load([str(suite)], suite.parent / "reports")
    return str(error.value)


def test_a_label_that_never_occurs_is_a_located_suite_error(tmp_path: Path) -> None:
    text = _problems(_project(tmp_path, positive="'yes'"))
    assert "suite.yaml:5:" in text and "dataset.positive_label: 'yes' is not a value of column 'y'" in text
    assert "(its values: 0, 1)" in text


def test_unquoted_yes_on_text_labels_says_to_quote_it(tmp_path: Path) -> None:
    text = _problems(_project(tmp_path, {0: "no", 1: "yes"}, positive="yes"))
    assert "YAML read yes as the boolean true" in text
    assert "quote it: positive_label: 'yes'" in text
    assert "'no', 'yes'" in text


def _text_answers(tmp_path: Path, metrics: str, positive: str = "") -> tuple[Path, np.ndarray, np.ndarray]:
    """A file target answering yes/no (80 % right) for 200 rows labelled yes/no."""
    rng = np.random.default_rng(2)
    truth = rng.choice(["no", "yes"], 200)
    answers = np.where(rng.random(200) < 0.8, truth, rng.choice(["no", "yes"], 200))
    ids = [f"r{i}" for i in range(200)]
    pd.DataFrame({"row_id": ids, "x": rng.normal(size=200), "y": truth}).to_csv(tmp_path / "data.csv", index=False)
    pd.DataFrame({"row_id": ids, "answer": answers, "p": rng.random(200)}).to_csv(tmp_path / "out.csv", index=False)
    extra = f", positive_label: {positive}" if positive else ""
    suite = write_suite(
        tmp_path, metrics,
        target="{kind: file, path: out.csv, label: answer, score: p}",
        dataset=f"{{path: data.csv, id: row_id, expected: y, inputs: [x]{extra}}}",
    )  # fmt: skip
    return suite, truth, answers


def test_quoted_yes_on_text_labels_matches_scikit_learn(tmp_path: Path) -> None:
    suite, truth, answers = _text_answers(tmp_path, "precision: {}\nrecall: {}\nf1: {}", positive="'yes'")
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    try:
        run = state.run_for(suite)
        values = {name: run.metric_value(name).value for name in ("precision", "recall", "f1")}
    finally:
        state.close()
    assert values["precision"] == pytest.approx(skm.precision_score(truth, answers, pos_label="yes"), abs=1e-12)
    assert values["recall"] == pytest.approx(skm.recall_score(truth, answers, pos_label="yes"), abs=1e-12)
    assert values["f1"] == pytest.approx(skm.f1_score(truth, answers, pos_label="yes"), abs=1e-12)


def test_text_labels_with_binary_metrics_need_a_positive_label(tmp_path: Path) -> None:
    text = _problems(_project(tmp_path, {0: "no", 1: "yes"}))
    assert "metrics.precision" in text
    assert "precision, recall, f1, auc score one class against the rest" in text
    assert "set dataset.positive_label to one of them, or use average: macro" in text


def test_text_labels_with_a_score_and_only_accuracy_run_cleanly(tmp_path: Path) -> None:
    """Regression: a score with yes/no labels and no positive_label ended in a traceback."""
    suite, truth, answers = _text_answers(tmp_path, "accuracy: {min: 0.5}")
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    try:
        gate = state.run_for(suite).evaluate_gate("accuracy", "suite.yaml::accuracy")
    finally:
        state.close()
    assert gate.status == "passed"
    assert gate.value == pytest.approx(skm.accuracy_score(truth, answers), abs=1e-12)
    assert len(gate.worst_rows) == 5 and all(row["loss"] == 1.0 for row in gate.worst_rows)


def test_validate_exits_4_on_a_label_that_never_occurs(tmp_path: Path) -> None:
    suite = _project(tmp_path, positive="2")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(["validate", str(suite)]) == 4
    assert "dataset.positive_label: 2 is not a value of column 'y'" in stderr.getvalue()
