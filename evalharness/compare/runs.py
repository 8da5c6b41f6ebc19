"""``evalharness compare BASE.json CANDIDATE.json``: two stored runs, compared gate by gate.

Suites pair by name and gates by name; both runs must have evaluated the same dataset (its
sha256). When both kept their answers (rows.jsonl beside run.json) the label and sequence metrics
are scored again from the rows and compared row by row, exactly as in one run with a baseline;
any other metric, or runs without answers, is compared from the two recorded intervals, and each
comparison says which (``pairing``). The candidate's own delta gates judge the difference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from evalharness.compare.delta import compare
from evalharness.compare.flips import flips
from evalharness.compare.gate import delta_message, merged_status
from evalharness.compare.options import RecordedDeltaGates
from evalharness.compare.stored import StoredRun
from evalharness.errors import EvalHarnessError
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.registry import get_metric
from evalharness.record import GateRecord, RunRecord, SuiteRecord, summarise

RESCORED = {"accuracy": (), "precision": ("average", "zero_division"), "recall": ("average", "zero_division"),
            "f1": ("average", "zero_division"), "auc": (), "dtw": ("window", "normalize", "gate")}  # fmt: skip
"""Metrics scored again from stored answers, with the options their recorded details keep."""


class CompareError(EvalHarnessError):
    """Two runs that cannot be compared (other suites, datasets or metrics): the reason, in one line."""


def compare_runs(
    base: StoredRun, candidate: StoredRun, on_inconclusive: str = "fail", declared: dict[str, Any] | None = None
) -> RunRecord:
    """The candidate's record with every gate compared with the baseline run's; ``declared`` (metric ->
    delta gates, direction, gate_on, from a suite file) replaces the candidate's recorded delta gates."""
    if declared:
        candidate = _with_declared(candidate, declared)
    suites = [_compare_suite(base, candidate, suite, on_inconclusive) for suite in candidate.record.suites]
    summary, status = summarise(suites)
    return candidate.record.model_copy(update={"suites": suites, "summary": summary, "status": status})


def _with_declared(candidate: StoredRun, declared: dict[str, Any]) -> StoredRun:
    """The candidate run with each named gate's delta gates, direction and gate_on set as declared."""

    def gate(record: GateRecord) -> GateRecord:
        chosen = declared.get(record.name)
        if chosen is None:
            return record
        return record.model_copy(update={"delta_gates": chosen["gates"], "better": chosen["better"],
                                         "gate_on": chosen["gate_on"]})  # fmt: skip

    suites = [suite.model_copy(update={"gates": [gate(g) for g in suite.gates]}) for suite in candidate.record.suites]
    return StoredRun(candidate.path, candidate.record.model_copy(update={"suites": suites}))


def _compare_suite(base: StoredRun, candidate: StoredRun, suite: SuiteRecord, policy: str) -> SuiteRecord:
    other = base.suite(suite.name)
    if other is None:
        names = ", ".join(s.name for s in base.record.suites) or "none"
        raise CompareError(f"{base.path} has no suite '{suite.name}' (it has {names}); compare runs of the same suites")
    hashes = [str(side.dataset.get("sha256")) for side in (other, suite)]
    if hashes[0] != hashes[1]:
        raise CompareError(f"suite '{suite.name}' evaluated different datasets in the two runs (sha256 "
                           f"{hashes[0][:12]}… and {hashes[1][:12]}…); compare runs on the same rows")  # fmt: skip
    sides = _paired_rows(base.answers(other.path), candidate.answers(suite.path))
    gates = [_compare_gate(gate, other, sides, suite, policy) for gate in suite.gates]
    baseline = {**other.target, "stored_run": str(base.path), "run_started_at": base.record.started_at}
    return suite.model_copy(update={"gates": gates, "baseline": baseline})


def _paired_rows(base: dict[str, Any], candidate: dict[str, Any]) -> tuple[list[Any], list[Any]] | None:
    """Both runs' answers in one row order, when both kept answers for the same ids."""
    if not base or not candidate or base.keys() != candidate.keys():
        return None
    order = list(candidate)
    return [base[key] for key in order], [candidate[key] for key in order]


def _compare_gate(gate: GateRecord, other: SuiteRecord, sides: Any, suite: SuiteRecord, policy: str) -> GateRecord:
    if gate.name.startswith(("load::", "cases::")) or gate.value is None:
        return gate
    base_gate = next((g for g in other.gates if g.name == gate.name), None)
    if base_gate is None:
        raise CompareError(f"suite '{suite.name}': the baseline run has no gate '{gate.name}'; compare runs of the "
                           "same metrics")  # fmt: skip
    settings = MetricSettings(confidence=gate.confidence, seed=suite.seed)
    values = _rescored(gate, base_gate, sides, settings)
    pairing = "rows" if values is not None else "intervals"
    candidate, baseline = values or (_recorded(gate), _recorded(base_gate))
    spec = RecordedDeltaGates(gate.delta_gates, "lower" if gate.better == "lower" else "higher")
    plain = compare(gate.name, candidate, baseline, spec, settings, gate.gate_on).plain()
    plain.update({"on_inconclusive": policy, "pairing": pairing})
    if pairing == "rows" and gate.name == "accuracy":
        base_rows, candidate_rows = sides
        mine, theirs = _predictions(candidate_rows, gate), _predictions(base_rows, gate)
        plain["flips"] = flips(mine, theirs, 5, suite.max_cell_chars)
    status: str = gate.status
    message = gate.message
    if plain["verdict"] is not None:
        status = merged_status(status, plain["verdict"], policy)
        message = "; ".join(part for part in (message, delta_message(plain)) if part)
    return gate.model_copy(update={"comparison": plain, "status": status, "message": message})


def _rescored(gate: GateRecord, base_gate: GateRecord, sides: Any, settings: MetricSettings) -> Any:
    """Both sides' metric scored again from their rows (None when it cannot be)."""
    if sides is None or gate.metric not in RESCORED:
        return None
    metric = get_metric(gate.metric)
    keys = RESCORED[gate.metric]
    options = metric.options(**{key: gate.details[key] for key in keys if gate.details.get(key) is not None})
    try:
        return tuple(metric.compute(_predictions(rows, gate), options, settings) for rows in reversed(sides))
    except (ValueError, EvalHarnessError):
        return None


def _predictions(rows: list[dict[str, Any]], gate: GateRecord) -> Any:
    from evalharness.predictions import Predictions

    scores = [row.get("score") for row in rows]
    score = None if all(s is None for s in scores) else np.asarray([np.nan if s is None else s for s in scores])
    return Predictions(
        ids=_values([row.get("id") for row in rows]), expected=_values([row.get("expected") for row in rows]),
        predicted=_values([row.get("predicted") for row in rows]), score=score,
        inputs=pd.DataFrame(index=range(len(rows))), positive_label=gate.details.get("positive_label"),
    )  # fmt: skip


def _values(values: list[Any]) -> np.ndarray:
    result = np.empty(len(values), dtype=object)
    result[:] = values
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return np.asarray(values) if numeric and values else result


def _recorded(gate: GateRecord) -> MetricValue:
    interval = (gate.interval[0], gate.interval[1]) if gate.interval else None
    return MetricValue(gate.value if gate.value is not None else float("nan"), gate.n or 0, interval,
                       gate.method or "recorded")  # fmt: skip
