"""``robustness``: how much quality survives seeded perturbations and gradient attacks.

Every recipe makes one perturbed copy of the inputs (or, for ``fgsm`` and ``pgd``, an attacked
copy), which the target answers again. A row's quality is 1 or 0 for a right or wrong label, or
the DTW temporal-consistency score for a sequence; its worst case is the lowest over the clean
answer and every recipe. The gated number is the retention ratio, mean worst-case quality over
mean clean quality (clean accuracy for labels), by default at least 0.85. Per-recipe quality and
the flip rate (rows whose answer changed under any recipe) are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from evalharness.compare.options import ComparableOptions
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.registry import did_you_mean
from evalharness.metrics.stats import RatioTerms, percentile_interval, ratio_parts, terms_bootstrap
from evalharness.perturb.gradient import GradientRecipe
from evalharness.perturb.recipes import AnyRecipe, apply_recipe, recipe_rng
from evalharness.predictions import Predictions
from evalharness.suite.fields import Bounds, GateOptions, Threshold, repeated_names


class RobustnessOptions(ComparableOptions):
    """Options of ``robustness``: the recipes, an optional seed, and the retention threshold."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)  # worst-case quality over clean quality, worst <= clean

    perturb: list[AnyRecipe] = Field(min_length=1, description="perturbation recipes, each one perturbed copy")
    seed: int | None = Field(None, description="seed of the perturbations; default: the suite's seed")
    min: Threshold | None = 0.85

    @field_validator("perturb")
    @classmethod
    def _unique_labels(cls, recipes: list[Any]) -> list[Any]:
        repeated = repeated_names([recipe.label for recipe in recipes])
        if repeated:
            raise ValueError(f"two recipes would share the name {repeated[0]}; give one a name")
        return recipes


@dataclass(frozen=True)
class Robustness:
    """Accuracy kept under perturbed inputs, answered again by the live target."""

    name: str = "robustness"
    options: type[GateOptions] = RobustnessOptions
    description: str = "worst-case accuracy under seeded perturbations / clean accuracy"

    def check_suite(self, options: RobustnessOptions, available: list[str], base_dir: Path) -> list[tuple[Any, str]]:
        """Every perturbed column must be a dataset input."""
        return [
            (
                ("perturb", i, "columns", j),
                f"column '{column}' is not a dataset input" + did_you_mean(column, available),
            )
            for i, recipe in enumerate(options.perturb)
            for j, column in enumerate(getattr(recipe, "columns", []))
            if column not in available
        ]

    def compute(self, predictions: Predictions, options: RobustnessOptions, settings: MetricSettings) -> MetricValue:
        """Answer every perturbed copy, then retention, per-recipe quality and flip rate."""
        if settings.predict is None:
            raise ValueError("robustness needs a target that can answer new inputs (onnx, torch), not stored answers")
        seed = settings.seed if options.seed is None else options.seed
        clean = row_quality(predictions)
        worst, flipped, flips_per_row, variants = clean.copy(), np.zeros(len(clean), bool), np.zeros(len(clean)), []
        for recipe, again in zip(options.perturb, answer_perturbed(options.perturb, predictions, settings, seed)):
            quality = row_quality(again)
            changed = _changed(predictions, again, clean, quality)
            worst = np.minimum(worst, quality)
            flipped |= changed
            flips_per_row += changed
            variants.append({"name": recipe.label, "recipe": recipe.recipe, "columns": getattr(recipe, "columns", None),
                             "quality": float(quality.mean()), "flip_rate": float(changed.mean())})  # fmt: skip
        samples, method = terms_bootstrap(RatioTerms(worst, clean), settings, "robustness")
        return MetricValue(
            value=float(worst.mean() / clean.mean()) if clean.mean() else float("nan"),
            n=len(clean),
            interval=percentile_interval(samples, settings.confidence),
            method=method,
            row_loss=flips_per_row / len(options.perturb),
            undefined=None if clean.mean() else "no row is answered right on the clean inputs, so nothing is kept",
            **ratio_parts(worst, clean),
            details={
                "quality": "dtw consistency" if predictions.is_sequence else "accuracy",
                "clean_quality": float(clean.mean()),
                "worst_case_quality": float(worst.mean()),
                "flip_rate": float(flipped.mean()),
                "seed": seed,
                "variants": variants,
            },
        )


