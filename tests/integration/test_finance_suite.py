"""The bundled finance suite end to end, checked against scikit-learn on an independent session."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from evalharness.perturb.recipes import apply_recipe, recipe_rng
from evalharness.suite.loader import load_suite

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
ort = pytest.importorskip("onnxruntime")

FEATURES = ["amount", "hour", "card_present", "is_international", "is_new_device",
            "distance_from_home_km", "txn_count_24h", "account_age_days"]  # fmt: skip


@pytest.fixture(scope="module")
def finance_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("finance-reports")
    command = [sys.executable, "-m", "pytest", "--evalharness", "suites/finance.yaml", "-p", "no:cacheprovider",
               "--evalharness-report-dir", str(out)]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, env=env)
    return result, out


def _finance_rules_in_pandas(frame: pd.DataFrame, label: np.ndarray, score: np.ndarray, answer) -> float:  # type: ignore[no-untyped-def]
    """suites/finance.yaml's six rules and two checks written again in pandas: held / applicable pairs."""
    f = frame.assign(predicted=label, score=score)
    everywhere = pd.Series(True, index=f.index)
    rules = [
        ((f.amount >= 500.0) & (f.is_new_device == 1), f.predicted == 1),
        ((f.is_international == 1) & (f.is_new_device == 1), f.predicted == 1),
        (
            (f.card_present == 1) & (f.amount < 50.0) & (f.account_age_days > 365)
            & (f.is_new_device == 0) & (f.is_international == 0),
            f.predicted == 0,
        ),
        (f.merchant_category.isin(["grocery", "pharmacy"]) & (f.card_present == 1) & (f.is_new_device == 0),
         f.predicted == 0),
        (everywhere, (f.score >= 0.5) == (f.predicted == 1)),
        (everywhere, (f.score >= 0.0) & (f.score <= 1.0)),
    ]  # fmt: skip
    _, tenfold_score = answer(frame.assign(amount=frame.amount * 10.0))
    rounded_label, _ = answer(frame.assign(distance_from_home_km=np.trunc(frame.distance_from_home_km)))
    rules += [(everywhere, pd.Series(tenfold_score >= score - 0.01)), (everywhere, pd.Series(rounded_label == label))]
    applicable = sum(int(when.sum()) for when, _ in rules)
    held = sum(int((when & holds).sum()) for when, holds in rules)
    return held / applicable


