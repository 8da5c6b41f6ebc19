"""A metric of the candidate against the same metric of the baseline: difference, ratio, delta gates.

Each delta gate reads the estimate, or with ``gate_on: bound`` the pessimistic end of the paired
interval (a non-inferiority test at the suite's confidence level). With the bound, a gate whose
interval straddles its margin is *inconclusive*: the data cannot decide, and the record says how
many rows would (the interval narrows as 1/sqrt(rows)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from evalharness.compare.options import DeltaSpec
from evalharness.compare.paired import (
    PairedCounts,
    difference_interval,
    mcnemar_exact,
    newcombe_paired_interval,
    paired_bootstrap,
    paired_terms_bootstrap,
)
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.delong import paired_intervals
from evalharness.metrics.stats import z_value

Verdict = Literal["passed", "failed", "inconclusive", "error"]
Interval = tuple[float, float] | None
_AT_LEAST = {"max_drop", "min_gain", "min_retention", "min_ratio"}
_RATIO_GATES = {"min_retention", "max_ratio", "min_ratio"}
_TOLERANCE = 1e-12
"""Differences this small are rounding (0.89 - 0.90 is -0.010000000000000009): on the margin."""


def _meets(value: float, margin: float, at_least: bool) -> bool:
    return value >= margin - _TOLERANCE if at_least else value <= margin + _TOLERANCE


"""Gates that need their quantity at or above the limit (max_ratio needs it at or below)."""


@dataclass(frozen=True)
class DeltaVerdict:
    """One delta gate's outcome."""

    name: str
    limit: float
    compared: float | None
    verdict: Verdict
    reason: str
    rows_needed: int | None = None

    def plain(self) -> dict[str, Any]:
        """For the record."""
        return {"name": self.name, "limit": self.limit, "compared": self.compared, "verdict": self.verdict,
                "reason": self.reason, "rows_needed": self.rows_needed}  # fmt: skip


@dataclass(frozen=True)
class Comparison:
    """The candidate's metric against the baseline's, with every delta gate's verdict."""

    baseline: MetricValue
    delta: float
    delta_interval: Interval
    delta_method: str
    ratio: float
    ratio_interval: Interval
    better: str
    mcnemar: dict[str, Any] | None
    gates: list[DeltaVerdict] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict | None:
        """The worst of the gates: error, failed, inconclusive, passed (None without delta gates)."""
        verdicts = {gate.verdict for gate in self.gates}
        for worst in ("error", "failed", "inconclusive", "passed"):
            if worst in verdicts:
                return worst
        return None

    def plain(self) -> dict[str, Any]:
        """The record's ``comparison`` section (flips are added by the caller)."""
        return {
            "baseline": {"value": _finite(self.baseline.value), "interval": self.baseline.interval,
                         "n": self.baseline.n, "method": self.baseline.method},
            "delta": _finite(self.delta), "delta_interval": self.delta_interval, "delta_method": self.delta_method,
            "ratio": _finite(self.ratio), "ratio_interval": self.ratio_interval, "better": self.better,
            "mcnemar": self.mcnemar, "gates": [gate.plain() for gate in self.gates], "verdict": self.verdict,
        }  # fmt: skip


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def compare(
    name: str,
    candidate: MetricValue,
    baseline: MetricValue,
    options: DeltaSpec,
    settings: MetricSettings,
    gate_on: str,
) -> Comparison:
    """The paired comparison of one metric, and the verdict of each of its delta gates."""
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = candidate.value - baseline.value
        ratio = candidate.value / baseline.value if baseline.value else float("nan")
    mcnemar = _mcnemar(candidate, baseline)
    ratio_gated = bool({"min_retention", "max_ratio"} & set(options.delta_gates))
    if mcnemar is not None and not ratio_gated:  # the closed form needs no resampling
        delta_interval, ratio_interval, method = None, None, ""
    else:
        delta_interval, ratio_interval, method = _intervals(name, candidate, baseline, settings)
    if mcnemar is not None:
        paired = newcombe_paired_interval(PairedCounts(**mcnemar["table"]), settings.confidence)
        delta_interval, method = paired, "newcombe paired (method 10)"
    partial = Comparison(baseline, delta, delta_interval, method, ratio, ratio_interval, options.better(), mcnemar)
    counted = max(candidate.n, 1)  # what the metric counts: every row, or some (recall: the positives)
    rows = len(candidate.row_loss) if candidate.row_loss is not None else counted
    gates = [judge_delta(gate, limit, partial, gate_on, counted, rows_per_count=rows / counted)
             for gate, limit in options.delta_gates.items()]  # fmt: skip
    return Comparison(**{**partial.__dict__, "gates": gates})


