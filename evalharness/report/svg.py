"""Static SVG charts: the fallback every interactive chart of the HTML report carries, shown where
scripts cannot run (Jenkins serves archived HTML with a CSP that blocks them). Colours come from
report.css classes (``series-N``, ``heat-N``), never from style attributes; every label is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from evalharness.untrusted import untrusted

WIDTH, HEIGHT = 420.0, 300.0
LEFT, RIGHT, TOP, BOTTOM = 58.0, 12.0, 30.0, 42.0
HEAT_LEVELS = 6
NAMES_LEFT = 150.0  # room for the names of a bar chart's rows


@dataclass(frozen=True)
class Series:
    """One line or one set of bars: legend label, x and y values."""

    label: str
    x: Sequence[float]
    y: Sequence[float]


def _text(value: object, limit: int = 60) -> str:
    """A label on one safe line (class names come from the data), capped and HTML-escaped."""
    text = untrusted(value)
    return html.escape(text if len(text) <= limit else text[: limit - 1] + "…", quote=True)


def _label(value: object, limit: int) -> str:
    """A short label whose whole text is its tooltip."""
    return f"<title>{_text(value, 500)}</title>{_text(value, limit)}"


def _number(value: float) -> str:
    """A tick label: 0.25, 12.5, 4,000."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


class _Frame:
    """A plot area mapping data ranges onto the view box, with axes, ticks and axis titles."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float], left: float = LEFT) -> None:
        self.left = left
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range if y_range[1] > y_range[0] else (y_range[0], y_range[0] + 1.0)

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return self.left + (value - self.x0) / span * (WIDTH - self.left - RIGHT)

    def y(self, value: float) -> float:
        return HEIGHT - BOTTOM - (value - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)

    def axes(self, x_title: str, y_title: str) -> list[str]:
        parts = [f'<path class="axis" d="M{LEFT},{TOP} V{HEIGHT - BOTTOM} H{WIDTH - RIGHT}"/>']
        for step in range(5):
            xv = self.x0 + (self.x1 - self.x0) * step / 4
            yv = self.y0 + (self.y1 - self.y0) * step / 4
            parts.append(f'<text class="tick" x="{self.x(xv):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
                         f"{_number(xv)}</text>")  # fmt: skip
            parts.append(
                f'<text class="tick" x="{LEFT - 4}" y="{self.y(yv) + 4:.1f}" text-anchor="end">{_number(yv)}</text>'
            )
        parts.append(f'<text class="axis-title" x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
                     f"{_text(x_title)}</text>")  # fmt: skip
        parts.append(f'<text class="axis-title" transform="translate(12 {(TOP + HEIGHT - BOTTOM) / 2}) rotate(-90)" '
                     f'text-anchor="middle">{_text(y_title)}</text>')  # fmt: skip
        return parts


CHAR_WIDTH, KEY_GAP, MARGIN = 7.0, 12.0, 8.0
"""A legend key's text width per character (12 px text, rounded up), the room between keys, and the
least room kept at the chart's edges."""


def _legend(legend: Sequence[str]) -> str:
    """The legend keys across the top: each whole and side by side where they fit over the plot, or
    across the whole chart; else in equal columns, each cut short (its whole text is its tooltip)."""
    widths = [CHAR_WIDTH * (len(untrusted(label)) + 2) + KEY_GAP for label in legend]
    limits = [len(untrusted(label)) for label in legend]
    if sum(widths) <= WIDTH - LEFT - RIGHT:
        lefts = [LEFT + sum(widths[:i]) for i in range(len(legend))]
    elif sum(widths) <= WIDTH - 2 * MARGIN:
        lefts = [MARGIN + sum(widths[:i]) for i in range(len(legend))]
    else:
        step = (WIDTH - 2 * MARGIN) / max(len(legend), 1)
        lefts = [MARGIN + step * i for i in range(len(legend))]
        limits = [max(int((step - KEY_GAP) / CHAR_WIDTH) - 2, 6)] * len(legend)
    return "".join(
        f'<text class="legend-key series-{i}" x="{left:.0f}" y="14">&#9632; {_label(label, limit)}</text>'
        for i, (label, left, limit) in enumerate(zip(legend, lefts, limits))
    )


