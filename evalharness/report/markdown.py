"""The Markdown summary (``summary.md``, and the GitHub step summary) rendered from a RunRecord.

GitHub renders the summary as Markdown with HTML allowed, so every ``{{ }}`` value of the template
is made safe twice over: one line, no control characters, HTML-escaped and with Markdown's
punctuation escaped (:func:`~evalharness.untrusted.markdown_cell`). The template's own markup is
written in the template, never built from values. The result is capped below GitHub's 1 MiB limit
for one step's summary; what had to go is said in a note at the end.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from markupsafe import Markup

from evalharness.record import GateRecord, RunRecord, SuiteRecord
from evalharness.report.failure import change_text, verdict_text
from evalharness.report.text import format_interval, format_number
from evalharness.untrusted import markdown_cell, untrusted

MAX_SUMMARY_BYTES = 1_000_000
"""Below GitHub's limit of 1 MiB (1,048,576 bytes) for one step's summary, with room for a note."""
_STATUS_ORDER = {"failed": 0, "error": 1, "info": 2, "passed": 3}
_ICONS = {"passed": "✅", "failed": "❌", "error": "⚠️", "info": "ℹ️", "empty": "➖"}
_ROW_CELL_CHARS = 80


@dataclass(frozen=True)
class SummaryContext:
    """What the record does not hold: how the pipeline step ends, and the run's log when it checked nothing."""

    exit_code: int | None = None
    fail_on: str | None = None
    status: str | None = None  # when no record was read: invalid, interrupted, ...
    log_tail: list[str] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)


def _markdown(value: Any) -> Markup:
    """Every ``{{ }}`` output: None as empty, text through :func:`markdown_cell` (numbers are ours);
    Markup the filters built from escaped parts is written as it is."""
    if value is None or _is_undefined(value):
        return Markup("")
    return value if isinstance(value, Markup) else Markup(markdown_cell(value, None))


def _is_undefined(value: Any) -> bool:
    import jinja2

    return isinstance(value, jinja2.Undefined)


def html_text(value: Any, limit: int | None = 300) -> Markup:
    """Text inside an HTML element of the summary (``<summary>``, ``<pre>``): safe and HTML-escaped,
    without Markdown's backslashes, which HTML blocks would show."""
    return Markup(html.escape(untrusted(value, limit), quote=True))


def cell(value: Any, limit: int = _ROW_CELL_CHARS) -> str:
    """A row's value (id, label, input) in a table cell: capped shorter than run.json keeps it."""
    if value is None:
        value = "null"
    elif isinstance(value, float):
        value = f"{value:.4g}"
    elif isinstance(value, dict):
        value = ", ".join(f"{key}={item}" for key, item in value.items())
    return markdown_cell(value, limit)


def ordered_gates(record: RunRecord) -> list[tuple[SuiteRecord, GateRecord]]:
    """Every gate of the run, failed first, then errors, then the rest; suites and gates in order within."""
    gates = [(suite, gate) for suite in record.suites for gate in suite.gates]
    return sorted(gates, key=lambda pair: _STATUS_ORDER.get(pair[1].status, 9))


def change(gate: GateRecord) -> str:
    """The delta (or ratio) against the baseline with its interval, or ``-``."""
    return change_text(gate.comparison) if gate.comparison else "-"


@cache
def _environment() -> Any:
    import jinja2

    from evalharness.report.render import templates_dir
    from evalharness.report.template_cache import bytecode_cache

    options: dict[str, Any] = {
        "autoescape": True,  # and every value leaves finalize as Markup, escaped for Markdown and HTML
        "finalize": _markdown,
        "undefined": jinja2.ChainableUndefined,
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())),
                             bytecode_cache=bytecode_cache("markdown", options), **options)  # fmt: skip
    env.filters.update(
        number=lambda value: Markup(markdown_cell(format_number(value), None)),
        interval=lambda value: Markup(markdown_cell(format_interval(value), None)),
        change=lambda gate: Markup(markdown_cell(change(gate), None)), verdict=verdict_text,
        html_text=html_text, cell=lambda value: Markup(cell(value)), icon=lambda status: Markup(_ICONS.get(status, "")),
    )  # fmt: skip
    return env


def _render(record: RunRecord | None, context: SummaryContext, worst_rows: bool, gate_limit: int | None) -> str:
    gates = ordered_gates(record) if record is not None else []
    shown = gates if gate_limit is None else gates[:gate_limit]
    notes = []
    if not worst_rows:
        notes.append("the worst rows of each gate were left out to stay under the 1 MiB limit of a GitHub step summary")
    if len(shown) < len(gates):
        notes.append(f"{len(gates) - len(shown)} of {len(gates)} gates were left out of the table for the same limit")
    template = _environment().get_template("summary.md.j2")
    return str(template.render(
        record=record, gates=shown, context=context, worst_rows=worst_rows, cut_notes=notes,
        status=context.status or (record.status if record is not None else "empty"),
    ))  # fmt: skip


def render_markdown(record: RunRecord | None, context: SummaryContext | None = None,
                    limit: int = MAX_SUMMARY_BYTES) -> str:  # fmt: skip
    """The summary as Markdown, at most ``limit`` bytes of UTF-8: whole when it fits, else without the
    worst rows, else with fewer gates, each cut said in a note at the end."""
    context = context or SummaryContext()
    text = _render(record, context, True, None)
    if len(text.encode()) <= limit:
        return text
    text = _render(record, context, False, None)
    if len(text.encode()) <= limit:
        return text
    low, high = 0, len(ordered_gates(record)) if record is not None else 0
    while low < high:  # the most gates that fit, by bisection: each try is one template pass
        middle = (low + high + 1) // 2
        fits = len(_render(record, context, False, middle).encode()) <= limit
        low, high = (middle, high) if fits else (low, middle - 1)
    text = _render(record, context, False, low)
    return text if len(text.encode()) <= limit else text.encode()[: limit - 4].decode(errors="ignore") + "\n…\n"
