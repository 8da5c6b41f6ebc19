"""``robustness``: how much accuracy survives seeded perturbations of the inputs.

Every recipe makes one perturbed copy of the inputs, which the target answers again. A row is
robust when it is right in every perturbed copy; the gated number is the retention ratio,
(accuracy in the worst case per row) / (clean accuracy), by default at least 0.85. Clean and
per-recipe accuracy and the flip rate (rows whose answer changed under any recipe) are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.registry import did_you_mean
from evalharness.metrics.stats import bootstrap_counts, percentile_interval
from evalharness.perturb.recipes import Recipe, apply_recipe, recipe_rng
from evalharness.predictions import Predictions
from evalharness.suite.fields import GateOptions, Threshold


class RobustnessOptions(GateOptions):
    """Options of ``robustness``: the recipes, an optional seed, and the retention threshold."""

    perturb: list[Recipe] = Field(min_length=1, description="perturbation recipes, each one perturbed copy")
    seed: int | None = Field(None, description="seed of the perturbations; default: the suite's seed")
    min: Threshold | None = 0.85

    @field_validator("perturb")
    @classmethod
    def _unique_labels(cls, recipes: list[Any]) -> list[Any]:
        labels = [recipe.label for recipe in recipes]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(f"two recipes would share the name {repeated[0]}; give one a name")
        return recipes


def _retention_interval(clean: np.ndarray, robust: np.ndarray, settings: MetricSettings) -> tuple[float, float] | None:
    """Row bootstrap of sum(robust) / sum(clean): a multinomial over the four kinds of row."""
    cells = np.bincount(clean.astype(int) * 2 + robust.astype(int), minlength=4)
    resampled = bootstrap_counts(cells, settings, "robustness")
    with np.errstate(invalid="ignore", divide="ignore"):
        samples = (resampled[:, 1] + resampled[:, 3]) / (resampled[:, 2] + resampled[:, 3])
    return percentile_interval(samples, settings.confidence)


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
            for j, column in enumerate(recipe.columns)
            if column not in available
        ]

    def compute(self, predictions: Predictions, options: RobustnessOptions, settings: MetricSettings) -> MetricValue:
        """Answer every perturbed copy, then retention, per-recipe accuracy and flip rate."""
        if settings.predict is None:
            raise ValueError("robustness needs a target that can answer new inputs (onnx, torch), not stored answers")
        seed = settings.seed if options.seed is None else options.seed
        clean, rows = predictions.correct, len(predictions)
        robust, flipped, flips_per_row, variants = clean.copy(), np.zeros(rows, bool), np.zeros(rows), []
        for index, recipe in enumerate(options.perturb):
            perturbed = apply_recipe(recipe, predictions.inputs, recipe_rng(seed, index, recipe.recipe))
            answer = settings.predict(perturbed)
            again = Predictions(predictions.ids, predictions.expected, answer.label, answer.score, perturbed)
            changed = again.predicted != predictions.predicted
            robust &= again.correct
            flipped |= changed
            flips_per_row += changed
            variants.append({"name": recipe.label, "recipe": recipe.recipe, "columns": recipe.columns,
                             "accuracy": float(again.correct.mean()), "flip_rate": float(changed.mean())})  # fmt: skip
        clean_accuracy, worst_accuracy = float(clean.mean()), float(robust.mean())
        return MetricValue(
            value=worst_accuracy / clean_accuracy if clean_accuracy else float("nan"),
            n=int(clean.sum()),
            interval=_retention_interval(clean, robust, settings),
            method="bootstrap (rows)",
            row_loss=flips_per_row / len(options.perturb),
            details={
                "clean_accuracy": clean_accuracy,
                "worst_case_accuracy": worst_accuracy,
                "flip_rate": float(flipped.mean()),
                "seed": seed,
                "variants": variants,
            },  # fmt: skip
        )


ROBUSTNESS = Robustness()
