"""The gate table printed at the end of a pytest run: every cell one safe, capped line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalharness.record import GateRecord
from evalharness.report.failure import change_text, verdict_text
from evalharness.report.text import format_interval, format_number, shorten
from evalharness.untrusted import untrusted

_HEADER = ("suite", "gate", "value", "threshold", "CI", "n", "result")
_WIDTHS = (64, 60, None, None, None, None, None)  # suite and gate names are capped; the rest are ours
_COMPARISON_HEADER = ("baseline", "delta [interval]", "verdict")
_COMPARISON_WIDTHS = (None, None, 20)  # shown only when a suite of the run has a baseline
_MARKUP = {"passed": {"green": True}, "failed": {"red": True, "bold": True}, "error": {"red": True}, "info": {}}

Row = tuple[tuple[str, ...], str]


def _cells(suite_name: str, gate: GateRecord) -> tuple[str, ...]:
    return (
        suite_name,
        gate.name,
        format_number(gate.value),
        gate.threshold + (" (bound)" if gate.gate_on == "bound" and gate.threshold != "-" else ""),
        format_interval(gate.interval),
        str(gate.n if gate.n is not None else "-"),
        gate.status.upper(),
    )


def _comparison_cells(gate: GateRecord) -> tuple[str, ...]:
    """Baseline value, the delta (or ratio, for ratio gates) with its interval, and the comparison's verdict."""
    if not gate.comparison:
        return ("-", "-", "-")
    baseline = gate.comparison.get("baseline") or {}
    return (format_number(baseline.get("value")), change_text(gate.comparison), verdict_text(gate.comparison))


def gate_table(state: Any) -> tuple[tuple[str, ...], list[Row]]:
    """The header and the (cells, status) of each gate gathered this session, suites in order; the
    baseline columns only when some gate was compared with a baseline."""
    gates = [
        (state.suite_records[path]["name"], gate) for path in state.gate_records for gate in state.ordered_gates(path)
    ]
    compared = any(gate.comparison for _, gate in gates)
    header, widths = (_HEADER + _COMPARISON_HEADER, _WIDTHS + _COMPARISON_WIDTHS) if compared else (_HEADER, _WIDTHS)
    rows = []
    for suite_name, gate in gates:
        cells = _cells(suite_name, gate) + (_comparison_cells(gate) if compared else ())
        # Names are the suite's own: cut short with a plain ellipsis (no "…(N chars)", which takes room).
        rows.append((tuple(untrusted(c if width is None else shorten(c, width)) for c, width in zip(cells, widths)),
                     gate.status))  # fmt: skip
    return header, rows


def write_summary(terminal: Any, state: Any, written: dict[str, Path]) -> None:
    """Print the table of gates and the report paths."""
    header, rows = gate_table(state)
    if not rows:
        return
    widths = [max(len(r[0][i]) for r in rows + [(header, "")]) for i in range(len(header))]
    terminal.write_sep("=", "evalharness gates")
    terminal.write_line("  ".join(h.ljust(w) for h, w in zip(header, widths)), bold=True)
    for cells, status in rows:
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths))
        terminal.write_line(text, **_MARKUP.get(status, {}))
    for suite in state.suite_records.values():  # a cache that could not be written: said once, here too
        warning = (suite.get("target") or {}).get("cache_warning")
        if warning:
            terminal.write_line(untrusted(f"{suite['name']}: {warning}", 500), yellow=True)
    if written:
        terminal.write_line("reports: " + ", ".join(str(p) for p in written.values()))
