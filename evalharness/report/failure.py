"""The text a failing gate shows in pytest's report: the numbers, then the worst rows.

Every value from outside (ids, answers, dataset cells, error text) goes through
:func:`~evalharness.untrusted.untrusted`: one safe line, at most :data:`CELL_WIDTH` characters,
so a 1 MB answer is one short cell ending ``…(1,000,000 chars)``.
"""

from __future__ import annotations

from typing import Any

from evalharness.record import GateRecord
from evalharness.report.text import (
    format_delta,
    format_interval,
    format_number,
    format_p_value,
    format_ratio,
    shorten,
)
from evalharness.targets.secrets import redact
from evalharness.untrusted import DEFAULT_MAX_CELL_CHARS, untrusted

CELL_WIDTH = 60
NO_ANSWER_TEXT = "(no answer)"
"""How a row without an answer (failed, cut off or unparsed) shows its predicted value."""
"""The most characters of one value in failure text (the terminal, JUnit's failure body)."""
_INPUT_WIDTH = 90
_MESSAGE_WIDTH = 500
_FLIP_LINES = 10
"""The most flipped rows failure text lists (run.json keeps the suite's ``worst_rows`` of them)."""
RATIO_GATES = frozenset({"min_retention", "max_ratio"})
"""Delta gates that compare candidate / baseline rather than candidate - baseline."""
_FLIP_WORDS = {"right_to_wrong": "right to wrong", "wrong_to_right": "wrong to right"}


def format_cell(value: Any, limit: int | None = DEFAULT_MAX_CELL_CHARS) -> str:
    """A dataset value for tables: floats to 6 significant digits, everything else as one safe line
    of at most ``limit`` characters."""
    return f"{value:.6g}" if isinstance(value, float) else untrusted(value, limit)


def _inputs(values: dict[str, Any]) -> str:
    return ", ".join(f"{untrusted(key, CELL_WIDTH)}={format_cell(value, CELL_WIDTH)}" for key, value in values.items())


def _row_line(row: dict[str, Any]) -> str:
    score = format_number(row.get("score"), 3) if "score" in row else "-"
    loss = format_number(row.get("loss"), 3) if "loss" in row else "-"
    row_id, expected = (untrusted(row.get(key, "-"), CELL_WIDTH) for key in ("id", "expected"))
    predicted = NO_ANSWER_TEXT if row.get("predicted") is None else untrusted(row["predicted"], CELL_WIDTH)
    cells = f"{row_id:<12} {expected:<9} {predicted:<10} {score:<7} {loss:<7}"
    line = cells + " " + shorten(_inputs(row.get("inputs", {})), _INPUT_WIDTH)
    if "raw" in row:  # an LLM's whole answer, beside what was extracted from it
        outcome = f" ({untrusted(row['outcome'], CELL_WIDTH)})" if row.get("outcome") else ""
        answer = "null" if row["raw"] is None else repr(untrusted(row["raw"], _INPUT_WIDTH))
        line += f"\n      answer{outcome}: {answer}"
    return line


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


def uses_ratio(comparison: dict[str, Any]) -> bool:
    """Whether a comparison is gated on the ratio (every delta gate is min_retention or max_ratio)."""
    names = {gate.get("name") for gate in comparison.get("gates") or [] if isinstance(gate, dict)}
    return bool(names) and names <= RATIO_GATES


def change_text(comparison: dict[str, Any]) -> str:
    """How the candidate moved from the baseline, as its delta gates judge it: ``+0.0027 [-0.0021,
    +0.0075]``, or ``x1.003 [0.998, 1.008]`` for ratio gates."""
    if uses_ratio(comparison):
        return format_ratio(comparison.get("ratio"), comparison.get("ratio_interval"))
    return format_delta(comparison.get("delta"), comparison.get("delta_interval"))


def verdict_text(comparison: dict[str, Any] | None) -> str:
    """The comparison's verdict as tables show it: ``PASSED``, ``INCONCLUSIVE``... or ``-`` when none."""
    verdict = (comparison or {}).get("verdict")
    return untrusted(verdict, 20).upper() if verdict else "-"


