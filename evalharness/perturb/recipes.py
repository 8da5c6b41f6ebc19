"""Perturbation recipes as a suite writes them, and how each is applied to a copy of the inputs."""

from __future__ import annotations

import zlib
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from evalharness.perturb import tabular
from evalharness.perturb.gradient import GradientRecipe
from evalharness.perturb.text import WORD_RECIPES, perturb_text
from evalharness.suite.fields import ClosedModel

Rate = Annotated[float, Field(gt=0.0, le=1.0)]


class _Recipe(ClosedModel):
    recipe: str  # narrowed to a Literal by every recipe
    columns: list[str] = Field(min_length=1, description="dataset input columns the recipe changes")
    name: str | None = Field(None, description="label in reports; default: the recipe and its columns")

    @property
    def label(self) -> str:
        """How reports name this perturbation."""
        return self.name or f"{self.recipe}({', '.join(self.columns)})"


class NoiseRecipe(_Recipe):
    """Gaussian noise of ``scale`` x each column's standard deviation, on a ``rate`` share of rows."""

    recipe: Literal["noise"]
    rate: Rate = 1.0
    scale: float = Field(0.05, gt=0)


class ScaleRecipe(_Recipe):
    """Multiply a ``rate`` share of rows by ``factor``."""

    recipe: Literal["scale"]
    rate: Rate = 1.0
    factor: float = 1.1


class SwapRecipe(_Recipe):
    """Replace a ``rate`` share of rows' category by another, drawn by frequency."""

    recipe: Literal["categorical_swap"]
    rate: Rate = 0.05


class MissingRecipe(_Recipe):
    """Blank a ``rate`` share of rows."""

    recipe: Literal["missing"]
    rate: Rate = 0.02


class TextRecipe(_Recipe):
    """Change a ``rate`` share of the words of each text."""

    recipe: Literal["typo", "keyboard", "case", "whitespace", "punctuation", "synonym", "homoglyph", "word_drop"]
    rate: Rate = 0.1


Recipe = Annotated[NoiseRecipe | ScaleRecipe | SwapRecipe | MissingRecipe | TextRecipe, Field(discriminator="recipe")]
AnyRecipe = Annotated[
    NoiseRecipe | ScaleRecipe | SwapRecipe | MissingRecipe | TextRecipe | GradientRecipe, Field(discriminator="recipe")
]
"""Every recipe, gradient attacks included (those need a differentiable torch target)."""
RECIPE_NAMES = ("noise", "scale", "categorical_swap", "missing", *WORD_RECIPES, "fgsm", "pgd")


def recipe_rng(seed: int, index: int, recipe: str) -> np.random.Generator:
    """The generator of the ``index``-th recipe: fixed by the seed, the position and the name."""
    return np.random.default_rng([seed, index, zlib.crc32(recipe.encode("utf-8"))])


def _text_column(column: pd.Series, recipe: TextRecipe, rng: np.random.Generator) -> pd.Series:
    values = [perturb_text(v, recipe.recipe, rng, recipe.rate) if isinstance(v, str) else v for v in column]
    return pd.Series(values, index=column.index, name=column.name, dtype=column.dtype)


def apply_recipe(recipe: NoiseRecipe | ScaleRecipe | SwapRecipe | MissingRecipe | TextRecipe,
                 frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:  # fmt: skip
    """A perturbed copy of ``frame``; columns are changed one after another with the same generator.

    The copy shares the columns it leaves alone with ``frame`` (assigning a column replaces it and
    never writes into the shared data), so a recipe on one column of a million rows copies one column.
    """
    perturbed = frame.copy(deep=False)
    for name in recipe.columns:
        column = perturbed[name]
        if isinstance(recipe, NoiseRecipe):
            perturbed[name] = tabular.noise(column, rng, recipe.rate, recipe.scale)
        elif isinstance(recipe, ScaleRecipe):
            perturbed[name] = tabular.scaling(column, rng, recipe.rate, recipe.factor)
        elif isinstance(recipe, SwapRecipe):
            perturbed[name] = tabular.categorical_swap(column, rng, recipe.rate)
        elif isinstance(recipe, MissingRecipe):
            perturbed[name] = tabular.missing(column, rng, recipe.rate)
        else:
            perturbed[name] = _text_column(column, recipe, rng)
    return perturbed
