"""Perturbation recipes: seeded and reproducible across processes, each doing what it says."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter

from evalharness.perturb import tabular
from evalharness.perturb.recipes import Recipe, apply_recipe, recipe_rng
from evalharness.perturb.text import HOMOGLYPHS, keyboard_neighbours, lexicon, perturb_text

RECIPE = TypeAdapter(Recipe)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(4, 1, 2000),
            "count": rng.integers(0, 10, 2000),
            "category": rng.choice(["a", "b", "c"], 2000),
            "text": ["please help me cancel my order quickly"] * 2000,
        }
    )


def _digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()).hexdigest()


SCRIPT = """
import sys, hashlib, numpy as np, pandas as pd
sys.path.insert(0, {root!r})
from tests.unit.test_perturb import _digest, _frame_for_script
from evalharness.perturb.recipes import apply_recipe, recipe_rng
from pydantic import TypeAdapter
from evalharness.perturb.recipes import Recipe
recipe = TypeAdapter(Recipe).validate_python({recipe!r})
print(_digest(apply_recipe(recipe, _frame_for_script(), recipe_rng(7, 0, recipe.recipe))))
"""


def _frame_for_script() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"amount": rng.lognormal(4, 1, 500), "text": ["where is my refund please"] * 500})


@pytest.mark.parametrize(
    "recipe",
    [{"recipe": "noise", "columns": ["amount"], "scale": 0.1}, {"recipe": "synonym", "columns": ["text"], "rate": 0.5}],
)
def test_the_same_seed_gives_the_same_rows_in_another_process(recipe: dict) -> None:  # type: ignore[type-arg]
    parsed = RECIPE.validate_python(recipe)
    here = _digest(apply_recipe(parsed, _frame_for_script(), recipe_rng(7, 0, parsed.recipe)))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    code = SCRIPT.format(root=root, recipe=recipe)
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert there.stdout.strip() == here
    other = _digest(apply_recipe(parsed, _frame_for_script(), recipe_rng(8, 0, parsed.recipe)))
    assert other != here


def test_noise_is_relative_to_the_column_spread(frame: pd.DataFrame) -> None:
    noisy = tabular.noise(frame["amount"], np.random.default_rng(1), rate=1.0, scale=0.1)
    difference = noisy - frame["amount"]
    assert difference.std() == pytest.approx(0.1 * frame["amount"].std(), rel=0.1)
    counts = tabular.noise(frame["count"], np.random.default_rng(1), rate=1.0, scale=0.5)
    assert (counts == counts.round()).all()


def test_scaling_rate_and_factor(frame: pd.DataFrame) -> None:
    scaled = tabular.scaling(frame["amount"], np.random.default_rng(2), rate=0.3, factor=2.0)
    changed = ~np.isclose(scaled, frame["amount"])
    assert changed.mean() == pytest.approx(0.3, abs=0.04)
    assert np.allclose(scaled[changed], frame["amount"][changed] * 2.0)


def test_categorical_swap_always_picks_another_category(frame: pd.DataFrame) -> None:
    swapped = tabular.categorical_swap(frame["category"], np.random.default_rng(3), rate=0.2)
    changed = swapped != frame["category"]
    assert changed.mean() == pytest.approx(0.2, abs=0.04)
    assert set(swapped) <= {"a", "b", "c"}


def test_categorical_swap_draws_the_other_values_by_frequency_and_keeps_untouched_missing_values() -> None:
    column = pd.Series(["a"] * 6000 + ["b"] * 3000 + ["c"] * 1000 + [None] * 500)
    swapped = tabular.categorical_swap(column, np.random.default_rng(9), rate=0.5)
    chosen = tabular.chosen_rows(np.random.default_rng(9), len(column), 0.5)
    was_a = chosen & (column == "a").to_numpy()
    # an "a" becomes "b" or "c" in proportion 3000 : 1000
    assert (swapped[was_a] == "b").mean() == pytest.approx(0.75, abs=0.02)
    assert (swapped[chosen & column.notna().to_numpy()] != column[chosen & column.notna().to_numpy()]).all()
    # a chosen missing value takes any value by frequency; one not chosen stays missing
    assert swapped[chosen & column.isna().to_numpy()].notna().all()
    assert swapped[~chosen & column.isna().to_numpy()].isna().all()
    assert swapped.dtype == column.dtype and (swapped[~chosen].fillna("-") == column[~chosen].fillna("-")).all()


def test_missing_blanks_numbers_and_text(frame: pd.DataFrame) -> None:
    blanked = tabular.missing(frame["count"], np.random.default_rng(4), rate=0.1)
    assert blanked.isna().mean() == pytest.approx(0.1, abs=0.03)
    assert tabular.missing(frame["category"], np.random.default_rng(4), rate=0.1).isna().sum() == blanked.isna().sum()


def test_text_recipes_change_words_as_named() -> None:
    text = "please help me cancel my order"
    rng = lambda: np.random.default_rng(5)  # noqa: E731
    assert perturb_text(text, "case", rng(), 1.0) == text.upper()
    dropped = perturb_text(text, "word_drop", rng(), 0.5)
    assert 1 <= len(dropped.split()) < 6 and set(dropped.split()) <= set(text.split())
    homoglyphs = perturb_text(text, "homoglyph", rng(), 1.0)
    assert homoglyphs != text and set(homoglyphs) - set(text) <= set(HOMOGLYPHS.values())
    synonyms = perturb_text(text, "synonym", rng(), 1.0)
    assert synonyms.split()[1] in lexicon()["help"] and synonyms.split()[3] in lexicon()["cancel"]
    typo = perturb_text("order", "typo", rng(), 1.0)
    assert sorted(typo) == sorted("order") and typo != "order"
    keyboard = perturb_text("order", "keyboard", rng(), 1.0)
    changed = [(a, b) for a, b in zip("order", keyboard) if a != b]
    assert len(changed) == 1 and changed[0][1] in keyboard_neighbours()[changed[0][0]]
    assert perturb_text(text, "whitespace", rng(), 1.0).replace(" ", "") == text.replace(" ", "")
    punctuated = perturb_text(text, "punctuation", rng(), 1.0).split()
    assert [w.rstrip(".,!?;") for w in punctuated] == text.split()
    assert all(w[-1] in ".,!?;" for w in punctuated)


def test_apply_recipe_leaves_other_columns_and_the_input_alone(frame: pd.DataFrame) -> None:
    original = frame.copy()
    recipe = RECIPE.validate_python({"recipe": "typo", "columns": ["text"], "rate": 0.5})
    perturbed = apply_recipe(recipe, frame, recipe_rng(1, 0, "typo"))
    pd.testing.assert_frame_equal(frame, original)
    pd.testing.assert_frame_equal(perturbed.drop(columns="text"), frame.drop(columns="text"))
    assert (perturbed["text"] != frame["text"]).mean() > 0.9
