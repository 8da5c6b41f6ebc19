"""The report's gate charts from the record alone: the numbers they plot, checked against the record
and statsmodels, and their SVG twins, whose labels from the data stay text."""

from __future__ import annotations

import re

import pytest
from statsmodels.stats.proportion import proportion_confint

from evalharness.record import GateRecord
from evalharness.report.figures import gate_figures

HOSTILE = "<script>alert(1)</script>\n::error::x"


def _gate(**details: object) -> GateRecord:
    return GateRecord(name="g", nodeid="s.yaml::g", metric="g", status="passed", min=0.95, max=0.2, details=details)


def test_rules_chart_plots_each_rate_with_its_wilson_interval() -> None:
    rules = [{"name": "a", "applicable": 64, "rate": 1.0}, {"name": HOSTILE, "applicable": 57, "rate": 56 / 57},
             {"name": "never applies", "applicable": 0, "rate": None}]  # fmt: skip
    (figure,) = gate_figures(1, _gate(rules=rules))
    bar = figure.plotly["data"][0]
    assert bar["x"] == [1.0, 56 / 57] and len(bar["y"]) == 2  # a rule that never applied has no rate to plot
    for index, (successes, n) in enumerate([(64, 64), (56, 57)]):
        low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
        assert bar["x"][index] - bar["error_x"]["arrayminus"][index] == pytest.approx(low, abs=1e-12)
        assert bar["x"][index] + bar["error_x"]["array"][index] == pytest.approx(high, abs=1e-12)
    assert figure.plotly["layout"]["shapes"][0]["x0"] == 0.95  # the gate's min, dashed
    assert "<script>" not in figure.svg and "&lt;script&gt;" in figure.svg and "\n" not in figure.svg
    assert figure.svg.count('class="whisker"') == 2 and figure.svg.count('class="bar series-0"') == 2
    assert "<script>" not in bar["y"][1] and "&lt;script&gt;" in bar["y"][1]  # plotly shows it as text


def test_robustness_and_drift_charts_plot_the_records_numbers() -> None:
    variants = [{"name": "noise(amount)", "quality": 0.95}, {"name": "swap", "quality": 0.9}]
    columns = [{"column": "hour", "psi": 0.004}, {"column": "amount", "psi": 0.03}, {"column": "x", "psi": None}]
    recipes, psi = gate_figures(2, _gate(variants=variants, clean_quality=0.96, quality="accuracy")) + gate_figures(
        2, _gate(columns=columns)
    )
    assert recipes.plotly["data"][0]["x"] == [0.95, 0.9] and "clean, 0.9600" in recipes.title
    assert psi.plotly["data"][0]["y"] == ["amount", "hour", "x"] and psi.plotly["data"][0]["x"] == [0.03, 0.004, 0.0]
    assert psi.plotly["layout"]["shapes"][0]["x0"] == 0.2 and psi.id == "s2-g-psi"
    assert re.findall(r'<rect class="bar series-0"', psi.svg) and len(re.findall(r"<rect ", psi.svg)) == 3


@pytest.mark.parametrize(
    "facts",
    [
        {},
        {"confusion_matrix": {"labels": [0, 1], "matrix": [[3, 1], [0, 4]]}},
        {"confusion_matrix": {"labels": [], "matrix": []}},
    ],
)
def test_the_contents_know_whether_a_suite_has_charts_without_drawing_them(facts: dict) -> None:  # type: ignore[type-arg]
    from evalharness.record import SuiteRecord
    from evalharness.report.figures import has_suite_figures, suite_figures

    suite = SuiteRecord(name="s", path="s.yaml", sha256="0" * 64, dataset={}, target={}, **facts)
    assert has_suite_figures(suite) == bool(suite_figures(1, suite))
