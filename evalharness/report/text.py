"""Text made safe for where it lands: terminals, XML attributes and bodies, and table numbers.

Model output is untrusted: control characters could rewrite a terminal line and XML 1.0 forbids
most of them outright, so they are shown as visible ``\\xNN`` escapes instead
(:mod:`evalharness.untrusted` does it, and caps the length).
"""

from __future__ import annotations

import numbers
import re
from typing import Any

from evalharness.untrusted import untrusted

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def xml_safe(value: Any) -> str:
    """``value`` as text with every character XML 1.0 forbids replaced by a visible escape."""
    return _XML_ILLEGAL.sub(_visible, str(value))


def terminal_safe(value: Any, limit: int | None = None) -> str:
    """``value`` as one line of text with control characters (ANSI escapes included) made visible,
    never starting with ``::``, and capped at ``limit`` characters (see :func:`untrusted`)."""
    return untrusted(value, limit)


def shorten(text: str, width: int) -> str:
    """Safe ``text`` (already through :func:`terminal_safe`) cut to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def format_number(value: float | None, digits: int = 4) -> str:
    """A metric value for tables: 4 decimals, or ``-`` when absent."""
    if not isinstance(value, numbers.Real):
        return "-"  # absent, or missing from a record
    try:
        return f"{float(value):.{digits}f}"
    except OverflowError:  # an integer beyond any float, from an edited record
        return "-"


def format_interval(interval: tuple[float, float] | list[float] | None, digits: int = 4) -> str:
    """``[0.9012, 0.9187]`` or ``-``."""
    if not interval:
        return "-"
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"