def _intervals(
    name: str, candidate: MetricValue, baseline: MetricValue, settings: MetricSettings
) -> tuple[Interval, Interval, str]:
    """Paired-bootstrap intervals of the difference and the ratio (None where a side cannot resample).

    AUC with DeLong's interval on both sides gets DeLong's paired variance, in closed form. A
    metric whose own interval came from the row bootstrap already holds its draws, and the
    baseline's were drawn over the same rows: their difference is the paired bootstrap, free.
    """
    if candidate.delong is not None and baseline.delong is not None:
        delta_interval, ratio_interval = paired_intervals(candidate.delong, baseline.delong, settings.confidence)
        if delta_interval is not None:
            return delta_interval, ratio_interval, "delong paired"
    mine, theirs = candidate.samples, baseline.samples
    if mine is not None and theirs is not None and mine.shape == theirs.shape:
        delta_interval, ratio_interval = difference_interval(mine, theirs, settings.confidence)
        return delta_interval, ratio_interval, "paired bootstrap"
    if candidate.terms is not None and baseline.terms is not None and len(candidate.terms.numerator) < 2**31:
        sides = paired_terms_bootstrap(candidate.terms, baseline.terms, settings, name)
        delta_interval, ratio_interval = difference_interval(*sides, settings.confidence)
        return delta_interval, ratio_interval, "paired bootstrap"
    if candidate.resample is None or baseline.resample is None or candidate.row_loss is None:
        return unpaired_intervals(candidate, baseline, settings.confidence)
    rows = len(candidate.row_loss)
    sides = paired_bootstrap(candidate.resample, baseline.resample, rows, settings, name)
    delta_interval, ratio_interval = difference_interval(*sides, settings.confidence)
    return delta_interval, ratio_interval, "paired bootstrap"


def _mcnemar(candidate: MetricValue, baseline: MetricValue) -> dict[str, Any] | None:
    """McNemar's exact test where both sides count the same rows as successes or failures."""
    if candidate.successes is None or baseline.successes is None:
        return None
    if len(candidate.successes) != len(baseline.successes):
        return None
    if not np.array_equal(np.isnan(candidate.successes), np.isnan(baseline.successes)):
        return None  # different rows counted (recall over different positives): not paired
    counts = PairedCounts.of(candidate.successes, baseline.successes)
    return {
        "table": counts.__dict__,
        "right_to_wrong": counts.only_baseline,
        "wrong_to_right": counts.only_candidate,
        "p_value": mcnemar_exact(counts),
    }


def _quantity(gate: str, comparison: Comparison) -> tuple[float, Interval]:
    """What a gate compares: the gain (the difference, turned so that up is better) or the ratio."""
    if gate in _RATIO_GATES:
        return comparison.ratio, comparison.ratio_interval
    sign = 1.0 if comparison.better == "higher" else -1.0
    interval = comparison.delta_interval
    if interval is not None and sign < 0:
        interval = (-interval[1], -interval[0])
    return sign * comparison.delta, interval


