"""Field types shared by every part of the suite schema."""

from __future__ import annotations

import math
import types
import typing
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

GateOn = Literal["estimate", "bound"]


def _admits_int(annotation: Any) -> bool:
    """Whether a field's type takes an integer (``int``, ``int | None``, ``int | str``...)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _admits_int(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_admits_int(arg) for arg in typing.get_args(annotation))
    return annotation is int


@cache
def _integer_keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(field.alias or name for name, field in model.model_fields.items() if _admits_int(field.annotation))


class ClosedModel(BaseModel):
    """A schema section that rejects unknown keys (typos must never be silently ignored).

    Strict, as JSON Schema is: the text "64" is not a number and true is not 1. Keys are the
    names the JSON Schema publishes (aliases), never the Python field names. Numbers are finite:
    YAML's .inf and .nan have no JSON equivalent and no meaning in a suite.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers_are_integers(cls, data: Any) -> Any:
        # JSON has one number type: 64.0 is the integer 64 to JSON Schema, so it is here (strict
        # pydantic would refuse it). Only a model's own fields hold integers in the suite schema.
        if not isinstance(data, dict):
            return data
        keys = _integer_keys(cls)
        return {
            key: int(value) if key in keys and isinstance(value, float) and value.is_integer() else value
            for key, value in data.items()
        }


def boolean_message(value: bool, fix: str) -> str:
    """What to say when YAML read a value as a boolean (yes/no/on/off) where another type belongs."""
    word = "true" if value else "false"
    return f"YAML read this as the boolean {word} (yes/no/on/off are booleans in YAML); {fix}"


def _as_number(text: str) -> int | float | None:
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if math.isfinite(number) else None
    return None


def text_number_message(text: str, expected: str = "a number") -> str:
    """What to say when YAML read a value as text where a number belongs."""
    number = _as_number(text)
    if number is None:
        return f"expected {expected}, got the text {text!r}"
    why = "YAML 1.1 needs a dot and a signed exponent, as in 1.0e-3" if "e" in text.lower() else "quotes make text"
    return f"YAML read {text!r} as text, not a number ({why}); write {number!r}"


def _number_only(value: Any) -> Any:
    """Reject values YAML turned into strings or booleans, with the reason and the fix."""
    if isinstance(value, bool):
        raise ValueError(boolean_message(value, "write a number such as 0.9"))
    if isinstance(value, str):
        raise ValueError(text_number_message(value))
    return value  # .inf and .nan: refused by ClosedModel (allow_inf_nan=False)


def _not_boolean(value: Any) -> Any:
    """Literal 1 would take true (True == 1 in Python); JSON Schema's const 1 does not."""
    if isinstance(value, bool):
        raise ValueError(boolean_message(value, "write 1"))
    return value


Threshold = Annotated[float, BeforeValidator(_number_only)]
"""A gate threshold: a finite number, never text or a boolean that YAML guessed."""

One = Annotated[Literal[1], BeforeValidator(_not_boolean)]
"""The number 1 exactly (a schema version, a fixed batch size), never the boolean true."""


class GateOptions(ClosedModel):
    """Thresholds every gated metric accepts."""

    min: Threshold | None = None
    max: Threshold | None = None
    gate_on: GateOn | None = None

    @model_validator(mode="after")
    def _min_below_max(self) -> GateOptions:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max}); no value could pass")
        return self

    @property
    def is_gate(self) -> bool:
        """Whether a threshold is set (a metric without one is reported, not gated)."""
        return self.min is not None or self.max is not None


def repeated_names(names: list[str]) -> list[str]:
    """Names that appear more than once, sorted (for "must be unique" errors)."""
    return sorted({name for name in names if names.count(name) > 1})
