"""Time-series charts of a load run for the HTML report, as inline SVG geometry (no scripts).

The report's Content-Security-Policy allows no scripts, so charts are drawn server-side: each
chart is a set of polylines already scaled into a fixed view box, plus its axis maxima. Only
numbers reach the SVG; labels are fixed strings from this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT = 640.0, 160.0


@dataclass(frozen=True)
class ChartLine:
    """One series: its legend label, CSS class (its colour), SVG points and peak value."""

    label: str
    css: str
    points: str
    peak: float

    @property
    def peak_label(self) -> str:
        """The peak, shortly."""
        return short_number(self.peak)


@dataclass(frozen=True)
class Chart:
    """One chart: title, unit, the x and y ranges drawn, and its lines."""

    title: str
    unit: str
    x_max: float
    y_max: float
    lines: list[ChartLine]
    width: float = WIDTH
    height: float = HEIGHT

    @property
    def y_label(self) -> str:
        """The y axis maximum, shortly."""
        return short_number(self.y_max)

    @property
    def x_label(self) -> str:
        """The x axis maximum (seconds), shortly."""
        return short_number(self.x_max)


def short_number(value: float) -> str:
    """An axis or peak value: whole numbers and values above 100 without decimals, one decimal above
    10, else two."""
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _nice_ceiling(value: float) -> float:
    """The axis maximum: ``value`` rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def line_chart(
    title: str, unit: str, x: Sequence[float], columns: Mapping[str, Sequence[float | None]]
) -> Chart | None:
    """A chart of ``columns`` (label -> values, None for a missing sample) against ``x``; None when
    there is nothing to draw. Missing samples are skipped; the y axis starts at zero."""
    present = {label: values for label, values in columns.items() if any(v is not None for v in values)}
    if not x or not present:
        return None
    x_max = max(max(x), 1e-9)
    peak = max(float(v) for values in present.values() for v in values if v is not None)
    y_max = _nice_ceiling(peak)
    lines = []
    for index, (label, values) in enumerate(present.items()):
        points = " ".join(
            f"{WIDTH * xi / x_max:.1f},{HEIGHT * (1 - float(v) / y_max):.1f}"
            for xi, v in zip(x, values)
            if v is not None
        )
        line_peak = max(float(v) for v in values if v is not None)
        lines.append(ChartLine(label=label, css=f"series-{index}", points=points, peak=line_peak))
    return Chart(title=title, unit=unit, x_max=round(x_max, 3), y_max=y_max, lines=lines)


def load_charts(load: Any) -> list[Chart]:
    """The load section's charts: throughput and errors, worst latency, CPU, memory and GPU use."""
    if not load:
        return []
    charts: list[Chart | None] = []
    timeline = list(load.get("timeline") or [])
    seconds = [float(slot["second"]) + 1 for slot in timeline]
    charts.append(line_chart("Requests finished per second", "req/s", seconds, {
        "completed": [slot["completed"] for slot in timeline], "errors": [slot["errors"] for slot in timeline],
    }))  # fmt: skip
    charts.append(
        line_chart("Slowest request per second", "ms", seconds, {"max latency": [slot["max_ms"] for slot in timeline]})
    )
    charts.extend(_resource_charts(load.get("resources") or {}))
    return [chart for chart in charts if chart is not None]


def _resource_charts(resources: dict[str, Any]) -> list[Chart | None]:
    series = resources.get("series") or {}
    times = list(series.get("t_s") or [])
    cpu = {"system": series.get("system_cpu_percent") or [], "server": series.get("target_cpu_percent") or [],
           "generator": series.get("generator_cpu_percent") or []}  # fmt: skip
    memory = {"server": series.get("target_rss_mib") or [], "generator": series.get("generator_rss_mib") or []}
    charts = [
        line_chart("CPU (100 % is one core; system: share of all cores)", "%", times, cpu),
        line_chart("Resident memory", "MiB", times, memory),
    ]
    samples = series.get("gpus") or []
    count = max((len(sample) for sample in samples), default=0)
    for key, title, unit in (("util_percent", "GPU utilisation", "%"), ("memory_mib", "GPU memory used", "MiB"),
                             ("power_w", "GPU power", "W")):  # fmt: skip
        columns = {f"GPU {gpu}": [_gpu_value(sample, gpu, key) for sample in samples] for gpu in range(count)}
        charts.append(line_chart(title, unit, times, columns))
    return charts


def _gpu_value(sample: list[dict[str, float | None]], gpu: int, key: str) -> float | None:
    return sample[gpu].get(key) if gpu < len(sample) else None
