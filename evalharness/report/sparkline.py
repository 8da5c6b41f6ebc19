"""A forecast in the worst-rows table as a small inline chart, not thousands of pixels of numbers.

When a row's expected and predicted values are both sequences of numbers, the table shows one cell: an
SVG sparkline of the two (CSS-classed polylines, no script, no style attribute) and, in a ``<details>``,
the numbers themselves on demand, the first :data:`SHOWN_NUMBERS` of each.
"""

from __future__ import annotations

import math
from typing import Any

WIDTH, HEIGHT, MARGIN = 160.0, 36.0, 2.0
MAX_POINTS = 160
"""The most points drawn of one series (about one per pixel); a longer one shows every k-th point."""
SHOWN_NUMBERS = 100
"""The most numbers of one series written out under the sparkline."""


def numeric_sequence(value: Any) -> list[float] | None:
    """``value`` as a list of finite numbers, or None when it is not one (text, a label, a gap)."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        return None
    return [float(v) for v in value]


def _points(values: list[float], length: int, low: float, high: float) -> str:
    """SVG points of one series, x shared by both series (``length`` steps), every k-th point past MAX_POINTS."""
    step = math.ceil(len(values) / MAX_POINTS)
    span_x, span_y = max(length - 1, 1), (high - low) or 1.0
    return " ".join(
        f"{MARGIN + index / span_x * (WIDTH - 2 * MARGIN):.1f},"
        f"{HEIGHT - MARGIN - (values[index] - low) / span_y * (HEIGHT - 2 * MARGIN):.1f}"
        for index in range(0, len(values), step)
    )


def _numbers_text(values: list[float]) -> str:
    shown = ", ".join(f"{value:.6g}" for value in values[:SHOWN_NUMBERS])
    return shown + (f", … ({len(values):,} numbers in all)" if len(values) > SHOWN_NUMBERS else "")


def sparkline(row: Any) -> Any:
    """The row's expected and predicted sequences as one sparkline cell's content (Markup), or "" when
    either is not a sequence of numbers (the table then shows them as text)."""
    import markupsafe

    expected = numeric_sequence(row.get("expected")) if isinstance(row, dict) else None
    predicted = numeric_sequence(row.get("predicted")) if isinstance(row, dict) else None
    if expected is None or predicted is None:
        return ""
    low, high = min(expected + predicted), max(expected + predicted)
    length = max(len(expected), len(predicted))
    label = f"expected ({len(expected):,} points) and predicted ({len(predicted):,} points), {low:.4g} to {high:.4g}"
    return markupsafe.Markup(
        '<div class="sparkline"><svg xmlns="http://www.w3.org/2000/svg" class="sparkline" viewBox="0 0 {width:g} '
        '{height:g}" role="img" aria-label="{label}"><title>{label}</title>'
        '<polyline class="spark-expected" points="{expected}"/><polyline class="spark-predicted" points="{predicted}"/>'
        '</svg> <span class="spark-key"><span class="key-expected">expected</span> '
        '<span class="key-predicted">predicted</span></span>'
        '<details class="numbers"><summary>the numbers</summary><p>expected: {expected_text}</p>'
        "<p>predicted: {predicted_text}</p></details></div>"
    ).format(
        width=WIDTH, height=HEIGHT, label=label,
        expected=_points(expected, length, low, high), predicted=_points(predicted, length, low, high),
        expected_text=_numbers_text(expected), predicted_text=_numbers_text(predicted),
    )  # fmt: skip
