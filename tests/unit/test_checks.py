"""INV and DIR checks answered again by a real ONNX session; MFT cases as pytest items."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalharness.errors import SuiteError
from evalharness.runner import SuiteRun
from evalharness.session import EvalSession
from evalharness.suite.loader import load_suite
from tests.builders import demo_project

ort = pytest.importorskip("onnxruntime")
pytest_plugins = ["pytester"]

CHECKS = """
consistency:
  min: 0.5
  checks:
    - {name: x1_up_score_up, type: DIR, set: {x1: x1 + 1.0}, expect: after_score >= score}
    - {name: x2_flip_changes_nothing, type: INV, set: {x2: 0.0 - x2}}
    - {name: tiny_noise, type: INV, perturb: {recipe: noise, columns: [x1], scale: 0.01}}
"""


def _details(tmp_path: Path, metrics: str) -> tuple[dict, SuiteRun]:  # type: ignore[type-arg]
    run = SuiteRun(load_suite(demo_project(tmp_path, metrics)))
    try:
        return run.evaluate_gate("consistency", "consistency").model_dump(), run
    finally:
        run.close()


def test_checks_match_a_manual_recomputation(tmp_path: Path) -> None:
    gate, run = _details(tmp_path, CHECKS)
    frame = run.frame()
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))

    def answer(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        label, probabilities = session.run(None, {"features": np.column_stack([x1, x2]).astype(np.float32)})
        return label, probabilities[:, 1]

    label, score = answer(frame["x1"], frame["x2"])
    _, up_score = answer(frame["x1"] + 1.0, frame["x2"])
    flipped_label, _ = answer(frame["x1"], -frame["x2"])
    by_name = {rule["name"]: rule for rule in gate["details"]["rules"]}
    assert by_name["x1_up_score_up"]["violations"] == int((up_score < score).sum()) == 0
    assert by_name["x1_up_score_up"]["type"] == "DIR" and by_name["x1_up_score_up"]["transform"] == "x1 = x1 + 1.0"
    assert by_name["x2_flip_changes_nothing"]["violations"] == int((flipped_label != label).sum()) > 0
    assert by_name["x2_flip_changes_nothing"]["rule"] == "after_predicted == predicted"
    assert by_name["tiny_noise"]["transform"] == "noise(x1)"
    held = 400 * 3 - sum(rule["violations"] for rule in by_name.values())
    assert gate["value"] == pytest.approx(held / 1200)


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("{name: a, type: DIR, set: {x1: x1 * 2.0}}", "a DIR check states its direction in expect"),
        ("{name: a, type: INV}", "give exactly one transform"),
        (
            "{name: a, type: INV, set: {x1: x1}, perturb: {recipe: noise, columns: [x1]}}",
            "give exactly one transform",
        ),
    ],
)
def test_badly_formed_checks_are_refused(tmp_path: Path, check: str, message: str) -> None:
    suite = demo_project(tmp_path, f"consistency:\n  checks:\n    - {check}\n")
    with pytest.raises(SuiteError) as raised:
        load_suite(suite)
    assert message in raised.value.problems[0].message


def test_check_names_are_checked_against_the_data(tmp_path: Path) -> None:
    check = "{name: a, type: DIR, set: {x9: x1 * 2.0}, expect: after_scor >= score}"
    suite = demo_project(tmp_path, f"consistency:\n  checks:\n    - {check}\n")
    with pytest.raises(SuiteError) as raised:
        EvalSession.load([str(suite)], tmp_path)
    messages = sorted(p.key_path + ": " + p.message for p in raised.value.problems)
    assert messages == [
        "metrics.consistency.checks[0].expect: 'after_scor' is not a dataset column or an output",
        "metrics.consistency.checks[0]: column 'x9' is not a dataset input",
    ]


CASES = """
consistency:
  cases:
    - {name: clearly_positive, inputs: {x1: 3.0, x2: 2.0}, expected: 1}
    - {name: clearly_negative, inputs: {x1: -3.0, x2: -2.0}, expected: 0}
    - {name: wrong_on_purpose, inputs: {x1: 3.0, x2: 2.0}, expected: 0}
"""


def test_cases_are_items_of_their_own(pytester: pytest.Pytester) -> None:
    demo_project(pytester.path, CASES)
    collected = pytester.runpytest("--evalharness", "suite.yaml", "--collect-only", "-q")
    collected.stdout.fnmatch_lines(
        ["suite.yaml::consistency", "suite.yaml::cases::clearly_positive", "suite.yaml::cases::wrong_on_purpose"]
    )
    result = pytester.runpytest("--evalharness", "suite.yaml")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["case wrong_on_purpose failed: expected 0, the target answered 1 (score *)"])
    selected = pytester.runpytest("--evalharness", "suite.yaml", "-k", "clearly")
    selected.assert_outcomes(passed=2, deselected=2)


def test_cases_must_give_every_input_and_cannot_carry_thresholds(tmp_path: Path) -> None:
    suite = demo_project(tmp_path, "consistency:\n  cases:\n    - {name: c, inputs: {x1: 1.0}, expected: 1}\n")
    with pytest.raises(SuiteError) as raised:
        EvalSession.load([str(suite)], tmp_path)
    assert raised.value.problems[0].message == "case 'c' gives no value for ['x2']"
    suite = demo_project(
        tmp_path, "consistency:\n  min: 0.9\n  cases:\n    - {name: c, inputs: {x1: 1, x2: 1}, expected: 1}\n"
    )
    with pytest.raises(SuiteError) as raised:
        load_suite(suite)
    assert "cases pass or fail one by one" in raised.value.problems[0].message
