"""The HTML report's charts, from the record alone: each one a plotly figure (data and layout as plain
JSON, drawn by plotly.js where scripts run) and its static SVG twin (shown where they cannot).

Classifier charts for now: ROC with the AUC interval, precision-recall, calibration, the score
distribution of each class and the confusion matrix. Colours are a colour-blind-safe blue and
orange, never red against green alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evalharness.metrics.stats import wilson_interval
from evalharness.record import GateRecord, SuiteRecord
from evalharness.report import svg
from evalharness.report.text import format_interval
from evalharness.untrusted import untrusted

COLOURS = ("#2563eb", "#d97706", "#059669", "#7c3aed")
HEAT_SCALE = [[0.0, "#f1f5fd"], [0.5, "#3b78e7"], [1.0, "#1d3a8a"]]
"""Light to dark blue, more is darker, like the SVG twins' heat classes (plotly's own "Blues" runs the other way)."""


@dataclass(frozen=True)
class Figure:
    """One chart: a stable id, its title, the plotly figure and the SVG fallback."""

    id: str
    title: str
    plotly: dict[str, Any]
    svg: str


def _plotly_text(value: object) -> str:
    """A label from the data as plotly text: one safe line, its ``<`` and ``>`` as entities, so plotly's
    pseudo-HTML (``<b>``, ``<a href>``) reads none of it as markup and shows it as written."""
    return untrusted(value, 60).replace("<", "&lt;").replace(">", "&gt;")


def _layout(title: str, x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    return {
        "margin": {"l": 56, "r": 16, "t": 28, "b": 48},  # the title is the figure's caption, shown in both modes
        "xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}},
        "legend": {"orientation": "h", "y": -0.25}, "height": 320, "colorway": list(COLOURS), **extra,
    }  # fmt: skip


def _line(name: str, x: Sequence[float], y: Sequence[float | None], **extra: Any) -> dict[str, Any]:
    return {"type": "scatter", "mode": "lines", "name": name, "x": x, "y": y, **extra}


def _diagonal(name: str) -> dict[str, Any]:
    return _line(name, [0, 1], [0, 1], line={"dash": "dash", "color": "#8a93a3", "width": 1}, hoverinfo="skip")


def _auc_text(suite: SuiteRecord) -> str:
    gate = next((gate for gate in suite.gates if gate.metric == "auc" and gate.value is not None), None)
    if gate is None:
        return ""
    return f" (AUC {gate.value:.4f}, {round(gate.confidence * 100)}% CI {format_interval(gate.interval)})"


def roc(key: str, suite: SuiteRecord, curves: dict[str, Any]) -> Figure:
    """The ROC curve, with the AUC gate's value and interval in the title when the suite gates AUC."""
    points = curves["roc"]
    title = f"ROC{_auc_text(suite)}"
    figure = {"data": [_line("ROC", points["fpr"], points["tpr"]), _diagonal("chance")],
              "layout": _layout(title, "false positive rate", "true positive rate",
                                xaxis={"title": {"text": "false positive rate"}, "range": [0, 1]},
                                yaxis={"title": {"text": "true positive rate"}, "range": [0, 1.02]})}  # fmt: skip
    fallback = svg.line_chart(title, [svg.Series("ROC", points["fpr"], points["tpr"])], "false positive rate",
                              "true positive rate", diagonal=True)  # fmt: skip
    return Figure(f"{key}-roc", title, figure, fallback)


def precision_recall(key: str, suite: SuiteRecord, curves: dict[str, Any]) -> Figure:
    """Precision against recall, with the positive rate as the no-skill line."""
    points, base = curves["pr"], curves["positives"] / max(curves["rows"], 1)
    title = "Precision-recall"
    chance = _line(f"no skill ({base:.3f})", [0, 1], [base, base],
                   line={"dash": "dash", "color": "#8a93a3", "width": 1})  # fmt: skip
    figure = {
        "data": [_line("precision-recall", points["recall"], points["precision"]), chance],
        "layout": _layout(title, "recall", "precision", yaxis={"title": {"text": "precision"}, "range": [0, 1.02]}),
    }
    fallback = svg.line_chart(title, [svg.Series("precision", points["recall"], points["precision"]),
                                      svg.Series("no skill", [0, 1], [base, base])], "recall", "precision")  # fmt: skip
    return Figure(f"{key}-pr", title, figure, fallback)


