"""The HTML report's charts of what quality gates keep in their records: the distributions of the
drifting columns of highest PSI (the reference's and the evaluated data's share of rows in each bin PSI
compared), the worst rows of a DTW gate (both series joined by their warping path), and how the
per-row BERTScore spreads against the gate's threshold. Each is a plotly figure with its SVG twin.

A record written before these details existed simply has no such chart.
"""

from __future__ import annotations

from typing import Any

from evalharness.record import GateRecord
from evalharness.report import svg_quality
from evalharness.report.figures import COLOURS, Figure, _layout, _plotly_text
from evalharness.report.svg import Series
from evalharness.untrusted import untrusted

DISTRIBUTION_CHARTS = 4
"""The most drifting columns whose distributions are drawn, highest PSI first."""
MARKERS_UP_TO = 60
"""Series of at most this many points show a marker on each (the points the warping path joins)."""
_GREY = "#b8bfcc"
_SCORE_NAMES = {"f1": "F1", "precision": "precision", "recall": "recall"}


def _numbers(values: Any) -> list[float] | None:
    """A list of finite numbers from the record, or None when it is anything else."""
    if not isinstance(values, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v == v for v in values
    ):
        return None
    return [float(v) for v in values]


def gate_quality_figures(key: str, gate: GateRecord) -> list[Figure]:
    """Every quality chart the gate's details support, in reading order."""
    built = [*drift_distributions(key, gate), *dtw_alignments(key, gate), bertscore_distribution(key, gate)]
    return [figure for figure in built if figure is not None]


def drift_distributions(key: str, gate: GateRecord) -> list[Figure | None]:
    """Reference against evaluated shares per bin, one chart per column, highest PSI first."""
    columns = sorted((item for item in gate.details.get("columns") or []
                      if isinstance(item, dict) and isinstance(item.get("distribution"), dict)),
                     key=lambda item: -(item.get("psi") or 0.0))  # fmt: skip
    return [
        _distribution(f"{key}-{gate.name}-dist-{rank}", item) for rank, item in enumerate(columns[:DISTRIBUTION_CHARTS])
    ]


def _distribution(figure_id: str, column: dict[str, Any]) -> Figure | None:
    shares = column["distribution"]
    labels = [str(label) for label in shares.get("labels") or []]
    reference, evaluated = _numbers(shares.get("reference")), _numbers(shares.get("evaluated"))
    if not labels or reference is None or evaluated is None or not len(labels) == len(reference) == len(evaluated):
        return None
    kind = shares.get("kind")
    bin_word, x_title = {"categories": ("category", "category"), "values": ("value", "value")}.get(
        str(kind), ("bin", "bin from its lower edge (the reference's quantiles)")
    )
    psi = column.get("psi")
    title = f"{untrusted(column.get('column'), 60)}: share of rows per {bin_word}, reference vs evaluated"
    title += f" (PSI {psi:.3f})" if isinstance(psi, (int, float)) else ""
    positions, ticks = list(range(len(labels))), [_plotly_text(label) for label in labels]
    bars = [
        {
            "type": "bar",
            "name": name,
            "x": positions,
            "y": values,
            "customdata": ticks,
            "marker": {"color": colour},
            "hovertemplate": f"%{{customdata}}: %{{y:.2%}}<extra>{name}</extra>",
        }
        for name, values, colour in (("reference", reference, COLOURS[0]), ("evaluated", evaluated, COLOURS[1]))
    ]
    layout = _layout(title, x_title, "share of rows", barmode="group", margin={"l": 56, "r": 16, "t": 36, "b": 48},
                     legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},  # above: long ticks below
                     xaxis={"title": {"text": x_title}, "tickmode": "array", "tickvals": positions,
                            "ticktext": [_plotly_text(svg_quality.tick_name(label)) for label in labels],
                            "automargin": True},
                     yaxis={"title": {"text": "share of rows"}, "tickformat": ".0%"})  # fmt: skip
    fallback = svg_quality.grouped_bars(title, labels, [Series("reference", positions, reference),
                                                        Series("evaluated", positions, evaluated)],
                                        x_title, "share of rows")  # fmt: skip
    return Figure(figure_id, title, {"data": bars, "layout": layout}, fallback)


def dtw_alignments(key: str, gate: GateRecord) -> list[Figure | None]:
    """The worst rows' expected and predicted series, worst first, joined by their warping path."""
    kept = [item for item in gate.details.get("worst_series") or [] if isinstance(item, dict)]
    return [_alignment(f"{key}-{gate.name}-aligned-{rank}", rank, item) for rank, item in enumerate(kept, 1)]