def _svg(title: str, parts: list[str], legend: Sequence[str] = ()) -> str:
    keys = _legend(legend)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="static-chart" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" '
            f'role="img" aria-label="{_text(title)}"><title>{_text(title)}</title>'
            f'{"".join(parts)}{keys}</svg>')  # fmt: skip


def line_chart(title: str, series: Sequence[Series], x_title: str, y_title: str,
               x_range: tuple[float, float] = (0.0, 1.0), y_range: tuple[float, float] = (0.0, 1.0),
               diagonal: bool = False) -> str:  # fmt: skip
    """Lines (and a dashed y = x reference when ``diagonal``), each in its series colour."""
    frame = _Frame(x_range, y_range)
    parts = frame.axes(x_title, y_title)
    if diagonal:
        parts.append(f'<path class="reference" d="M{frame.x(x_range[0]):.1f},{frame.y(y_range[0]):.1f} '
                     f'L{frame.x(x_range[1]):.1f},{frame.y(y_range[1]):.1f}"/>')  # fmt: skip
    for index, line in enumerate(series):
        points = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in zip(line.x, line.y))
        parts.append(f'<polyline class="line series-{index}" points="{points}"/>')
    return _svg(title, parts, [line.label for line in series])


def bar_chart(title: str, edges: Sequence[float], series: Sequence[Series], x_title: str, y_title: str) -> str:
    """Bars per bin, the series side by side within each bin (a histogram per class)."""
    peak = max((max(line.y, default=0) for line in series), default=0) or 1
    frame = _Frame((edges[0], edges[-1]), (0.0, float(peak)))
    parts = frame.axes(x_title, y_title)
    for index, line in enumerate(series):
        for left, right, count in zip(edges[:-1], edges[1:], line.y):
            width = (frame.x(right) - frame.x(left)) / len(series)
            x = frame.x(left) + width * index
            parts.append(f'<rect class="bar series-{index}" x="{x:.1f}" y="{frame.y(count):.1f}" width="{width:.1f}" '
                         f'height="{frame.y(0) - frame.y(count):.1f}"><title>{_number(left)}-{_number(right)}: '
                         f"{count}</title></rect>")  # fmt: skip
    return _svg(title, parts, [line.label for line in series])


def heatmap(
    title: str,
    matrix: Sequence[Sequence[int]],
    labels: Sequence[str],
    x_title: str,
    y_title: str,
    columns: Sequence[str] | None = None,
) -> str:
    """A labelled count matrix, each cell shaded by its share of its row (``heat-0`` to ``heat-5``);
    ``columns`` names the columns when they are not the rows' labels (an extra "no answer" column)."""
    columns = labels if columns is None else columns
    size, rows = max(len(labels), len(columns), 1), max(len(labels), 1)
    cell = min((WIDTH - LEFT - RIGHT) / size, (HEIGHT - TOP - BOTTOM) / size)
    parts = []
    for row, (name, counts) in enumerate(zip(labels, matrix)):
        total = sum(counts) or 1
        y = TOP + row * cell
        parts.append(
            f'<text class="tick" x="{LEFT - 4}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">{_label(name, 8)}</text>'
        )
        for column, count in enumerate(counts):
            level = min(int(count / total * HEAT_LEVELS), HEAT_LEVELS - 1)
            x = LEFT + column * cell
            parts.append(f'<rect class="heat-{level}" x="{x:.1f}" y="{y:.1f}" width="{cell:.1f}" height="{cell:.1f}"/>'
                         f'<text class="cell-count{" dark" if level >= 3 else ""}" x="{x + cell / 2:.1f}" '
                         f'y="{y + cell / 2 + 4:.1f}" text-anchor="middle">{count}</text>')  # fmt: skip
    for column, name in enumerate(columns):
        parts.append(f'<text class="tick" x="{LEFT + column * cell + cell / 2:.1f}" y="{TOP + rows * cell + 14:.1f}" '
                     f'text-anchor="middle">{_label(name, 14)}</text>')  # fmt: skip
    parts.append(f'<text class="axis-title" x="{LEFT + len(columns) * cell / 2:.1f}" y="{TOP + rows * cell + 32:.1f}" '
                 f'text-anchor="middle">{_text(x_title)}</text>')  # fmt: skip
    parts.append(f'<text class="axis-title" transform="translate(12 {TOP + rows * cell / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle">{_text(y_title)}</text>')  # fmt: skip
    return _svg(title, parts)