def reliability(key: str, suite: SuiteRecord, curves: dict[str, Any]) -> Figure:
    """Observed positive rate against the mean predicted probability, per tenth of [0, 1]."""
    points = curves["calibration"]
    title = "Calibration (reliability)"
    hover = [f"{count} rows" for count in points["count"]]
    figure = {"data": [_line("model", points["predicted"], points["observed"], mode="lines+markers", text=hover),
                       _diagonal("perfectly calibrated")],
              "layout": _layout(title, "mean predicted probability", "observed positive rate",
                                xaxis={"title": {"text": "mean predicted probability"}, "range": [0, 1]},
                                yaxis={"title": {"text": "observed positive rate"}, "range": [0, 1.02]})}  # fmt: skip
    fallback = svg.line_chart(title, [svg.Series("model", points["predicted"], points["observed"])],
                              "mean predicted probability", "observed positive rate", diagonal=True)  # fmt: skip
    return Figure(f"{key}-calibration", title, figure, fallback)


def score_distribution(key: str, suite: SuiteRecord, curves: dict[str, Any]) -> Figure:
    """How the scores of positive and negative rows spread over [0, 1]."""
    bins, positive = curves["scores"], _plotly_text(curves["positive_label"])
    middles = [(low + high) / 2 for low, high in zip(bins["edges"][:-1], bins["edges"][1:])]
    title = "Score distribution by class"
    names = (f"expected {positive} (positive)", "expected other (negative)")
    raw = (f"expected {untrusted(curves['positive_label'], 60)} (positive)", names[1])  # the SVG escapes its own
    figure = {
        "data": [
            {"type": "bar", "name": names[0], "x": middles, "y": bins["positive"], "opacity": 0.75},
            {"type": "bar", "name": names[1], "x": middles, "y": bins["negative"], "opacity": 0.75},
        ],
        "layout": _layout(title, "score (probability of the positive class)", "rows", barmode="overlay"),
    }
    fallback = svg.bar_chart(title, bins["edges"], [svg.Series(raw[0], middles, bins["positive"]),
                                                    svg.Series(raw[1], middles, bins["negative"])],
                             "score", "rows")  # fmt: skip
    return Figure(f"{key}-scores", title, figure, fallback)


def confusion(key: str, suite: SuiteRecord) -> Figure | None:
    """The confusion matrix as a labelled heatmap: expected down, predicted across."""
    matrix = suite.confusion_matrix
    if not matrix or not matrix.get("labels"):
        return None
    labels = [str(label) for label in matrix["labels"]]
    shown = [_plotly_text(label) for label in labels]
    counts, columns = matrix["matrix"], labels
    if matrix.get("no_answer"):  # rows whose request failed or whose answer could not be parsed
        counts = [[*row, missing] for row, missing in zip(counts, matrix["no_answer"])]
        columns = [*labels, "(no answer)"]
    title = "Confusion matrix"
    across = [_plotly_text(label) for label in columns]
    figure = {"data": [{"type": "heatmap", "z": counts, "x": across, "y": shown, "colorscale": HEAT_SCALE,
                        "text": counts, "texttemplate": "%{text}", "hovertemplate": "expected %{y}, predicted %{x}: "
                        "%{z} rows<extra></extra>"}],
              "layout": _layout(title, "predicted", "expected",
                                xaxis={"title": {"text": "predicted"}, "type": "category"},
                                yaxis={"title": {"text": "expected"}, "type": "category",
                                       "autorange": "reversed"})}  # fmt: skip
    fallback = svg.heatmap(title, counts, labels, "predicted", "expected", columns)
    return Figure(f"{key}-confusion", title, figure, fallback)


def has_suite_figures(suite: SuiteRecord) -> bool:
    """Whether :func:`suite_figures` draws anything, without drawing it (for the contents)."""
    return bool(suite.curves) or bool(suite.confusion_matrix and suite.confusion_matrix.get("labels"))


def suite_figures(index: int, suite: SuiteRecord) -> list[Figure]:
    """Every chart the suite's record supports, in reading order."""
    key = f"s{index}"
    figures = [figure for figure in [confusion(key, suite)] if figure is not None]
    if suite.curves:
        curves = suite.curves
        figures = [roc(key, suite, curves), precision_recall(key, suite, curves),
                   score_distribution(key, suite, curves), reliability(key, suite, curves), *figures]  # fmt: skip
    return figures


