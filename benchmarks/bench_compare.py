"""Cost of a candidate-vs-baseline suite against the two single evaluations it replaces, in one run.

Workload: suites/quantized.yaml's models (fraud_int8.onnx and fraud_mlp.onnx) on the 6,000 finance
transactions, gates accuracy, f1 and auc (1,000 bootstrap resamples). Timed, each from a fresh
session (suite loaded, models opened, predictions, every gate): the candidate alone, the baseline
alone, and the comparison suite, whose gates add the baseline's metrics, the paired bootstrap of
every difference and ratio, McNemar and the flips. Reference: the two single evaluations summed.
Goal: comparison / (candidate + baseline) <= 1.1. Usage: ``python benchmarks/bench_compare.py``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from timing import alternate

from evalharness.session import EvalSession

REPO = Path(__file__).resolve().parents[1]
COMPARED = (
    "metrics:\n  accuracy: {min: 0.92, max_drop: 0.01, gate_on: bound}\n  f1: {min_retention: 0.95}\n"
    "  auc: {max_drop: 0.01}\n"
)
SINGLE = "metrics:\n  accuracy: {min: 0.92, gate_on: bound}\n  f1: {}\n  auc: {}\n"


def _suite(folder: Path, name: str, target: str, baseline: str | None) -> Path:
    models, data = REPO / "models", REPO / "datasets/finance/transactions.csv"
    side = (
        "{kind: onnx, path: %s, batch_size: 1024, providers: [CPUExecutionProvider], inputs: {numeric: [amount, "
        "hour, card_present, is_international, is_new_device, distance_from_home_km, txn_count_24h, "
        "account_age_days], merchant_category: merchant_category}, outputs: {label: label, "
        "score: {name: probabilities, column: 1}}}"
    )
    text = f"schema: 1\nname: {name}\nseed: 7\ntarget: {side % (models / target)}\n"
    if baseline:
        text += f"baseline: {side % (models / baseline)}\n"
    text += f"dataset: {{path: {data}, id: txn_id, expected: is_fraud, positive_label: 1}}\n"
    path = folder / f"{name}.yaml"
    path.write_text(text + (COMPARED if baseline else SINGLE))
    return path


def _evaluate(suite: Path) -> None:
    state = EvalSession.load([str(suite)], suite.parent / "reports")
    try:
        run = state.run_for(suite)
        for name in run.suite.metric_order:
            run.evaluate_gate(name, name)
    finally:
        state.close()


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        candidate = _suite(root, "candidate", "fraud_int8.onnx", None)
        baseline = _suite(root, "baseline", "fraud_mlp.onnx", None)
        compared = _suite(root, "compared", "fraud_int8.onnx", "fraud_mlp.onnx")
        _evaluate(compared)  # warm imports and caches once, for every timing alike

        def single() -> None:
            _evaluate(candidate)
            _evaluate(baseline)

        stats = alternate(lambda: _evaluate(compared), single, args.repeats)
    print(json.dumps({"compared_median_s": round(stats.a_median_s, 4),
                      "candidate_plus_baseline_median_s": round(stats.b_median_s, 4),
                      "ratio_compared_vs_two_single_min_median_max": str(stats)},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
