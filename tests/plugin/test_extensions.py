"""A third-party metric installed through the ``evalharness.metrics`` entry point joins suites and the schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from tests.builders import demo_project

METRIC_MODULE = '''
from dataclasses import dataclass
import numpy as np
from evalharness.metrics.base import MetricValue
from evalharness.suite.fields import GateOptions


class Options(GateOptions):
    """Thresholds only."""


@dataclass(frozen=True)
class BalancedAccuracy:
    name: str = "balanced_accuracy"
    options: type = Options
    description: str = "mean recall over classes"

    def compute(self, predictions, options, settings):
        counts = predictions.confusion
        recall = np.diag(counts) / counts.sum(axis=1)
        return MetricValue(float(recall.mean()), len(predictions), None, "none", predictions.row_loss)


BALANCED = BalancedAccuracy()
'''


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    info = site / "evalharness_balanced-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evalharness-balanced\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[evalharness.metrics]\nbalanced_accuracy = balanced_metric:BALANCED\n")
    (site / "balanced_metric.py").write_text(METRIC_MODULE)
    return site


def _run(args: list[str], cwd: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_entry_point_metric_is_gated(tmp_path: Path, plugin_path: Path) -> None:
    demo_project(tmp_path, "balanced_accuracy: {min: 0.85}\naccuracy: {min: 0.8}")
    result = _run(["-m", "pytest", "--evalharness", "suite.yaml", "-p", "no:cacheprovider"], tmp_path, plugin_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    gate = json.loads((tmp_path / "reports" / "run.json").read_text())["suites"][0]["gates"][0]
    frame = pd.read_csv(tmp_path / "data.csv")
    predicted = (frame["x1"] + frame["x2"] > 0).astype(int)  # the demo model is sigmoid(x1 + x2) > 0.5
    assert gate["name"] == "balanced_accuracy"
    assert gate["value"] == pytest.approx(balanced_accuracy_score(frame["y"], predicted), abs=1e-9)
    schema = _run(["-m", "evalharness", "schema"], tmp_path, plugin_path).stdout
    assert '"balanced_accuracy"' in schema


def test_without_the_plugin_the_name_is_unknown(tmp_path: Path) -> None:
    demo_project(tmp_path, "balanced_accuracy: {min: 0.85}")
    result = _run(["-m", "pytest", "--evalharness", "suite.yaml", "-p", "no:cacheprovider"], tmp_path, tmp_path)
    assert result.returncode == 4
    assert "metrics.balanced_accuracy: unknown metric 'balanced_accuracy'" in result.stderr
