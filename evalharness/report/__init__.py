"""Reports rendered from the RunRecord alone: run.json, junit.xml, report.html, summary.md and
metrics.prom (Prometheus' text format, see :mod:`evalharness.monitoring`); and, after a pytest run,
rows.jsonl with every answer whole (see :mod:`evalharness.report.rows`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from evalharness.atomic import write_text
from evalharness.monitoring.batch import exposition
from evalharness.record import RunRecord
from evalharness.report.markdown import render_markdown
from evalharness.report.render import render_html, render_junit
from evalharness.report.rows import ROWS_FILE, merge_parts
from evalharness.targets.secrets import redact

__all__ = ["load_record", "write_reports"]

REPORT_FILES = {"json": "run.json", "junit": "junit.xml", "html": "report.html", "markdown": "summary.md",
                "metrics": "metrics.prom"}  # fmt: skip


def _write(path: Path, text: str) -> None:
    """Write atomically (see :mod:`evalharness.atomic`) so a reader, or a run killed part-way, never leaves
    half a report; secret values read from the environment are redacted."""
    write_text(path, redact(text))


ASSETS = ("report.css", "report.js")
"""The HTML report's sibling files, shipped with the templates; plotly.min.js comes from plotly."""


def plotly_js() -> Path | None:
    """plotly.js as the plotly package ships it, or None when plotly is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return found if found.is_file() else None


def copy_assets(directory: Path) -> None:
    """Put report.css, report.js and plotly.min.js beside report.html (once; the folder is the report).

    Without plotly installed the report keeps its static SVG charts, and no stale plotly.min.js stays."""
    from evalharness.report.render import templates_dir

    for name in ASSETS:
        source, target = templates_dir() / name, directory / name
        if not target.is_file() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)
    plotly, target = plotly_js(), directory / "plotly.min.js"
    if plotly is None:
        target.unlink(missing_ok=True)
    elif not target.is_file() or target.stat().st_size != plotly.stat().st_size:
        shutil.copyfile(plotly, target)


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
    _write(paths["metrics"], exposition(record))
    copy_assets(directory)
    if rows_parts is not None:
        parts = [(suite.path, rows_parts[suite.path]) for suite in record.suites if suite.path in rows_parts]
        paths["rows"] = merge_parts(directory / ROWS_FILE, record.started_at, parts)
    return paths


def load_record(path: Path) -> RunRecord:
    """Read a run.json written by any evalharness that uses this record version or older."""
    return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
