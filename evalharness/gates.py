"""Gates: compare a metric, or its confidence bound, with the suite's min and max."""

from __future__ import annotations

import math
from dataclasses import dataclass

from evalharness.metrics.base import MetricValue
from evalharness.suite.fields import GateOptions


@dataclass(frozen=True)
class Verdict:
    """The outcome of one gate; ``passed`` is ``None`` for a metric reported without thresholds.

    ``undefined`` marks a metric with no value on this data: its gate errors, it never passes.
    """

    passed: bool | None
    compared: float | None
    reason: str
    undefined: bool = False

    @property
    def status(self) -> str:
        """``passed``, ``failed``, ``error`` (undefined on this data) or ``info`` (no threshold)."""
        if self.undefined:
            return "error"
        return "info" if self.passed is None else ("passed" if self.passed else "failed")


def _compared_value(value: MetricValue, gate_on: str, side: str) -> float:
    """The point estimate, or the pessimistic confidence bound for this side of the gate."""
    if gate_on != "bound" or value.interval is None:
        return value.value
    return value.interval[0] if side == "min" else value.interval[1]


def _describe(name: str, gate_on: str, side: str) -> str:
    if gate_on != "bound":
        return name
    return f"{name} lower bound" if side == "min" else f"{name} upper bound"


def judge(name: str, value: MetricValue, options: GateOptions, gate_on: str) -> Verdict:
    """Whether ``value`` meets ``options.min``/``options.max``, reading the bound when asked."""
    if value.value is None or math.isnan(value.value):
        reason = value.undefined or f"{name} is undefined on this data"
        if not options.is_gate:
            return Verdict(None, None, f"reported only; {reason}")
        fix = "; set zero_division: 0 (or 1) to score it" if _has_zero_division(options) else ""
        return Verdict(False, None, f"{reason}, so the gate cannot pass{fix}", undefined=True)
    if not options.is_gate:
        return Verdict(None, value.value, "reported only (no min or max set)")
    for side, limit in (("min", options.min), ("max", options.max)):
        if limit is None:
            continue
        compared = _compared_value(value, gate_on, side)
        if (side == "min" and compared < limit) or (side == "max" and compared > limit):
            relation = "below min" if side == "min" else "above max"
            return Verdict(False, compared, f"{_describe(name, gate_on, side)} {compared:.4f} is {relation} {limit:g}")
    side = "min" if options.min is not None else "max"
    return Verdict(True, _compared_value(value, gate_on, side), "within thresholds")


def _has_zero_division(options: GateOptions) -> bool:
    return getattr(options, "zero_division", None) == "error"
