"""RunRecord: the versioned, plain-JSON account of a run that every report is rendered from."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evalharness.untrusted import DEFAULT_MAX_CELL_CHARS, bounded_text, bounded_value, untrusted_lines

RECORD_VERSION = 1
GateStatus = Literal["passed", "failed", "error", "info"]
RunStatus = Literal["passed", "failed", "error", "empty"]


def finite_or_none(value: Any) -> Any:
    """NaN and infinities are not JSON; store them as null (anything else is left for the type check). Only a
    float can be either: an int is finite however large (``math.isfinite`` overflows on one past 1e308)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


_DELTA_TEXT = {"max_drop": "drop <= {:g}", "min_gain": "gain >= {:g}", "min_retention": "x >= {:g}",
               "min_ratio": "x >= {:g}", "max_ratio": "x <= {:g}"}  # fmt: skip
"""How each gate against the baseline reads in a table (x: candidate / baseline)."""


class GateRecord(_Record):
    """One gate (one pytest item): the metric, its uncertainty, the threshold and the verdict."""

    name: str
    nodeid: str
    metric: str
    status: GateStatus
    value: float | None = None
    n: int | None = None
    interval: tuple[float, float] | None = None
    confidence: float = 0.95
    method: str | None = None
    min: float | None = None
    max: float | None = None
    gate_on: str = "estimate"
    compared_value: float | None = None
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)
    worst_rows: list[dict[str, Any]] = Field(default_factory=list)
    delta_gates: dict[str, float] = Field(default_factory=dict)
    """The gate's thresholds against a baseline (max_drop, min_gain, ...), kept so that
    ``evalharness compare`` can judge two stored runs with the candidate's own gates."""
    better: str = "higher"
    """Which way the gated value improves ("lower" for a distance)."""
    comparison: dict[str, Any] | None = None
    """Against the suite's baseline: its value, the paired delta and ratio with intervals, McNemar,
    every delta gate's verdict (passed, failed, inconclusive), the flips (evalharness.compare)."""
    duration_s: float = 0.0
    line: int | None = None
    """The line of the suite file that declares the gate (CI annotations point there)."""

    @field_validator("value", "compared_value", mode="before")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        return finite_or_none(value)

    @property
    def threshold(self) -> str:
        """``>= 0.92``, ``<= 50`` or ``[a, b]`` as shown in tables, then any gate against the baseline
        (``drop <= 0.01``, ``x >= 0.95`` for candidate / baseline)."""
        parts = [_DELTA_TEXT[name].format(limit) for name, limit in self.delta_gates.items() if name in _DELTA_TEXT]
        if self.min is not None and self.max is not None:
            parts.insert(0, f"[{self.min:g}, {self.max:g}]")
        elif self.min is not None:
            parts.insert(0, f">= {self.min:g}")
        elif self.max is not None:
            parts.insert(0, f"<= {self.max:g}")
        return "; ".join(parts) or "-"

    def bounded(self, cell_chars: int) -> GateRecord:
        """This record with its text from outside made safe and small: row values (worst rows, a case's
        row) capped at ``cell_chars`` characters, the message and other details at a message's length."""
        details = bounded_text({key: value for key, value in self.details.items() if key != "case"})
        if "case" in self.details:
            details["case"] = bounded_value(self.details["case"], cell_chars)
        return self.model_copy(update={
            "message": untrusted_lines(self.message), "details": details,
            "worst_rows": bounded_value(self.worst_rows, cell_chars),
            "comparison": _bounded_comparison(self.comparison, cell_chars),
        })  # fmt: skip


def _bounded_comparison(comparison: dict[str, Any] | None, cell_chars: int) -> dict[str, Any] | None:
    """The comparison's flipped rows capped like worst rows; its own text like a message."""
    if comparison is None:
        return None
    bounded = bounded_text({key: value for key, value in comparison.items() if key != "flips"})
    if comparison.get("flips") is not None:
        flips = comparison["flips"]
        bounded["flips"] = {**flips, "rows": bounded_value(flips.get("rows", []), cell_chars)}
    return dict(bounded)


class SuiteRecord(_Record):
    """One suite: where its inputs came from (with hashes), its predictions and its gates."""

    name: str
    path: str
    sha256: str
    description: str = ""
    seed: int = 0
    dataset: dict[str, Any] = Field(default_factory=dict)
    target: dict[str, Any] = Field(default_factory=dict)
    baseline: dict[str, Any] | None = None  # the baseline target's description, when the suite has one
    rows: int | None = None
    max_cell_chars: int = DEFAULT_MAX_CELL_CHARS  # rows' values and labels are cut to this (rows.jsonl: whole)
    predict_seconds: float | None = None
    confusion_matrix: dict[str, Any] | None = None
    curves: dict[str, Any] | None = None  # ROC, precision-recall, calibration, score histograms (binary scores)
    failing_rows: list[dict[str, Any]] = Field(default_factory=list)
    failing_rows_total: int = 0
    error: str | None = None
    load: dict[str, Any] | None = None
    gates: list[GateRecord] = Field(default_factory=list)


class Summary(_Record):
    """Counts of gate outcomes over the run."""

    gates: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    info: int = 0


class RunRecord(_Record):
    """Everything a report needs; ``evalharness report run.json`` re-renders from it alone."""

    record_version: int = RECORD_VERSION
    tool: str = "evalharness"
    evalharness_version: str
    status: RunStatus
    started_at: str
    finished_at: str
    duration_s: float
    environment: dict[str, Any] = Field(default_factory=dict)
    summary: Summary = Field(default_factory=Summary)
    suites: list[SuiteRecord] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    """What went wrong beside the gates without costing the run (a Pushgateway that could not be reached)."""

    @field_validator("record_version")
    @classmethod
    def _supported(cls, version: int) -> int:
        if version > RECORD_VERSION:
            raise ValueError(
                f"record version {version} is newer than this evalharness reads ({RECORD_VERSION}); upgrade"
            )
        return version


def summarise(suites: list[SuiteRecord]) -> tuple[Summary, RunStatus]:
    """Counts over every gate, and the run status they imply."""
    statuses = [gate.status for suite in suites for gate in suite.gates]
    summary = Summary(
        gates=len(statuses),
        passed=statuses.count("passed"),
        failed=statuses.count("failed"),
        errors=statuses.count("error"),
        info=statuses.count("info"),
    )
    if summary.failed:  # known bad, whatever else could not be evaluated (as the exit code: 1 before 6)
        return summary, "failed"
    if summary.errors:
        return summary, "error"
    return summary, "passed" if statuses else "empty"
