"""Intervals whose cost does not grow with resamples x rows, against the row bootstrap they replace.

Workload: n rows (default 1,000,000) of a binary task with rounded scores (many ties), as the
finance model gives. Measured, A against B, alternating on every repeat:

- AUC: DeLong's interval (``delong_parts`` + ``delong_interval``) against the seeded row bootstrap
  of the same AUC (``bootstrap_rows`` with the AUC resampler), 1,000 resamples;
- robustness-style retention (mean worst / mean clean over 0/1 rows): the multinomial over kinds of
  row (``terms_bootstrap``) against the row bootstrap with the ratio resampler, 1,000 resamples.

The ratio is A / B (below 1: A is faster), reported as min, median and max over the repeats.
Usage: ``python benchmarks/bench_intervals.py [--rows N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import alternate  # noqa: E402

from evalharness.metrics.base import MetricSettings  # noqa: E402
from evalharness.metrics.delong import delong_interval, delong_parts  # noqa: E402
from evalharness.metrics.ranking import auc_resampler  # noqa: E402
from evalharness.metrics.stats import (  # noqa: E402
    RatioTerms,
    bootstrap_rows,
    percentile_interval,
    ratio_resampler,
    terms_bootstrap,
)

SETTINGS = MetricSettings(confidence=0.95, resamples=1000, seed=7)


def main() -> None:
    """Time both pairs and print the ratios and the intervals as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    truth = rng.random(args.rows) < 0.15
    score = np.round(np.clip(0.35 * truth + rng.normal(0.3, 0.15, args.rows), 0, 1), 3)
    clean = (rng.random(args.rows) < 0.95).astype(float)
    worst = clean * (rng.random(args.rows) < 0.97)
    found: dict[str, object] = {}

    def delong() -> None:
        found["delong"] = delong_interval(delong_parts(truth, score), SETTINGS.confidence)

    def auc_bootstrap() -> None:
        samples = bootstrap_rows(args.rows, SETTINGS, "auc", auc_resampler(truth, score))
        found["auc_bootstrap"] = percentile_interval(samples, SETTINGS.confidence)

    def multinomial() -> None:
        samples, _ = terms_bootstrap(RatioTerms(worst, clean), SETTINGS, "robustness")
        found["multinomial"] = percentile_interval(samples, SETTINGS.confidence)

    def rows_bootstrap() -> None:
        samples = bootstrap_rows(args.rows, SETTINGS, "robustness", ratio_resampler(worst, clean))
        found["rows_bootstrap"] = percentile_interval(samples, SETTINGS.confidence)

    auc = alternate(delong, auc_bootstrap, args.repeats)
    retention = alternate(multinomial, rows_bootstrap, args.repeats)
    print(json.dumps({
        "rows": args.rows,
        "resamples": SETTINGS.resamples,
        "auc_delong_over_bootstrap": auc.summary(),
        "retention_multinomial_over_rows": retention.summary(),
        "intervals": {name: [round(bound, 5) for bound in interval] for name, interval in found.items()},  # type: ignore[attr-defined]
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
