"""Text made safe for where it lands: terminals, XML attributes and bodies.

Model output is untrusted: control characters could rewrite a terminal line and XML 1.0 forbids
most of them outright, so they are shown as visible ``\\xNN`` escapes instead.
"""

from __future__ import annotations

import numbers
import re
from typing import Any

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def xml_safe(value: Any) -> str:
    """``value`` as text with every character XML 1.0 forbids replaced by a visible escape."""
    return _XML_ILLEGAL.sub(_visible, str(value))


def terminal_safe(value: Any) -> str:
    """``value`` as text with control characters (ANSI escapes included) made visible."""
    return _TERMINAL_UNSAFE.sub(_visible, str(value))


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def format_number(value: float | None, digits: int = 4) -> str:
    """A metric value for tables: 4 decimals, or ``-`` when absent."""
    return f"{value:.{digits}f}" if isinstance(value, numbers.Real) else "-"  # absent, or missing from a record


def format_interval(interval: tuple[float, float] | list[float] | None, digits: int = 4) -> str:
    """``[0.9012, 0.9187]`` or ``-``."""
    if not interval:
        return "-"
    return f"[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]"
