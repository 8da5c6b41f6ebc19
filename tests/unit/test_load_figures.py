"""The load section's charts: plotly figures and their SVG twins on one time axis, from a load result
as summarise() writes it (and from an older one, without slices' percentiles or aligned clocks)."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from evalharness.record import SuiteRecord
from evalharness.report.load_figures import load_figures, time_range
from evalharness.report.render import render_html
from evalharness.report.svg_time import nice_ceiling, tail_position
from tests.unit.test_reports import _record


def load_section(gpus: int = 0, errors: int = 1) -> dict[str, Any]:
    """A load result as summarise() writes it, trimmed to what the report reads."""
    gpu_sample = [
        {"util_percent": 40.0 + g, "memory_mib": 1000.0, "power_w": 80.0, "energy_j": 1.0} for g in range(gpus)
    ]
    return {
        "model": "open", "arrival": "poisson", "rate": 100, "duration_s": 3, "warmup_s": 1, "processes": 2,
        "launch": "master_worker", "valid": True, "requests": {"sent": 300, "ok": 300 - errors, "http_error": errors},
        "latency_ms": {"p50": 1.0, "p90": 2.0, "p95": 3.0, "p99": 4.0, "p999": 5.0, "max": 250.0, "count": 299},
        "qps": 99.7, "generator": [{"worker_index": 0, "cpu_share": 0.1}], "timeline_slice_s": 1,
        "timeline": [
            {"second": 1, "width_s": 1, "completed": 100, "errors": 0, "max_ms": 4.0, "p50_ms": 1.0, "p95_ms": 3.0,
             "p99_ms": 4.0},
            {"second": 2, "width_s": 1, "completed": 100, "errors": errors, "max_ms": 250.0, "p50_ms": 1.1,
             "p95_ms": 90.0, "p99_ms": 240.0},
            {"second": 3, "width_s": 1, "completed": 100, "errors": 0, "max_ms": 5.0, "p50_ms": 0.9, "p95_ms": 3.5,
             "p99_ms": 4.5},
        ],
        "latency_heatmap": {"seconds": [1, 2, 3], "edges_ms": [0.75, 1.0, 1.334, 100.0, 133.4, 177.8, 237.1, 316.2],
                            "counts": [[40, 58, 2, 0, 0, 0, 0], [30, 60, 0, 5, 0, 0, 5 - errors],
                                       [45, 55, 0, 0, 0, 0, 0]]},
        "latency_curve": [{"percentile": 0.0, "ms": 0.8}, {"percentile": 50.0, "ms": 1.0},
                          {"percentile": 90.0, "ms": 2.0}, {"percentile": 99.0, "ms": 4.0},
                          {"percentile": 100.0, "ms": 250.0}],
        "resources": {"interval_s": 0.5, "gpu_count": gpus, "started_epoch": 99.0, "t_run_s": [-0.5, 0.5, 2.0, 5.5],
                      "series": {
            "t_s": [0.5, 1.5, 3.0, 6.5], "system_cpu_percent": [10.0, 30.0, 20.0, 5.0],
            "system_memory_percent": [50, 50, 50, 50], "target_cpu_percent": [None, 55.0, 60.0, 1.0],
            "target_rss_mib": [None, 120.0, 121.0, 121.0], "generator_cpu_percent": [5.0, 15.0, 12.0, 1.0],
            "generator_rss_mib": [40.0, 41.0, 41.5, 41.5], "gpus": [gpu_sample] * 4,
        }},
    }  # fmt: skip


def _by_id(figures: list[Any]) -> dict[str, Any]:
    return {figure.id.removeprefix("s1-load-"): figure for figure in figures}


def test_every_time_chart_spans_the_same_seconds_with_the_warm_up_shaded() -> None:
    figures = _by_id(load_figures(1, load_section(gpus=1)))
    assert list(figures) == ["heatmap", "percentiles", "hdr", "throughput", "errors", "cpu", "memory",
                             "gpu-util_percent", "gpu-memory_mib", "gpu-power_w"]  # fmt: skip
    assert time_range(load_section()) == (0.0, 4.0)  # warm-up 1 s + 3 s measured
    timed = [figure for name, figure in figures.items() if name != "hdr"]
    for figure in timed:
        layout = figure.plotly["layout"]
        assert layout["xaxis"]["range"] == [0.0, 4.0], figure.id
        assert layout["shapes"][0]["x0"] == 0 and layout["shapes"][0]["x1"] == 1.0  # the warm-up band
        assert 'class="band"' in figure.svg and "warm-up" in figure.svg
        assert "time since the first request (s)" in figure.svg
        assert figure.plotly["layout"]["yaxis"]["title"]["text"]  # every axis names its unit


def test_series_carry_the_records_numbers_and_resources_outside_the_run_are_not_drawn() -> None:
    figures = _by_id(load_figures(1, load_section()))
    p50, p95, p99 = figures["percentiles"].plotly["data"]
    assert p99["x"] == [1.5, 2.5, 3.5] and p99["y"] == [4.0, 240.0, 4.5] and p50["name"] == "p50"
    finished, errors = figures["throughput"].plotly["data"]
    assert finished["y"] == [100.0, 100.0, 100.0] and errors["y"] == [0.0, 1.0, 0.0]
    assert figures["errors"].plotly["data"][0]["y"] == [0.0, 1.0, 0.0]  # percent of each slice's requests
    cpu = figures["cpu"].plotly["data"]
    assert cpu[0]["x"] == [-0.5, 0.5, 2.0, 5.5]  # plotly clips to the shared range itself
    # the SVG twin leaves out the samples outside 0-4 s: 2 of 4 points per CPU line (server: None at 0.5 s)
    lines = re.findall(r'<polyline class="line series-\d" points="([^"]*)"', figures["cpu"].svg)
    assert [len(points.split()) for points in lines] == [2, 2, 2]


def test_no_error_rate_chart_when_nothing_failed() -> None:
    figures = _by_id(load_figures(1, load_section(errors=0)))
    assert "errors" not in figures and figures["throughput"].title == "Throughput (no request failed)"


def test_the_heatmap_is_bucket_major_with_empty_cells_blank() -> None:
    figure = _by_id(load_figures(1, load_section()))["heatmap"]
    trace = figure.plotly["data"][0]
    assert trace["x"] == [1.5, 2.5, 3.5] and trace["y"] == load_section()["latency_heatmap"]["edges_ms"]  # bricks
    assert figure.plotly["layout"]["yaxis"]["type"] == "log"
    assert trace["z"][0] == [40, 30, 45] and trace["z"][2] == [2, None, None]
    assert figure.svg.count("<rect class=\"heat-") == sum(1 for row in load_section()["latency_heatmap"]["counts"]
                                                         for count in row if count)  # fmt: skip
    assert "2 s, 100-133 ms: 5" in figure.svg  # each cell's tooltip


def test_the_hdr_curve_places_percentiles_on_a_log_axis_and_the_maximum_a_decade_beyond() -> None:
    figure = _by_id(load_figures(1, load_section()))["hdr"]
    trace = figure.plotly["data"][0]
    assert trace["x"] == [1.0, 2.0, pytest.approx(10.0), pytest.approx(100.0), pytest.approx(1000.0)]
    assert trace["y"] == [0.8, 1.0, 2.0, 4.0, 250.0] and trace["text"][-1] == "max"
    axis = figure.plotly["layout"]["xaxis"]
    assert axis["type"] == "log" and axis["ticktext"][-1] == "max" and axis["tickvals"][-1] == pytest.approx(1000.0)
    assert "99.9%" not in axis["ticktext"]  # it would sit on top of "max"
    assert tail_position(99.9, 1.0) == pytest.approx(1000.0) and tail_position(100.0, 100.0) == 1000.0


def test_the_baseline_curve_is_overlaid_when_both_sides_were_loaded() -> None:
    load = load_section()
    load["versus"] = {"rounds": 2, "baseline_latency_curve": [{"percentile": 0.0, "ms": 1.5},
                                                              {"percentile": 99.9, "ms": 9.0},
                                                              {"percentile": 100.0, "ms": 12.0}]}  # fmt: skip
    figure = _by_id(load_figures(1, load))["hdr"]
    assert time_range(load) == (0.0, 4.0)  # no timeline_round: the whole run's seconds
    assert time_range({**load, "timeline_round": 1, "duration_s": 6, "timeline": []}) == (0.0, 4.0)  # 1 s + 6 s / 2
    ours, baseline = figure.plotly["data"]
    assert (ours["name"], baseline["name"]) == ("this build", "baseline")
    assert baseline["x"][-1] == pytest.approx(10_000.0) and ours["x"][-1] == pytest.approx(10_000.0)  # one max
    assert "against the baseline" in figure.title and figure.svg.count("<polyline") == 2


def test_an_older_record_still_draws_what_it_holds() -> None:
    load = load_section()
    for key in ("latency_heatmap", "latency_curve", "timeline_slice_s"):
        del load[key]
    del load["resources"]["t_run_s"]
    for entry in load["timeline"]:
        for key in ("width_s", "p50_ms", "p95_ms", "p99_ms"):
            del entry[key]
    figures = _by_id(load_figures(1, load))
    assert list(figures) == ["throughput", "errors", "cpu", "memory"]
    assert figures["cpu"].title.endswith("(sampler's own clock)")
    assert load_figures(1, None) == [] and load_figures(1, {}) == []


@pytest.mark.parametrize("gpus", [0, 1])
def test_the_report_draws_each_load_chart_once_with_its_twin(gpus: int) -> None:
    record = _record()
    suite: SuiteRecord = record.suites[0]
    suite.load = load_section(gpus)
    html = render_html(record)
    figures = load_figures(1, suite.load)
    assert len(figures) == 7 + 3 * gpus
    for figure in figures:
        assert html.count(f'id="figure-{figure.id}"') == 1 and html.count(f'id="data-{figure.id}"') == 1
    assert "every chart spans the same seconds" in html
    points = re.findall(r'points="([^"]*)"', html)
    assert all(re.fullmatch(r"-?[0-9.]+,-?[0-9.]+( -?[0-9.]+,-?[0-9.]+)*", p) for p in points)


def test_nice_ceiling_rounds_up_to_one_two_or_five() -> None:
    assert [nice_ceiling(v) for v in (0, 0.7, 1, 1.2, 3, 7, 120, 250.0, math.inf)] == [1, 1, 1, 2, 5, 10, 200, 500, 1]
    quarters = (1, 2, 4, 6, 8)  # the bar charts' axes: quarters of 4, 6 and 8 are round
    assert [nice_ceiling(v, quarters) for v in (0, 3, 5, 7, 9, 0.05)] == [1, 4, 6, 8, 10, 0.06]


def test_a_one_slice_run_still_shows_its_point() -> None:
    load = load_section()
    load["timeline"] = load["timeline"][:1]
    figure = _by_id(load_figures(1, load))["percentiles"]
    assert {trace["mode"] for trace in figure.plotly["data"]} == {"lines+markers"}
    assert figure.svg.count('<circle class="dot series-') == 3  # p50, p95, p99: one lone sample each
