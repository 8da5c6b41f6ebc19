"""The static SVG twin of the candidate-against-baseline charts: horizontal bars, one group per gate,
one bar per side, each with its interval as a whisker, and an optional dashed reference line.

Built on :mod:`evalharness.report.svg`'s frame and escaping; colours from report.css classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evalharness.report.svg import BOTTOM, HEIGHT, NAMES_LEFT, TOP, _Frame, _label, _svg, _text, _x_axis


@dataclass(frozen=True)
class Bars:
    """One side's bars: its legend label, a value per gate and each value's interval (None if none)."""

    label: str
    values: list[float]
    intervals: list[tuple[float, float] | None]


def paired_hbar_chart(title: str, names: Sequence[str], sides: Sequence[Bars], x_title: str,
                      x_range: tuple[float, float], reference: float | None = None) -> str:  # fmt: skip
    """A group of bars per name, one per side (``series-0``, ``series-1``), whiskers for intervals."""
    frame = _Frame(x_range, (0.0, 1.0), left=NAMES_LEFT)
    group = (HEIGHT - TOP - BOTTOM) / max(len(names), 1)
    bar = group * 0.8 / max(len(sides), 1)
    parts = _x_axis(frame, x_title)
    for row, name in enumerate(names):
        top = TOP + row * group + group * 0.1
        parts.append(f'<text class="tick" x="{NAMES_LEFT - 4}" y="{top + group * 0.4 + 4:.1f}" text-anchor="end">'
                     f"{_label(name, 22)}</text>")  # fmt: skip
        for index, side in enumerate(sides):
            value, pair, y = side.values[row], side.intervals[row], top + index * bar
            start = frame.x(max(x_range[0], 0.0))
            parts.append(f'<rect class="bar series-{index}" x="{start:.1f}" y="{y:.1f}" '
                         f'width="{max(frame.x(min(value, x_range[1])) - start, 0):.1f}" height="{bar * 0.9:.1f}">'
                         f"<title>{_text(name, 200)}, {_text(side.label)}: {value:.4g}</title></rect>")  # fmt: skip
            if pair:
                middle = y + bar * 0.45
                parts.append(f'<path class="whisker" d="M{frame.x(max(pair[0], x_range[0])):.1f},{middle:.1f} '
                             f'H{frame.x(min(pair[1], x_range[1])):.1f}"/>')  # fmt: skip
    if reference is not None:
        parts.append(f'<path class="reference" d="M{frame.x(reference):.1f},{TOP} V{HEIGHT - BOTTOM}"/>')
    return _svg(title, parts, [side.label for side in sides] if len(sides) > 1 else ())
