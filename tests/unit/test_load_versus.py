"""Speed side by side: the round order, the ratio across rounds, the load gates' verdicts, and the
suites that cannot compare speed. The real two-engine load run is in tests/integration."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from evalharness.errors import SuiteError
from evalharness.load import versus
from evalharness.load.versus import abba, load_comparison, ratio_across
from evalharness.session import EvalSession
from evalharness.suite.load_schema import LoadGateOptions
from tests.builders import logistic_onnx, two_feature_frame, write_suite


def test_rounds_alternate_so_a_linear_drift_cancels() -> None:
    order = abba(4)
    assert order == ["target", "baseline", "baseline", "target", "target", "baseline", "baseline", "target"]
    positions = {side: [i for i, s in enumerate(order) if s == side] for side in ("target", "baseline")}
    assert sum(positions["target"]) == sum(positions["baseline"])  # same mean position: a linear trend cancels


def test_the_ratio_is_the_geometric_mean_with_a_student_t_interval() -> None:
    from scipy import stats

    candidate, baseline = [1.9, 2.1, 2.0, 1.8], [2.2, 2.4, 2.0, 2.1]
    found = ratio_across(candidate, baseline, 0.95)
    logs = np.log(np.array(candidate) / np.array(baseline))
    low, high = stats.t.interval(0.95, len(logs) - 1, loc=logs.mean(), scale=stats.sem(logs))
    assert found["ratio"] == pytest.approx(math.exp(logs.mean()), rel=1e-12)
    assert found["ratio_interval"] == pytest.approx((math.exp(low), math.exp(high)), rel=1e-12)
    assert found["rounds"] == 4 and len(found["per_round"]) == 4


def test_rounds_without_a_value_are_left_out() -> None:
    found = ratio_across([1.0, None, 2.0], [1.0, 3.0, 0.0], 0.95)
    assert found["rounds"] == 1 and found["ratio"] == 1.0 and found["ratio_interval"] is None


def _result(ratio: float, interval: tuple[float, float] | None, invalid: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    figures = {"ratio": ratio, "ratio_interval": interval, "rounds": 4, "method": "rounds (ABBA)"}
    return {"values": {"p95_ms": 8.0}, "versus": {"ratios": {"p95_ms": figures}, "baseline_values": {"p95_ms": 10.0},
                                                   "baseline_invalid_reasons": invalid or []}}  # fmt: skip


@pytest.mark.parametrize(
    ("ratio", "interval", "gate_on", "verdict"),
    [
        (0.8, (0.7, 0.9), "bound", "passed"),
        (0.8, (0.7, 0.95), "bound", "inconclusive"),
        (1.2, (1.1, 1.3), "bound", "failed"),
        (0.8, (0.7, 0.95), "estimate", "passed"),
    ],
)
def test_a_max_ratio_gate_reads_the_estimate_or_the_rounds_interval(
    ratio: float, interval: tuple[float, float], gate_on: str, verdict: str
) -> None:
    plain = load_comparison("p95_ms", LoadGateOptions(max_ratio=0.9), _result(ratio, interval), gate_on)
    assert plain is not None and plain["verdict"] == verdict
    assert plain["better"] == "lower" and plain["baseline"]["value"] == 10.0
    if verdict == "inconclusive":
        assert "rounds would decide it" in plain["gates"][0]["reason"]


def test_an_invalid_baseline_run_makes_the_ratio_an_error() -> None:
    plain = load_comparison("p95_ms", LoadGateOptions(max_ratio=0.9), _result(0.8, (0.7, 0.9), ["CPU-bound"]), "bound")
    assert plain is not None and plain["verdict"] == "error"
    assert "the baseline's load run is invalid: CPU-bound" in plain["gates"][0]["reason"]


LOAD = "load: {model: open, rate: 50, duration_s: 1, gates: {p95_ms: {max_ratio: 1.2}}}\n"


def _problems(tmp_path: Path, baseline: str | None, **load: object) -> str:
    logistic_onnx(tmp_path / "model.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(40).to_csv(tmp_path / "data.csv", index=False)
    suite = write_suite(tmp_path, "accuracy: {min: 0.5}")
    text = suite.read_text() + LOAD
    if baseline:
        text = text.replace("dataset:", f"baseline: {baseline}\ndataset:")
    suite.write_text(text)
    with pytest.raises(SuiteError) as error:
        EvalSession.load([str(suite)], tmp_path / "reports", **load)  # type: ignore[arg-type]
    return str(error.value)


def test_ratio_gates_need_a_baseline(tmp_path: Path) -> None:
    text = _problems(tmp_path, None)
    assert "load.gates.p95_ms: min_ratio and max_ratio compare the target's speed with a baseline's" in text


def test_a_local_engine_and_an_endpoint_cannot_share_a_load_run(tmp_path: Path) -> None:
    text = _problems(tmp_path, "{kind: http, url: 'http://127.0.0.1:9/p', body: '{{ row | tojson }}', label: l}")
    assert "load: the target (onnx) and the baseline (http) cannot share a load run" in text


def test_only_the_last_round_lingers_on_live_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: every round kept /metrics up for linger_s (8 rounds x 5 s of idle wall time)."""
    from evalharness.load import driver, summary
    from evalharness.monitoring.live import LiveOptions

    lingers: list[tuple[str, float]] = []

    def fake_run_plan(plan: dict, pids: dict, interval: float, live: LiveOptions | None) -> dict:  # type: ignore[type-arg]  # noqa: E501
        assert live is not None
        lingers.append((plan["side"], live.linger_s))
        return {"recorder": None}

    monkeypatch.setattr(driver, "run_plan", fake_run_plan)
    parts = dict.fromkeys(versus.ROUND_TIME_KEYS)
    monkeypatch.setattr(summary, "summarise", lambda measured, plan, gpus: {"values": {}, **parts})
    monkeypatch.setattr(versus, "_merged", lambda rounds, plan, spec, values: {})
    spec = SimpleNamespace(rounds=4, sample_interval_s=0.5, gpus=None)
    plans = {side: {"side": side} for side in versus.SIDES}
    options = {side: LiveOptions("127.0.0.1", 0, 5.0, {"side": side}) for side in versus.SIDES}
    versus.run_rounds(plans, spec, {}, options.__getitem__)
    assert [linger for _, linger in lingers] == [0.0] * 7 + [5.0]
    assert [side for side, _ in lingers] == list(versus.abba(4))
