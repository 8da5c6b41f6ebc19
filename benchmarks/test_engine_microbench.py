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


CASES = [("onnxruntime", "finance.yaml", batch) for batch in (1, 32, 256, 1024)]
CASES += [("torch", "forecasting.yaml", batch) for batch in (1, 64)]


@pytest.mark.parametrize(("engine", "suite", "batch"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_engine_predict(benchmark: Any, evalharness_engine: Any, engine: str, suite: str, batch: int) -> None:
    """One ``predict`` of ``batch`` rows through the suite's target (columns to tensors included):
    ONNX Runtime on the finance fraud model, torch on the forecaster."""
    pytest.importorskip(engine)
    target, frame = evalharness_engine(str(REPO_ROOT / "suites" / suite))
    rows = frame.head(batch)
    output = benchmark(target.predict, rows)
    assert len(output.label) == batch
