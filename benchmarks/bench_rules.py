"""Rule evaluation throughput: the ``consistency`` metric vs a plain per-row CEL loop, in one run.

Workload: the six rules of suites/finance.yaml (four with a ``when`` condition, so ten CEL
programs) over 100,000 rows resampled from the finance dataset, with the bundled model's real
predictions. Reference: the straightforward way, ``program.execute(row_dict)`` for every row and
every program. Also measured: a worst case where every row is distinct (a rule over the
``amount``, made unique per row), so deduplication cannot help.

Reported as row-rules per second on one core (CEL evaluation is single-threaded here), and as
the speed ratio to the reference (reference seconds / metric seconds), the two alternating on every
repeat, as min, median and max over the repeat pairs.
Usage: ``python benchmarks/bench_rules.py [--rows N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
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
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from timing import RatioStats, alternate  # noqa: E402


def _predictions(rows: int) -> tuple[Any, ConsistencyOptions]:
    suite = load_suite(REPO_ROOT / "suites" / "finance.yaml")
    from bench_overhead import scaled_frame

    frame = scaled_frame(SuiteRun(suite).frame(), rows, suite.spec.dataset.id)
    run = SuiteRun(suite, frame)
    options = suite.spec.declared_metrics()["consistency"]
    # The rules only: the suite's behavioural checks ask the model again, which is not what is measured here.
    return run.predictions(), options.model_copy(update={"checks": []})


def _programs(options: ConsistencyOptions) -> list[Any]:
    texts = [text for rule in options.rules for text in (rule.when, rule.rule) if text]
    return [cel.compile(text) for text in texts]


def naive(predictions: Any, options: ConsistencyOptions) -> tuple[Any, int]:
    """Every program on every row through a dict of all variables (the reference): the loop to time, and
    how many row-rules it evaluates."""
    table = rule_variables(predictions)
    names = list(table)
    rows = [dict(zip(names, values)) for values in zip(*(table[n] for n in names))]
    programs = _programs(options)

    def run() -> None:
        for program in programs:
            for row in rows:
                program.execute(row)

    return run, len(programs) * len(rows)


def compare(predictions: Any, options: ConsistencyOptions, repeats: int) -> tuple[RatioStats, int]:
    """The reference and the consistency metric end to end (variables, deduplication, CEL, interval,
    details), alternating; and the row-rules each evaluates."""
    reference, evaluations = naive(predictions, options)
    return alternate(
        reference, lambda: CONSISTENCY.compute(predictions, options, MetricSettings()), repeats
    ), evaluations


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    predictions, options = _predictions(args.rows)
    finance, evaluations = compare(predictions, options, args.repeats)
    distinct = ConsistencyOptions.model_validate(
        {"rules": [{"name": "distinct", "rule": "amount >= 0.0 || predicted == 1"}]}
    )
    unique_amounts = predictions.inputs.assign(amount=predictions.inputs["amount"] + np.arange(args.rows) * 1e-7)
    every_row_distinct = dataclasses.replace(predictions, inputs=unique_amounts)
    worst, distinct_evaluations = compare(every_row_distinct, distinct, args.repeats)
    result = {
        "rows": args.rows,
        "repeats": args.repeats,
        "programs": evaluations // args.rows,
        "finance_rules_row_rules_per_s": round(evaluations / finance.b_median_s),
        "finance_rules_naive_row_rules_per_s": round(evaluations / finance.a_median_s),
        "finance_rules_ratio_to_naive_min_median_max": f"x{finance.low:.1f} / x{finance.median:.1f} / "
        f"x{finance.high:.1f}",
        "all_distinct_row_rules_per_s": round(distinct_evaluations / worst.b_median_s),
        "all_distinct_naive_row_rules_per_s": round(distinct_evaluations / worst.a_median_s),
        "all_distinct_ratio_to_naive_min_median_max": str(worst),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
