"""Changes made to every log record as it is created, whichever logger makes it.

Secrets are redacted and outside text escaped in the record itself, not in one handler, so every
handler (pytest's captured logs, ``--log-file``, live logging) writes the same safe text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

_INSTALLED: set[str] = set()


def chain_record_factory(name: str, change: Callable[[logging.LogRecord], None]) -> None:
    """Apply ``change`` to every log record made from now on, after the factories already installed.

    Installed once per ``name`` and process; later calls with the same name do nothing.
    """
    if name in _INSTALLED:
        return
    _INSTALLED.add(name)
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        change(record)
        return record

    logging.setLogRecordFactory(factory)


def rewrite_record(record: logging.LogRecord, message: Callable[[str], str], text: Callable[[str], str]) -> None:
    """Merge ``record``'s message with its arguments and pass it through ``message``; pass its
    traceback and stack text (pre-formatted here) through ``text``."""
    try:
        merged = record.getMessage()
    except (TypeError, ValueError):  # a bad format string: the handler reports it
        return
    changed = message(merged)
    if changed != merged:
        record.msg, record.args = changed, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = text(record.exc_text)
    if record.stack_info:
        record.stack_info = text(record.stack_info)
