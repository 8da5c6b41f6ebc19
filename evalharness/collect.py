"""pytest collection of suites: a suite file is a ``pytest.File``, each gate a ``pytest.Item``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalharness.errors import EvalHarnessError
from evalharness.stash import STATE_KEY

ROWS_PARTS_KEY = pytest.StashKey[dict[Path, str]]()
"""Suite path -> this process's file of that suite's answers, merged into rows.jsonl at the end."""


class GateFailed(Exception):
    """A gate's metric did not meet its threshold."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class SuiteFile(pytest.File):
    """A suite YAML file; yields one item per declared metric, never one per row."""

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        """One :class:`GateItem` per metric, in the order the suite declares them, then the cases."""
        state = self.config.stash[STATE_KEY]
        suite = state.suites[self.path.resolve()]
        group = f"evalharness:{suite.display_name}"
        for name in suite.metric_order:
            item = GateItem.from_parent(self, name=name, gate=name)
            item.add_marker(pytest.mark.xdist_group(group))
            yield item
        if state.run_for(self.path).cases():
            yield CaseGroup.from_parent(self, name="cases")
        if suite.spec.load is not None and suite.spec.load.gates.declared():
            yield LoadGroup.from_parent(self, name="load")


LOAD_GROUP = "evalharness:load"
"""Every suite's load items share one xdist group: load runs never overlap each other."""


class LoadGroup(pytest.Collector):
    """The suite's load gates: ``suite.yaml::load::<gate>``."""

    def collect(self) -> Iterator[pytest.Item]:
        """One :class:`LoadItem` per declared load gate, in the order the suite writes them."""
        assert self.path is not None
        run = self.config.stash[STATE_KEY].run_for(self.path)
        for name in run.spec.load.gates.declared():
            item = LoadItem.from_parent(self, name=name, gate=name)
            item.add_marker(pytest.mark.xdist_group(LOAD_GROUP))
            yield item


class CaseGroup(pytest.Collector):
    """The suite's hand-written MFT cases: ``suite.yaml::cases::<name>``."""

    def collect(self) -> Iterator[pytest.Item]:
        """One :class:`CaseItem` per case, in the order the suite writes them."""
        assert self.path is not None
        run = self.config.stash[STATE_KEY].run_for(self.path)
        group = f"evalharness:{run.suite.display_name}"
        for case in run.cases():
            item = CaseItem.from_parent(self, name=case.name, gate=case.name)
            item.add_marker(pytest.mark.xdist_group(group))
            yield item


