"""Load-run charts for the HTML report: inline SVG geometry, checked point by point."""

from __future__ import annotations

import re
from typing import Any

import pytest

from evalharness.record import SuiteRecord
from evalharness.report.charts import HEIGHT, WIDTH, _nice_ceiling, line_chart, load_charts
from evalharness.report.render import render_html
from tests.unit.test_reports import _record


def load_section(gpus: int = 0) -> dict[str, Any]:
    """A load result as summarise() writes it, trimmed to what the report reads."""
    gpu_sample = [
        {"util_percent": 40.0 + g, "memory_mib": 1000.0, "power_w": 80.0, "energy_j": 1.0} for g in range(gpus)
    ]
    return {
        "model": "open", "arrival": "poisson", "rate": 100, "duration_s": 3, "warmup_s": 1, "processes": 2,
        "launch": "master_worker", "valid": True, "requests": {"sent": 300, "ok": 299, "http_error": 1},
        "latency_ms": {"p50": 1.0, "p90": 2.0, "p95": 3.0, "p99": 4.0, "p999": 5.0, "max": 6.0, "count": 299},
        "qps": 99.7, "generator": [{"worker_index": 0, "cpu_share": 0.1}],
        "timeline": [{"second": 1, "completed": 100, "errors": 0, "max_ms": 4.0},
                     {"second": 2, "completed": 99, "errors": 1, "max_ms": 250.0},
                     {"second": 3, "completed": 100, "errors": 0, "max_ms": 5.0}],
        "resources": {"interval_s": 0.5, "gpu_count": gpus, "series": {
            "t_s": [0.0, 0.5, 1.0], "system_cpu_percent": [10.0, 30.0, 20.0], "system_memory_percent": [50, 50, 50],
            "target_cpu_percent": [None, 55.0, 60.0], "target_rss_mib": [None, 120.0, 121.0],
            "generator_cpu_percent": [5.0, 15.0, 12.0], "generator_rss_mib": [40.0, 41.0, 41.5],
            "gpus": [gpu_sample] * 3,
        }},
    }  # fmt: skip


def test_nice_ceiling_rounds_up_to_one_two_or_five() -> None:
    assert [_nice_ceiling(v) for v in (0, 0.7, 1, 1.2, 3, 7, 120, 250.0)] == [1, 1, 1, 2, 5, 10, 200, 500]


def test_line_chart_scales_values_into_the_view_box_and_skips_missing_samples() -> None:
    chart = line_chart("t", "ms", [1, 2, 4], {"a": [0, 50, None], "b": [None, None, None], "c": [25, 25, 25]})
    assert chart is not None and chart.y_max == 50 and chart.x_max == 4
    assert [line.label for line in chart.lines] == ["a", "c"]  # b has no sample
    a, c = chart.lines
    assert a.points == f"{WIDTH / 4:.1f},{HEIGHT:.1f} {WIDTH / 2:.1f},0.0" and a.peak == 50
    assert c.points == f"{WIDTH / 4:.1f},80.0 {WIDTH / 2:.1f},80.0 {WIDTH:.1f},80.0"
    assert line_chart("t", "ms", [], {"a": []}) is None
    assert line_chart("t", "ms", [1], {"a": [None]}) is None


def test_load_charts_cover_throughput_latency_cpu_memory_and_each_gpu() -> None:
    without_gpu = load_charts(load_section())
    assert [chart.title.split(" (")[0] for chart in without_gpu] == [
        "Requests finished per second", "Slowest request per second", "CPU", "Resident memory"]  # fmt: skip
    throughput = without_gpu[0]
    assert [line.label for line in throughput.lines] == ["completed", "errors"] and throughput.y_max == 100
    assert without_gpu[1].lines[0].peak == 250.0 and without_gpu[1].y_max == 500
    with_gpus = load_charts(load_section(gpus=2))
    titles = [chart.title for chart in with_gpus]
    assert titles[-3:] == ["GPU utilisation", "GPU memory used", "GPU power"]
    assert [line.label for line in with_gpus[-3].lines] == ["GPU 0", "GPU 1"] and with_gpus[-3].lines[1].peak == 41.0
    assert load_charts(None) == [] and load_charts({}) == []


@pytest.mark.parametrize("gpus", [0, 1])
def test_report_draws_the_charts_as_inline_svg_without_scripts(gpus: int) -> None:
    record = _record()
    suite: SuiteRecord = record.suites[0]
    suite.load = load_section(gpus)
    html = render_html(record)
    charts = load_charts(suite.load)
    static = html.count('class="static-chart"')  # the classifier charts' SVG twins, drawn beside the load charts
    assert html.count("<svg ") - static == len(charts) == 4 + 3 * gpus
    assert html.count("<polyline ") == sum(len(chart.lines) for chart in charts)  # the heatmap twin draws none
    own = (
        '<script src="plotly.min.js"></script>',
        '<script src="report.js"></script>',
        '<script type="application/json"',
    )
    stripped = html.replace("&lt;script", "")
    for tag in own:
        stripped = stripped.replace(tag, "")
    assert "<script" not in stripped  # no script but the report's own (drawn only where scripts may run)
    assert "2 generator process(es), Locust master/worker" in html
    points = re.findall(r'points="([^"]*)"', html)
    assert all(re.fullmatch(r"[0-9.]+,[0-9.]+( [0-9.]+,[0-9.]+)*", p) for p in points)
