"""The load section's charts, from the load result in run.json: each a plotly figure with its static SVG
twin (see :mod:`evalharness.report.figures`).

Against time, every chart spans the same seconds (time zero is the first request, the warm-up is
shaded), so latency, throughput, errors, CPU, memory and GPU line up: a latency heatmap of the
successful requests, p50/p95/p99 per slice, throughput (and the error rate when any request
failed), CPU, memory and each GPU's utilisation, memory and power. Beside them the HDR percentile
curve, the baseline's overlaid when the suite loaded both sides.
"""

from __future__ import annotations

from typing import Any

from evalharness.report import svg_time
from evalharness.report.figures import HEAT_SCALE, Figure, _layout, _line
from evalharness.report.svg_time import TimeSeries

TIME_TITLE = svg_time.TIME_TITLE
MARKED_POINTS = 30
"""Series of at most this many points are drawn with a marker on each (a one-slice run is one point)."""
GPU_METRICS = (("util_percent", "GPU utilisation", "%"), ("memory_mib", "GPU memory used", "MiB"),
               ("power_w", "GPU power", "W"))  # fmt: skip


def time_range(load: dict[str, Any]) -> tuple[float, float]:
    """The seconds every time chart spans: from the first request to the end of the measured window
    (or of the last slice, if later)."""
    duration = float(load.get("duration_s") or 0)
    if load.get("timeline_round"):  # both sides loaded in rounds: the series are one round's
        duration /= max(int((load.get("versus") or {}).get("rounds") or 1), 1)
    end = float(load.get("warmup_s") or 0) + duration
    for entry in load.get("timeline") or []:
        end = max(end, float(entry["second"]) + float(entry.get("width_s") or 1))
    return 0.0, max(end, 1.0)


