"""Secrets come only from environment variables, written ``${env:NAME}``, and never reach outputs.

A suite may not carry a secret itself: header values and URLs are expanded from the environment
at run time, and every expanded value is remembered so reports can redact it.
"""

from __future__ import annotations

import os
import re

from evalharness.errors import TargetError

_REFERENCE = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_SEEN: set[str] = set()
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
        return found

    return _REFERENCE.sub(value, text)


def redact(text: str) -> str:
    """``text`` with every secret value read so far replaced by ``***``."""
    for value in sorted(_SEEN, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
