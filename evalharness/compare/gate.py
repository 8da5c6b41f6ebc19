"""One gate of a suite with a baseline: its comparison, and how it changes the gate's status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalharness.compare.delta import compare
from evalharness.compare.flips import flips
from evalharness.compare.options import ComparableOptions
from evalharness.metrics.base import MetricValue
from evalharness.untrusted import max_cell_chars

if TYPE_CHECKING:
    from evalharness.runner import SuiteRun

FLIP_METRICS = frozenset({"accuracy"})
"""Gates whose comparison lists the flipped rows (right to wrong, wrong to right)."""


def comparison(run: SuiteRun, name: str, value: MetricValue, options: Any, gate_on: str) -> dict[str, Any] | None:
    """The gate's comparison with the baseline (None without a baseline, or for a metric such as
    drift that does not depend on the model)."""
    if run.baseline is None or not isinstance(options, ComparableOptions):
        return None
    baseline = run.baseline.metric_value(name)
    plain = compare(name, value, baseline, options, run.settings, gate_on).plain()
    plain["on_inconclusive"] = run.on_inconclusive
    candidate = run.predictions()
    if name in FLIP_METRICS and not candidate.is_sequence:
        count = run.spec.report.worst_rows
        plain["flips"] = flips(candidate, run.baseline.predictions(), count, max_cell_chars(run.spec))
    return plain


def merged_status(status: str, verdict: str | None, on_inconclusive: str) -> str:
    """The gate's status once its delta gates are judged: an error or a failure wins; an
    inconclusive delta fails or passes as the suite says; a passed delta makes a reported metric pass."""
    if verdict is None or status == "error":
        return status
    if verdict == "error":
        return "error"
    if status == "failed" or verdict == "failed" or (verdict == "inconclusive" and on_inconclusive == "fail"):
        return "failed"
    return "passed"


def delta_message(plain: dict[str, Any]) -> str:
    """The delta gates' reasons, one clause each, for the gate's message."""
    return "; ".join(f"{gate['verdict']}: {gate['reason']}" for gate in plain.get("gates", []))
