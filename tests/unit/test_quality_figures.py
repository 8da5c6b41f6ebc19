"""The quality gates' charts from their records: drift's binned shares checked against numpy and pandas,
DTW's kept warping paths against dtaidistance, BERTScore's histogram against numpy; each figure present
when the record has its numbers and absent when it does not; labels from the data inert in plotly's JSON
and in the SVG twin; forecasts in the worst rows drawn as sparklines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from evalharness.metrics.base import MetricSettings
from evalharness.metrics.bertscore import HISTOGRAM_BINS, score_histogram
from evalharness.metrics.drift import DISTRIBUTION_BINS, DRIFT, DriftOptions, column_drift, psi_from_counts
from evalharness.metrics.dtw import DTW, MAX_SERIES_POINTS, DtwOptions, aligned
from evalharness.predictions import Predictions
from evalharness.record import GateRecord, RunRecord, SuiteRecord, summarise
from evalharness.report.figures import gate_figures
from evalharness.report.render import render_html
from evalharness.report.sparkline import SHOWN_NUMBERS, sparkline

dtaidistance = pytest.importorskip("dtaidistance.dtw")

HOSTILE = "<img src=x onerror=alert(1)>"


def _gate(metric: str, status: str = "passed", **fields: Any) -> GateRecord:
    return GateRecord(name=metric, nodeid=f"s.yaml::{metric}", metric=metric, status=status, **fields)


def _drift_details(tmp_path: Path) -> dict[str, Any]:
    """A reference and a shifted sample: a numeric column with missing values, a hostile categorical
    column, a flag, and three quiet columns (so the cap on charted columns shows)."""
    rng = np.random.default_rng(3)

    def sample(rows: int, shift: float, categories: list[str]) -> pd.DataFrame:
        amount = rng.lognormal(4 + shift, 1.0, rows)
        amount[rng.random(rows) < 0.05 * (1 + shift * 4)] = np.nan
        quiet = {f"quiet{i}": rng.normal(size=rows) for i in range(3)}
        return pd.DataFrame({"amount": amount, HOSTILE: rng.choice(categories, rows), "flag": rng.integers(0, 2, rows),
                             **quiet})  # fmt: skip

    sample(3000, 0.0, ["a", "b", HOSTILE]).to_csv(tmp_path / "reference.csv", index=False)
    current = sample(2000, 0.5, ["a", "b", HOSTILE, "new"])
    rows = len(current)
    predictions = Predictions(np.arange(rows), np.zeros(rows), np.zeros(rows), None, current)
    value = DRIFT.compute(predictions, DriftOptions(reference="reference.csv"), MetricSettings(base_dir=tmp_path))
    return {"current": current, "reference": pd.read_csv(tmp_path / "reference.csv"), **value.details}


def test_drift_keeps_the_shares_psi_compared_for_its_worst_columns(tmp_path: Path) -> None:
    details = _drift_details(tmp_path)
    columns = {item["column"]: item for item in details["columns"]}
    charted = sorted(columns, key=lambda name: -columns[name]["psi"])[:4]
    assert {name for name, item in columns.items() if "distribution" in item} == set(charted)  # 4 of 6 columns
    amount, reference, current = columns["amount"]["distribution"], details["reference"], details["current"]
    edges = np.quantile(reference["amount"].dropna(), np.linspace(0, 1, 11))[1:-1]  # the reference's deciles
    assert amount["kind"] == "bins" and amount["edges"] == pytest.approx(edges.tolist(), rel=1e-12)
    for sample, shares in ((reference["amount"], amount["reference"]), (current["amount"], amount["evaluated"])):
        counts, _ = np.histogram(sample.dropna(), bins=[-np.inf, *edges, np.inf])  # [a, b): an edge counts above
        expected = [*(counts / len(sample)), sample.isna().mean()]
        assert shares == pytest.approx(expected, abs=1e-6) and amount["labels"][-1] == "(missing)"
    category = columns[HOSTILE]["distribution"]
    assert category["kind"] == "categories" and category["labels"] == sorted(["a", "b", HOSTILE, "new"])
    for sample, shares in ((reference[HOSTILE], category["reference"]), (current[HOSTILE], category["evaluated"])):
        assert shares == pytest.approx(
            sample.value_counts(normalize=True).reindex(category["labels"], fill_value=0).tolist(), abs=1e-6
        )
    for item in (columns[name] for name in charted):  # the chart shows what PSI measured
        shares = item["distribution"]
        psi = psi_from_counts(np.array(shares["reference"]), np.array(shares["evaluated"]))
        assert psi == pytest.approx(item["psi"], rel=1e-3)


def test_drift_shares_stay_small_for_many_bins_and_categories() -> None:
    rng = np.random.default_rng(8)
    reference, current = pd.Series(rng.normal(size=5000)), pd.Series(rng.normal(0.3, size=3000))
    shares = column_drift("x", reference, current, DriftOptions(reference="unused.csv", bins=100))["distribution"]
    assert len(shares["labels"]) == DISTRIBUTION_BINS and len(shares["edges"]) == DISTRIBUTION_BINS - 1
    counts, _ = np.histogram(current, bins=[-np.inf, *shares["edges"], np.inf])  # neighbours merged in pairs
    assert shares["evaluated"] == pytest.approx((counts / len(current)).tolist(), abs=1e-6)
    names = pd.Series([f"c{i}" for i in rng.integers(0, 200, 4000)])
    pooled = column_drift("c", names, names.sample(frac=0.5, random_state=1), DriftOptions(reference="unused.csv"))
    shares = pooled["distribution"]
    assert len(shares["labels"]) == DISTRIBUTION_BINS and re.fullmatch(
        r"other \(\d+ categories\)", shares["labels"][-1]
    )
    assert sum(shares["reference"]) == pytest.approx(1.0) and sum(shares["evaluated"]) == pytest.approx(1.0)


def test_drift_figures_plot_the_worst_columns_and_keep_labels_inert(tmp_path: Path) -> None:
    details = _drift_details(tmp_path)
    gate = _gate("drift", max=0.2, details={"columns": details["columns"], "drifting": details["drifting"]})
    psi, *distributions = gate_figures(1, gate)
    assert psi.id == "s1-drift-psi" and len(distributions) == 4
    ordered = sorted(details["columns"], key=lambda item: -item["psi"])
    assert [figure.id for figure in distributions] == [f"s1-drift-dist-{rank}" for rank in range(4)]
    for figure, column in zip(distributions, ordered):
        reference, evaluated = figure.plotly["data"]
        assert reference["y"] == column["distribution"]["reference"]
        assert evaluated["y"] == column["distribution"]["evaluated"]
    hostile = next(f for f, c in zip(distributions, ordered) if c["column"] == HOSTILE)
    ticks = hostile.plotly["layout"]["xaxis"]["ticktext"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in ticks and not any("<" in tick for tick in ticks)
    assert "<img" not in hostile.svg and "&lt;img src=x onerror=alert(1)&gt;" in hostile.svg
    assert hostile.svg.count('<rect class="bar series-0"') == hostile.svg.count('<rect class="bar series-1"') == 4


def _sequences(rows: int, length: int, seed: int = 4) -> Predictions:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, length)
    expected = np.empty(rows, dtype=object)
    expected[:] = [np.sin(t + rng.uniform(0, 1)) * rng.uniform(1, 5) for _ in range(rows)]
    predicted = np.stack([np.roll(e, rng.integers(-2, 3)) + rng.normal(0, 0.2 * (1 + row % 7), length)
                          for row, e in enumerate(expected)])  # fmt: skip
    ids = np.array([f"{HOSTILE}{row}" for row in range(rows)], dtype=object)
    return Predictions(ids, expected, predicted, None, pd.DataFrame(index=range(rows)))


@pytest.mark.parametrize("window", [None, 2])
def test_dtw_keeps_the_worst_rows_with_a_path_whose_cost_is_their_distance(window: int | None) -> None:
    predictions = _sequences(30, 24)
    value = DTW.compute(predictions, DtwOptions(window=window), MetricSettings(resamples=50))
    kept, normalised = value.details["worst_series"], value.row_scores["dtw_normalised"]
    worst = np.argsort(-normalised)[:3]
    assert [item["id"] for item in kept] == [predictions.ids[row] for row in worst]  # worst first, as worst_rows
    for item, row in zip(kept, worst):
        expected, predicted = predictions.expected[row], predictions.predicted[row]
        path = item["path"]
        assert (
            item["step"] == 1 and item["points"] == [24, 24] and item["expected"] == pytest.approx(expected, abs=1e-6)
        )
        cost = np.sqrt(sum((expected[i] - predicted[j]) ** 2 for i, j in path))
        assert cost == pytest.approx(item["distance"], rel=1e-9)
        assert item["distance"] == pytest.approx(value.row_scores["dtw_distance"][row], rel=1e-12)
        band = {} if window is None else {"window": window + 1}  # dtaidistance counts the band one wider
        assert [tuple(pair) for pair in path] == dtaidistance.warping_path(expected, predicted, **band)
        assert path[0] == [0, 0] and path[-1] == [23, 23]
        assert window is None or max(abs(i - j) for i, j in path) <= window


def test_long_series_keep_every_kth_point_with_the_path_mapped_onto_them() -> None:
    t = np.linspace(0, 30, 1700)
    kept = aligned(np.sin(t), np.sin(t - 0.4), window=50)
    assert kept["step"] == 4 and len(kept["expected"]) == len(kept["predicted"]) == 425 <= MAX_SERIES_POINTS
    path = np.array(kept["path"])
    assert (np.diff(path, axis=0) >= 0).all() and (np.diff(path, axis=0).sum(axis=1) > 0).all()  # monotone, no repeat
    assert path.max() == 424
    figure = gate_figures(1, _gate("dtw", details={"worst_series": [{"id": "r", "distance": 1.0, **kept}]}))[0]
    assert "1 point in 4 shown, of 1,700 and 1,700" in figure.title and "1 point in 4" in figure.svg


def test_dtw_figures_join_aligned_points_and_keep_ids_inert() -> None:
    predictions = _sequences(10, 12)
    value = DTW.compute(predictions, DtwOptions(window=1), MetricSettings(resamples=50))
    figures = gate_figures(2, _gate("dtw", details=value.details))
    assert [figure.id for figure in figures] == ["s2-dtw-aligned-1", "s2-dtw-aligned-2", "s2-dtw-aligned-3"]
    for figure, item in zip(figures, value.details["worst_series"]):
        warp, expected, predicted = figure.plotly["data"]
        assert (expected["y"], predicted["y"]) == (item["expected"], item["predicted"])
        first = item["path"][0]
        assert warp["x"][:3] == [first[0], first[1], None] and len(warp["x"]) == 3 * len(item["path"])
        assert warp["y"][:2] == [item["expected"][first[0]], item["predicted"][first[1]]]
        warp_svg = re.findall(r'<path class="warp" d="([^"]*)"/>', figure.svg)
        assert len(warp_svg) == 1 and warp_svg[0].count("M") == len(item["path"]) and figure.svg.count("<polyline") == 2
        assert "<img" not in figure.svg and "&lt;img src=x onerror=alert(1)&gt;" in figure.svg
    assert figures[0].title.startswith(f"#1: row {HOSTILE}")  # the template escapes the caption


def test_bertscore_histogram_matches_numpy_and_reaches_the_threshold() -> None:
    scores = np.random.default_rng(2).beta(9, 1.5, 500)
    histogram = score_histogram(scores, threshold=0.85)
    low = np.floor(min(scores.min(), 0.85) * 10) / 10
    counts, edges = np.histogram(scores, bins=HISTOGRAM_BINS, range=(low, 1.0))
    assert histogram["counts"] == counts.tolist() and histogram["edges"] == pytest.approx(edges.tolist())
    width = (1.0 - low) / HISTOGRAM_BINS
    by_hand = np.bincount(np.minimum(((scores - low) / width).astype(int), HISTOGRAM_BINS - 1), minlength=20)
    assert histogram["counts"] == by_hand.tolist() and sum(histogram["counts"]) == 500
    high = score_histogram(np.array([0.97, 0.99, 1.0000001]), threshold=0.5)  # a score a hair above 1 still counts
    assert high["edges"][0] == 0.5 and sum(high["counts"]) == 3


def test_bertscore_figure_draws_the_bins_and_the_gates_threshold() -> None:
    histogram = score_histogram(np.random.default_rng(1).beta(9, 1.5, 200), threshold=0.8)
    gate = _gate("bertscore", min=0.8, value=0.86, details={"score": "f1", "histogram": histogram})
    (figure,) = gate_figures(1, gate)
    bars = figure.plotly["data"][0]
    assert bars["y"] == histogram["counts"] and bars["width"] == pytest.approx(np.diff(histogram["edges"]))
    assert figure.plotly["layout"]["shapes"][0]["x0"] == 0.8 and "the gate's min for the mean, 0.8" in figure.title
    assert figure.svg.count('<rect class="bar series-0"') == 20 and figure.svg.count('class="reference"') == 1
    unthresholded = _gate("bertscore", details={"score": "recall", "histogram": histogram})
    (plain,) = gate_figures(1, unthresholded)
    assert plain.plotly["layout"]["shapes"] == [] and 'class="reference"' not in plain.svg and "recall" in plain.title


@pytest.mark.parametrize(
    "details",
    [
        {"columns": [{"column": "x", "psi": 0.3}]},  # a record from before the shares: the PSI chart alone
        {"columns": [{"column": "x", "psi": 0.3, "distribution": {"labels": ["a"], "reference": [1.0]}}]},
        {"worst_series": [{"id": "r", "expected": [], "predicted": [1.0]}, "junk"]},
        {"worst_series": []},
        {"histogram": {"edges": [0.0, 1.0], "counts": [1, 2]}},
        {"histogram": None, "score": "f1"},
        {"mean_consistency": 0.9, "gate": "consistency"},  # a DTW record from before the series
    ],
)
def test_records_without_the_numbers_have_no_quality_chart(details: dict[str, Any]) -> None:
    figures = gate_figures(1, _gate("g", details=details))
    assert [figure.id for figure in figures] == (["s1-g-psi"] if "columns" in details else [])


def _report(worst_rows: list[dict[str, Any]]) -> str:
    gates = [_gate("dtw", status="failed", value=0.5, min=0.9, worst_rows=worst_rows)]
    suite = SuiteRecord(name="demo", path="s.yaml", sha256="0" * 64, gates=gates, target={"kind": "file"})
    summary, status = summarise([suite])
    return render_html(RunRecord(evalharness_version="0", status=status, started_at="t", finished_at="t",
                                 duration_s=1.0, summary=summary, suites=[suite]))  # fmt: skip


def test_forecasts_in_the_worst_rows_are_sparklines_with_their_numbers_on_demand() -> None:
    long = np.sin(np.linspace(0, 20, 5000)).round(6).tolist()
    rows = [{"id": "r1", "expected": [1.0, 2.0, 3.0], "predicted": [1.5, 2.0, 2.5], "loss": 0.2},
            {"id": "r2", "expected": long, "predicted": long[::-1], "loss": 0.1},
            {"id": HOSTILE, "expected": f"[1, 2, {HOSTILE}]", "predicted": [1.0, "x"], "loss": 0.05}]  # fmt: skip
    html = _report(rows)
    table = html[html.index('<table class="worst">') : html.index("</table>", html.index('<table class="worst">'))]
    assert table.count('<td colspan="2" class="series"><div class="sparkline"><svg') == 2
    assert table.count('<polyline class="spark-expected"') == table.count('<polyline class="spark-predicted"') == 2
    assert "<p>expected: 1, 2, 3</p><p>predicted: 1.5, 2, 2.5</p>" in table
    numbers = re.search(r"<p>expected: (.*?)</p>", table[table.index("r2") :])
    assert (
        numbers is not None
        and numbers[1].count(", ") == SHOWN_NUMBERS
        and numbers[1].endswith("(5,000 numbers in all)")
    )
    points = re.findall(r'<polyline class="spark-expected" points="([^"]*)"', table)[1]
    assert len(points.split()) <= 160  # one point a pixel at most
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in table  # not numbers: shown as text
    assert 'style="' not in table and "<script" not in table


def test_sparkline_is_empty_unless_both_sides_are_numbers() -> None:
    assert sparkline({"expected": [1.0, 2.0], "predicted": [1.0, float("nan")]}) == ""
    assert sparkline({"expected": [True, False], "predicted": [1.0, 0.0]}) == ""
    assert sparkline({"expected": 1, "predicted": 0}) == "" and sparkline(None) == ""
    assert str(sparkline({"expected": [5], "predicted": [5.0]})).count("<polyline") == 2  # a flat one-point series


def test_the_report_titles_each_quality_section(tmp_path: Path) -> None:
    details = _drift_details(tmp_path)
    dtw = DTW.compute(_sequences(6, 12), DtwOptions(window=1), MetricSettings(resamples=50))
    histogram = score_histogram(np.random.default_rng(1).beta(9, 1.5, 50), threshold=0.8)
    gates = [_gate("drift", max=0.2, details={"columns": details["columns"], "drifting": details["drifting"]}),
             _gate("dtw", min=0.5, value=0.8, details=dtw.details),
             _gate("bertscore", min=0.8, value=0.86, n=50,
                   details={"score": "f1", "model": "m", "histogram": histogram}),
             _gate("old_dtw", details={"mean_consistency": 0.9})]  # fmt: skip
    suite = SuiteRecord(name="demo", path="s.yaml", sha256="0" * 64, gates=gates, target={"kind": "file"})
    summary, status = summarise([suite])
    html = render_html(RunRecord(evalharness_version="0", status=status, started_at="t", finished_at="t",
                                 duration_s=1.0, summary=summary, suites=[suite]))  # fmt: skip
    titles = [re.sub(r"<.*?>", "", title) for title in re.findall(r"<h3[^>]*>(.*?)</h3>", html)]
    assert (
        "DTW: worst aligned series (window 1, normalised by path length and scale; grey lines join the points "
        "the warping path aligns)" in titles
    )
    assert "BERTScore: distribution of F1 (mean 0.8600 over 50 rows; model m)" in titles
    figure_ids = re.findall(r'<figure class="figure" id="figure-([\w-]+)"', html)
    assert figure_ids == ["s1-drift-psi", *(f"s1-drift-dist-{rank}" for rank in range(4)),
                          *(f"s1-dtw-aligned-{rank}" for rank in (1, 2, 3)), "s1-bertscore-scores"]  # fmt: skip
    assert "<img" not in html and 'style="' not in html


def test_range_bins_are_named_by_their_lower_edge_under_the_axis() -> None:
    """Regression: '[355, 731)' was cut to '[355...' and ran into its neighbours; the whole range stays in
    the tooltip."""
    from evalharness.report.svg import Series
    from evalharness.report.svg_quality import grouped_bars, tick_name

    labels = ["< 355", "[355, 731)", "[731, 1102)", "≥ 3289", "grocery"]
    assert [tick_name(label) for label in labels] == ["< 355", "355", "731", "≥ 3289", "grocery"]
    svg = grouped_bars("t", labels, [Series("reference", list(range(5)), [0.2] * 5)], "bin", "share")
    assert ">355</text>" in svg and ">731</text>" in svg and "[355, 731): 0.2</title>" in svg
