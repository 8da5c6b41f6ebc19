"""The text a failing gate shows in pytest's report: the numbers, then the worst rows.

Every value from outside (ids, answers, dataset cells, error text) goes through
:func:`~evalharness.untrusted.untrusted`: one safe line, at most :data:`CELL_WIDTH` characters,
so a 1 MB answer is one short cell ending ``…(1,000,000 chars)``.
"""

from __future__ import annotations

from typing import Any

from evalharness.record import GateRecord
from evalharness.report.text import format_interval, format_number, shorten
from evalharness.targets.secrets import redact
from evalharness.untrusted import DEFAULT_MAX_CELL_CHARS, untrusted

CELL_WIDTH = 60
"""The most characters of one value in failure text (the terminal, JUnit's failure body)."""
_INPUT_WIDTH = 90
_MESSAGE_WIDTH = 500


def format_cell(value: Any, limit: int | None = DEFAULT_MAX_CELL_CHARS) -> str:
    """A dataset value for tables: floats to 6 significant digits, everything else as one safe line
    of at most ``limit`` characters."""
    return f"{value:.6g}" if isinstance(value, float) else untrusted(value, limit)


def _inputs(values: dict[str, Any]) -> str:
    return ", ".join(f"{untrusted(key, CELL_WIDTH)}={format_cell(value, CELL_WIDTH)}" for key, value in values.items())


def _row_line(row: dict[str, Any]) -> str:
    score = format_number(row.get("score"), 3) if "score" in row else "-"
    loss = format_number(row.get("loss"), 3) if "loss" in row else "-"
    row_id, expected, predicted = (untrusted(row.get(key, "-"), CELL_WIDTH) for key in ("id", "expected", "predicted"))
    cells = f"{row_id:<12} {expected:<9} {predicted:<10} {score:<7} {loss:<7}"
    return cells + " " + shorten(_inputs(row.get("inputs", {})), _INPUT_WIDTH)


def _rule_lines(rules: list[dict[str, Any]]) -> list[str]:
    if not rules:
        return []
    width = max(len(rule["name"]) for rule in rules)
    lines = [f"  {'rule':<{width}}  rate    applies  violations  errors"]
    for rule in rules:
        rate = format_number(rule.get("rate"))
        counts = f"{rule['applicable']:>7}  {rule['violations']:>10}  {rule['errors']:>6}"
        lines.append(f"  {untrusted(rule['name']):<{width}}  {rate}  {counts}")
        if rule.get("first_error"):
            lines.append(f"    first error: {untrusted(rule['first_error'], 100)}")
    return lines


def _format_case_failure(gate: GateRecord) -> str:
    case = gate.details.get("case", {})
    score = f" (score {case['score']:.3f})" if case.get("score") is not None else ""
    name, message = untrusted(gate.name.removeprefix("cases::")), untrusted(gate.message, _MESSAGE_WIDTH)
    return f"case {name} failed: {message}{score}\n  inputs: " + shorten(_inputs(case.get("inputs", {})), _INPUT_WIDTH)


def format_gate_failure(gate: GateRecord) -> str:
    """Metric, value, threshold, interval, n, method and the worst rows of a failed gate (secrets redacted)."""
    return redact(_format_gate_failure(gate))


def _format_gate_failure(gate: GateRecord) -> str:
    if gate.metric == "case":
        return _format_case_failure(gate)
    confidence = f"{gate.confidence:.0%} CI"
    lines = [
        f"gate {untrusted(gate.name)} failed: {untrusted(gate.message, _MESSAGE_WIDTH)}",
        f"  metric     {gate.metric}",
        f"  value      {format_number(gate.value)}",
        f"  threshold  {gate.threshold} (gated on the {gate.gate_on})",
        f"  {confidence:<10} {format_interval(gate.interval)} ({gate.method})",
        f"  n          {gate.n}",
    ]
    lines.extend(_rule_lines(gate.details.get("rules") or []))
    for variant in gate.details.get("variants") or []:
        lines.append(
            f"  {untrusted(variant['name'])}: quality {variant['quality']:.4f}, flip rate {variant['flip_rate']:.4f}"
        )
    if gate.details.get("drifting"):
        columns = ", ".join(untrusted(column, CELL_WIDTH) for column in gate.details["drifting"])
        lines.append(f"  drifting columns: {shorten(columns, _MESSAGE_WIDTH)}")
    if gate.worst_rows:
        lines.append(f"  worst {len(gate.worst_rows)} rows:")
        lines.append(f"    {'id':<12} {'expected':<9} {'predicted':<10} {'score':<7} {'loss':<7} inputs")
        lines.extend("    " + _row_line(row) for row in gate.worst_rows)
    return "\n".join(lines)