@pytest.fixture(scope="module")
def reference() -> dict[str, float]:
    """The same numbers computed independently: a fresh ONNX Runtime session and scikit-learn."""
    frame = pd.read_csv(REPO_ROOT / "datasets" / "finance" / "transactions.csv")
    session = ort.InferenceSession(str(REPO_ROOT / "models" / "fraud.onnx"), providers=["CPUExecutionProvider"])
    feeds = {
        "numeric": frame[FEATURES].to_numpy(np.float32),
        "merchant_category": frame[["merchant_category"]].to_numpy(object),
    }
    label, probabilities = session.run(["label", "probabilities"], feeds)
    truth = frame["is_fraud"].to_numpy()

    def answer(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        feeds = {
            "numeric": rows[FEATURES].to_numpy(np.float32),
            "merchant_category": rows[["merchant_category"]].to_numpy(object),
        }
        labels, scores = session.run(["label", "probabilities"], feeds)
        return labels, scores[:, 1]

    consistency = _finance_rules_in_pandas(frame, label, probabilities[:, 1], answer)
    robust = label == truth
    recipes = load_suite(REPO_ROOT / "suites" / "finance.yaml").spec.declared_metrics()["robustness"].perturb
    for index, recipe in enumerate(recipes):
        perturbed = apply_recipe(recipe, frame, recipe_rng(7, index, recipe.recipe))
        feeds = {"numeric": perturbed[FEATURES].to_numpy(np.float32),
                 "merchant_category": perturbed[["merchant_category"]].astype(str).to_numpy(object)}  # fmt: skip
        robust &= session.run(["label"], feeds)[0] == truth
    return {
        "robustness": robust.mean() / skm.accuracy_score(truth, label),
        "consistency": consistency,
        "accuracy": skm.accuracy_score(truth, label),
        "precision": skm.precision_score(truth, label),
        "recall": skm.recall_score(truth, label),
        "f1": skm.f1_score(truth, label),
        "auc": skm.roc_auc_score(truth, probabilities[:, 1]),
    }


def test_finance_suite_passes_and_prints_the_table(finance_run) -> None:  # type: ignore[no-untyped-def]
    result, _ = finance_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10 passed" in result.stdout
    table = [line for line in result.stdout.splitlines() if line.startswith("finance-fraud ")]
    assert [line.split()[1] for line in table] == [
        "accuracy",
        "precision",
        "recall",
        "f1",
        "auc",
        "consistency",
        "drift",
        "robustness",
        "cases::night_jewelry_from_abroad_on_new_device",
        "cases::weekly_groceries_with_card",
    ]
    assert all(line.rstrip().endswith("PASSED") for line in table)


def test_recorded_values_match_scikit_learn(finance_run, reference) -> None:  # type: ignore[no-untyped-def]
    _, out = finance_run
    record = json.loads((out / "run.json").read_text())
    suite = record["suites"][0]
    assert record["status"] == "passed" and suite["rows"] == 6000
    for gate in suite["gates"]:
        assert gate["status"] == "passed"
        if gate["metric"] == "case":
            assert gate["value"] == 1.0
            continue
        if gate["name"] == "drift":
            assert gate["value"] < 0.02 and gate["details"]["drifting"] == []
            continue
        assert gate["value"] == pytest.approx(reference[gate["name"]], abs=1e-9), gate["name"]
        low, high = gate["interval"]
        assert low <= gate["value"] <= high
    assert next(g for g in suite["gates"] if g["name"] == "accuracy")["min"] == 0.92


def test_record_has_the_environment_manifest(finance_run) -> None:  # type: ignore[no-untyped-def]
    _, out = finance_run
    record = json.loads((out / "run.json").read_text())
    suite = record["suites"][0]

    def sha256(relative: str) -> str:
        return hashlib.sha256((REPO_ROOT / relative).read_bytes()).hexdigest()

    assert suite["sha256"] == sha256("suites/finance.yaml")
    assert suite["dataset"]["sha256"] == sha256("datasets/finance/transactions.csv")
    assert suite["target"]["sha256"] == sha256("models/fraud.onnx")
    assert suite["target"]["engine"].startswith("onnxruntime ")
    assert suite["seed"] == 7
    environment = record["environment"]
    assert {"python", "platform", "packages", "git_commit"} <= set(environment)
    assert "onnxruntime" in environment["packages"] and "numpy" in environment["packages"]
    assert environment["inputs"] == [
        {
            "suite": "suites/finance.yaml",
            "seed": 7,
            "suite_sha256": suite["sha256"],
            "dataset_sha256": suite["dataset"]["sha256"],
            "model_sha256": suite["target"]["sha256"],
        }
    ]
    assert suite["confusion_matrix"]["labels"] == [0, 1]
    assert sum(map(sum, suite["confusion_matrix"]["matrix"])) == 6000
    assert len(suite["failing_rows"]) == min(50, suite["failing_rows_total"])


def test_finance_junit_validates(finance_run, junit_schema) -> None:  # type: ignore[no-untyped-def]
    _, out = finance_run
    junit_schema.validate(str(out / "junit.xml"))


def test_demo_build_is_deterministic_and_matches_the_committed_files(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx")
    script = REPO_ROOT / "scripts" / "build_finance_demo.py"
    for folder in ("a", "b"):
        subprocess.run([sys.executable, str(script), "--out-root", str(tmp_path / folder)], check=True,
                       capture_output=True, timeout=300)  # fmt: skip
    for relative in ("datasets/finance/transactions.csv", "datasets/finance/reference.csv", "models/fraud.onnx"):
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes(), relative
    for relative in ("datasets/finance/transactions.csv", "datasets/finance/reference.csv"):
        assert (tmp_path / "a" / relative).read_bytes() == (REPO_ROOT / relative).read_bytes(), relative
    frame = pd.read_csv(REPO_ROOT / "datasets/finance/transactions.csv")
    feeds = {
        "numeric": frame[FEATURES].to_numpy(np.float32),
        "merchant_category": frame[["merchant_category"]].to_numpy(object),
    }
    rebuilt = ort.InferenceSession(str(tmp_path / "a" / "models/fraud.onnx")).run(["label"], feeds)[0]
    committed = ort.InferenceSession(str(REPO_ROOT / "models/fraud.onnx")).run(["label"], feeds)[0]
    assert (rebuilt == committed).mean() >= 0.999
    assert (REPO_ROOT / "models/fraud.onnx").stat().st_size <= 1_000_000
