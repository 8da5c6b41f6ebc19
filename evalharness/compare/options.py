"""Delta gates: thresholds on how a metric moves from the baseline to the candidate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

from pydantic import Field

from evalharness.suite.fields import GateOptions, Threshold

OnInconclusive = Literal["fail", "pass"]
NonNegative = Annotated[Threshold, Field(ge=0)]
Positive = Annotated[Threshold, Field(gt=0)]
DELTA_GATES = ("max_drop", "min_gain", "min_retention", "max_ratio")


class ComparableOptions(GateOptions):
    """Thresholds, and gates against the suite's baseline (they need ``baseline:``)."""

    max_drop: NonNegative | None = Field(
        None,
        description="the most the metric may get worse than the baseline's (candidate - baseline >= -max_drop; "
        "for a lower-is-better metric, candidate - baseline <= max_drop)",
    )
    min_gain: Threshold | None = Field(
        None, description="the least the metric must improve on the baseline's (in the metric's own direction)"
    )
    min_retention: Positive | None = Field(
        None, description="the least share of the baseline's value the candidate keeps (candidate / baseline)"
    )
    max_ratio: Positive | None = Field(None, description="the most candidate / baseline may be")

    def better(self) -> Literal["higher", "lower"]:
        """Which way the gated value improves (a distance improves downwards)."""
        return "higher"

    @property
    def delta_gates(self) -> dict[str, float]:
        """The delta gates set, name -> limit."""
        return {name: getattr(self, name) for name in DELTA_GATES if getattr(self, name) is not None}


class DeltaSpec(Protocol):
    """What judging a comparison needs of a gate: its delta gates and which way is better."""

    @property
    def delta_gates(self) -> dict[str, float]:
        """Delta gate name -> limit."""
        ...

    def better(self) -> Literal["higher", "lower"]:
        """Which way the gated value improves."""
        ...


@dataclass(frozen=True)
class RecordedDeltaGates:
    """A gate's delta gates as a run record keeps them (``evalharness compare`` of two stored runs)."""

    gates: dict[str, float]
    direction: Literal["higher", "lower"] = "higher"

    @property
    def delta_gates(self) -> dict[str, float]:
        """Delta gate name -> limit."""
        return dict(self.gates)

    def better(self) -> Literal["higher", "lower"]:
        """Which way the gated value improves."""
        return self.direction
