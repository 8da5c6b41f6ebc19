"""The ``evalharness compare`` command: print the gate table of two runs compared, write the reports."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from evalharness.errors import EvalHarnessError
from evalharness.exitcodes import USAGE_ERROR as EXIT_USAGE
from evalharness.exitcodes import FailOn, apply_fail_on, gates_exit_code
from evalharness.record import GateRecord, RunRecord


@dataclass
class RecordView:
    """A run record seen as a session's gate results (what the gate table reads)."""

    record: RunRecord
    suite_records: dict[str, dict[str, Any]] = field(init=False)
    gate_records: dict[str, list[GateRecord]] = field(init=False)

    def __post_init__(self) -> None:
        self.suite_records = {s.path: s.model_dump(mode="json", exclude={"gates"}) for s in self.record.suites}
        self.gate_records = {s.path: list(s.gates) for s in self.record.suites}

    def ordered_gates(self, path: str) -> list[GateRecord]:
        """The gates of a suite, as recorded."""
        return self.gate_records.get(path, [])


class PlainTerminal:
    """The two calls the gate table makes of pytest's terminal writer, on a plain stream."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write_sep(self, sep: str, title: str) -> None:
        """A title line like pytest's."""
        side = max(2, (78 - len(title)) // 2)
        self.stream.write(f"{sep * side} {title} {sep * side}\n")

    def write_line(self, text: str, **markup: Any) -> None:
        """One line (colours are pytest's, not ours)."""
        self.stream.write(text + "\n")


def run_compare(
    base: Path,
    candidate: Path,
    out: Path | None,
    inconclusive: str | None,
    gates: Path | None = None,
    fail_on: FailOn = "failed",
) -> int:
    """Compare two stored runs, print the table, write the reports; exit 0 passed, 1 failed, 4 bad input,
    6 a gate could not be evaluated, then ``fail_on`` applied (:mod:`evalharness.exitcodes`).

    The delta gates are the candidate run's own, or those a suite file declares (``gates``)."""
    from evalharness.compare.runs import compare_runs
    from evalharness.compare.stored import StoredRun
    from evalharness.report import write_reports
    from evalharness.report.terminal import write_summary

    try:
        baseline_run, candidate_run = StoredRun.read(base), StoredRun.read(candidate)
        declared = suite_delta_gates(gates) if gates else None
        record = compare_runs(baseline_run, candidate_run, inconclusive or "fail", declared)
    except EvalHarnessError as error:
        print(f"evalharness compare: {str(error).removeprefix('--evalharness-baseline: ')}", file=sys.stderr)
        return EXIT_USAGE
    folder = out or candidate.parent / "compare"
    written = write_reports(record, folder)
    write_summary(PlainTerminal(sys.stdout), RecordView(record), written)
    for suite in record.suites:
        pairing = {str(g.comparison["pairing"]) for g in suite.gates if g.comparison and g.comparison.get("pairing")}
        how = " and ".join(sorted(pairing)) or "nothing compared"
        print(f"{suite.name}: compared on {how} (rows: paired row by row; intervals: from the two recorded intervals)")
    code = gates_exit_code(record.summary.failed, record.summary.errors)
    return apply_fail_on(code, fail_on, record.summary.errors)


def suite_delta_gates(path: Path) -> dict[str, dict[str, Any]]:
    """Metric name -> its delta gates, direction and gate_on, as a suite file declares them."""
    from evalharness.compare.options import ComparableOptions
    from evalharness.suite.loader import load_suite

    suite = load_suite(path)
    default = suite.spec.statistics.gate_on
    return {
        name: {"gates": options.delta_gates, "better": options.better(), "gate_on": options.gate_on or default}
        for name, options in suite.spec.declared_metrics().items()
        if isinstance(options, ComparableOptions) and options.delta_gates
    }
