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
from pydantic import Field, field_validator

from evalharness.compare.options import ComparableOptions
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.reanswer import Variant, answer_variants
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
    """The target's answers to every recipe's perturbed (or attacked) inputs, in recipe order; only
    the rows a recipe changed are asked again (:mod:`evalharness.metrics.reanswer`)."""
    answers: dict[int, Predictions] = {}
    for index, recipe in enumerate(recipes):
        if isinstance(recipe, GradientRecipe):
            if settings.attack is None:
                raise ValueError(f"{recipe.recipe} is a gradient attack: it needs a differentiable torch target")
            attacked = settings.attack(predictions.inputs, predictions.expected, recipe)
            answers[index] = _answered(predictions, attacked.label, attacked.score)
    perturbed = [index for index in range(len(recipes)) if index not in answers]
    variants = (_perturbed(recipes[index], index, predictions, seed) for index in perturbed)
    assert settings.predict is not None
    for index, again in zip(perturbed, answer_variants(predictions, variants, settings.predict)):
        answers[index] = _answered(predictions, again.label, again.score)
    return [answers[index] for index in range(len(recipes))]


def _perturbed(recipe: Any, index: int, predictions: Predictions, seed: int) -> Variant:
    """The ``index``-th recipe's perturbed copy of the inputs, seeded by its position and name."""
    return Variant(apply_recipe(recipe, predictions.inputs, recipe_rng(seed, index, recipe.recipe)), recipe.columns)


def _answered(predictions: Predictions, label: np.ndarray, score: np.ndarray | None) -> Predictions:
    """The rows of ``predictions`` answered with another ``label`` and ``score``."""
    return Predictions(predictions.ids, predictions.expected, label, score, predictions.inputs)


def _changed(before: Predictions, after: Predictions, clean: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Rows whose answer changed: another label, or a sequence whose score fell by more than 0.05."""
    if before.is_sequence:
        return quality < clean - 0.05
    return np.asarray(after.predicted != before.predicted)


ROBUSTNESS = Robustness()