def _path(item: dict[str, Any], expected: list[float], predicted: list[float]) -> list[tuple[int, int]]:
    pairs = item.get("path")
    if not isinstance(pairs, list):
        return []
    return [(int(pair[0]), int(pair[1])) for pair in pairs
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(i, int) for i in pair)
            and 0 <= pair[0] < len(expected) and 0 <= pair[1] < len(predicted)]  # fmt: skip


def _alignment_title(rank: int, item: dict[str, Any], step: int) -> str:
    distance, normalised = item.get("distance"), item.get("normalised")
    title = f"#{rank}: row {untrusted(item.get('id'), 60)}"
    title += f", DTW distance {distance:.4g}" if isinstance(distance, (int, float)) else ""
    title += f" (normalised {normalised:.4g})" if isinstance(normalised, (int, float)) else ""
    points = item.get("points")
    if step > 1 and isinstance(points, list) and len(points) == 2:
        title += f"; 1 point in {step} shown, of {points[0]:,} and {points[1]:,}"
    return title


def _alignment(figure_id: str, rank: int, item: dict[str, Any]) -> Figure | None:
    expected, predicted = _numbers(item.get("expected")), _numbers(item.get("predicted"))
    if not expected or not predicted:
        return None
    step = item["step"] if isinstance(item.get("step"), int) and item["step"] > 0 else 1
    title = _alignment_title(rank, item, step)
    x_expected, x_predicted = [i * step for i in range(len(expected))], [j * step for j in range(len(predicted))]
    links = [(i * step, expected[i], j * step, predicted[j]) for i, j in _path(item, expected, predicted)]
    warp = {"type": "scatter", "mode": "lines", "name": "warping path", "hoverinfo": "skip",
            "x": [v for x0, _, x1, _ in links for v in (x0, x1, None)],
            "y": [v for _, y0, _, y1 in links for v in (y0, y1, None)],
            "line": {"color": _GREY, "width": 0.7}}  # fmt: skip
    mode = "lines+markers" if max(len(expected), len(predicted)) <= MARKERS_UP_TO else "lines"
    lines = [{"type": "scatter", "mode": mode, "name": name, "x": x, "y": y, "line": {"color": colour, "width": 1.5},
              "marker": {"size": 4}}
             for name, x, y, colour in (("expected", x_expected, expected, COLOURS[0]),
                                        ("predicted", x_predicted, predicted, COLOURS[1]))]  # fmt: skip
    figure = {"data": [warp, *lines], "layout": _layout(title, "time step", "value")}
    fallback = svg_quality.aligned_series(title, [Series("expected", x_expected, expected),
                                                  Series("predicted", x_predicted, predicted)],
                                          links, "time step", "value")  # fmt: skip
    return Figure(figure_id, title, figure, fallback)


def bertscore_distribution(key: str, gate: GateRecord) -> Figure | None:
    """How many rows scored in each bin, with the gate's threshold (on the mean) dashed."""
    histogram = gate.details.get("histogram")
    edges = _numbers(histogram.get("edges")) if isinstance(histogram, dict) else None
    counts = _numbers(histogram.get("counts")) if isinstance(histogram, dict) else None
    if not edges or counts is None or len(edges) != len(counts) + 1:
        return None
    score = _SCORE_NAMES.get(str(gate.details.get("score")), "score")
    threshold, side = (gate.min, "min") if gate.min is not None else (gate.max, "max")
    title = f"BERTScore {score} of each row"
    title += f" (dashed: the gate's {side} for the mean, {threshold:g})" if threshold is not None else ""
    middles = [(low + high) / 2 for low, high in zip(edges[:-1], edges[1:])]
    widths = [high - low for low, high in zip(edges[:-1], edges[1:])]
    bars = {"type": "bar", "name": score, "x": middles, "y": counts, "width": widths, "marker": {"color": COLOURS[0]},
            "hovertemplate": "%{x:.3f}: %{y} rows<extra></extra>"}  # fmt: skip
    dashed = {"dash": "dash", "color": "#8a93a3", "width": 1}
    shapes = [] if threshold is None else [{"type": "line", "x0": threshold, "x1": threshold, "yref": "paper",
                                            "y0": 0, "y1": 1, "line": dashed}]  # fmt: skip
    layout = _layout(title, f"BERTScore {score}", "rows", showlegend=False, shapes=shapes, bargap=0.05,
                     xaxis={"title": {"text": f"BERTScore {score}"}, "range": [edges[0], edges[-1]]})  # fmt: skip
    fallback = svg_quality.histogram(title, edges, [int(count) for count in counts], f"BERTScore {score}", "rows",
                                     threshold)  # fmt: skip
    return Figure(f"{key}-{gate.name}-scores", title, {"data": [bars], "layout": layout}, fallback)
