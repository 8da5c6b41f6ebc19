"""Candidate against baseline, side by side: the compared gates' values and load ratios as plotly
figures with SVG twins, holding exactly the record's numbers."""

from __future__ import annotations

import re

import pytest

from evalharness.record import GateRecord
from evalharness.report.comparison_figures import comparison_figures
from evalharness.report.render import render_html
from tests.unit.test_comparison_reports import _gates, _record


def _load_gate(metric: str, ratio: float | None, interval: list[float] | None) -> GateRecord:
    comparison = {"baseline": {"value": 10.0}, "ratio": ratio, "ratio_interval": interval, "delta": None}
    return GateRecord(name=f"load::{metric}", nodeid=f"s.yaml::load::{metric}", metric=metric, status="passed",
                      value=5.0, method="load", comparison=comparison)  # fmt: skip


def test_quality_gates_show_both_sides_with_their_intervals() -> None:
    (figure,) = comparison_figures(1, _gates())
    ours, theirs = figure.plotly["data"]
    assert (ours["name"], theirs["name"]) == ("this build", "baseline")
    assert ours["y"] == ["accuracy", "f1"]  # precision has no value on either side; agreement is not compared
    assert ours["x"] == [0.64, 0.67] and theirs["x"] == [0.8883, 0.8883]
    assert ours["error_x"]["arrayminus"] == pytest.approx([0.64 - 0.6008, 0.67 - 0.63])
    assert ours["error_x"]["array"] == pytest.approx([0.6774 - 0.64, 0.71 - 0.67])
    assert theirs["error_x"]["array"] == pytest.approx([0.9111 - 0.8883] * 2)
    assert figure.plotly["layout"]["xaxis"]["range"] == [0.55, 1.0]  # below the lowest interval, rounded down
    assert figure.svg.count('<rect class="bar series-0"') == 2 and figure.svg.count('<path class="whisker"') == 4


def test_load_gates_show_the_ratio_against_one() -> None:
    gates = [_load_gate("p95_ms", 0.62, [0.55, 0.7]), _load_gate("model_size_mib", 0.27, None),
             _load_gate("qps", None, None)]  # fmt: skip
    (figure,) = comparison_figures(2, gates)
    assert figure.id == "s2-versus-speed"
    (bars,) = figure.plotly["data"]
    assert bars["y"] == ["p95_ms", "model_size_mib"] and bars["x"] == [0.62, 0.27]  # qps has no ratio
    assert bars["error_x"]["array"] == pytest.approx([0.08, 0]) and bars["error_x"]["arrayminus"] == pytest.approx(
        [0.07, 0]
    )
    assert figure.plotly["layout"]["shapes"][0]["x0"] == 1.0  # the dashed "equal" line
    assert figure.svg.count('class="reference"') == 1 and figure.svg.count('class="whisker"') == 1


def test_no_chart_without_a_comparison_and_gate_names_stay_text() -> None:
    assert comparison_figures(1, [GateRecord(name="f1", nodeid="s::f1", metric="f1", status="passed", value=0.9)]) == []
    hostile = _gates()[0]
    hostile.name = "<b onmouseover=x>acc</b>"
    (figure,) = comparison_figures(1, [hostile])
    assert figure.plotly["data"][0]["y"] == ["&lt;b onmouseover=x&gt;acc&lt;/b&gt;"]
    assert "<b " not in figure.svg and "&lt;b onmouseover=x&gt;" in figure.svg


def test_the_report_draws_the_side_by_side_chart_after_the_comparison_table() -> None:
    html = render_html(_record())
    table, chart = html.index('<table class="delta-gates">'), html.index('id="figure-s1-versus-quality"')
    assert table < chart < html.index("Flips of accuracy")
    assert len(re.findall(r'id="data-s1-versus-quality"', html)) == 1
