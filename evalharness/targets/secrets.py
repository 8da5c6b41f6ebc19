"""Secrets come only from environment variables, written ``${env:NAME}``, and never reach outputs.

A suite may not carry a secret itself: header values and URLs are expanded from the environment
at run time, and every expanded value is remembered so outputs can redact it. Redaction covers
the whole value and any prefix of :data:`PREFIX_CHARS` characters or more, so a secret cut short
by a truncated message is still caught; text is redacted before it is cut, cached, logged or
rendered, never after.
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
PREFIX_CHARS = 8
"""A prefix of a secret this long or longer is redacted too; shorter secrets are redacted only whole."""

_heads_cache: tuple[int, dict[str, list[str]]] | None = None


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


def _heads() -> dict[str, list[str]]:
    """Each secret's first :data:`PREFIX_CHARS` characters (all of a shorter one) -> the secrets
    that start with them; cached until a new secret is read (secrets are only ever added)."""
    global _heads_cache
    if _heads_cache is None or _heads_cache[0] != len(_SEEN):
        heads: dict[str, list[str]] = {}
        for value in list(_SEEN):
            heads.setdefault(value[:PREFIX_CHARS], []).append(value)
        _heads_cache = (len(_SEEN), heads)
    return _heads_cache[1]


def _match_end(text: str, start: int, value: str) -> int:
    """Where the longest prefix of ``value`` found at ``text[start:]`` ends (its head already matched)."""
    if text.startswith(value, start):
        return start + len(value)
    length = PREFIX_CHARS
    while length < len(value) and start + length < len(text) and text[start + length] == value[length]:
        length += 1
    return start + length


def _spans(text: str) -> list[tuple[int, int]]:
    """Where secrets (whole, or a prefix of at least their head) are in ``text``, overlaps merged."""
    found = []
    for head, values in _heads().items():
        start = text.find(head)  # str.find, not a regex: a report is megabytes, redacted on every write
        while start != -1:
            end = max(_match_end(text, start, value) for value in values)
            found.append((start, end))
            start = text.find(head, end)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def redact(text: str) -> str:
    """``text`` with every secret read so far, or any prefix of 8 or more of its characters, as ``***``."""
    if not _SEEN:
        return text
    spans = _spans(text)
    if not spans:
        return text
    pieces, kept_from = [], 0
    for start, end in spans:
        pieces += [text[kept_from:start], REDACTED]
        kept_from = end
    pieces.append(text[kept_from:])
    return "".join(pieces)


def clip(text: str, limit: int) -> str:
    """``text`` redacted, then cut to ``limit`` characters: cutting first could leave a prefix too
    short to recognise as the secret it is."""
    return redact(text)[:limit]


def redact_value(value: Any) -> Any:
    """A JSON-like value with every string in it (keys too, at any depth) redacted."""
    if isinstance(value, str):
        return redact(value)
    if not _SEEN:
        return value
    if isinstance(value, (list, tuple)):
        return [redact_value(item) for item in value]
    if isinstance(value, dict):
        return {redact_value(key): redact_value(item) for key, item in value.items()}
    return value


def _redact_record(record: logging.LogRecord) -> None:
    """The record's message, traceback and stack with every secret redacted."""
    from evalharness.logrecords import rewrite_record

    rewrite_record(record, redact, redact)


def install_log_redaction() -> None:
    """Redact secrets from every log record made from now on, by any logger (once per process).

    The record's message is merged with its arguments and redacted when it was created, so every
    handler (pytest's captured logs, ``--log-file``, live logging) sees only the redacted text.
    """
    from evalharness.logrecords import chain_record_factory

    chain_record_factory("redact", lambda record: _redact_record(record) if _SEEN else None)
