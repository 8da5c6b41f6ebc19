"""Reports rendered from the RunRecord alone: run.json, junit.xml, report.html and summary.md; and,
after a pytest run, rows.jsonl with every answer whole (see :mod:`evalharness.report.rows`)."""

from __future__ import annotations

import json
from pathlib import Path

from evalharness.record import RunRecord
from evalharness.report.markdown import render_markdown
from evalharness.report.render import render_html, render_junit
from evalharness.report.rows import ROWS_FILE, merge_parts
from evalharness.targets.secrets import redact

__all__ = ["load_record", "write_reports"]

REPORT_FILES = {"json": "run.json", "junit": "junit.xml", "html": "report.html", "markdown": "summary.md"}


def _write(path: Path, text: str) -> None:
    """Write atomically so a reader never sees half a report; secret values read from the environment are redacted."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(redact(text), encoding="utf-8")
    partial.replace(path)


def write_reports(record: RunRecord, directory: Path, rows_parts: dict[str, str] | None = None) -> dict[str, Path]:
    """Write every report into ``directory``; returns report kind -> path.

    ``rows_parts`` (suite path -> part file, from a pytest run) also writes ``rows.jsonl``, listed as
    ``rows``; re-rendering a run.json gives none, and leaves any rows.jsonl there as it was.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = {kind: directory / name for kind, name in REPORT_FILES.items()}
    _write(paths["json"], json.dumps(record.model_dump(mode="json"), indent=2, allow_nan=False) + "\n")
    _write(paths["junit"], render_junit(record))
    _write(paths["html"], render_html(record))
    _write(paths["markdown"], render_markdown(record))
    if rows_parts is not None:
        parts = [(suite.path, rows_parts[suite.path]) for suite in record.suites if suite.path in rows_parts]
        paths["rows"] = merge_parts(directory / ROWS_FILE, record.started_at, parts)
    return paths


def load_record(path: Path) -> RunRecord:
    """Read a run.json written by any evalharness that uses this record version or older."""
    return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