def _time_layout(title: str, y_title: str, load: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A time chart's layout: the shared x range, the warm-up shaded and labelled."""
    x_range = list(time_range(load))
    layout = _layout(title, TIME_TITLE, y_title, xaxis={"title": {"text": TIME_TITLE}, "range": x_range}, **extra)
    warmup = float(load.get("warmup_s") or 0)
    if warmup > 0:
        layout["shapes"] = [{"type": "rect", "xref": "x", "yref": "paper", "x0": 0, "x1": warmup, "y0": 0, "y1": 1,
                             "fillcolor": "#e8edf5", "opacity": 0.6, "line": {"width": 0},
                             "layer": "below"}]  # fmt: skip
        layout["annotations"] = [{"x": 0, "xref": "x", "xanchor": "left", "y": 1, "yref": "paper", "yanchor": "top",
                                  "text": "warm-up", "showarrow": False,
                                  "font": {"size": 11, "color": "#5d6778"}}]  # fmt: skip
    return layout


def _band(load: dict[str, Any]) -> tuple[float, float] | None:
    warmup = float(load.get("warmup_s") or 0)
    return (0.0, warmup) if warmup > 0 else None


def _time_figure(key: str, title: str, y_title: str, load: dict[str, Any], series: list[TimeSeries]) -> Figure | None:
    """Lines against time, in plotly and SVG alike; None when no series has a value."""
    present = [line for line in series if any(value is not None for value in line.values)]
    if not present:
        return None
    mode = "lines+markers" if len(present[0].t) <= MARKED_POINTS else "lines"  # a short run: each point visible
    data = [_line(line.label, list(line.t), list(line.values), connectgaps=False, mode=mode) for line in present]
    layout = _time_layout(title, y_title, load, yaxis={"title": {"text": y_title}, "rangemode": "tozero"},
                          showlegend=True)  # fmt: skip
    fallback = svg_time.time_chart(title, present, y_title, time_range(load), _band(load))
    return Figure(key, title, {"data": data, "layout": layout}, fallback)


def _middles(load: dict[str, Any]) -> list[float]:
    """Each timeline slice's middle, in seconds since the first request."""
    return [float(entry["second"]) + float(entry.get("width_s") or 1) / 2 for entry in load.get("timeline") or []]


def latency_heatmap(key: str, load: dict[str, Any]) -> Figure | None:
    """Successful requests per time slice and latency bucket (log-spaced), darker where more landed."""
    heatmap = load.get("latency_heatmap")
    if not heatmap or not heatmap.get("counts"):
        return None
    edges, width = heatmap["edges_ms"], float(load.get("timeline_slice_s") or 1)
    starts = [float(second) for second in heatmap["seconds"]]
    title = f"Latency heatmap: successful requests per {width:g} s and latency bucket"
    rows = [[row[bucket] or None for row in heatmap["counts"]] for bucket in range(len(edges) - 1)]  # bucket-major
    y_title = "latency (ms, log scale)"
    figure = {
        "data": [{"type": "heatmap", "x": [start + width / 2 for start in starts], "y": edges, "z": rows,
                  "colorscale": HEAT_SCALE, "colorbar": {"title": {"text": "requests"}}, "xgap": 1,
                  "hovertemplate": "%{x} s, about %{y:.3g} ms: %{z} requests<extra></extra>"}],
        "layout": _time_layout(title, y_title, load, yaxis={"title": {"text": y_title}, "type": "log"}),
    }  # fmt: skip
    fallback = svg_time.time_heatmap(title, starts, width, edges, heatmap["counts"], time_range(load), "latency (ms)",
                                     _band(load))  # fmt: skip
    return Figure(f"{key}-load-heatmap", title, figure, fallback)


def percentiles_over_time(key: str, load: dict[str, Any]) -> Figure | None:
    """p50, p95 and p99 of each slice's successful requests."""
    timeline, t = load.get("timeline") or [], _middles(load)
    series = [TimeSeries(name, t, [entry.get(f"{name}_ms") for entry in timeline]) for name in ("p50", "p95", "p99")]
    return _time_figure(f"{key}-load-percentiles", "Latency percentiles over time", "latency (ms)", load, series)


def throughput(key: str, load: dict[str, Any]) -> Figure | None:
    """Requests finished per second, and of those the errors, per slice."""
    timeline, t = load.get("timeline") or [], _middles(load)
    width = [float(entry.get("width_s") or 1) for entry in timeline]
    errors = sum(int(entry.get("errors") or 0) for entry in timeline)
    title = "Throughput" + ("" if errors else " (no request failed)")
    series = [TimeSeries("finished", t, [entry["completed"] / w for entry, w in zip(timeline, width)]),
              TimeSeries("errors", t, [entry["errors"] / w for entry, w in zip(timeline, width)])]  # fmt: skip
    return _time_figure(f"{key}-load-throughput", title, "requests per second", load, series)


def error_rate(key: str, load: dict[str, Any]) -> Figure | None:
    """The share of each slice's finished requests that failed, in percent (only when any did)."""
    timeline, t = load.get("timeline") or [], _middles(load)
    if not any(entry.get("errors") for entry in timeline):
        return None
    rates = [100 * entry["errors"] / entry["completed"] if entry.get("completed") else None for entry in timeline]
    return _time_figure(f"{key}-load-errors", "Error rate over time", "failed requests (%)", load,
                        [TimeSeries("error rate", t, rates)])  # fmt: skip


def _resource_times(load: dict[str, Any]) -> tuple[list[float], str]:
    """The resource samples' times on the run's axis, and a note when they could not be aligned."""
    resources = load.get("resources") or {}
    aligned = resources.get("t_run_s")
    if aligned is not None:
        return [float(t) for t in aligned], ""
    return [float(t) for t in (resources.get("series") or {}).get("t_s") or []], " (sampler's own clock)"


def resource_figures(key: str, load: dict[str, Any]) -> list[Figure]:
    """CPU, resident memory and each GPU's utilisation, memory and power, on the same time axis."""
    series = (load.get("resources") or {}).get("series") or {}
    t, note = _resource_times(load)
    cpu = [TimeSeries(label, t, series.get(name) or []) for label, name in (
        ("system (share of all cores)", "system_cpu_percent"), ("server", "target_cpu_percent"),
        ("load generator", "generator_cpu_percent"))]  # fmt: skip
    memory = [TimeSeries(label, t, series.get(name) or [])
              for label, name in (("server", "target_rss_mib"), ("load generator", "generator_rss_mib"))]  # fmt: skip
    built = [_time_figure(f"{key}-load-cpu", f"CPU (100 % is one core){note}", "CPU (%)", load, cpu),
             _time_figure(f"{key}-load-memory", f"Resident memory{note}", "memory (MiB)", load, memory)]  # fmt: skip
    samples = series.get("gpus") or []
    count = max((len(sample) for sample in samples), default=0)
    for metric, title, unit in GPU_METRICS:
        lines = [TimeSeries(f"GPU {gpu}", t, [sample[gpu].get(metric) if gpu < len(sample) else None
                                               for sample in samples]) for gpu in range(count)]  # fmt: skip
        built.append(_time_figure(f"{key}-load-gpu-{metric}", f"{title}{note}", f"{title} ({unit})", load, lines))
    return [figure for figure in built if figure is not None]


def _hdr_axis(curves: list[list[dict[str, float]]]) -> float:
    """Where every curve's maximum sits on the HDR axis: a decade beyond the highest finite percentile."""
    finite = [svg_time.tail_position(point["percentile"], 1.0) for curve in curves for point in curve
              if point["percentile"] < 100]  # fmt: skip
    return max(finite, default=1.0) * 10


def percentile_curve(key: str, load: dict[str, Any]) -> Figure | None:
    """The HDR percentile curve of the run's latency (and the baseline's, when both sides were loaded)."""
    curves = [("this build" if load.get("versus") else "latency", load.get("latency_curve") or [])]
    baseline = (load.get("versus") or {}).get("baseline_latency_curve")
    if baseline:
        curves.append(("baseline", baseline))
    curves = [(label, curve) for label, curve in curves if curve]
    if not curves:
        return None
    max_at = _hdr_axis([curve for _, curve in curves])
    series = [TimeSeries(label, [svg_time.tail_position(point["percentile"], max_at / 10) for point in curve],
                         [point["ms"] for point in curve]) for label, curve in curves]  # fmt: skip
    title = "Latency by percentile (HDR)" + (", this build against the baseline" if baseline else "")
    ticks = [(position, label) for position, label in svg_time.PERCENTILE_TICKS if position <= max_at / 3]
    ticks.append((max_at, "max"))
    data = [_line(line.label, list(line.t), list(line.values), mode="lines+markers",
                  hovertemplate="%{text}: %{y} ms<extra>" + line.label + "</extra>",
                  text=[_percentile_text(point["percentile"]) for point in curve])
            for line, (_, curve) in zip(series, curves)]  # fmt: skip
    x_axis = {"title": {"text": "percentile"}, "type": "log", "tickvals": [p for p, _ in ticks],
              "ticktext": [label for _, label in ticks]}  # fmt: skip
    layout = _layout(title, "percentile", "latency (ms)", xaxis=x_axis,
                     yaxis={"title": {"text": "latency (ms)"}, "rangemode": "tozero"})  # fmt: skip
    fallback = svg_time.percentile_chart(title, series, "latency (ms)", max_at)
    return Figure(f"{key}-load-hdr", title, {"data": data, "layout": layout}, fallback)


def _percentile_text(percentile: float) -> str:
    return "max" if percentile >= 100 else f"p{percentile:g}"


def load_figures(index: int, load: dict[str, Any] | None) -> list[Figure]:
    """Every load chart the result supports, in reading order (empty without a load result)."""
    if not load:
        return []
    key = f"s{index}"
    built = [latency_heatmap(key, load), percentiles_over_time(key, load), percentile_curve(key, load),
             throughput(key, load), error_rate(key, load)]  # fmt: skip
    return [figure for figure in built if figure is not None] + resource_figures(key, load)