def hbar_chart(title: str, labels: Sequence[str], values: Sequence[float], x_title: str,
               intervals: Sequence[tuple[float, float] | None] | None = None,
               threshold: float | None = None, x_range: tuple[float, float] | None = None) -> str:  # fmt: skip
    """One horizontal bar per label (a rule, a recipe, a column), with its interval as a whisker and the
    gate's threshold as a dashed line; labels cut short, whole in their tooltip."""
    top = max(list(values) + [threshold or 0.0] + [high for pair in intervals or [] if pair for high in pair[1:]])
    frame = _Frame(x_range or (0.0, top or 1.0), (0.0, 1.0), left=NAMES_LEFT)
    row = (HEIGHT - TOP - BOTTOM) / max(len(labels), 1)
    parts = _x_axis(frame, x_title)
    for index, (label, value) in enumerate(zip(labels, values)):
        y = TOP + index * row
        parts.append(f'<rect class="bar series-0" x="{NAMES_LEFT:.1f}" y="{y + row * 0.2:.1f}" '
                     f'width="{frame.x(value) - NAMES_LEFT:.1f}" '
                     f'height="{row * 0.6:.1f}"><title>{_text(label, 200)}: {value:.4g}</title></rect>')  # fmt: skip
        parts.append(f'<text class="tick" x="{NAMES_LEFT - 4}" y="{y + row / 2 + 4:.1f}" text-anchor="end">'
                     f"{_label(label, 22)}</text>")  # fmt: skip
        pair = intervals[index] if intervals else None
        if pair:
            middle = y + row / 2
            parts.append(f'<path class="whisker" d="M{frame.x(pair[0]):.1f},{middle:.1f} H{frame.x(pair[1]):.1f}"/>')
    if threshold is not None:
        parts.append(f'<path class="reference" d="M{frame.x(threshold):.1f},{TOP} V{HEIGHT - BOTTOM}"/>')
    return _svg(title, parts)


def nice_ceiling(value: float, steps: Sequence[float] = (1, 2, 5)) -> float:
    """An axis maximum: ``value`` rounded up to one of ``steps`` times a power of ten (1 for nothing).
    The default gives 1, 2, 5, 10...; (1, 2, 4, 6, 8) keeps an axis's quarters round."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in (*steps, 10) if step * power >= value * (1 - 1e-12)))


def ticks_between(low: float, high: float, count: int = 5) -> list[tuple[float, str]]:
    """``count`` evenly spaced ticks from ``low`` to ``high``: (value, label)."""
    values = [low + (high - low) * step / (count - 1) for step in range(count)]
    return [(value, _number(value)) for value in values]


def framed_axes(frame: _Frame, x_title: str, y_title: str, x_ticks: Sequence[tuple[float, str]],
                y_ticks: Sequence[tuple[float, str]]) -> list[str]:  # fmt: skip
    """Axis lines from the frame's left edge, the given ticks (data value, label) and the axis titles
    that are not empty."""
    parts = [f'<path class="axis" d="M{frame.left},{TOP} V{HEIGHT - BOTTOM} H{WIDTH - RIGHT}"/>']
    parts += [f'<text class="tick" x="{frame.x(value):.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle">'
              f"{_text(label)}</text>" for value, label in x_ticks]  # fmt: skip
    parts += [f'<text class="tick" x="{frame.left - 4}" y="{frame.y(value) + 4:.1f}" text-anchor="end">'
              f"{_text(label)}</text>" for value, label in y_ticks]  # fmt: skip
    if x_title:
        parts.append(f'<text class="axis-title" x="{(frame.left + WIDTH - RIGHT) / 2}" y="{HEIGHT - 6}" '
                     f'text-anchor="middle">{_text(x_title)}</text>')  # fmt: skip
    if y_title:
        parts.append(f'<text class="axis-title" transform="translate(12 {(TOP + HEIGHT - BOTTOM) / 2}) rotate(-90)" '
                     f'text-anchor="middle">{_text(y_title)}</text>')  # fmt: skip
    return parts


def _x_axis(frame: _Frame, x_title: str) -> list[str]:
    """Axes with x ticks only (the y axis holds names)."""
    return framed_axes(frame, x_title, "", ticks_between(frame.x0, frame.x1), [])
