"""Secrets come only from environment variables, written ``${env:NAME}``, and never reach outputs.

A suite may not carry a secret itself: header values and URLs are expanded from the environment
at run time, and every expanded value is remembered so reports can redact it.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from evalharness.errors import TargetError

_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_SEEN: set[str] = set()
_NAMES: dict[str, str] = {}
REDACTED = "***"


def expand(text: str, *, secret: bool = True) -> str:
    """``text`` with every ``${env:NAME}`` replaced by that variable; missing variables are errors."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise TargetError(f"environment variable {name} is not set (the suite reads it as ${{env:{name}}})")
        found = os.environ[name]
        if secret and found:
            _SEEN.add(found)
            _NAMES[found] = name
        return found

    return _REFERENCE.sub(value, text)


def references() -> dict[str, str]:
    """Every secret value read so far -> the variable it came from (to send ``${env:NAME}`` instead)."""
    return dict(_NAMES)


def as_references(text: str, names: dict[str, str]) -> str:
    """``text`` with each secret value in ``names`` written back as ``${env:NAME}``."""
    for value in sorted(names, key=len, reverse=True):
        text = text.replace(value, f"${{env:{names[value]}}}")
    return text


def redact(text: str) -> str:
    """``text`` with every secret value read so far replaced by ``***``."""
    for value in sorted(_SEEN, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


_previous_factory: Any = None


def install_log_redaction() -> None:
    """Redact secrets from every log record made from now on, by any logger (once per process).

    The record's message is merged with its arguments and redacted when it was created, so every
    handler (pytest's captured logs, ``--log-file``, live logging) sees only the redacted text.
    """
    global _previous_factory
    if _previous_factory is not None:
        return
    _previous_factory = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = _previous_factory(*args, **kwargs)
        if _SEEN:
            message = record.getMessage()
            redacted = redact(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return record

    logging.setLogRecordFactory(redacting_factory)
