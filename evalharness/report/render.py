"""Jinja rendering of the JUnit XML and HTML reports, autoescaped, from a RunRecord."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from evalharness.record import RunRecord
from evalharness.report.charts import load_charts
from evalharness.report.failure import format_cell, format_gate_failure
from evalharness.report.text import format_interval, format_number, xml_safe

_PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
_SOURCE_TEMPLATES = Path(__file__).resolve().parents[2] / "reports" / "templates"


def templates_dir() -> Path:
    """Templates shipped in the wheel, or those of a source checkout (editable installs)."""
    return _PACKAGE_TEMPLATES if _PACKAGE_TEMPLATES.is_dir() else _SOURCE_TEMPLATES


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` output: None as empty, text stripped of XML-illegal characters."""
    if value is None or isinstance(value, _undefined_type()):
        return ""
    return xml_safe(value) if isinstance(value, str) else value


def _undefined_type() -> type:
    import jinja2

    return jinja2.Undefined


@cache
def environment() -> Any:
    """The Jinja environment: autoescape always on, every value made XML-safe before escaping."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        finalize=_finalize,
        undefined=jinja2.ChainableUndefined,  # partial records (a failed target) still render
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cell=format_cell, number=format_number, interval=format_interval, failure_text=format_gate_failure,
        load_charts=load_charts,
    )  # fmt: skip
    return env


def _junit_time(seconds: float | None) -> str:
    return f"{max(seconds or 0.0, 0.0):.3f}"


def render_junit(record: RunRecord) -> str:
    """JUnit XML: one testsuite per suite, one testcase per gate, metrics as properties."""
    return environment().get_template("junit.xml.j2").render(record=record, junit_time=_junit_time)


def render_html(record: RunRecord) -> str:
    """The HTML report QA reads: gate table, confusion matrix, worst rows, environment."""
    return environment().get_template("report.html.j2").render(record=record)
