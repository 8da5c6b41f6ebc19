"""Static SVG twins of the quality charts: two samples' shares per bin side by side (drift), two series
joined by their warping path (DTW), and a histogram against the gate's threshold (BERTScore).

Built on :mod:`evalharness.report.svg`'s frame, so they look like the other fallbacks; colours come
from report.css classes, every label is escaped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from evalharness.report.svg import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    Series,
    _Frame,
    _label,
    _svg,
    _text,
    framed_axes,
    nice_ceiling,
    ticks_between,
)

QUARTERS = (1, 2, 4, 6, 8)
"""Axis maxima whose quarters are round numbers (the bar charts' y axes)."""
MAX_TICK_LABELS = 12
"""The most bin names written under a bar chart; every bin's bars keep their name as a tooltip."""


def _y_axis(frame: _Frame, y_title: str) -> list[str]:
    """Axes with y ticks only (the x axis holds names)."""
    return framed_axes(frame, "", y_title, [], ticks_between(frame.y0, frame.y1))


_RANGE = re.compile(r"^\[(.+?), .+\)$")


def tick_name(label: str) -> str:
    """A bin's name under the axis: a range ``[355, 731)`` by its lower edge (``355``), which fits where
    the whole range would be cut; open ends (``< 355``, ``≥ 3289``) and categories as they are."""
    match = _RANGE.match(label)
    return match.group(1) if match else label


def grouped_bars(title: str, labels: Sequence[str], series: Sequence[Series], x_title: str, y_title: str) -> str:
    """One group of bars per named bin (a category, a range of values), the series side by side in it;
    names under the axis cut to fit (whole in their tooltip), at most :data:`MAX_TICK_LABELS` of them."""
    count = max(len(labels), 1)
    peak = max((max(line.y, default=0.0) for line in series), default=0.0)
    frame = _Frame((0.0, float(count)), (0.0, nice_ceiling(peak, QUARTERS)))
    parts = _y_axis(frame, y_title)
    slot = frame.x(1.0) - frame.x(0.0)
    width = slot * 0.8 / max(len(series), 1)
    for index, line in enumerate(series):
        for position, (name, value) in enumerate(zip(labels, line.y)):
            x = frame.x(position) + slot * 0.1 + width * index
            parts.append(f'<rect class="bar series-{index}" x="{x:.1f}" y="{frame.y(value):.1f}" width="{width:.1f}" '
                         f'height="{frame.y(0) - frame.y(value):.1f}"><title>{_text(line.label, 40)}, '
                         f"{_text(name, 200)}: {value:.4g}</title></rect>")  # fmt: skip
    every = math.ceil(count / MAX_TICK_LABELS)
    chars = max(4, int(slot * every / 6.5))
    for position in range(0, len(labels), every):
        parts.append(f'<text class="tick" x="{frame.x(position + 0.5):.1f}" y="{HEIGHT - BOTTOM + 14}" '
                     f'text-anchor="middle">{_label(tick_name(labels[position]), chars)}</text>')  # fmt: skip
    parts.append(f'<text class="axis-title" x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
                 f"{_text(x_title)}</text>")  # fmt: skip
    return _svg(title, parts, [line.label for line in series])


def aligned_series(title: str, series: Sequence[Series], links: Sequence[tuple[float, float, float, float]],
                   x_title: str, y_title: str) -> str:  # fmt: skip
    """Lines over time, and thin grey segments (``x0, y0, x1, y1``) joining the points a warping path
    aligns, drawn under the lines."""
    xs = [x for line in series for x in line.x] or [0.0]
    ys = [y for line in series for y in line.y] or [0.0]
    pad = (max(ys) - min(ys)) * 0.05 or 1.0
    frame = _Frame((min(xs), max(xs)), (min(ys) - pad, max(ys) + pad))
    parts = frame.axes(x_title, y_title)
    if links:
        moves = " ".join(f"M{frame.x(x0):.1f},{frame.y(y0):.1f}L{frame.x(x1):.1f},{frame.y(y1):.1f}"
                         for x0, y0, x1, y1 in links)  # fmt: skip
        parts.append(f'<path class="warp" d="{moves}"/>')
    for index, line in enumerate(series):
        points = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in zip(line.x, line.y))
        parts.append(f'<polyline class="line series-{index}" points="{points}"/>')
    return _svg(title, parts, [line.label for line in series])


def histogram(title: str, edges: Sequence[float], counts: Sequence[int], x_title: str, y_title: str,
              threshold: float | None = None) -> str:  # fmt: skip
    """Rows per bin, with the gate's threshold as a dashed line when it falls inside the bins."""
    frame = _Frame((edges[0], edges[-1]), (0.0, float(max(counts, default=0) or 1)))
    parts = frame.axes(x_title, y_title)
    for left, right, count in zip(edges[:-1], edges[1:], counts):
        parts.append(f'<rect class="bar series-0" x="{frame.x(left):.1f}" y="{frame.y(count):.1f}" '
                     f'width="{frame.x(right) - frame.x(left):.1f}" height="{frame.y(0) - frame.y(count):.1f}">'
                     f"<title>{left:.3g} to {right:.3g}: {count} rows</title></rect>")  # fmt: skip
    if threshold is not None and edges[0] <= threshold <= edges[-1]:
        parts.append(f'<path class="reference" d="M{frame.x(threshold):.1f},{TOP} V{HEIGHT - BOTTOM}"/>')
    return _svg(title, parts)
