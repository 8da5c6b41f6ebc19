"""Our two-sample KS test (``evalharness.metrics.ks``) against ``scipy.stats.ks_2samp``, and what scipy costs to import.

Workloads, A (ours) against B (scipy, imported beforehand), alternating on every repeat:

- finance: every numeric column of ``datasets/finance/reference.csv`` (5,000 rows) against
  ``transactions.csv`` (6,000 rows), missing values left out, all columns in one timed call: the exact
  p-value, as drift computes it;
- N rows: two normal samples of N rows each (default 20,000), the second shifted by 0.02 standard
  deviations: the asymptotic branch.

The ratio is A / B (below 1: ours is faster), reported as min, median and max over the repeats. The
one-off import of ``scipy.stats`` is timed in fresh interpreters (median of the repeats), since it is
what our version saves a drift gate on its first call.
Usage: ``python benchmarks/bench_ks.py [--rows N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import alternate  # noqa: E402

from evalharness.metrics.ks import ks_2samp  # noqa: E402

FINANCE = Path(__file__).resolve().parents[1] / "datasets" / "finance"
Pairs = list[tuple[np.ndarray, np.ndarray]]
IMPORT_TIMER = "import time; t = time.perf_counter(); import scipy.stats; print(time.perf_counter() - t)"


def finance_columns() -> Pairs:
    """The present values of each numeric column in the reference and the evaluated transactions."""
    reference = pd.read_csv(FINANCE / "reference.csv")
    current = pd.read_csv(FINANCE / "transactions.csv")
    numeric = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c]) and c != "is_fraud"]
    pairs = [(reference[c].to_numpy(float), current[c].to_numpy(float)) for c in numeric]
    return [(a[~np.isnan(a)], b[~np.isnan(b)]) for a, b in pairs]


def scipy_import_seconds(repeats: int) -> float:
    """The median time to import scipy.stats in a fresh interpreter."""
    runs = [subprocess.run([sys.executable, "-c", IMPORT_TIMER], capture_output=True, text=True, check=True)
            for _ in range(repeats)]  # fmt: skip
    return statistics.median(float(run.stdout) for run in runs)


def run_all(test: Callable[[np.ndarray, np.ndarray], object], pairs: Pairs) -> Callable[[], list[object]]:
    """One timed call: the test on every pair."""
    return lambda: [test(a, b) for a, b in pairs]


def largest_gap(pairs: Pairs) -> dict[str, float]:
    """The largest relative p-value difference, ours against scipy's, and whether the statistics agree."""
    ours = [ks_2samp(a, b) for a, b in pairs]
    theirs = [stats.ks_2samp(a, b) for a, b in pairs]
    return {
        "statistics_equal": all(o.statistic == t.statistic for o, t in zip(ours, theirs)),
        "max_relative_p_difference": max(abs(o.pvalue - t.pvalue) / t.pvalue for o, t in zip(ours, theirs)),
    }


def main() -> None:
    """Time both workloads and scipy's import, and print the ratios as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    finance = finance_columns()
    rng = np.random.default_rng(0)
    large = [(rng.normal(size=args.rows), rng.normal(0.02, size=args.rows))]

    finance_ratio = alternate(run_all(ks_2samp, finance), run_all(stats.ks_2samp, finance), args.repeats)
    large_ratio = alternate(run_all(ks_2samp, large), run_all(stats.ks_2samp, large), args.repeats)
    print(json.dumps({
        "finance_columns": len(finance),
        "finance_ours_over_scipy": finance_ratio.summary(),
        "finance_agreement": largest_gap(finance),
        f"rows_{args.rows}_ours_over_scipy": large_ratio.summary(),
        f"rows_{args.rows}_agreement": largest_gap(large),
        "scipy_stats_import_s": round(scipy_import_seconds(args.repeats), 3),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
