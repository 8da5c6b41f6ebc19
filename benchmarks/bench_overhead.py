"""Harness overhead on 100k rows: evalharness vs a raw ``InferenceSession.run`` loop, in one run.

Reference: a plain loop of ``session.run`` over the same pre-built numpy batches with the same
batch size and the same model (the least any tool must do). Measured:

- predict path: ``OnnxTarget.predict(frame)``: column-to-tensor conversion, batching and output
  mapping, i.e. everything the harness adds around inference (goal: ratio <= 1.05);
- full evaluation: the predict path plus all five gates of suites/finance.yaml with their
  confidence intervals (1000 bootstrap resamples for F1 and AUC), as users run it.

The reference and the predict path alternate on one session, and so do the reference and full
evaluations (each with its own session, as users run them); each ratio is taken per repeat pair and
reported as min, median and max, so drift in machine speed hits both sides.
Usage: ``python benchmarks/bench_overhead.py [--rows N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pandas as pd

from evalharness.runner import SuiteRun
from evalharness.suite.loader import load_suite
from evalharness.targets import TargetContext, create_target

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from timing import alternate  # noqa: E402

SUITE = REPO_ROOT / "suites" / "finance.yaml"


def scaled_frame(frame: pd.DataFrame, rows: int, id_column: str, seed: int = 0) -> pd.DataFrame:
    """``rows`` rows resampled from the dataset, with fresh unique ids."""
    picks = np.random.default_rng(seed).integers(0, len(frame), rows)
    scaled = frame.iloc[picks].reset_index(drop=True)
    scaled[id_column] = [f"B{i:07d}" for i in range(rows)]
    return scaled


def raw_loop(
    session: ort.InferenceSession, batches: list[dict[str, np.ndarray]], outputs: list[str]
) -> Callable[[], Any]:
    """The reference: nothing but ``session.run`` over ready batches."""

    def run() -> Any:
        return [session.run(outputs, feed) for feed in batches]

    return run


def machine() -> str:
    """CPU model and core count, for the performance table."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, onnxruntime {ort.__version__}"


def main() -> None:
    """Measure and print the ratios as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    suite = load_suite(SUITE)
    run = SuiteRun(suite)
    frame = scaled_frame(run.frame(), args.rows, suite.spec.dataset.id)
    columns = [c for c in frame.columns if c not in (suite.spec.dataset.id, suite.spec.dataset.expected)]
    target = create_target(suite.spec.target, TargetContext(suite.base_dir, suite.spec.dataset.id, columns))
    feeds = target.feeds(frame)
    size = suite.spec.target.batch_size
    batches = [
        {name: array[start : start + size] for name, array in feeds.items()} for start in range(0, len(frame), size)
    ]
    # The reference uses the harness's own session: two sessions would each keep a spinning
    # intra-op thread pool and slow each other down on a small machine.
    reference = raw_loop(target.session, batches, target.output_names)

    def full_evaluation() -> None:
        evaluation = SuiteRun(suite, frame)
        for name in suite.metric_order:
            evaluation.evaluate_gate(name, name)

    predict = alternate(lambda: target.predict(frame), reference, args.repeats)
    evaluate = alternate(full_evaluation, reference, args.repeats)
    result = {
        "rows": args.rows,
        "batch_size": size,
        "repeats": args.repeats,
        "raw_loop_median_s": round(predict.b_median_s, 4),
        "harness_predict_median_s": round(predict.a_median_s, 4),
        "harness_full_evaluation_median_s": round(evaluate.a_median_s, 4),
        "predict_ratio_min_median_max": str(predict),
        "full_evaluation_ratio_min_median_max": f"x{evaluate.low:.1f} / x{evaluate.median:.1f} / x{evaluate.high:.1f}",
        "machine": machine(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
