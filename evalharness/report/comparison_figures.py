"""Candidate against baseline, side by side, for the HTML report: each compared quality gate's value on
both sides with its interval, and each compared load gate's ratio (this build / baseline) with its
interval against 1. Plotly figures with their static SVG twins, like every chart of the report.
"""

from __future__ import annotations

import math
from typing import Any

from evalharness.record import GateRecord
from evalharness.report import svg_compare
from evalharness.report.figures import Figure, _bar_layout, _plotly_text
from evalharness.report.svg_compare import Bars

SIDES = ("this build", "baseline")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _pair(interval: Any) -> tuple[float, float] | None:
    if isinstance(interval, (list, tuple)) and len(interval) == 2 and all(_finite(v) for v in interval):
        return float(interval[0]), float(interval[1])
    return None


def _error_bar(values: list[float], intervals: list[tuple[float, float] | None]) -> dict[str, Any]:
    return {"type": "data", "symmetric": False,
            "array": [(pair[1] - value) if pair else 0 for pair, value in zip(intervals, values)],
            "arrayminus": [(value - pair[0]) if pair else 0 for pair, value in zip(intervals, values)]}  # fmt: skip


def _bar(name: str, names: list[str], bars: Bars, hover: str) -> dict[str, Any]:
    return {"type": "bar", "orientation": "h", "name": name, "y": [_plotly_text(n) for n in names], "x": bars.values,
            "error_x": _error_bar(bars.values, bars.intervals), "hovertemplate": hover}  # fmt: skip


def quality_side_by_side(key: str, gates: list[GateRecord]) -> Figure | None:
    """Each compared gate with a value in [0, 1] on both sides: this build's and the baseline's value,
    each with its interval (the delta and its interval in the hover)."""
    chosen = [gate for gate in gates if not gate.name.startswith("load::") and gate.comparison
              and _finite(gate.value) and _finite((gate.comparison.get("baseline") or {}).get("value"))
              and 0 <= float(gate.value or 0) <= 1]  # fmt: skip
    if not chosen:
        return None
    names = [gate.name for gate in chosen]
    ours = Bars(SIDES[0], [float(gate.value or 0) for gate in chosen], [_pair(gate.interval) for gate in chosen])
    baseline = [(gate.comparison or {}).get("baseline") or {} for gate in chosen]
    theirs = Bars(
        SIDES[1], [float(side["value"]) for side in baseline], [_pair(side.get("interval")) for side in baseline]
    )
    low = min([v for bars in (ours, theirs) for v in bars.values]
              + [pair[0] for bars in (ours, theirs) for pair in bars.intervals if pair])  # fmt: skip
    x_range = [max(0.0, math.floor((low - 0.02) * 20) / 20), 1.0]
    title = "This build against the baseline: each compared gate, with its interval"
    hover = "%{y}: %{x:.4f}<extra>%{fullData.name}</extra>"
    layout = _bar_layout(title, "value", len(names) * 2, x_range)
    layout.update(showlegend=True, barmode="group", legend={"orientation": "h", "y": -0.2})
    figure = {"data": [_bar(SIDES[0], names, ours, hover), _bar(SIDES[1], names, theirs, hover)], "layout": layout}
    fallback = svg_compare.paired_hbar_chart(title, names, [ours, theirs], "value", (x_range[0], 1.0))
    return Figure(f"{key}-versus-quality", title, figure, fallback)


def speed_ratios(key: str, gates: list[GateRecord]) -> Figure | None:
    """Each compared load gate's ratio, this build / baseline, with its interval over the rounds; the
    dashed line at 1 is "as fast (as large) as the baseline"."""
    chosen = [gate for gate in gates if gate.name.startswith("load::") and gate.comparison
              and _finite(gate.comparison.get("ratio"))]  # fmt: skip
    if not chosen:
        return None
    names = [gate.metric for gate in chosen]
    ratios = Bars("ratio", [float((gate.comparison or {})["ratio"]) for gate in chosen],
                  [_pair((gate.comparison or {}).get("ratio_interval")) for gate in chosen])  # fmt: skip
    high = max([1.0, *ratios.values, *[pair[1] for pair in ratios.intervals if pair]])
    x_range = [0.0, math.ceil(high * 1.1 * 10) / 10]
    title = "Speed and size: this build / baseline, with intervals over the rounds (dashed: equal)"
    layout = _bar_layout(title, "ratio (this build / baseline)", len(names), x_range, 1.0)
    figure = {"data": [_bar("ratio", names, ratios, "%{y}: %{x:.3f}x<extra></extra>")], "layout": layout}
    fallback = svg_compare.paired_hbar_chart(title, names, [ratios], "ratio (this build / baseline)",
                                             (x_range[0], x_range[1]), reference=1.0)  # fmt: skip
    return Figure(f"{key}-versus-speed", title, figure, fallback)


def comparison_figures(index: int, gates: list[GateRecord]) -> list[Figure]:
    """The side-by-side charts a suite's compared gates support (none without a baseline)."""
    key = f"s{index}"
    built = [quality_side_by_side(key, gates), speed_ratios(key, gates)]
    return [figure for figure in built if figure is not None]
