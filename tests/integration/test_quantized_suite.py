"""The int8-against-fp32 demo end to end: a really quantized model, a deterministic build, and the
suite's comparison checked against ONNX Runtime, scikit-learn and statsmodels computed here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from evalharness.suite.loader import load_suite
from tests.builders import build_twice_and_compare

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

FP32, INT8 = "models/fraud_mlp.onnx", "models/fraud_int8.onnx"
FEATURES = ["amount", "hour", "card_present", "is_international", "is_new_device",
            "distance_from_home_km", "txn_count_24h", "account_age_days"]  # fmt: skip


@pytest.fixture(scope="module")
def quantized_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict, Path]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("quantized-reports")
    command = [sys.executable, "-m", "pytest", "--evalharness", "suites/quantized.yaml", "-p", "no:cacheprovider",
               "--evalharness-report-dir", str(out)]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result, json.loads((out / "run.json").read_text()), out


def _answers(model: Path, frame: pd.DataFrame, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and P(fraud) from a fresh CPU session, in the suite's batches (int8 activations are
    quantized per batch, so the batches must be the same ones)."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    numeric = frame[FEATURES].to_numpy(np.float32)
    category = frame[["merchant_category"]].to_numpy(object)
    parts = [
        session.run(["label", "probabilities"], {"numeric": numeric[start : start + batch_size],
                                                 "merchant_category": category[start : start + batch_size]})
        for start in range(0, len(frame), batch_size)
    ]  # fmt: skip
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1][:, 1] for p in parts])


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    """Both models' answers to the evaluation rows, computed without evalharness."""
    spec = load_suite(REPO_ROOT / "suites" / "quantized.yaml").spec
    frame = pd.read_csv(REPO_ROOT / "datasets" / "finance" / "transactions.csv")
    label, score = _answers(REPO_ROOT / INT8, frame, spec.target.batch_size)
    base_label, base_score = _answers(REPO_ROOT / FP32, frame, spec.baseline.batch_size)
    return {"truth": frame["is_fraud"].to_numpy(), "label": label, "score": score,
            "base_label": base_label, "base_score": base_score}  # fmt: skip