def row_quality(predictions: Predictions) -> np.ndarray:
    """Per row: 1.0 or 0.0 for a right or wrong label; the DTW consistency score for a sequence."""
    if not predictions.is_sequence:
        return predictions.correct.astype(float)
    from evalharness.metrics.dtw import normalise, row_distances

    distances, lengths = row_distances(predictions.expected, predictions.predicted, None)
    return np.exp(-normalise(distances, lengths, predictions.expected, "path_length_and_scale"))


def answer_perturbed(
    recipes: list[Any], predictions: Predictions, settings: MetricSettings, seed: int
) -> list[Predictions]:
    """The target's answers to every recipe's perturbed (or attacked) inputs, in recipe order.

    Only the rows a recipe changed are asked again, and every recipe's changed rows go to the
    target in one call (the target batches them as it batches the dataset); a row the recipe left
    alone keeps its clean answer, which is what the target would say again.
    """
    asked: list[tuple[int, pd.DataFrame, np.ndarray]] = []
    answers: dict[int, Predictions] = {}
    for index, recipe in enumerate(recipes):
        if isinstance(recipe, GradientRecipe):
            if settings.attack is None:
                raise ValueError(f"{recipe.recipe} is a gradient attack: it needs a differentiable torch target")
            attacked = settings.attack(predictions.inputs, predictions.expected, recipe)
            answers[index] = Predictions(predictions.ids, predictions.expected, attacked.label, attacked.score,
                                         predictions.inputs)  # fmt: skip
            continue
        inputs = apply_recipe(recipe, predictions.inputs, recipe_rng(seed, index, recipe.recipe))
        changed = changed_rows(predictions.inputs, inputs, recipe.columns)
        asked.append((index, inputs, changed))
    wanted = [inputs[changed] for _, inputs, changed in asked if changed.any()]
    assert settings.predict is not None
    answer = settings.predict(pd.concat(wanted, ignore_index=True)) if wanted else None
    start = 0
    for index, inputs, changed in asked:
        count = int(changed.sum())
        label, score = _merged(predictions, changed, answer, start, count)
        answers[index] = Predictions(predictions.ids, predictions.expected, label, score, inputs)
        start += count
    return [answers[index] for index in range(len(recipes))]


def changed_rows(before: pd.DataFrame, after: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Rows where any of ``columns`` differs (two missing values are alike); every row for a column of
    sequences, which are not compared element by element."""
    changed = np.zeros(len(before), dtype=bool)
    for name in columns:
        old, new = before[name], after[name]
        if old.dtype == object and len(old) and isinstance(old.iloc[0], (list, tuple, np.ndarray)):
            return np.ones(len(before), dtype=bool)
        same = (old.to_numpy() == new.to_numpy()) | (old.isna().to_numpy() & new.isna().to_numpy())
        changed |= ~np.asarray(same, dtype=bool)
    return changed


def _merged(
    predictions: Predictions, changed: np.ndarray, answer: Any, start: int, count: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The clean answers with the changed rows' new answers (``answer``'s rows start..start+count)."""
    label, score = np.asarray(predictions.raw_predicted), predictions.score
    if count == 0:
        return label, score
    new_label = np.asarray(answer.label)[start : start + count]
    merged = label.astype(np.result_type(label.dtype, new_label.dtype), copy=True)
    merged[changed] = new_label
    if score is None or answer.score is None:
        return merged, None
    merged_score = np.asarray(score, dtype=float).copy()
    merged_score[changed] = np.asarray(answer.score, dtype=float)[start : start + count]
    return merged, merged_score


def _changed(before: Predictions, after: Predictions, clean: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Rows whose answer changed: another label, or a sequence whose score fell by more than 0.05."""
    if before.is_sequence:
        return quality < clean - 0.05
    return np.asarray(after.predicted != before.predicted)


ROBUSTNESS = Robustness()