class GateItem(pytest.Item):
    """One gate of one suite, e.g. ``suites/finance.yaml::accuracy``."""

    def __init__(self, *, gate: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate
        self.gate_record: Any = None
        self.suite_payload: dict[str, Any] | None = None
        self.rows_part: str | None = None

    def runtest(self) -> None:
        """Evaluate the gate (predicting first if no gate of this suite has yet) and judge it.

        Text from outside in its record (answers, ids, error bodies) is made safe and capped to the
        suite's ``max_cell_chars`` before anything reports it; rows.jsonl keeps the answers whole.
        """
        from evalharness.report.failure import format_gate_failure
        from evalharness.untrusted import max_cell_chars

        run = self.config.stash[STATE_KEY].run_for(self.path)
        try:
            self.gate_record = self.evaluate(run).bounded(max_cell_chars(run.spec))
        except EvalHarnessError as error:
            self.gate_record = self.error_record(run, error).bounded(max_cell_chars(run.spec))
            raise
        finally:
            self._locate_record()
            self.suite_payload = run.record().model_dump(mode="json", exclude={"gates"})
            self.rows_part = self._rows_part(run)
        if self.gate_record.status == "failed":
            raise GateFailed(format_gate_failure(self.gate_record))
        if self.gate_record.status == "error":  # e.g. an invalid load run: never a pass
            raise GateFailed(f"gate {self.gate_record.name} could not be evaluated: {self.gate_record.message}")

    def _locate_record(self) -> None:
        """Give the gate's record the suite line that declares it (CI annotations point there)."""
        if self.gate_record is not None:
            line = self.reportinfo()[1]
            self.gate_record = self.gate_record.model_copy(update={"line": None if line is None else line + 1})

    def evaluate(self, run: Any) -> Any:
        """This item's record: a gate of the suite."""
        return run.evaluate_gate(self.gate, self.nodeid)

    def error_record(self, run: Any, error: EvalHarnessError) -> Any:
        """The record of this gate when it could not be evaluated."""
        return run.error_gate(self.gate, self.nodeid, error)

    def _rows_part(self, run: Any) -> str | None:
        """This suite's answers, written once per process for rows.jsonl, once it has predictions."""
        if self.config.getoption("evalharness_no_reports") or (self.suite_payload or {}).get("rows") is None:
            return None
        parts = self.config.stash.setdefault(ROWS_PARTS_KEY, {})
        if run.suite.path not in parts:
            from evalharness.report.rows import write_part

            report_dir = self.config.stash[STATE_KEY].report_dir
            try:
                parts[run.suite.path] = str(write_part(run.suite.display_name, run.predictions(), report_dir))
            except OSError as error:
                parts[run.suite.path] = ""  # warned once; the gates still run and report
                self.warn(pytest.PytestWarning(f"evalharness: rows.jsonl will lack {run.suite.display_name}: {error}"))
        return parts[run.suite.path] or None

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """Our own message for gate failures and user errors (text from outside made safe and capped);
        a traceback only for bugs."""
        from evalharness.untrusted import untrusted_lines

        if isinstance(excinfo.value, GateFailed):
            return excinfo.value.text
        if isinstance(excinfo.value, EvalHarnessError):
            return untrusted_lines(f"gate {self.gate} could not be evaluated: {excinfo.value}")
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """Where the gate is declared: the suite file and its metric's line."""
        state = self.config.stash[STATE_KEY]
        suite = state.suites[self.path.resolve()]
        line = suite.document.position(("metrics", self.gate), key=True)[0]
        return self.path, line - 1, f"{suite.spec.name}::{self.gate}"

    def result_payload(self) -> dict[str, Any] | None:
        """Plain data for the pytest report, so xdist carries it to the controller."""
        if self.gate_record is None or self.suite_payload is None:
            return None
        payload = {"gate": self.gate_record.model_dump(mode="json"), "suite": self.suite_payload}
        return payload if self.rows_part is None else {**payload, "rows": self.rows_part}


class CaseItem(GateItem):
    """One MFT case: the target must give the case's expected answer."""

    def evaluate(self, run: Any) -> Any:
        """This item's record: the case's verdict."""
        return run.evaluate_case(self.gate, self.nodeid)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """Where the case is written in the suite."""
        suite = self.config.stash[STATE_KEY].suites[self.path.resolve()]
        names = [case.name for case in suite.spec.declared_metrics()["consistency"].cases]
        line = suite.document.position(("metrics", "consistency", "cases", names.index(self.gate)))[0]
        return self.path, line - 1, f"{suite.spec.name}::cases::{self.gate}"


class LoadItem(GateItem):
    """One load gate; the suite's load run happens on the first of them."""

    def evaluate(self, run: Any) -> Any:
        """This item's record: the load gate's verdict."""
        return run.load().gate(self.gate, self.nodeid)

    def error_record(self, run: Any, error: EvalHarnessError) -> Any:
        """The record of a load gate whose run failed."""
        from evalharness.record import GateRecord

        options = run.spec.load.gates.declared()[self.gate]
        return GateRecord(name=f"load::{self.gate}", nodeid=self.nodeid, metric=self.gate, status="error",
                          min=options.min, max=options.max, message=str(error))  # fmt: skip

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """Where the gate is written in the suite's load section."""
        suite = self.config.stash[STATE_KEY].suites[self.path.resolve()]
        line = suite.document.position(("load", "gates", self.gate), key=True)[0]
        return self.path, line - 1, f"{suite.spec.name}::load::{self.gate}"
