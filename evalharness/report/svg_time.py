"""Static SVG twins of the load charts: series against time (with gaps where a sample is missing and the
warm-up shaded), a time-by-latency heatmap, and the HDR percentile curve on its logarithmic axis.

The frame, the escaping of labels and the CSS colour classes are those of :mod:`evalharness.report.svg`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from evalharness.report.svg import (
    BOTTOM,
    HEAT_LEVELS,
    HEIGHT,
    TOP,
    _Frame,
    _number,
    _svg,
    _text,
    framed_axes,
    nice_ceiling,
    ticks_between,
)

TIME_TITLE = "time since the first request (s)"


@dataclass(frozen=True)
class TimeSeries:
    """One line against time: legend label, times (s) and values (None for a missing sample)."""

    label: str
    t: Sequence[float]
    values: Sequence[float | None]


def _runs(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Consecutive present points, split at each missing one."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _band(frame: _Frame, band: tuple[float, float] | None, label: str) -> list[str]:
    """A shaded span of the time axis (the warm-up), labelled at its top."""
    if band is None or band[1] <= band[0]:
        return []
    x0, x1 = frame.x(max(band[0], frame.x0)), frame.x(min(band[1], frame.x1))
    return [f'<rect class="band" x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 0):.1f}" height="{HEIGHT - TOP - BOTTOM}">'
            f"<title>{_text(label)}</title></rect>",
            f'<text class="band-label" x="{x0 + 3:.1f}" y="{TOP + 11}">{_text(label)}</text>']  # fmt: skip


def time_chart(title: str, series: Sequence[TimeSeries], y_title: str, x_range: tuple[float, float],
               band: tuple[float, float] | None = None, band_label: str = "warm-up") -> str:  # fmt: skip
    """Lines against time on ``x_range`` (seconds), the y axis from zero to a round number above the
    highest value; samples outside the range are left out, missing ones leave a gap."""
    inside = [[(t, v) if v is not None and x_range[0] <= t <= x_range[1] else None
               for t, v in zip(line.t, line.values)] for line in series]  # fmt: skip
    peak = max((point[1] for points in inside for point in points if point), default=0.0)
    frame = _Frame(x_range, (0.0, nice_ceiling(peak)))
    ticks = framed_axes(frame, TIME_TITLE, y_title, ticks_between(*x_range), ticks_between(frame.y0, frame.y1))
    parts = _band(frame, band, band_label) + ticks
    for index, points in enumerate(inside):
        for run in _runs(points):
            drawn = " ".join(f"{frame.x(t):.1f},{frame.y(v):.1f}" for t, v in run)
            parts.append(f'<polyline class="line series-{index}" points="{drawn}"/>')
            if len(run) == 1:  # a lone sample draws no line: mark it
                parts.append(f'<circle class="dot series-{index}" cx="{frame.x(run[0][0]):.1f}" '
                             f'cy="{frame.y(run[0][1]):.1f}" r="2.5"/>')  # fmt: skip
    return _svg(title, parts, [line.label for line in series])


def time_heatmap(title: str, starts: Sequence[float], width_s: float, edges: Sequence[float],
                 counts: Sequence[Sequence[int]], x_range: tuple[float, float], y_title: str,
                 band: tuple[float, float] | None = None, band_label: str = "warm-up") -> str:  # fmt: skip
    """Counts per (time slice, bucket): slices across from ``starts`` (each ``width_s`` wide), buckets
    up from ``edges``, each cell shaded on a logarithmic scale of the largest count."""
    frame = _Frame(x_range, (0.0, float(max(len(edges) - 1, 1))))
    step = max(1, math.ceil((len(edges) - 1) / 5))
    bucket_ticks = [(float(index), _number(edges[index])) for index in range(0, len(edges), step)]
    axes = framed_axes(frame, TIME_TITLE, y_title, ticks_between(*x_range), bucket_ticks)
    parts = _band(frame, band, band_label) + axes
    peak = max((count for row in counts for count in row), default=0)
    scale = math.log1p(peak) or 1.0
    row_height = frame.y(0) - frame.y(1)
    for start, row in zip(starts, counts):
        x0, x1 = frame.x(max(start, x_range[0])), frame.x(min(start + width_s, x_range[1]))
        for bucket, count in enumerate(row):
            if not count:
                continue
            level = min(int(math.log1p(count) / scale * HEAT_LEVELS), HEAT_LEVELS - 1)
            parts.append(f'<rect class="heat-{level}" x="{x0:.1f}" y="{frame.y(bucket + 1):.1f}" '
                         f'width="{max(x1 - x0, 0.5):.1f}" height="{row_height:.1f}"><title>{_number(start)} s, '
                         f"{_number(edges[bucket])}-{_number(edges[bucket + 1])} ms: {count}</title>"
                         "</rect>")  # fmt: skip
    return _svg(title, parts)


PERCENTILE_TICKS = ((1.0, "0%"), (2.0, "50%"), (10.0, "90%"), (100.0, "99%"), (1e3, "99.9%"), (1e4, "99.99%"),
                    (1e5, "99.999%"))  # fmt: skip
"""Where the HDR curve's axis is labelled: 1 / (1 - q) on a logarithmic scale."""


def tail_position(percentile: float, last_finite: float) -> float:
    """A percentile's place on the HDR axis, 1 / (1 - q); 100 % (the maximum) one decade beyond
    ``last_finite``, the place of the highest percentile below it."""
    if percentile >= 100.0:
        return last_finite * 10
    return 1 / (1 - percentile / 100)


def percentile_chart(title: str, series: Sequence[TimeSeries], y_title: str, max_at: float | None = None) -> str:
    """HDR percentile curves: x is 1 / (1 - q) on a log scale (the ``t`` of each series), labelled as
    percentiles (and "max" at ``max_at``); y in ms from zero."""
    xs = [x for line in series for x in line.t]
    high = max(xs, default=10.0)
    frame = _Frame((0.0, math.log10(max(high, 10.0))), (0.0, nice_ceiling(max(
        (v for line in series for v in line.values if v is not None), default=0.0))))  # fmt: skip
    room = max_at / 3 if max_at else high  # no percentile tick crowding the "max" one
    x_ticks = [(math.log10(position), label) for position, label in PERCENTILE_TICKS if position <= room]
    x_ticks += [(math.log10(max_at), "max")] if max_at else []
    x_title = "percentile (1 / (1 - q), log scale)"
    parts = framed_axes(frame, x_title, y_title, x_ticks, ticks_between(frame.y0, frame.y1))
    for index, line in enumerate(series):
        points = " ".join(f"{frame.x(math.log10(x)):.1f},{frame.y(v):.1f}" for x, v in zip(line.t, line.values)
                          if v is not None)  # fmt: skip
        parts.append(f'<polyline class="line series-{index}" points="{points}"/>')
    return _svg(title, parts, [line.label for line in series])
