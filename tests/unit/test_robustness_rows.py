"""Robustness asks the target only about the rows a recipe changed, in one call, and its interval is
the row bootstrap drawn as multinomial counts over the few kinds of row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from evalharness.metrics.base import MetricSettings
from evalharness.metrics.stats import (
    RatioTerms,
    bootstrap_rows,
    percentile_interval,
    ratio_resampler,
    row_kinds,
    terms_bootstrap,
)
from evalharness.runner import SuiteRun
from evalharness.suite.loader import load_suite
from tests.builders import demo_project

ort = pytest.importorskip("onnxruntime")

RECIPES = """
robustness:
  perturb:
    - {recipe: noise, columns: [x1], scale: 0.5, rate: 0.3}
    - {recipe: scale, columns: [x2], factor: 1.0}
    - {recipe: missing, columns: [x2], rate: 0.1}
"""


def _evaluate_counting(run: SuiteRun, gate: str) -> tuple[Any, list[int]]:
    """The gate's record, and the rows of every call the target got for it (after the clean answers)."""
    asked: list[int] = []
    predict = run.predict_frame

    def counting(frame: pd.DataFrame) -> Any:
        asked.append(len(frame))
        return predict(frame)

    run.predict_frame = counting  # type: ignore[method-assign]
    try:
        run.predictions()
        asked.clear()
        return run.evaluate_gate(gate, gate), asked
    finally:
        run.close()


def test_only_the_changed_rows_are_asked_again_and_in_one_call(tmp_path: Path) -> None:
    from evalharness.perturb.recipes import apply_recipe, recipe_rng

    run = SuiteRun(load_suite(demo_project(tmp_path, RECIPES, rows=2000)))
    gate, asked = _evaluate_counting(run, "robustness")
    frame, recipes = run.frame(), run.spec.declared_metrics()["robustness"].perturb
    inputs = frame[["x1", "x2"]]
    perturbed = [
        apply_recipe(recipe, inputs, recipe_rng(run.spec.seed, i, recipe.recipe)) for i, recipe in enumerate(recipes)
    ]
    changed = [int((~((p == inputs) | (p.isna() & inputs.isna()))).any(axis=1).sum()) for p in perturbed]
    assert changed[1] == 0 and 0 < changed[2] < changed[0] < len(frame)
    assert asked == [sum(changed)]  # one call; the scale by 1.0 asks nothing
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))

    def right(features: pd.DataFrame) -> np.ndarray:
        values = features[["x1", "x2"]].to_numpy(np.float32)
        return session.run(["label"], {"features": values})[0] == frame["y"].to_numpy()

    clean = right(inputs)
    worst = np.minimum.reduce([clean, *(right(p) for p in perturbed)])
    assert gate.value == pytest.approx(worst.mean() / clean.mean(), abs=1e-15)
    assert [v["flip_rate"] for v in gate.details["variants"]][1] == 0.0
    assert gate.method == "bootstrap (rows, multinomial over kinds)"


def test_row_kinds_are_the_distinct_rows_and_their_counts() -> None:
    rng = np.random.default_rng(1)
    matrix = np.column_stack([rng.integers(0, 3, 5000), rng.integers(0, 2, 5000), rng.choice([0.5, 2.0, 7.0], 5000)])
    kinds, counts = row_kinds(matrix)  # type: ignore[misc]
    expected, expected_counts = np.unique(matrix, axis=0, return_counts=True)
    assert np.array_equal(kinds, expected) and np.array_equal(counts, expected_counts)
    assert row_kinds(rng.random((100, 2)), max_kinds=1000) is None  # continuous: too many to enumerate


@pytest.mark.parametrize("rows", [300, 20000])
def test_the_multinomial_interval_is_the_row_bootstrap_within_monte_carlo_error(rows: int) -> None:
    rng = np.random.default_rng(rows)
    clean = (rng.random(rows) < 0.9).astype(float)
    worst = clean * (rng.random(rows) < 0.85)
    settings = MetricSettings(resamples=4000, seed=5)
    samples, method = terms_bootstrap(RatioTerms(worst, clean), settings, "robustness")
    assert "multinomial" in method
    by_rows = bootstrap_rows(rows, settings, "other", ratio_resampler(worst, clean))
    for confidence in (0.8, 0.95):
        mine, theirs = percentile_interval(samples, confidence), percentile_interval(by_rows, confidence)
        width = theirs[1] - theirs[0]  # type: ignore[index]
        assert mine == pytest.approx(theirs, abs=0.05 * width)
    assert samples.mean() == pytest.approx(by_rows.mean(), abs=0.05 * by_rows.std())
    assert samples.std() == pytest.approx(by_rows.std(), rel=0.06)


def test_many_kinds_of_row_fall_back_to_resampling_rows() -> None:
    rng = np.random.default_rng(2)
    clean = np.ones(300)
    worst = rng.random(300)  # a sequence's DTW consistency: every row its own kind
    samples, method = terms_bootstrap(RatioTerms(worst, clean), MetricSettings(resamples=200), "robustness")
    assert method == "bootstrap (rows)" and len(samples) == 200


CHECKS = """
consistency:
  checks:
    - {name: positive_x1_up, type: DIR, set: {x1: 'x1 > 0.0 ? x1 + 1.0 : x1'}, expect: after_score >= score}
    - {name: identity, type: INV, set: {x2: x2 * 1.0}}
"""


def test_checks_ask_only_about_the_rows_their_transform_changed(tmp_path: Path) -> None:
    run = SuiteRun(load_suite(demo_project(tmp_path, CHECKS, rows=1500)))
    gate, asked = _evaluate_counting(run, "consistency")
    positive = int((run.frame()["x1"] > 0).sum())
    assert asked == [positive]  # one call; the identity transform asks nothing
    rules = {rule["name"]: rule for rule in gate.details["rules"]}
    assert rules["identity"]["violations"] == 0 and rules["identity"]["applicable"] == 1500
    # the logistic model's score rises with x1 wherever x1 rose, and nothing else moved
    assert rules["positive_x1_up"]["violations"] == 0


def test_changed_rows_are_asked_in_bounded_batches_with_the_same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalharness.metrics import reanswer

    def gate_and_calls(folder: Path) -> tuple[Any, list[int]]:
        folder.mkdir()
        return _evaluate_counting(SuiteRun(load_suite(demo_project(folder, RECIPES, rows=2000))), "robustness")

    whole, one_call = gate_and_calls(tmp_path / "whole")
    monkeypatch.setattr(reanswer, "BATCH_ROWS", 250)
    batched, calls = gate_and_calls(tmp_path / "batched")
    assert len(one_call) == 1 and sum(calls) == one_call[0] and calls[:-1] == [250] * (len(calls) - 1) > []
    assert batched.value == whole.value and batched.details["variants"] == whole.details["variants"]
    assert batched.interval == whole.interval
