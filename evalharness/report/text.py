"""Text made safe for where it lands: terminals, XML attributes and bodies, and table numbers.

Model output is untrusted: control characters could rewrite a terminal line and XML 1.0 forbids
most of them outright, so they are shown as visible ``\\xNN`` escapes instead
(:mod:`evalharness.untrusted` does it, and caps the length).
"""

from __future__ import annotations

import math
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


def _real(value: Any) -> float | None:
    """A finite number read from a record, or None (absent, text, NaN, or an integer beyond any float)."""
    if not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _bounds(interval: Any) -> tuple[float, float] | None:
    """The two ends of an interval read from a record, or None when it is absent or malformed."""
    if not isinstance(interval, (list, tuple)) or len(interval) != 2:
        return None
    low, high = _real(interval[0]), _real(interval[1])
    return None if low is None or high is None else (low, high)


def format_interval(interval: tuple[float, float] | list[float] | None, digits: int = 4) -> str:
    """``[0.9012, 0.9187]`` or ``-``."""
    bounds = _bounds(interval)
    if bounds is None:
        return "-"
    return f"[{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"


def format_delta(value: float | None, interval: Any = None, digits: int = 4) -> str:
    """A signed difference and its interval: ``+0.0027 [-0.0021, +0.0075]``; ``-`` when absent."""
    number = _real(value)
    if number is None:
        return "-"
    bounds = _bounds(interval)
    text = f"{number:+.{digits}f}"
    return text if bounds is None else f"{text} [{bounds[0]:+.{digits}f}, {bounds[1]:+.{digits}f}]"


def format_ratio(value: float | None, interval: Any = None, digits: int = 3) -> str:
    """A ratio and its interval: ``x1.003 [0.998, 1.008]``; ``-`` when absent."""
    number = _real(value)
    if number is None:
        return "-"
    bounds = _bounds(interval)
    text = f"x{number:.{digits}f}"
    return text if bounds is None else f"{text} [{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"


def format_p_value(value: float | None) -> str:
    """A p-value: ``0.3317``, or ``1.2e-07`` when four decimals would show it as zero; ``-`` when absent."""
    number = _real(value)
    if number is None:
        return "-"
    return f"{number:.4f}" if number == 0 or number >= 1e-4 else f"{number:.1e}"