def _gates(record: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {gate["name"]: gate for gate in record["suites"][0]["gates"]}


def test_quantized_suite_passes_every_gate(quantized_run) -> None:  # type: ignore[no-untyped-def]
    result, record, _ = quantized_run
    assert "9 passed" in result.stdout
    gates = _gates(record)
    speed = ["load::p95_ms", "load::cold_start_s", "load::cpu_ms_per_request", "load::rss_mib", "load::model_size_mib"]
    assert list(gates) == ["accuracy", "f1", "auc", "agreement", *speed]
    assert record["status"] == "passed" and all(g["status"] == "passed" for g in gates.values())
    assert [gate["verdict"] for gate in gates["accuracy"]["comparison"]["gates"]] == ["passed"]
    assert gates["accuracy"]["comparison"]["delta_interval"][0] >= -0.01  # non-inferior at 95 %
    suite = record["suites"][0]
    assert suite["target"]["path"] == INT8 and suite["baseline"]["path"] == FP32


def test_accuracy_comparison_matches_an_independent_computation(quantized_run, reference) -> None:  # type: ignore[no-untyped-def]
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    _, record, _ = quantized_run
    gate = _gates(record)["accuracy"]
    truth, label, base_label = reference["truth"], reference["label"], reference["base_label"]
    candidate, baseline = skm.accuracy_score(truth, label), skm.accuracy_score(truth, base_label)
    comparison = gate["comparison"]
    assert gate["value"] == pytest.approx(candidate, abs=1e-12)
    assert comparison["baseline"]["value"] == pytest.approx(baseline, abs=1e-12)
    assert comparison["delta"] == pytest.approx(candidate - baseline, abs=1e-12)
    right, base_right = label == truth, base_label == truth
    both, only_candidate = int((right & base_right).sum()), int((right & ~base_right).sum())
    only_baseline, neither = int((~right & base_right).sum()), int((~right & ~base_right).sum())
    assert comparison["mcnemar"]["table"] == {"both": both, "only_candidate": only_candidate,
                                              "only_baseline": only_baseline, "neither": neither}  # fmt: skip
    # statsmodels' table: rows are the baseline right / wrong, columns the candidate right / wrong.
    expected = contingency.mcnemar([[both, only_baseline], [only_candidate, neither]], exact=True)
    assert comparison["mcnemar"]["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert comparison["flips"]["right_to_wrong"] == only_baseline
    assert comparison["flips"]["wrong_to_right"] == only_candidate


def test_other_gates_match_scikit_learn(quantized_run, reference) -> None:  # type: ignore[no-untyped-def]
    _, record, _ = quantized_run
    gates = _gates(record)
    r = reference
    f1, base_f1 = skm.f1_score(r["truth"], r["label"]), skm.f1_score(r["truth"], r["base_label"])
    auc, base_auc = skm.roc_auc_score(r["truth"], r["score"]), skm.roc_auc_score(r["truth"], r["base_score"])
    assert gates["f1"]["comparison"]["ratio"] == pytest.approx(f1 / base_f1, abs=1e-9)
    assert gates["auc"]["value"] == pytest.approx(auc, abs=1e-9)
    assert gates["auc"]["comparison"]["delta"] == pytest.approx(auc - base_auc, abs=1e-9)
    assert gates["agreement"]["value"] == pytest.approx((r["label"] == r["base_label"]).mean(), abs=1e-12)


def _initializers(path: str) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    return {t.name: numpy_helper.to_array(t) for t in onnx.load(str(REPO_ROOT / path)).graph.initializer}


def test_int8_model_is_really_quantized() -> None:
    fp32_nodes = onnx.load(str(REPO_ROOT / FP32)).graph.node
    fp32_ops = [node.op_type for node in fp32_nodes]
    int8_ops = [node.op_type for node in onnx.load(str(REPO_ROOT / INT8)).graph.node]
    assert fp32_ops.count("MatMul") == 3 and "MatMulInteger" not in fp32_ops
    assert int8_ops.count("MatMulInteger") == 3 and int8_ops.count("DynamicQuantizeLinear") == 3
    assert "MatMul" not in int8_ops and "Gemm" not in int8_ops
    fp32, int8 = _initializers(FP32), _initializers(INT8)
    weights = {node.input[1]: fp32[node.input[1]] for node in fp32_nodes if node.op_type == "MatMul"}
    assert sorted(w.shape for w in weights.values()) == [(16, 256), (256, 1), (256, 256)]
    for name, weight in weights.items():  # each weight matrix is stored as int8 only, and dequantizes back
        assert name not in int8
        quantized, zero_point = int8[f"{name}_quantized"], int8[f"{name}_zero_point"]
        assert quantized.dtype == np.int8 and quantized.shape == weight.shape
        scale = int8[f"{name}_scale"]  # per output column
        restored = (quantized.astype(np.float32) - zero_point) * scale
        assert np.all(np.abs(restored - weight) <= scale / 2 * 1.001 + 1e-7), name
    ratio = (REPO_ROOT / INT8).stat().st_size / (REPO_ROOT / FP32).stat().st_size
    assert ratio < 0.35  # measured 0.28: 4-byte weights became 1-byte ones


def test_quantized_build_is_deterministic(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    script = REPO_ROOT / "scripts" / "build_quantized_demo.py"
    rebuilt = build_twice_and_compare(script, tmp_path, [FP32, INT8], [])
    frame = pd.read_csv(REPO_ROOT / "datasets" / "finance" / "transactions.csv")
    for model in (FP32, INT8):
        again, _ = _answers(rebuilt / model, frame, 1024)
        committed, _ = _answers(REPO_ROOT / model, frame, 1024)
        assert (again == committed).mean() >= 0.999, model  # library updates may move a weight, not the answers


def test_speed_ratios_are_the_rounds_geometric_mean_with_a_t_interval(quantized_run) -> None:  # type: ignore[no-untyped-def]
    """Each load ratio recomputed from the per-round values the record keeps, with scipy's t quantile."""
    from scipy import stats

    _, record, _ = quantized_run
    load = record["suites"][0]["load"]
    versus = load["versus"]
    assert versus["rounds"] == 4 and versus["order"] == "ABBA" and not versus["baseline_invalid_reasons"]
    for name in ("p95_ms", "cpu_ms_per_request", "rss_mib"):
        mine = [values[name] for values in versus["round_values"]["target"]]
        theirs = [values[name] for values in versus["round_values"]["baseline"]]
        logs = np.log(np.array(mine) / np.array(theirs))
        half = stats.t.ppf(0.975, len(logs) - 1) * logs.std(ddof=1) / np.sqrt(len(logs))
        ratio = versus["ratios"][name]
        assert ratio["ratio"] == pytest.approx(float(np.exp(logs.mean())), rel=1e-9)
        assert ratio["ratio_interval"] == pytest.approx([np.exp(logs.mean() - half), np.exp(logs.mean() + half)])
    sizes = [(REPO_ROOT / path).stat().st_size for path in (INT8, FP32)]
    assert versus["ratios"]["model_size_mib"]["ratio"] == pytest.approx(sizes[0] / sizes[1], rel=1e-6)
    gate = _gates(record)["load::model_size_mib"]
    assert gate["comparison"]["gates"][0]["verdict"] == "passed" and gate["comparison"]["ratio"] < 0.35


def test_speed_charts_overlay_the_baseline_and_keep_one_rounds_clock(quantized_run) -> None:  # type: ignore[no-untyped-def]
    """The HDR curves of both sides (all rounds merged) and the time series of the first round only."""
    _, record, _ = quantized_run
    load = record["suites"][0]["load"]
    baseline_curve = load["versus"]["baseline_latency_curve"]
    for curve in (load["latency_curve"], baseline_curve):
        values = [point["ms"] for point in curve]
        assert values == sorted(values) and curve[-1]["percentile"] == 100.0
    assert load["latency_curve"][-1]["ms"] == pytest.approx(load["latency_ms"]["max"], rel=1e-3)
    assert load["timeline_round"] == 1
    round_s = load["warmup_s"] + load["duration_s"] / load["versus"]["rounds"]
    assert load["timeline"][-1]["second"] < round_s  # one round's seconds, not four rounds' summed


def test_junit_carries_each_gates_numbers_for_two_independent_readers(quantized_run) -> None:  # type: ignore[no-untyped-def]
    """junitparser and junit2html read back every gate's numbers exactly as run.json has them, and the
    load run's time is shared by its load gates instead of booked on the first."""
    junitparser = pytest.importorskip("junitparser")
    junit2html = pytest.importorskip("junit2htmlreport.parser")
    _, record, out = quantized_run
    gates = record["suites"][0]["gates"]
    suite = next(iter(junitparser.JUnitXml.fromfile(str(out / "junit.xml"))))
    properties = {prop.name: prop.value for prop in suite.properties()}
    cases = {case.name: case for case in suite}
    for gate in gates:
        assert float(properties[f"{gate['name']}.value"]) == gate["value"]
        assert int(properties[f"{gate['name']}.n"]) == gate["n"]
        blocks = r"<measurement><name>(\w+)</name><value>([^<]+)</value>"
        measured = dict(re.findall(blocks, cases[gate["name"]].system_out))
        assert float(measured["value"]) == gate["value"]
        if gate["comparison"]:
            assert float(measured["ratio"]) == gate["comparison"]["ratio"]
        if gate["interval"]:
            assert [float(measured["low"]), float(measured["high"])] == gate["interval"]
        if gate["min"] is not None:
            assert float(properties[f"{gate['name']}.min"]) == gate["min"]
    assert float(properties["accuracy.delta"]) == pytest.approx(gates[0]["comparison"]["delta"], abs=1e-4)
    load_times = [float(case.time) for name, case in cases.items() if name.startswith("load::")]
    assert len(set(load_times)) == 1 and load_times[0] > 1.0  # shared evenly, none at 0
    report = junit2html.Junit(str(out / "junit.xml"))
    (parsed,) = report.suites
    assert {prop.name: prop.value for prop in parsed.properties} == properties
    parsed_cases = {case.name: case for case in parsed.all()}
    assert set(parsed_cases) == set(cases) and all(parsed_cases[g["name"]].failure is None for g in gates)
    assert all(f"<measurement><name>value</name><value>{g['value']!r}</value>" in parsed_cases[g["name"]].stdout
               for g in gates)  # fmt: skip
