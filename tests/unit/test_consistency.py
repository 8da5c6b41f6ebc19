"""Consistency rules in CEL: results checked against plain Python, errors located and counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.errors import SuiteError
from evalharness.metrics.base import MetricSettings
from evalharness.metrics.consistency import CONSISTENCY, ConsistencyOptions
from evalharness.predictions import Predictions
from evalharness.session import EvalSession
from evalharness.suite.loader import load_suite
from tests.builders import demo_project

SETTINGS = MetricSettings(resamples=400, seed=5)


@pytest.fixture(scope="module")
def predictions() -> Predictions:
    rng = np.random.default_rng(3)
    rows = 3000
    inputs = pd.DataFrame(
        {
            "amount": np.round(rng.lognormal(4, 1.2, rows), 2),
            "new_device": rng.integers(0, 2, rows),
            "category": rng.choice(["grocery", "travel", "jewelry"], rows),
            "note": np.where(rng.random(rows) < 0.02, None, "ok"),
        }
    )
    score = rng.random(rows)
    predicted = (score >= 0.5).astype(int)
    predicted[:40] = 1 - predicted[:40]  # some rows break the score/label agreement
    expected = rng.integers(0, 2, rows)
    return Predictions(np.arange(rows), expected, predicted, score, inputs)


def _options(*rules: dict[str, str], **thresholds: float) -> ConsistencyOptions:
    return ConsistencyOptions.model_validate({"rules": list(rules), **thresholds})


def test_rules_agree_with_plain_python(predictions: Predictions) -> None:
    options = _options(
        {"name": "big_new_device", "when": "amount >= 200.0 && new_device == 1", "rule": "predicted == 1"},
        {"name": "agree", "rule": "(score >= 0.5) == (predicted == 1)"},
        {"name": "luxury", "when": 'category in ["jewelry", "travel"]', "rule": "score > 0.1 || predicted == 0"},
    )
    value = CONSISTENCY.compute(predictions, options, SETTINGS)
    frame = predictions.inputs.assign(predicted=predictions.predicted, score=predictions.score)
    python_rules = [
        (lambda r: r.amount >= 200.0 and r.new_device == 1, lambda r: r.predicted == 1),
        (lambda r: True, lambda r: (r.score >= 0.5) == (r.predicted == 1)),
        (lambda r: r.category in ("jewelry", "travel"), lambda r: r.score > 0.1 or r.predicted == 0),
    ]
    applicable = held = 0
    for detail, (when, rule) in zip(value.details["rules"], python_rules):
        rows = [row for row in frame.itertuples() if when(row)]
        violations = [row.Index for row in rows if not rule(row)]
        assert detail["applicable"] == len(rows)
        assert detail["violations"] == len(violations)
        assert detail["violating_ids"] == violations[:20]
        applicable, held = applicable + len(rows), held + len(rows) - len(violations)
    assert value.details["rules"][1]["violations"] == 40
    assert value.value == pytest.approx(held / applicable)
    assert value.n == applicable
    low, high = value.interval
    assert low < value.value < high


def test_runtime_errors_are_counted_with_the_first_message(predictions: Predictions) -> None:
    options = _options(
        {"name": "note_ok", "rule": 'note == "ok" || predicted == 0'}, {"name": "not_bool", "rule": "score"}
    )
    details = CONSISTENCY.compute(predictions, options, SETTINGS).details["rules"]
    missing_notes = int(predictions.inputs["note"].isna().sum())
    null_note_positive = int((predictions.inputs["note"].isna() & (predictions.predicted == 1)).sum())
    assert details[0]["violations"] == null_note_positive
    assert details[1]["errors"] == len(predictions) and "not true or false" in details[1]["first_error"]
    assert missing_notes > 0


def test_bootstrap_is_seeded(predictions: Predictions) -> None:
    options = _options({"name": "agree", "rule": "(score >= 0.5) == (predicted == 1)"})
    first = CONSISTENCY.compute(predictions, options, SETTINGS).interval
    assert first == CONSISTENCY.compute(predictions, options, SETTINGS).interval
    assert first != CONSISTENCY.compute(predictions, options, MetricSettings(resamples=400, seed=6)).interval


def _suite_with(tmp_path: Path, rules: str) -> Path:
    suite = demo_project(tmp_path, "consistency:\n  min: 0.9\n  rules:\n" + rules)
    return suite


def _problems(suite: Path) -> list[str]:
    with pytest.raises(SuiteError) as raised:
        EvalSession.load([str(suite)], suite.parent)
    return [str(p) for p in raised.value.problems]


@pytest.mark.parametrize(
    ("written", "column"),
    [("rule: predicted == ", 27), ("rule: 'predicted == '", 29), ('rule: "x1 > 1.0 &&"', 27)],
)
def test_syntax_errors_point_inside_the_rule(tmp_path: Path, written: str, column: int) -> None:
    suite = _suite_with(tmp_path, f"    - name: r\n      {written}\n")
    problems = _problems(suite)
    assert len(problems) == 1
    assert problems[0].startswith(f"{suite}:11:{column}: metrics.consistency.rules[0].rule: CEL syntax error:")


def test_block_rule_syntax_error_points_at_its_line(tmp_path: Path) -> None:
    suite = _suite_with(tmp_path, "    - name: r\n      rule: |\n        x1 > 1.0 &&\n        x2 <\n")
    problems = _problems(suite)
    assert problems[0].startswith(f"{suite}:14:11: metrics.consistency.rules[0].rule: CEL syntax error")


def test_unknown_variables_are_located_with_the_names_available(tmp_path: Path) -> None:
    suite = _suite_with(tmp_path, "    - name: r\n      when: x3 > 1.0\n      rule: predicted == 1\n")
    assert _problems(suite) == [
        f"{suite}:11:15: metrics.consistency.rules[0].when: 'x3' is not a dataset column or an output "
        "(predicted, score, expected)"
    ]


def test_rule_names_must_be_unique(tmp_path: Path) -> None:
    suite = _suite_with(tmp_path, "    - {name: a, rule: predicted == 1}\n    - {name: a, rule: predicted == 0}\n")
    with pytest.raises(SuiteError) as raised:
        load_suite(suite)
    assert [p.message for p in raised.value.problems] == ["names must be unique; repeated: a"]


def test_python_is_not_reachable_from_a_rule(tmp_path: Path) -> None:
    suite = _suite_with(tmp_path, "    - {name: a, rule: \"__import__('os').system('touch pwned')\"}\n")
    problems = _problems(suite)
    assert [p.split(": ", 2)[2] for p in problems] == [
        "'__import__' is not a CEL function; CEL rules cannot call Python or anything outside CEL",
        "'system' is not a CEL function; CEL rules cannot call Python or anything outside CEL",
    ]
    assert not (tmp_path / "pwned").exists()
