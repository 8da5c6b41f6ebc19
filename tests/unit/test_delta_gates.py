"""Delta gates against a baseline: pass, fail or inconclusive, on the estimate or the paired bound.

Unit cases build metric values directly; suite cases run two real ONNX models on the same rows
and check the record against scikit-learn and statsmodels computed on those models' answers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from evalharness.compare.delta import compare, rows_to_decide
from evalharness.compare.gate import merged_status
from evalharness.errors import SuiteError
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.classification import AccuracyOptions, AveragedOptions
from evalharness.metrics.stats import ratio_resampler
from evalharness.session import EvalSession
from tests.builders import logistic_onnx, two_feature_frame, write_suite

SETTINGS = MetricSettings(confidence=0.95, resamples=500, seed=3)


def _accuracy(correct: np.ndarray) -> MetricValue:
    n = len(correct)
    return MetricValue(
        float(correct.mean()), n, None, "wilson", row_loss=(~correct).astype(float),
        resample=ratio_resampler(correct, np.ones(n)), successes=correct.astype(float),
    )  # fmt: skip


def _pair(n: int, candidate_only: int, baseline_only: int, both: int) -> tuple[MetricValue, MetricValue]:
    """Two accuracy values whose rows disagree exactly as given (the rest wrong on both sides)."""
    candidate, baseline = np.zeros(n, bool), np.zeros(n, bool)
    candidate[:both] = baseline[:both] = True
    candidate[both : both + candidate_only] = True
    baseline[both + candidate_only : both + candidate_only + baseline_only] = True
    return _accuracy(candidate), _accuracy(baseline)


@pytest.mark.parametrize(
    ("pair", "max_drop", "gate_on", "verdict"),
    [
        ((4000, 10, 12, 3500), 0.01, "bound", "passed"),  # a tiny drop, tight interval: non-inferior
        ((4000, 10, 200, 3300), 0.01, "bound", "failed"),  # a drop of 4.75 points: wholly past the margin
        ((300, 3, 6, 250), 0.01, "bound", "inconclusive"),  # 1 point down on 300 rows: cannot decide
        ((300, 3, 6, 250), 0.01, "estimate", "passed"),  # the estimate alone is within 1 point
    ],
)
def test_max_drop_verdicts(pair: tuple[int, int, int, int], max_drop: float, gate_on: str, verdict: str) -> None:
    candidate, baseline = _pair(*pair)
    result = compare("accuracy", candidate, baseline, AccuracyOptions(max_drop=max_drop), SETTINGS, gate_on)
    assert result.verdict == verdict, result.gates[0].reason
    assert result.delta_method == "newcombe paired (method 10)"
    assert result.mcnemar is not None and result.mcnemar["wrong_to_right"] == pair[1]


def test_an_inconclusive_gate_says_how_many_rows_would_decide() -> None:
    candidate, baseline = _pair(300, 3, 6, 250)
    result = compare("accuracy", candidate, baseline, AccuracyOptions(max_drop=0.01), SETTINGS, "bound")
    gate = result.gates[0]
    low, high = result.delta_interval  # type: ignore[misc]
    assert low < -0.01 < high
    assert gate.rows_needed == rows_to_decide(result.delta, (low, high), -0.01, 300)
    # the estimate (-0.01) sits on the margin: no finite number of rows decides it
    assert gate.rows_needed is None and "the estimate sits on the margin" in gate.reason


def test_rows_to_decide_are_dataset_rows_when_the_metric_counts_only_some() -> None:
    """Recall counts the positives (a fifth of the rows here): the rows that would decide are the
    positives needed, scaled to rows at the same share of positives, not the positives alone."""
    from evalharness.metrics.registry import get_metric
    from evalharness.predictions import Predictions

    rng = np.random.default_rng(5)
    truth = (rng.random(2000) < 0.2).astype(int)
    candidate_answers = np.where(rng.random(2000) < 0.9, truth, 1 - truth)
    baseline_answers = candidate_answers.copy()  # as many positives fixed as broken: the same recall
    right, wrong = (np.flatnonzero((truth == 1) & (candidate_answers == side)) for side in (1, 0))
    baseline_answers[right[:8]], baseline_answers[wrong[:8]] = 0, 1
    recall = get_metric("recall")
    frame = pd.DataFrame({"x": np.arange(2000)})
    candidate, baseline = (
        recall.compute(Predictions(np.arange(2000), truth, answers, None, frame, positive_label=1),
                       recall.options(), SETTINGS)
        for answers in (candidate_answers, baseline_answers)
    )  # fmt: skip
    result = compare("recall", candidate, baseline, AveragedOptions(max_drop=0.0001), SETTINGS, "bound")
    gate = result.gates[0]
    positives = int(truth.sum())
    assert candidate.n == positives and gate.verdict == "inconclusive", gate.reason
    per_positive = rows_to_decide(result.delta, result.delta_interval, -0.0001, positives)  # type: ignore[arg-type]
    assert gate.rows_needed == int(np.ceil(per_positive * 2000 / positives))  # type: ignore[operator]
    assert f"about {gate.rows_needed:,} rows would decide it" in gate.reason


def test_rows_to_decide_scales_the_half_width_to_the_distance() -> None:
    # half-width 0.03 facing a margin 0.01 away: (0.03 / 0.01)^2 = 9 times the rows
    assert rows_to_decide(0.0, (-0.03, 0.03), -0.01, 1000) == 9000
    assert rows_to_decide(-0.02, (-0.05, 0.01), -0.01, 1000) == 9000  # the upper half faces the margin


@pytest.mark.parametrize(
    ("options", "verdict"),
    [
        ({"min_retention": 0.95}, "passed"),
        ({"min_retention": 1.05}, "failed"),
        ({"max_ratio": 0.99}, "failed"),
        ({"min_gain": 0.0}, "passed"),
        ({"min_gain": 0.05}, "failed"),
    ],
)
def test_ratio_and_gain_gates_on_the_estimate(options: dict[str, float], verdict: str) -> None:
    candidate, baseline = _pair(1000, 40, 20, 800)  # candidate 0.84, baseline 0.82
    result = compare("accuracy", candidate, baseline, AccuracyOptions(**options), SETTINGS, "estimate")
    assert result.ratio == pytest.approx(0.84 / 0.82) and result.delta == pytest.approx(0.02)
    assert result.verdict == verdict


def test_a_lower_is_better_metric_drops_upwards() -> None:
    from evalharness.metrics.dtw import DtwOptions

    low, high = np.full(500, 0.30), np.full(500, 0.25)  # candidate distance 0.30, baseline 0.25
    candidate = MetricValue(0.30, 500, None, "bootstrap", row_loss=low, resample=ratio_resampler(low, np.ones(500)))
    baseline = MetricValue(0.25, 500, None, "bootstrap", row_loss=high, resample=ratio_resampler(high, np.ones(500)))
    options = DtwOptions(gate="distance", max_drop=0.1)
    assert compare("dtw", candidate, baseline, options, SETTINGS, "estimate").verdict == "passed"
    options = DtwOptions(gate="distance", max_drop=0.01)
    assert compare("dtw", candidate, baseline, options, SETTINGS, "estimate").verdict == "failed"


@pytest.mark.parametrize(
    ("status", "verdict", "policy", "merged"),
    [
        ("passed", "inconclusive", "fail", "failed"),
        ("passed", "inconclusive", "pass", "passed"),
        ("info", "passed", "fail", "passed"),
        ("failed", "passed", "fail", "failed"),
        ("passed", "error", "pass", "error"),
        ("error", "passed", "pass", "error"),
        ("info", None, "fail", "info"),
    ],
)
def test_the_gate_status_combines_thresholds_and_deltas(
    status: str, verdict: str | None, policy: str, merged: str
) -> None:
    assert merged_status(status, verdict, policy) == merged


def _models(tmp_path: Path, candidate: list[float], baseline: list[float], rows: int = 3000) -> pd.DataFrame:
    logistic_onnx(tmp_path / "model.onnx", candidate, 0.0)
    logistic_onnx(tmp_path / "base.onnx", baseline, 0.0)
    frame = two_feature_frame(rows, seed=9)
    frame.to_csv(tmp_path / "data.csv", index=False)
    return frame


def _suite(tmp_path: Path, metrics: str, baseline: str = "{kind: onnx, path: base.onnx}") -> Path:
    path = write_suite(tmp_path, metrics)
    text = path.read_text().replace("dataset:", f"baseline: {baseline}\ndataset:", 1)
    path.write_text(text)
    return path


def _gates(suite: Path, names: list[str], **load: object) -> dict[str, object]:
    state = EvalSession.load([str(suite)], suite.parent / "reports", **load)  # type: ignore[arg-type]
    try:
        run = state.run_for(suite)
        return {name: run.evaluate_gate(name, f"suite.yaml::{name}") for name in names}
    finally:
        state.close()


def test_two_real_models_are_compared_as_scikit_learn_and_statsmodels_compare_them(tmp_path: Path) -> None:
    from statsmodels.stats.contingency_tables import mcnemar

    frame = _models(tmp_path, [1.0, 0.6], [1.0, 1.0])
    suite = _suite(tmp_path, "accuracy: {min: 0.5, max_drop: 0.05, gate_on: bound}\nagreement: {min: 0.5}")
    gates = _gates(suite, ["accuracy", "agreement"])
    x = frame[["x1", "x2"]].to_numpy(np.float32)
    answer = (x @ np.array([1.0, 0.6], np.float32) > 0).astype(int)
    base_answer = (x @ np.array([1.0, 1.0], np.float32) > 0).astype(int)
    truth = frame["y"].to_numpy()
    accuracy = gates["accuracy"]
    comparison = accuracy.comparison  # type: ignore[attr-defined]
    assert accuracy.value == pytest.approx(skm.accuracy_score(truth, answer), abs=1e-12)  # type: ignore[attr-defined]
    assert comparison["baseline"]["value"] == pytest.approx(skm.accuracy_score(truth, base_answer), abs=1e-12)
    right, base_right = answer == truth, base_answer == truth
    table = [[int((right & base_right).sum()), int((right & ~base_right).sum())],
             [int((~right & base_right).sum()), int((~right & ~base_right).sum())]]  # fmt: skip
    assert comparison["mcnemar"]["table"] == dict(zip(("both", "only_candidate", "only_baseline", "neither"),
                                                      [*table[0], *table[1]]))  # fmt: skip
    assert comparison["mcnemar"]["p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue, rel=1e-9)
    flips = comparison["flips"]
    assert (flips["right_to_wrong"], flips["wrong_to_right"]) == (table[1][0], table[0][1])
    assert all(row["flip"] == "right_to_wrong" for row in flips["rows"][: min(5, table[1][0])])
    assert gates["agreement"].value == pytest.approx((answer == base_answer).mean(), abs=1e-12)  # type: ignore[attr-defined]


def test_a_clearly_worse_candidate_fails_its_drop_gate(tmp_path: Path) -> None:
    _models(tmp_path, [1.0, -0.2], [1.0, 1.0])
    gates = _gates(_suite(tmp_path, "accuracy: {max_drop: 0.01, gate_on: bound}"), ["accuracy"])
    gate = gates["accuracy"]
    assert gate.status == "failed" and gate.comparison["verdict"] == "failed"  # type: ignore[attr-defined]
    assert "is wholly past -0.01" in gate.message  # type: ignore[attr-defined]


def test_inconclusive_fails_or_passes_as_the_suite_or_the_command_line_says(tmp_path: Path) -> None:
    _models(tmp_path, [1.0, 0.9], [1.0, 1.0], rows=200)
    suite = _suite(tmp_path, "accuracy: {max_drop: 0.005, gate_on: bound}")
    gate = _gates(suite, ["accuracy"])["accuracy"]
    assert gate.comparison["verdict"] == "inconclusive" and gate.status == "failed"  # type: ignore[attr-defined]
    assert "the data cannot decide" in gate.message  # type: ignore[attr-defined]
    assert _gates(suite, ["accuracy"], on_inconclusive="pass")["accuracy"].status == "passed"  # type: ignore[attr-defined]
    suite.write_text(suite.read_text() + "statistics: {on_inconclusive: pass}\n")
    assert _gates(suite, ["accuracy"])["accuracy"].status == "passed"  # type: ignore[attr-defined]


def _problems(suite: Path) -> str:
    with pytest.raises(SuiteError) as error:
        EvalSession.load([str(suite)], suite.parent / "reports")
    return str(error.value)


def test_delta_gates_and_agreement_need_a_baseline(tmp_path: Path) -> None:
    _models(tmp_path, [1.0, 1.0], [1.0, 1.0])
    suite = write_suite(tmp_path, "accuracy: {min: 0.5, max_drop: 0.01}\nagreement: {min: 0.9}")
    text = _problems(suite)
    assert "metrics.accuracy.max_drop: max_drop compares the target with a baseline; add a baseline: section" in text
    assert "metrics.agreement: agreement compares the target with a baseline" in text


def test_a_baseline_is_checked_like_the_target(tmp_path: Path) -> None:
    _models(tmp_path, [1.0, 1.0], [1.0, 1.0])
    baseline = "{kind: onnx, path: base.onnx, inputs: {features: [x1, x9]}}"
    text = _problems(_suite(tmp_path, "accuracy: {min: 0.5}", baseline))
    assert "baseline.inputs.features[1]: column 'x9' is not in the dataset" in text


def test_a_baseline_that_answers_another_kind_is_refused_before_anything_runs(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    _models(tmp_path, [1.0, 1.0], [1.0, 1.0])

    class Forecast(torch.nn.Module):  # type: ignore[misc, name-defined]
        def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[name-defined]
            return x.repeat(1, 2)

    program = torch.export.export(Forecast(), (torch.zeros(2, 2),), dynamic_shapes={"x": {0: torch.export.Dim("n")}})
    torch.export.save(program, str(tmp_path / "seq.pt2"))
    baseline = "{kind: torch, path: seq.pt2, inputs: [[x1, x2]], outputs: {kind: sequence}}"
    text = _problems(_suite(tmp_path, "accuracy: {min: 0.5}", baseline))
    assert "baseline: the baseline answers a sequence per row and the target a label per row" in text


def test_an_endpoint_baseline_is_cached_and_resumed_like_the_target(tmp_path: Path) -> None:
    """Both sides answer through the answer cache: once cached, a resumed run needs no server at all."""
    pytest.importorskip("aiohttp")
    from tests.servers import loopback_server

    two_feature_frame(60, seed=2).to_csv(tmp_path / "data.csv", index=False)
    body = """'{"row_id": {{ row_id | tojson }}, "x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'"""
    cache = tmp_path / "cache"

    def suite_for(url: str) -> Path:
        target = f"{{kind: http, url: '{url}/predict', body: {body}, label: output.label, score: output.probability}}"
        batch = "'{{ {\"rows\": rows} | tojson }}'"
        baseline = f"{{kind: http, url: '{url}/batch', body: {batch}, label: labels, batch_size: 8}}"
        path = write_suite(tmp_path, "accuracy: {min: 0.5, max_drop: 0.5}", target=target)
        path.write_text(path.read_text().replace("dataset:", f"baseline: {baseline}\ndataset:"))
        return path

    with loopback_server() as (url, state):
        suite = suite_for(url)
        first = _gates(suite, ["accuracy"], cache_dir=cache, resume=True)["accuracy"]
        assert state.requests["predict"] == 60  # the target asked once per row
    # The server is gone: every answer of both sides must now come from the cache.
    again = _gates(suite, ["accuracy"], cache_dir=cache, resume=True)["accuracy"]
    assert again.status == first.status and again.comparison["delta"] == first.comparison["delta"]  # type: ignore[attr-defined]
