"""Rule evaluation throughput: the ``consistency`` metric vs a plain per-row CEL loop, in one run.

Workload: the six rules of suites/finance.yaml (four with a ``when`` condition, so ten CEL
programs) over 100,000 rows resampled from the finance dataset, with the bundled model's real
predictions. Reference: the straightforward way, ``program.execute(row_dict)`` for every row and
every program. Also measured: a worst case where every row is distinct (a rule over the
``amount``, made unique per row), so deduplication cannot help.

Reported as row-rules per second on one core (CEL evaluation is single-threaded here), and as
the ratio to the reference. Usage: ``python benchmarks/bench_rules.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import cel
import numpy as np

from evalharness.metrics.base import MetricSettings
from evalharness.metrics.consistency import CONSISTENCY, ConsistencyOptions
from evalharness.metrics.rules import rule_variables
from evalharness.runner import SuiteRun
from evalharness.suite.loader import load_suite

REPO_ROOT = Path(__file__).resolve().parents[1]


def _predictions(rows: int) -> tuple[Any, ConsistencyOptions]:
    suite = load_suite(REPO_ROOT / "suites" / "finance.yaml")
    import sys

    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    from bench_overhead import scaled_frame

    frame = scaled_frame(SuiteRun(suite).frame(), rows, suite.spec.dataset.id)
    run = SuiteRun(suite, frame)
    return run.predictions(), suite.spec.declared_metrics()["consistency"]


def _programs(options: ConsistencyOptions) -> list[Any]:
    texts = [text for rule in options.rules for text in (rule.when, rule.rule) if text]
    return [cel.compile(text) for text in texts]


def naive_seconds(predictions: Any, options: ConsistencyOptions) -> tuple[float, int]:
    """Every program on every row through a dict of all variables (the reference)."""
    table = rule_variables(predictions)
    names = list(table)
    rows = [dict(zip(names, values)) for values in zip(*(table[n] for n in names))]
    programs = _programs(options)
    started = time.perf_counter()
    for program in programs:
        for row in rows:
            program.execute(row)
    return time.perf_counter() - started, len(programs) * len(rows)


def harness_seconds(predictions: Any, options: ConsistencyOptions) -> float:
    """The consistency metric end to end (variables, deduplication, CEL, interval, details)."""
    started = time.perf_counter()
    CONSISTENCY.compute(predictions, options, MetricSettings())
    return time.perf_counter() - started


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    predictions, options = _predictions(args.rows)
    naive, evaluations = naive_seconds(predictions, options)
    harness = min(harness_seconds(predictions, options) for _ in range(3))
    distinct = ConsistencyOptions.model_validate(
        {"rules": [{"name": "distinct", "rule": "amount >= 0.0 || predicted == 1"}]}
    )
    unique_amounts = predictions.inputs.assign(amount=predictions.inputs["amount"] + np.arange(args.rows) * 1e-7)
    every_row_distinct = dataclasses.replace(predictions, inputs=unique_amounts)
    distinct_naive, distinct_evaluations = naive_seconds(every_row_distinct, distinct)
    distinct_harness = min(harness_seconds(every_row_distinct, distinct) for _ in range(3))
    result = {
        "rows": args.rows,
        "programs": evaluations // args.rows,
        "finance_rules_row_rules_per_s": round(evaluations / harness),
        "finance_rules_naive_row_rules_per_s": round(evaluations / naive),
        "finance_rules_ratio_to_naive": round(naive / harness, 2),
        "all_distinct_row_rules_per_s": round(distinct_evaluations / distinct_harness),
        "all_distinct_naive_row_rules_per_s": round(distinct_evaluations / distinct_naive),
        "all_distinct_ratio_to_naive": round(distinct_naive / distinct_harness, 2),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
