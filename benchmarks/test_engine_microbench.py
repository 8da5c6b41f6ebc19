"""In-process micro-benchmarks of the bundled local engines with pytest-benchmark: one inference per
batch size, through the same target classes a suite uses (the ``evalharness_engine`` fixture).

    .venv/bin/pytest benchmarks/test_engine_microbench.py --benchmark-autosave      # save a run
    .venv/bin/pytest benchmarks/test_engine_microbench.py --benchmark-compare       # against the last one
    .venv/bin/pytest-benchmark compare                                              # list and compare runs

Runs are saved in pytest-benchmark's own storage (``.benchmarks/``) and compared with its own options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("batch", [1, 32, 256, 1024])
def test_fraud_onnx_predict(benchmark: Any, evalharness_engine: Any, batch: int) -> None:
    """ONNX Runtime: the finance fraud model on ``batch`` rows, columns to tensors included."""
    pytest.importorskip("onnxruntime")
    target, frame = evalharness_engine(str(REPO_ROOT / "suites" / "finance.yaml"))
    rows = frame.head(batch)
    output = benchmark(target.predict, rows)
    assert len(output.label) == batch


@pytest.mark.parametrize("batch", [1, 64])
def test_forecaster_torch_predict(benchmark: Any, evalharness_engine: Any, batch: int) -> None:
    """torch: the bundled forecaster on ``batch`` series."""
    pytest.importorskip("torch")
    target, frame = evalharness_engine(str(REPO_ROOT / "suites" / "forecasting.yaml"))
    rows = frame.head(batch)
    output = benchmark(target.predict, rows)
    assert len(output.label) == batch
