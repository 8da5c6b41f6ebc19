"""Field types shared by every part of the suite schema."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

GateOn = Literal["estimate", "bound"]


class ClosedModel(BaseModel):
    """A schema section that rejects unknown keys (typos must never be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _number_only(value: Any) -> Any:
    """Reject values YAML turned into strings or booleans before pydantic coerces them."""
    if isinstance(value, bool):
        word = "true" if value else "false"
        raise ValueError(
            f"YAML read this as the boolean {word} (yes/no/on/off are booleans in YAML); write a number such as 0.9"
        )
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"expected a number, got the text {value!r}") from None
        raise ValueError(
            f"YAML read {value!r} as text, not a number (YAML 1.1 needs a dot and a signed exponent, "
            f"as in 1.0e-3); write {number!r}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a threshold must be a finite number")
    return value


Threshold = Annotated[float, BeforeValidator(_number_only)]
"""A gate threshold: a finite number, never text or a boolean that YAML guessed."""


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