def ordered_flips(comparison: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The comparison's flipped rows, right to wrong (the regressions) first, each group in its order."""
    rows = ((comparison or {}).get("flips") or {}).get("rows") or []
    return sorted((row for row in rows if isinstance(row, dict)), key=lambda row: row.get("flip") != "right_to_wrong")


def _mcnemar_line(mcnemar: Any) -> list[str]:
    if not isinstance(mcnemar, dict):
        return []
    table = mcnemar.get("table") or {}
    counts = ", ".join(
        f"{untrusted(table.get(key, '-'), 20)} {words}"
        for key, words in (("both", "both right"), ("only_candidate", "only the candidate right"),
                           ("only_baseline", "only the baseline right"), ("neither", "both wrong"))
    )  # fmt: skip
    return [f"    McNemar    {counts}; exact p = {format_p_value(mcnemar.get('p_value'))}"]


def _delta_gate_lines(gates: list[Any]) -> list[str]:
    lines = []
    for gate in (gate for gate in gates if isinstance(gate, dict)):
        name, verdict = untrusted(gate.get("name"), 20), untrusted(gate.get("verdict"), 20).upper()
        reason = untrusted(gate.get("reason", ""), _MESSAGE_WIDTH)
        lines.append(f"    {name:<14} {verdict}: {reason}")
        needed = gate.get("rows_needed")
        if isinstance(needed, int) and f"{needed:,}" not in reason:  # delta.py's reasons already say it
            lines.append(f"    {'':<14} about {needed:,} rows would decide it")
    return lines


def _flip_lines(comparison: dict[str, Any]) -> list[str]:
    flips, rows = comparison.get("flips"), ordered_flips(comparison)
    if not isinstance(flips, dict):
        return []
    counts = [untrusted(flips.get(key, "-"), 20) for key in ("right_to_wrong", "wrong_to_right")]
    lines = [f"  flips: {counts[0]} right to wrong, {counts[1]} wrong to right"]
    if rows:
        lines[0] += f"; the first {min(len(rows), _FLIP_LINES)}:"
        lines.append(f"    {'id':<12} {'expected':<9} {'candidate':<10} {'baseline':<10} {'score':<7} "
                     f"{'b. score':<8} flip")  # fmt: skip
    for row in rows[:_FLIP_LINES]:
        row_id, expected, predicted, before = (
            untrusted(row.get(key, "-"), CELL_WIDTH) for key in ("id", "expected", "predicted", "baseline_predicted")
        )
        scores = f"{format_number(row.get('score'), 3):<7} {format_number(row.get('baseline_score'), 3):<8}"
        flip = _FLIP_WORDS.get(str(row.get("flip")), "-")
        lines.append(f"    {row_id:<12} {expected:<9} {predicted:<10} {before:<10} {scores} {flip}")
    return lines


def comparison_lines(comparison: dict[str, Any], confidence: float = 0.95) -> list[str]:
    """The failure text of a gate's comparison with the baseline: both values, the delta and ratio
    with their intervals, McNemar, each delta gate's verdict and reason, and the first flipped rows."""
    baseline = comparison.get("baseline") or {}
    method, n = untrusted(baseline.get("method") or "-", 40), untrusted(baseline.get("n", "-"), 20)
    verdict = verdict_text(comparison)
    if comparison.get("verdict") == "inconclusive":
        verdict += f" (on_inconclusive: {untrusted(comparison.get('on_inconclusive', 'fail'), 20)})"
    lines = [
        f"  against the baseline ({untrusted(comparison.get('better') or '?', 20)} is better): {verdict}",
        f"    baseline   {format_number(baseline.get('value'))}  {confidence:.0%} CI "
        f"{format_interval(baseline.get('interval'))} ({method}, n={n})",
        f"    delta      {format_delta(comparison.get('delta'), comparison.get('delta_interval'))} "
        f"({untrusted(comparison.get('delta_method') or '-', 80)})",
        f"    ratio      {format_ratio(comparison.get('ratio'), comparison.get('ratio_interval'))}",
    ]
    lines.extend(_mcnemar_line(comparison.get("mcnemar")))
    lines.extend(_delta_gate_lines(comparison.get("gates") or []))
    lines.extend(_flip_lines(comparison))
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
    if gate.comparison:
        lines.extend(comparison_lines(gate.comparison, gate.confidence))
    if gate.worst_rows:
        lines.append(f"  worst {len(gate.worst_rows)} rows:")
        lines.append(f"    {'id':<12} {'expected':<9} {'predicted':<10} {'score':<7} {'loss':<7} inputs")
        lines.extend("    " + _row_line(row) for row in gate.worst_rows)
    return "\n".join(lines)
