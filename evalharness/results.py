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

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep the plain-data result a gate's report carries (from here or from a worker), and where
        the process that ran it left the suite's answers."""
        payload = getattr(report, "evalharness", None)
        if payload is not None and report.when == "call":
            self.state.add_result(payload)
            if payload.get("rows"):
                self.rows_parts[payload["suite"]["path"]] = payload["rows"]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write run.json, junit.xml, report.html and rows.jsonl from what was gathered, even after failures."""
        if self.config.getoption("evalharness_no_reports") or not self.state.suite_records:
            return
        from evalharness.environment import environment_manifest
        from evalharness.report import write_reports

        record = self.state.record(environment_manifest())
        try:
            self.written = write_reports(record, self.state.report_dir, self.rows_parts)
        except OSError as error:
            sys.stderr.write(f"evalharness: could not write reports to {self.state.report_dir}: {error}\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """A table of every gate, then where the reports are."""
        from evalharness.report.terminal import write_summary

        write_summary(terminalreporter, self.state, self.written)
