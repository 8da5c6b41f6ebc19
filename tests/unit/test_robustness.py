"""Robustness: retention recomputed by hand from the same seeded perturbations and a fresh session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalharness.errors import SuiteError
from evalharness.runner import SuiteRun
from evalharness.session import EvalSession
from evalharness.suite.loader import load_suite
from tests.builders import demo_project, write_suite

ort = pytest.importorskip("onnxruntime")

RECIPES = """
robustness:
  min: 0.9
  perturb:
    - {recipe: noise, columns: [x1], scale: 0.5}
    - {recipe: scale, columns: [x2], factor: 1.0}
"""


def _gate(suite: Path):  # type: ignore[no-untyped-def]
    run = SuiteRun(load_suite(suite))
    try:
        return run.evaluate_gate("robustness", "robustness"), run
    finally:
        run.close()


def test_retention_matches_a_manual_recomputation(tmp_path: Path) -> None:
    suite = demo_project(tmp_path, RECIPES)
    gate, run = _gate(suite)
    from evalharness.perturb.recipes import apply_recipe, recipe_rng

    frame = run.frame()
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))

    def labels(inputs) -> np.ndarray:  # type: ignore[no-untyped-def]
        return session.run(["label"], {"features": inputs[["x1", "x2"]].to_numpy(np.float32)})[0]

    truth = frame["y"].to_numpy()
    clean = labels(frame) == truth
    robust = clean.copy()
    for index, recipe in enumerate(run.spec.declared_metrics()["robustness"].perturb):
        robust &= labels(apply_recipe(recipe, frame[["x1", "x2"]], recipe_rng(3, index, recipe.recipe))) == truth
    assert gate.value == pytest.approx(robust.mean() / clean.mean())
    assert gate.details["clean_quality"] == pytest.approx(clean.mean())
    variants = gate.details["variants"]
    assert variants[1]["flip_rate"] == 0.0 and variants[1]["quality"] == pytest.approx(clean.mean())
    assert 0 < variants[0]["flip_rate"] < 0.5
    assert gate.n == len(clean)
    low, high = gate.interval
    assert low <= gate.value <= high


def test_default_threshold_is_085(tmp_path: Path) -> None:
    suite = demo_project(tmp_path, "robustness: {perturb: [{recipe: noise, columns: [x1], scale: 3.0}]}")
    gate, _ = _gate(suite)
    assert gate.min == 0.85 and gate.status == ("passed" if gate.value >= 0.85 else "failed")


def test_stored_answers_cannot_be_perturbed(tmp_path: Path) -> None:
    demo_project(tmp_path)
    (tmp_path / "answers.csv").write_text("row_id,predicted\n" + "".join(f"r{i:05d},1\n" for i in range(400)))
    suite = write_suite(tmp_path, RECIPES, target="{kind: file, path: answers.csv}")
    run = SuiteRun(load_suite(suite))
    with pytest.raises(Exception, match="robustness needs a target that can answer new inputs"):
        run.evaluate_gate("robustness", "robustness")


def test_unknown_columns_and_recipes_are_located(tmp_path: Path) -> None:
    suite = demo_project(tmp_path, "robustness: {perturb: [{recipe: noise, columns: [x9]}]}")
    with pytest.raises(SuiteError) as raised:
        EvalSession.load([str(suite)], tmp_path)
    assert [p.key_path for p in raised.value.problems] == ["metrics.robustness.perturb[0].columns[0]"]
    suite = demo_project(tmp_path, "robustness: {perturb: [{recipe: nosie, columns: [x1]}]}")
    with pytest.raises(SuiteError) as raised:
        load_suite(suite)
    assert raised.value.problems[0].message == "unknown recipe 'nosie'; did you mean 'noise'?"
    assert raised.value.problems[0].key_path == "metrics.robustness.perturb[0].recipe"


def test_a_recipe_without_its_name_lists_the_recipes(tmp_path: Path) -> None:
    suite = demo_project(tmp_path, "robustness: {perturb: [{columns: [x1]}]}")
    with pytest.raises(SuiteError) as raised:
        load_suite(suite)
    assert raised.value.problems[0].message.startswith("missing required key 'recipe' (one of noise, scale, ")


def test_gradient_attacks_need_a_torch_target(tmp_path: Path) -> None:
    suite = demo_project(tmp_path, "robustness: {perturb: [{recipe: fgsm, epsilon: 0.1}]}")
    run = SuiteRun(load_suite(suite))
    with pytest.raises(Exception, match="fgsm is a gradient attack: it needs a differentiable torch target"):
        run.evaluate_gate("robustness", "robustness")
    run.close()
