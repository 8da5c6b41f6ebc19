"""GitHub Actions: the step summary, error annotations on the suite's lines, and step outputs.

``evalharness github REPORT_DIR --exit-code N --fail-on failed`` runs after ``evalharness run``
in the composite action (``ci/action.yml``). It reads the run's record (never a stale one: when the
run exited 2 to 5 it checked nothing, and any run.json there is an older run's), then

- appends the Markdown summary to ``$GITHUB_STEP_SUMMARY``;
- prints one ``::error file=SUITE,line=N,title=GATE::WHY`` per failed gate and per gate that could
  not be evaluated (``::warning`` for an inconclusive comparison let through), and one per problem
  of an invalid suite, read from the run's log;
- writes ``status``, the counts, the exit code and the reports' paths to ``$GITHUB_OUTPUT``;
- returns the exit code the step should end with under the fail-on policy.

Everything written is made safe first: values through :func:`~evalharness.untrusted.command_data`
and :func:`~evalharness.untrusted.command_property`, and secrets read from the environment redacted.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from evalharness import exitcodes
from evalharness.record import GateRecord, RunRecord, SuiteRecord
from evalharness.report import REPORT_FILES
from evalharness.report.markdown import SummaryContext, render_markdown
from evalharness.targets.secrets import redact
from evalharness.untrusted import command_data, command_property, untrusted

LOG_TAIL_LINES = 40
_PROBLEM = re.compile(r"^(?P<file>[^\s:][^:]*?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")
_RECORDED = (exitcodes.OK, exitcodes.GATES_FAILED, exitcodes.GATES_ERROR)
"""Exit codes after which the run wrote its record; after the others it checked nothing."""


def workspace_path(path: str, workspace: Path | None) -> str:
    """``path`` relative to the workspace (GitHub places annotations by that), when it lies below it."""
    if workspace is None:
        return path
    try:
        return str(Path(path).resolve().relative_to(workspace.resolve()))
    except ValueError:
        return path


def _gate_annotation(suite: SuiteRecord, gate: GateRecord, workspace: Path | None) -> str | None:
    verdict = (gate.comparison or {}).get("verdict")
    if gate.status == "failed":
        level, title, why = "error", gate.name, gate.message or "failed"
    elif gate.status == "error":
        level, title, why = "error", f"{gate.name} (not evaluated)", gate.message or "could not be evaluated"
    elif verdict == "inconclusive":
        level, title, why = "warning", f"{gate.name} (inconclusive)", gate.message or "inconclusive"
    else:
        return None
    where = f"file={command_property(workspace_path(suite.path, workspace))}"
    if gate.line:
        where += f",line={gate.line}"
    value = f" (value {gate.value:.4g}, threshold {gate.threshold}, n={gate.n})" if gate.value is not None else ""
    return f"::{level} {where},title={command_property(f'{suite.name}: {title}')}::{command_data(why + value)}"


def gate_annotations(record: RunRecord, workspace: Path | None = None) -> list[str]:
    """One workflow command per gate that did not pass, failed first, on the line that declares it."""
    lines = [_gate_annotation(suite, gate, workspace) for suite in record.suites for gate in suite.gates]
    found = [line for line in lines if line is not None]
    return sorted(found, key=lambda line: not line.startswith("::error"))


def problem_annotations(log_lines: list[str], workspace: Path | None = None) -> list[str]:
    """One ``::error`` per ``file:line:col: key: message`` problem the run printed (an invalid suite)."""
    commands = []
    for line in log_lines:
        found = _PROBLEM.match(line.strip())
        if found is None or not found["file"].endswith((".yaml", ".yml", ".csv", ".jsonl", ".json")):
            continue
        file = command_property(workspace_path(found["file"], workspace))
        where = f"file={file},line={found['line']},col={found['col']}"
        commands.append(f"::error {where},title=invalid suite::{command_data(found['message'])}")
    return commands


def read_log_tail(path: Path | None, count: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``count`` lines of the run's log, secrets redacted; none when there is no log."""
    if path is None or not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [redact(line) for line in lines[-count:]]


def step_outputs(record: RunRecord | None, status: str, code: int, report_dir: Path) -> dict[str, str]:
    """The action's outputs: status, the counts, the exit codes and each report's path."""
    summary = record.summary if record is not None else None
    outputs = {
        "status": status, "exit-code": str(code),
        "gates": str(summary.gates if summary else 0), "passed": str(summary.passed if summary else 0),
        "failed": str(summary.failed if summary else 0), "errors": str(summary.errors if summary else 0),
        "report-dir": str(report_dir),
    }  # fmt: skip
    for kind, name in {**REPORT_FILES, "rows": "rows.jsonl"}.items():
        path = report_dir / name
        outputs[kind] = str(path) if record is not None and path.is_file() else ""
    return outputs


def format_outputs(outputs: dict[str, str]) -> Iterator[str]:
    """``$GITHUB_OUTPUT`` lines, each value in a heredoc with a random delimiter (a value can hold anything)."""
    for name, value in outputs.items():
        delimiter = f"EVALHARNESS_{secrets.token_hex(8)}"
        yield f"{name}<<{delimiter}\n{untrusted(value)}\n{delimiter}\n"


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


def read_run(report_dir: Path, code: int | None) -> tuple[RunRecord | None, str, int]:
    """The run's record (None when the run checked nothing or left none), its status and exit code."""
    from evalharness.record_check import RecordError, read_record

    if code is not None and code not in _RECORDED:
        return None, exitcodes.STATUS_BY_CODE.get(code, "internal-error"), code
    try:
        record = read_record(report_dir / REPORT_FILES["json"])
    except RecordError:
        return None, "no-record", exitcodes.INTERNAL_ERROR if code in (None, exitcodes.OK) else code
    derived = exitcodes.gates_exit_code(record.summary.failed, record.summary.errors)
    return record, record.status, derived if code is None else code


def publish(report_dir: Path, code: int | None, policy: exitcodes.FailOn, log: Path | None = None) -> int:
    """Summary, annotations and outputs for the run whose reports are in ``report_dir``; returns the
    exit code the step ends with under ``policy``."""
    record, status, code = read_run(report_dir, code)
    workspace = Path(os.environ["GITHUB_WORKSPACE"]) if os.environ.get("GITHUB_WORKSPACE") else None
    final = exitcodes.apply_fail_on(code, policy, record.summary.errors if record is not None else 0)
    log_tail = read_log_tail(log) if record is None else []
    reports = {kind: str(report_dir / name) for kind, name in REPORT_FILES.items() if record is not None}
    context = SummaryContext(exit_code=final, fail_on=policy, status=status, log_tail=log_tail, reports=reports)
    _append(os.environ.get("GITHUB_STEP_SUMMARY"), redact(render_markdown(record, context)))
    commands = gate_annotations(record, workspace) if record is not None else problem_annotations(log_tail, workspace)
    for command in commands:
        print(redact(command))
    outputs = {**step_outputs(record, status, code, report_dir), "step-exit-code": str(final)}
    _append(os.environ.get("GITHUB_OUTPUT"), "".join(redact(line) for line in format_outputs(outputs)))
    print(f"evalharness: {status}, exit {code}; the step ends {final} under fail-on {policy}")
    return final
