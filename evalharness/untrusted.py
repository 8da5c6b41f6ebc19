"""Text from outside the harness, made safe and small before it lands anywhere.

Model answers, endpoint error bodies, dataset ids and cells, and exception messages that embed
them are untrusted. Where such text lands (the terminal, ``--log-file``, JUnit, HTML, run.json,
a GitHub step summary or annotation) it must not:

- carry control characters: an ANSI escape rewrites the terminal, a newline starts a line the
  reader takes for ours; they are shown as visible ``\\xNN`` (or ``\\uNNNN``) escapes instead;
- start a line with ``::`` (after optional whitespace): GitHub's runner reads such a line of a
  job's output as a workflow command (``::error::``, ``::set-output``, ``::add-mask::``...), so
  the first colon is written ``\\x3a``;
- be unbounded: one 1 MB answer must not become a 1 MB terminal line. A long text keeps its
  first characters and ends ``…(100,047 chars)``, the full length; capping again keeps that
  count, so a narrower display still tells the true length.

:func:`untrusted` does all three for one value on one line, :func:`untrusted_lines` for a
message whose own newlines are kept; both are idempotent. :func:`guard_output` is the last check
on text pytest prints for our items. :func:`command_data`, :func:`command_property` and
:func:`markdown_cell` are for the GitHub annotation and step-summary outputs.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from evalharness.logrecords import chain_record_factory, rewrite_record
from evalharness.targets.secrets import redact

DEFAULT_MAX_CELL_CHARS = 200
"""The most characters of one value (an answer, an id, a dataset cell) kept in run.json and reports;
a suite sets its own with ``report: {max_cell_chars: N}``."""

MAX_MESSAGE_CHARS = 4000
"""The most characters of one message (a gate's reason, an error) kept in run.json and reports."""

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_LINE_START_COMMAND = re.compile(r"^(\s*)::", re.MULTILINE)
_CAPPED = re.compile(r"…\(([0-9][0-9,]*) chars\)\Z")
_GUARDED = re.compile("\x1b\\[[0-9;]*m|[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _neutralise(text: str) -> str:
    """No line of ``text`` starts with ``::``, even after whitespace: the first colon becomes ``\\x3a``."""
    return _LINE_START_COMMAND.sub(r"\1\\x3a:", text)


def _split_cap(text: str) -> tuple[str, int | None]:
    """``text`` without a cap marker, and the full length the marker told (``None`` when uncapped)."""
    found = _CAPPED.search(text)
    if found is None:
        return text, None
    return text[: found.start()], int(found.group(1).replace(",", ""))


def _bounded(value: Any, limit: int | None, keep_newlines: bool) -> str:
    content, full = _split_cap(value if isinstance(value, str) else str(value))
    if keep_newlines:
        content = content.replace("\r\n", "\n")
    cut = limit is not None and len(content) > limit  # cut before escaping: escapes only lengthen
    unsafe = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE
    safe = _neutralise(unsafe.sub(_visible, content[:limit] if cut else content))
    if full is None and not cut and (limit is None or len(safe) <= limit):
        return safe
    marker = f"…({full if full is not None else len(content):,} chars)"
    return (safe if limit is None else safe[: max(limit - len(marker), 0)]) + marker


def untrusted(value: Any, limit: int | None = None) -> str:
    """``value`` as one line of text: control characters (newlines too) escaped, no leading ``::``,
    and at most ``limit`` characters, ending ``…(N chars)`` when cut (``None``: no cap)."""
    return _bounded(value, limit, keep_newlines=False)


def untrusted_lines(value: Any, limit: int | None = MAX_MESSAGE_CHARS) -> str:
    """Like :func:`untrusted`, but newlines are kept: for messages written on several lines.
    No line starts with ``::``; CR LF becomes LF; a lone CR is escaped."""
    return _bounded(value, limit, keep_newlines=True)


def _walk(value: Any, limit: int | None, keep_newlines: bool) -> Any:
    if isinstance(value, str):
        return _bounded(value, limit, keep_newlines)
    if isinstance(value, (list, tuple)):
        return [_walk(item, limit, keep_newlines) for item in value]
    if isinstance(value, dict):
        return {untrusted(key, limit): _walk(item, limit, keep_newlines) for key, item in value.items()}
    return value


def bounded_value(value: Any, limit: int | None) -> Any:
    """A JSON-like value with every string in it (keys too) made :func:`untrusted` one-line text."""
    return _walk(value, limit, keep_newlines=False)


def bounded_text(value: Any, limit: int | None = MAX_MESSAGE_CHARS) -> Any:
    """A JSON-like value with every string in it made :func:`untrusted_lines` text (keys one line)."""
    return _walk(value, limit, keep_newlines=True)


def max_cell_chars(spec: Any) -> int:
    """The suite's ``report.max_cell_chars``, or :data:`DEFAULT_MAX_CELL_CHARS`."""
    chosen = getattr(getattr(spec, "report", None), "max_cell_chars", None)
    return chosen if isinstance(chosen, int) and chosen > 0 else DEFAULT_MAX_CELL_CHARS


def guard_output(text: str, colour: bool = False) -> str:
    """The last check on text pytest prints for our items (failure text, captured sections).

    Sources already pass their text through :func:`untrusted`; this catches anything that did not:
    no line may read as a workflow command, and no control character but newline and tab gets
    through. With ``colour`` (pytest writes colour), colour codes (SGR sequences, which pytest puts
    in captured logs) are kept; nothing else that moves the cursor or rewrites the screen is.
    """

    def visible(match: re.Match[str]) -> str:
        found = match.group()
        if len(found) == 1:
            return _visible(match)
        return found if colour else "\\x1b" + found[1:]  # an SGR sequence: ESC [ ... m

    return _neutralise(_GUARDED.sub(visible, text))


def command_data(value: Any, limit: int | None = MAX_MESSAGE_CHARS) -> str:
    """The message of a workflow command (``::error file=x::MESSAGE``), escaped as the runner's
    toolkit does (``%`` ``\\r`` ``\\n``) after :func:`untrusted_lines`, so the message keeps its lines."""
    text = untrusted_lines(value, limit)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def command_property(value: Any, limit: int | None = DEFAULT_MAX_CELL_CHARS) -> str:
    """A property of a workflow command (``file=``, ``title=``): :func:`command_data`, and ``:`` ``,``."""
    return command_data(untrusted(value, limit), None).replace(":", "%3A").replace(",", "%2C")


def markdown_cell(value: Any, limit: int | None = DEFAULT_MAX_CELL_CHARS) -> str:
    """One value in a Markdown table cell of a step summary: :func:`untrusted`, HTML-escaped (the
    summary renders HTML), with ``|`` and the Markdown punctuation that could format or link escaped."""
    text = re.sub(r"([\\`*_{}\[\]()#+!|~])", r"\\\1", untrusted(value, limit))
    return html.escape(text, quote=True)  # after: the entities it writes (&#x27;) must keep their '#'


def _escape_record(record: logging.LogRecord) -> None:
    """The record's message made one safe line; its traceback or stack kept on several lines, each
    safe (and secrets redacted, whichever factory runs first)."""
    rewrite_record(record, untrusted, lambda text: untrusted_lines(redact(text), None))


def install_log_escaping() -> None:
    """Make every log record made from now on, by any logger, safe text (once per process).

    A log message is one line: control characters (newlines too) are escaped and it never starts
    with ``::``, so every handler (``--log-file``, live logs, pytest's captured logs) writes it as
    one harmless line. Chained to the factory installed before, like secret redaction.
    """
    chain_record_factory("escape", _escape_record)
