"""The forecasting suite end to end: a torch.export model gated on DTW, checked against tslearn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.builders import build_twice_and_compare

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
torch = pytest.importorskip("torch")
tslearn_metrics = pytest.importorskip("tslearn.metrics")


def _pytest(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness-report-dir", str(out), *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)


def test_forecasting_suite_passes_with_the_tslearn_value(tmp_path: Path) -> None:
    result = _pytest("--evalharness", "suites/forecasting.yaml", out=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    gates = {g["name"]: g for g in json.loads((tmp_path / "run.json").read_text())["suites"][0]["gates"]}
    gate = gates["dtw"]
    robustness = gates["robustness"]
    assert robustness["status"] == "passed" and robustness["details"]["quality"] == "dtw consistency"
    attacks = {v["recipe"]: v["quality"] for v in robustness["details"]["variants"]}
    assert attacks["pgd"] <= attacks["fgsm"] < robustness["details"]["clean_quality"]
    rows = [json.loads(line) for line in (REPO_ROOT / "datasets/forecasting/series.jsonl").read_text().splitlines()]
    model = torch.export.load(str(REPO_ROOT / "models/forecaster.pt2")).module()
    with torch.inference_mode():
        forecasts = model(torch.tensor([r["history"] for r in rows], dtype=torch.float32)).numpy().astype(float)
    scores = []
    for row, forecast in zip(rows, forecasts):
        truth = np.array(row["future"])
        distance = tslearn_metrics.dtw(truth, forecast, global_constraint="sakoe_chiba", sakoe_chiba_radius=3)
        path, _ = tslearn_metrics.dtw_path(truth, forecast, global_constraint="sakoe_chiba", sakoe_chiba_radius=3)
        scores.append(np.exp(-distance / np.sqrt(len(path)) / np.std(truth)))
    assert gate["value"] == pytest.approx(np.mean(scores), abs=1e-3)
    assert gate["status"] == "passed" and gate["n"] == 1000


def test_every_shipped_suite_passes_in_one_run(tmp_path: Path) -> None:
    """Every shipped suite in one pytest run, but the LLM one: suites/llm_qa.yaml runs against its real
    server in tests/integration/test_llm_server.py, and 45 s of CI is not spent on it twice."""
    expected = ["customer-service", "finance-fraud", "forecasting", "fraud-int8", "fraud-serving"]
    others = [f"suites/{path.name}" for path in sorted((REPO_ROOT / "suites").glob("*.yaml"))
              if path.name != "llm_qa.yaml"]  # fmt: skip
    result = _pytest(*[arg for suite in others for arg in ("--evalharness", suite)], out=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads((tmp_path / "run.json").read_text())
    names = sorted(suite["name"] for suite in record["suites"])
    assert names == expected
    summary = record["summary"]  # a gate without a threshold is reported (info), not passed
    assert record["status"] == "passed" and summary["gates"] == summary["passed"] + summary["info"]
    assert summary["passed"] >= 25 and summary["failed"] == summary["errors"] == 0


def test_forecasting_build_is_deterministic(tmp_path: Path) -> None:
    dataset = "datasets/forecasting/series.jsonl"
    script = REPO_ROOT / "scripts" / "build_forecasting_demo.py"
    build_twice_and_compare(script, tmp_path, [dataset, "models/forecaster.pt2"], [dataset])
