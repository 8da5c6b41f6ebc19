"""Behavioural checks in CheckList's vocabulary, next to the consistency rules.

- INV: the answer must not change when the input is transformed (default expectation
  ``after_predicted == predicted``).
- DIR: the answer must move as stated, e.g. ``after_score >= score`` when the amount grows tenfold.
- MFT: hand-written cases with their expected answers; each case is a pytest item of its own.

A transform either sets columns with CEL expressions over the row (``set: {amount: amount * 10.0}``)
or applies a perturbation recipe. The target answers the transformed rows again; ``expect`` is a
CEL rule that also reads ``after_predicted`` and ``after_score``.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from evalharness.metrics.rules import compile_rule, computed_column
from evalharness.perturb.recipes import Recipe, apply_recipe, recipe_rng
from evalharness.suite.fields import ClosedModel

AFTER_VARIABLES = ("after_predicted", "after_score")
INVARIANT = "after_predicted == predicted"


class Check(ClosedModel):
    """An INV or DIR check: transform the rows, answer again, and compare before with after."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    type: Literal["INV", "DIR"]
    description: str = ""
    when: str | None = Field(None, description="CEL condition selecting the rows checked (default: all)")
    set: dict[str, str] | None = Field(None, description="column -> CEL expression giving its new value")
    perturb: Recipe | None = Field(None, description="a perturbation recipe as the transform")
    expect: str | None = Field(None, description=f"CEL rule over the row, outputs and {', '.join(AFTER_VARIABLES)}")

    @field_validator("when", "expect")
    @classmethod
    def _compiles(cls, text: str | None) -> str | None:
        if text is not None:
            compile_rule(text)
        return text

    @field_validator("set")
    @classmethod
    def _expressions_compile(cls, assignments: dict[str, str] | None) -> dict[str, str] | None:
        for text in (assignments or {}).values():
            compile_rule(text)
        return assignments

    @model_validator(mode="after")
    def _one_transform(self) -> Check:
        if (self.set is None) == (self.perturb is None):
            raise ValueError("give exactly one transform: set (CEL per column) or perturb (a recipe)")
        if self.type == "DIR" and self.expect is None:
            raise ValueError("a DIR check states its direction in expect, e.g. after_score >= score")
        return self

    @property
    def expectation(self) -> str:
        """The rule that must hold after the transform (INV defaults to an unchanged answer)."""
        return self.expect or INVARIANT


class Case(ClosedModel):
    """A hand-written case (MFT): inputs and the answer the model must give."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    description: str = ""
    inputs: dict[str, Any] = Field(description="a value for every input column")
    expected: Any


def transformed_inputs(check: Check, inputs: pd.DataFrame, table: Any, seed: int, index: int) -> pd.DataFrame:
    """A copy of the inputs with the check's transform applied (failed CEL values keep the original)."""
    if check.perturb is not None:
        return apply_recipe(check.perturb, inputs, recipe_rng(seed, 1000 + index, check.perturb.recipe))
    changed = inputs.copy(deep=False)  # shares the columns it does not set (see apply_recipe)
    for column, expression in (check.set or {}).items():
        values, _ = computed_column(compile_rule(expression), table, len(inputs))
        original = inputs[column]
        merged = pd.Series(values, index=inputs.index).where(pd.notna(values), original)
        changed[column] = pd.to_numeric(merged) if pd.api.types.is_numeric_dtype(original) else merged
    return changed


def case_frame(cases: list[Case], columns: list[str]) -> pd.DataFrame:
    """The cases' inputs as a frame with the dataset's input columns, in order."""
    return pd.DataFrame([{column: case.inputs.get(column) for column in columns} for case in cases], columns=columns)


def check_names(checks: list[Check], available: list[str]) -> list[tuple[tuple[Any, ...], str]]:
    """Columns a check sets or perturbs that are not dataset inputs."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for index, check in enumerate(checks):
        targets = list(check.set or {}) + (check.perturb.columns if check.perturb else [])
        problems += [(("checks", index), f"column '{c}' is not a dataset input") for c in targets if c not in available]
    return problems


def case_problems(cases: list[Case], available: list[str]) -> list[tuple[tuple[Any, ...], str]]:
    """Cases that leave out an input column or name one the dataset does not have."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    for index, case in enumerate(cases):
        missing = [c for c in available if c not in case.inputs]
        unknown = [c for c in case.inputs if c not in available]
        if missing:
            problems.append((("cases", index, "inputs"), f"case '{case.name}' gives no value for {missing}"))
        if unknown:
            problems.append(
                (("cases", index, "inputs"), f"case '{case.name}' names columns not in the dataset {unknown}")
            )
    return problems