def _bars(name: str, labels: list[str], values: list[float],
          intervals: list[tuple[float, float] | None] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """One horizontal bar per label, with its interval as an error bar."""
    bar: dict[str, Any] = {"type": "bar", "orientation": "h", "name": name, "y": [_plotly_text(v) for v in labels],
                           "x": values, "hovertemplate": "%{y}: %{x:.4f}<extra></extra>"}  # fmt: skip
    if intervals:
        high = [(pair[1] - value) if pair else 0 for pair, value in zip(intervals, values)]
        low = [(value - pair[0]) if pair else 0 for pair, value in zip(intervals, values)]
        bar["error_x"] = {"type": "data", "symmetric": False, "array": high, "arrayminus": low}
    return [bar]


def _bar_layout(title: str, x_title: str, rows: int, x_range: list[float] | None = None,
                threshold: float | None = None) -> dict[str, Any]:  # fmt: skip
    xaxis: dict[str, Any] = {"title": {"text": x_title}, **({"range": x_range} if x_range else {})}
    dashed = {"dash": "dash", "color": "#8a93a3", "width": 1}
    shapes = (
        []
        if threshold is None
        else [{"type": "line", "x0": threshold, "x1": threshold, "yref": "paper", "y0": 0, "y1": 1, "line": dashed}]
    )
    return _layout(title, x_title, "", xaxis=xaxis, yaxis={"automargin": True, "autorange": "reversed"},
                   height=max(240, 60 + 28 * rows), showlegend=False, shapes=shapes)  # fmt: skip


def consistency_rules(key: str, gate: GateRecord) -> Figure | None:
    """The share of applicable rows each rule holds on, with its Wilson interval, against the gate's min."""
    rules = [rule for rule in gate.details.get("rules") or [] if isinstance(rule, dict) and rule.get("applicable")]
    if not rules:
        return None
    names = [str(rule.get("name")) for rule in rules]
    rates = [float(rule.get("rate") or 0.0) for rule in rules]
    intervals = [wilson_interval(round(rate * rule["applicable"]), int(rule["applicable"]), gate.confidence)
                 for rate, rule in zip(rates, rules)]  # fmt: skip
    title = f"Rate each rule holds, {round(gate.confidence * 100)}% Wilson intervals (dashed: the gate's min)"
    low = min([pair[0] for pair in intervals if pair] + rates + [gate.min or 1.0])
    x_range = [max(0.0, low - 0.02), 1.0]
    figure = {
        "data": _bars("rate", names, rates, intervals),
        "layout": _bar_layout(title, "rate", len(names), x_range, gate.min),
    }
    fallback = svg.hbar_chart(title, names, rates, "rate", intervals, gate.min, (x_range[0], 1.0))
    return Figure(f"{key}-{gate.name}-rules", title, figure, fallback)


def robustness_recipes(key: str, gate: GateRecord) -> Figure | None:
    """The quality under each perturbation, against the clean quality."""
    variants = [item for item in gate.details.get("variants") or [] if isinstance(item, dict)]
    if not variants:
        return None
    names = [str(item.get("name")) for item in variants]
    values = [float(item.get("quality") or 0.0) for item in variants]
    quality, clean = str(gate.details.get("quality", "quality")), gate.details.get("clean_quality")
    reference = float(clean) if isinstance(clean, (int, float)) else None
    title = f"{quality.capitalize()} under each perturbation"
    title += f" (dashed: clean, {reference:.4f})" if reference is not None else ""
    figure = {
        "data": _bars(quality, names, values),
        "layout": _bar_layout(title, quality, len(names), [0, 1], reference),
    }
    fallback = svg.hbar_chart(title, names, values, quality, None, reference, (0.0, 1.0))
    return Figure(f"{key}-{gate.name}-recipes", title, figure, fallback)


def drift_columns(key: str, gate: GateRecord) -> Figure | None:
    """PSI per column, highest first, against the gate's max."""
    columns = sorted((item for item in gate.details.get("columns") or [] if isinstance(item, dict)),
                     key=lambda item: -(item.get("psi") or 0.0))  # fmt: skip
    if not columns:
        return None
    names = [str(item.get("column")) for item in columns]
    values = [float(item.get("psi") or 0.0) for item in columns]
    title = "Population stability index per column, highest first (dashed: the gate's max)"
    figure = {"data": _bars("PSI", names, values), "layout": _bar_layout(title, "PSI", len(names), None, gate.max)}
    return Figure(f"{key}-{gate.name}-psi", title, figure, svg.hbar_chart(title, names, values, "PSI", None, gate.max))


def gate_figures(index: int, gate: GateRecord) -> list[Figure]:
    """The charts of one gate's own numbers: rules, perturbation recipes, drifting columns (PSI, then the
    distributions of the worst), the worst DTW alignments, the BERTScore histogram."""
    from evalharness.report.quality_figures import gate_quality_figures  # it builds on this module's Figure

    key = f"s{index}"
    built = [consistency_rules(key, gate), robustness_recipes(key, gate), drift_columns(key, gate)]
    return [figure for figure in built if figure is not None] + gate_quality_figures(key, gate)
