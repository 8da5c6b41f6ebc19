"""Jinja rendering of the JUnit XML and HTML reports, autoescaped, from a RunRecord.

Every ``{{ }}`` value is made safe text (:func:`~evalharness.untrusted.untrusted_lines`) before it
is escaped, and capped at :data:`MAX_RENDERED_CHARS`. Row values go through the ``text`` filter
(ids, answers, labels) or ``cell`` (dataset cells, numbers), capped at the suite's
``max_cell_chars``, so even a record written before run.json capped its values renders small.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path
from typing import Any

from evalharness.record import GateRecord, RunRecord, SuiteRecord
from evalharness.report.comparison_figures import comparison_figures
from evalharness.report.failure import format_cell, format_gate_failure, ordered_flips
from evalharness.report.figures import gate_figures, has_suite_figures, suite_figures
from evalharness.report.load_figures import load_figures
from evalharness.report.sparkline import sparkline
from evalharness.report.template_cache import bytecode_cache
from evalharness.report.text import format_delta, format_interval, format_number, format_p_value, format_ratio
from evalharness.untrusted import untrusted, untrusted_lines

_PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
_SOURCE_TEMPLATES = Path(__file__).resolve().parents[2] / "reports" / "templates"
MAX_RENDERED_CHARS = 1_000_000
"""The most characters one ``{{ }}`` value renders: a guard for records written before run.json capped
its text; our own longest values (a chart line of a long load run) stay far below it."""


def templates_dir() -> Path:
    """Templates shipped in the wheel, or those of a source checkout (editable installs)."""
    return _PACKAGE_TEMPLATES if _PACKAGE_TEMPLATES.is_dir() else _SOURCE_TEMPLATES


def _finalize(value: Any) -> Any:
    """Every ``{{ }}`` output: None as empty, text made safe (no control characters, no line starting
    with ``::``, nothing XML forbids) and capped."""
    if value is None or isinstance(value, _undefined_type()):
        return ""
    if isinstance(value, _markup_type()):  # built by us and escaped already: tojson, the SVG charts
        return value
    return untrusted_lines(value, MAX_RENDERED_CHARS) if isinstance(value, str) else value


def _undefined_type() -> type:
    import jinja2

    return jinja2.Undefined


def _markup_type() -> type:
    import markupsafe

    return markupsafe.Markup


@cache
def environment() -> Any:
    """The Jinja environment: autoescape always on, every value made safe before escaping."""
    import jinja2

    options: dict[str, Any] = {
        "autoescape": True,
        "finalize": _finalize,
        "undefined": jinja2.ChainableUndefined,  # partial records (a failed target) still render
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                             bytecode_cache=bytecode_cache("html", options), **options)  # fmt: skip
    env.filters.update(
        cell=format_cell, text=untrusted, number=format_number, interval=format_interval,
        failure_text=format_gate_failure, load_figures=lambda load, index: load_figures(index, load),
        comparison_figures=lambda gates, index: comparison_figures(index, gates),
        delta=format_delta, ratio=format_ratio, p_value=format_p_value, flips=ordered_flips, gate_numbers=gate_numbers,
        figures=lambda suite, index: suite_figures(index, suite),
        gate_figures=lambda gate, index: gate_figures(index, gate), anchor=anchor, folded=folded,
        sections=suite_sections, sparkline=sparkline,
    )  # fmt: skip
    return env


def folded(value: Any, visible: int = 60) -> Any:
    """A long value shown short, whole on demand (``<details>``, no script): the text made safe, escaped."""
    import markupsafe

    text = format_cell(value, None) if not isinstance(value, str) else untrusted(value)
    if len(text) <= visible:
        return markupsafe.escape(text)
    short = markupsafe.escape(text[: visible - 1] + "…")
    folded_html = markupsafe.Markup(
        '<details class="long"><summary>{}</summary><span class="whole">{}</span></details>'
    )
    return folded_html.format(short, text)


DETAIL_SECTIONS = (("rules", "rules"), ("columns", "columns"), ("variants", "perturbations"),
                   ("worst_series", "aligned series"), ("histogram", "distribution"))  # fmt: skip
"""A gate's own section in the report, by the detail that makes one: (detail key, contents label)."""


def suite_sections(suite: SuiteRecord, index: int) -> list[tuple[str, str]]:
    """The contents entries of one suite, in page order: (element id, label) of each section it has."""
    entries = [(f"comparison-{index}", "against the baseline")] if suite.baseline else []
    entries += [(f"charts-{index}", "charts")] if has_suite_figures(suite) else []
    entries += [(f"load-{index}", "load")] if suite.load else []
    for key, label in DETAIL_SECTIONS:
        entries += [(f"{anchor(gate.nodeid)}-details", f"{gate.name}: {label}") for gate in suite.gates
                    if gate.details.get(key)]  # fmt: skip
    failed = [gate for gate in suite.gates if gate.status == "failed" and gate.worst_rows]
    shown = failed or [gate for gate in suite.gates if gate.worst_rows][:1]
    entries += [(anchor(gate.nodeid), f"worst rows ({gate.name})") for gate in shown]
    return entries


def anchor(nodeid: str) -> str:
    """A stable HTML id for a gate (its node id may hold any character): ``gate-`` and 12 hex digits."""
    import hashlib

    return "gate-" + hashlib.sha256(str(nodeid).encode()).hexdigest()[:12]


def gate_numbers(gate: GateRecord) -> list[tuple[str, str]]:
    """A gate's numbers for JUnit, as exact text: value, interval bounds, thresholds, n, and against a
    baseline its delta and ratio; absent ones left out (a trend plots nothing rather than a zero)."""
    interval = gate.interval or (None, None)
    comparison = gate.comparison or {}
    numbers = {
        "value": gate.value, "low": interval[0], "high": interval[1], "min": gate.min, "max": gate.max, "n": gate.n,
        "baseline": (comparison.get("baseline") or {}).get("value"), "delta": comparison.get("delta"),
        "ratio": comparison.get("ratio"),
    }  # fmt: skip
    return [(key, _exact(number)) for key, number in numbers.items() if _exact(number)]


def _exact(number: Any) -> str:
    """``repr`` of a finite number (``0.9233333333333333``, ``600``), or "" for anything else."""
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        return ""
    return repr(number)


def _junit_time(seconds: float | None) -> str:
    return f"{max(seconds or 0.0, 0.0):.3f}"


def render_junit(record: RunRecord) -> str:
    """JUnit XML: one testsuite per suite, one testcase per gate, metrics as properties."""
    return environment().get_template("junit.xml.j2").render(record=record, junit_time=_junit_time)


def render_html(record: RunRecord) -> str:
    """The HTML report QA reads: gate table, candidate vs baseline, confusion matrix, worst rows, environment."""
    return environment().get_template("report.html.j2").render(record=record)
