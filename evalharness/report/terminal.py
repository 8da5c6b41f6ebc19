"""The gate table printed at the end of a pytest run: every cell one safe, capped line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalharness.report.text import format_interval, format_number
from evalharness.untrusted import untrusted

_HEADER = ("suite", "gate", "value", "threshold", "CI", "n", "result")
_WIDTHS = (24, 60, None, None, None, None, None)  # suite and gate names are capped; the rest are ours
_MARKUP = {"passed": {"green": True}, "failed": {"red": True, "bold": True}, "error": {"red": True}, "info": {}}


def gate_rows(state: Any) -> list[tuple[tuple[str, ...], str]]:
    """(cells, status) per gate gathered this session, suites in order."""
    rows = []
    for path in state.gate_records:
        suite_name = state.suite_records[path]["name"]
        for gate in state.ordered_gates(path):
            cells = (
                suite_name,
                gate.name,
                format_number(gate.value),
                gate.threshold + (" (bound)" if gate.gate_on == "bound" and gate.threshold != "-" else ""),
                format_interval(gate.interval),
                str(gate.n if gate.n is not None else "-"),
                gate.status.upper(),
            )
            rows.append((tuple(untrusted(c, width) for c, width in zip(cells, _WIDTHS)), gate.status))
    return rows


def write_summary(terminal: Any, state: Any, written: dict[str, Path]) -> None:
    """Print the table of gates and the report paths."""
    rows = gate_rows(state)
    if not rows:
        return
    widths = [max(len(r[0][i]) for r in rows + [(_HEADER, "")]) for i in range(len(_HEADER))]
    terminal.write_sep("=", "evalharness gates")
    terminal.write_line("  ".join(h.ljust(w) for h, w in zip(_HEADER, widths)), bold=True)
    for cells, status in rows:
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths))
        terminal.write_line(text, **_MARKUP.get(status, {}))
    for suite in state.suite_records.values():  # a cache that could not be written: said once, here too
        warning = (suite.get("target") or {}).get("cache_warning")
        if warning:
            terminal.write_line(untrusted(f"{suite['name']}: {warning}", 500), yellow=True)
    if written:
        terminal.write_line("reports: " + ", ".join(str(p) for p in written.values()))