def judge_delta(
    gate: str,
    limit: float,
    comparison: Comparison,
    gate_on: str,
    rows: int,
    unit: str = "rows",
    rows_per_count: float = 1.0,
) -> DeltaVerdict:
    """One delta gate on the estimate, or (``bound``) three-way on the paired interval. ``rows`` is
    what the metric counted; ``rows_per_count`` turns that into dataset rows (recall counts only
    the positives: 6.5 rows per positive at 15 % positives) for the rows that would decide."""
    estimate, interval = _quantity(gate, comparison)
    margin = -limit if gate == "max_drop" else limit
    at_least = gate in _AT_LEAST
    what = _describe(gate, limit, comparison.better)
    if not math.isfinite(estimate):
        return DeltaVerdict(gate, limit, None, "error", f"{what}: the comparison is undefined on this data")
    if gate_on != "bound" or interval is None:
        meets = _meets(estimate, margin, at_least)
        reason = f"{what}: estimate {estimate:+.4f} {'meets' if meets else 'misses'} {margin:+g}"
        if gate_on == "bound":
            reason += " (no interval: judged on the estimate)"
        return DeltaVerdict(gate, limit, estimate, "passed" if meets else "failed", reason)
    pessimistic, optimistic = (interval[0], interval[1]) if at_least else (interval[1], interval[0])
    text = f"[{interval[0]:+.4f}, {interval[1]:+.4f}]"
    if _meets(pessimistic, margin, at_least):
        return DeltaVerdict(gate, limit, pessimistic, "passed", f"{what}: interval {text} clears {margin:+g}")
    if not _meets(optimistic, margin, at_least):
        return DeltaVerdict(gate, limit, pessimistic, "failed", f"{what}: interval {text} is wholly past {margin:+g}")
    needed = rows_to_decide(estimate, interval, margin, rows)
    needed = math.ceil(needed * rows_per_count) if needed else needed
    more = f"; about {needed:,} {unit} would decide it" if needed else "; the estimate sits on the margin"
    reason = f"{what}: interval {text} straddles {margin:+g}: the data cannot decide{more}"
    return DeltaVerdict(gate, limit, pessimistic, "inconclusive", reason, needed)


def rows_to_decide(estimate: float, interval: tuple[float, float], margin: float, rows: int) -> int | None:
    """Rows at which the half of the interval that faces the margin shrinks to the estimate's
    distance from it (widths go as 1/sqrt(rows)), deciding pass or fail; None on the margin."""
    distance = abs(estimate - margin)
    if distance <= _TOLERANCE:
        return None
    facing = interval[0] if margin < estimate else interval[1]
    return math.ceil(rows * (abs(estimate - facing) / distance) ** 2)


def _describe(gate: str, limit: float, better: str) -> str:
    if gate == "max_drop":
        return f"drop against the baseline (at most {limit:g})"
    if gate == "min_gain":
        return f"gain on the baseline (at least {limit:g}, {better} is better)"
    if gate in ("min_retention", "min_ratio"):
        return f"candidate / baseline (at least {limit:g})"
    return f"candidate / baseline (at most {limit:g})"


UNPAIRED = "unpaired (from the two intervals)"


def unpaired_intervals(
    candidate: MetricValue, baseline: MetricValue, confidence: float
) -> tuple[Interval, Interval, str]:
    """Intervals of the difference and the ratio from the two sides' own intervals, as if they were
    independent (normal approximation): wider than paired, used when the rows cannot be paired."""
    if candidate.interval is None or baseline.interval is None:
        return None, None, "none (no interval on a side)"
    z = z_value(confidence)
    spread = [(high - low) / (2 * z) for low, high in (candidate.interval, baseline.interval)]
    delta = candidate.value - baseline.value
    half = z * math.hypot(*spread)
    delta_interval = (delta - half, delta + half)
    if candidate.value <= 0 or baseline.value <= 0:
        return delta_interval, None, UNPAIRED
    log_half = z * math.hypot(spread[0] / candidate.value, spread[1] / baseline.value)
    ratio = candidate.value / baseline.value
    return delta_interval, (ratio * math.exp(-log_half), ratio * math.exp(log_half)), UNPAIRED
