"""The text a failing gate shows in pytest's report: the numbers, then the worst rows."""

from __future__ import annotations

from typing import Any

from evalharness.record import GateRecord
from evalharness.report.text import format_interval, format_number, shorten, terminal_safe
from evalharness.targets.secrets import redact

_INPUT_WIDTH = 90


def format_cell(value: Any) -> str:
    """A dataset value for tables: floats to 6 significant digits, everything else as text."""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _row_line(row: dict[str, Any]) -> str:
    inputs = ", ".join(f"{key}={format_cell(value)}" for key, value in row.get("inputs", {}).items())
    score = format_number(row.get("score"), 3) if "score" in row else "-"
    loss = format_number(row.get("loss"), 3) if "loss" in row else "-"
    cells = f"{str(row['id']):<12} {str(row['expected']):<9} {str(row['predicted']):<10} {score:<7} {loss:<7}"
    return terminal_safe(cells + " " + shorten(inputs, _INPUT_WIDTH))


def _rule_lines(rules: list[dict[str, Any]]) -> list[str]:
    if not rules:
        return []
    width = max(len(rule["name"]) for rule in rules)
    lines = [f"  {'rule':<{width}}  rate    applies  violations  errors"]
    for rule in rules:
        rate = format_number(rule.get("rate"))
        counts = f"{rule['applicable']:>7}  {rule['violations']:>10}  {rule['errors']:>6}"
        lines.append(terminal_safe(f"  {rule['name']:<{width}}  {rate}  {counts}"))
        if rule.get("first_error"):
            lines.append(terminal_safe(f"    first error: {shorten(rule['first_error'], 100)}"))
    return lines


def _format_case_failure(gate: GateRecord) -> str:
    case = gate.details.get("case", {})
    score = f" (score {case['score']:.3f})" if case.get("score") is not None else ""
    inputs = ", ".join(f"{key}={format_cell(value)}" for key, value in case.get("inputs", {}).items())
    return terminal_safe(f"case {gate.name.removeprefix('cases::')} failed: {gate.message}{score}") + (
        "\n  inputs: " + terminal_safe(inputs)
    )


def format_gate_failure(gate: GateRecord) -> str:
    """Metric, value, threshold, interval, n, method and the worst rows of a failed gate (secrets redacted)."""
    return redact(_format_gate_failure(gate))


def _format_gate_failure(gate: GateRecord) -> str:
    if gate.metric == "case":
        return _format_case_failure(gate)
    confidence = f"{gate.confidence:.0%} CI"
    lines = [
        f"gate {gate.name} failed: {gate.message}",
        f"  metric     {gate.metric}",
        f"  value      {format_number(gate.value)}",
        f"  threshold  {gate.threshold} (gated on the {gate.gate_on})",
        f"  {confidence:<10} {format_interval(gate.interval)} ({gate.method})",
        f"  n          {gate.n}",
    ]
    lines.extend(_rule_lines(gate.details.get("rules") or []))
    for variant in gate.details.get("variants") or []:
        lines.append(terminal_safe(
            f"  {variant['name']}: quality {variant['quality']:.4f}, flip rate {variant['flip_rate']:.4f}"
        ))  # fmt: skip
    if gate.details.get("drifting"):
        lines.append(terminal_safe(f"  drifting columns: {', '.join(gate.details['drifting'])}"))
    if gate.worst_rows:
        lines.append(f"  worst {len(gate.worst_rows)} rows:")
        lines.append(f"    {'id':<12} {'expected':<9} {'predicted':<10} {'score':<7} {'loss':<7} inputs")
        lines.extend("    " + _row_line(row) for row in gate.worst_rows)
    return "\n".join(lines)
