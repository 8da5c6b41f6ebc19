"""Gathers gate results in the process that writes reports (never an xdist worker)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from evalharness.session import EvalSession


class ResultCollector:
    """A pytest plugin object: keeps each gate's result, writes reports, prints the gate table."""

    NAME = "evalharness-results"

    def __init__(self, config: pytest.Config, state: EvalSession) -> None:
        self.config = config
        self.state = state
        self.written: dict[str, Path] = {}
        self.rows_parts: dict[str, str] = {}
        self.other_failures = 0  # failed items that are not gates (a user's own tests beside the suites)
        self.exit_note = ""
        self.warnings: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the plain-data result a gate's report carries (from here or from a worker), and where
        the process that ran it left the suite's answers."""
        payload = getattr(report, "evalharness", None)
        if report.failed and payload is None:
            self.other_failures += 1
        if payload is not None and report.when == "call":
            self.state.add_result(payload)
            if payload.get("rows"):
                self.rows_parts[payload["suite"]["path"]] = payload["rows"]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Set the exit code the gates imply, then write run.json, junit.xml, report.html, summary.md and
        rows.jsonl from what was gathered, even after failures."""
        self._set_exit_code(session)
        if self.config.getoption("evalharness_no_reports") or not self.state.suite_records:
            return
        from evalharness.environment import environment_manifest
        from evalharness.report import write_reports

        record = self.state.record(environment_manifest())
        gateway = self.config.getoption("evalharness_pushgateway")
        if gateway:
            from evalharness.monitoring.publish import push

            record.warnings.extend(push(record, gateway))
        self.warnings = record.warnings
        try:
            self.written = write_reports(record, self.state.report_dir, self.rows_parts)
        except OSError as error:
            sys.stderr.write(f"evalharness: could not write reports to {self.state.report_dir}: {error}\n")

    def _set_exit_code(self, session: pytest.Session) -> None:
        """pytest's "tests failed" (1) becomes 6 when no gate failed but some could not be evaluated;
        then ``--evalharness-fail-on`` applies (see :mod:`evalharness.exitcodes`)."""
        from evalharness import exitcodes

        code = int(session.exitstatus)
        if code != exitcodes.GATES_FAILED or self.other_failures:
            return
        statuses = [gate.status for gates in self.state.gate_records.values() for gate in gates]
        code = exitcodes.gates_exit_code(statuses.count("failed"), statuses.count("error"))
        policy: exitcodes.FailOn = self.config.getoption("evalharness_fail_on") or "failed"
        final = exitcodes.apply_fail_on(code, policy, statuses.count("error"))
        errors = statuses.count("error")
        if final == exitcodes.OK:
            outcome = exitcodes.STATUS_BY_CODE[code]
            self.exit_note = f"exit 0: the gates {outcome}, and --fail-on {policy} lets that pass"
        elif final == exitcodes.GATES_ERROR and code == exitcodes.GATES_FAILED:
            self.exit_note = f"exit 6: --fail-on error lets failed gates pass, but {errors} could not be evaluated"
        elif final == exitcodes.GATES_ERROR:
            self.exit_note = "exit 6: no gate failed, but some could not be evaluated"
        session.exitstatus = final

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """A table of every gate, then where the reports are (and why the exit code is not 1, if so)."""
        from evalharness.report.terminal import write_summary

        write_summary(terminalreporter, self.state, self.written)
        for warning in self.warnings:
            terminalreporter.write_line(f"evalharness: warning: {warning}", yellow=True)
        if self.exit_note:
            terminalreporter.write_line(f"evalharness: {self.exit_note}")
