"""DTW throughput: the ``dtw`` metric vs calling dtaidistance directly on the same pairs, in one run.

Workload: 20,000 pairs of 96-point series (a sine with noise and a shifted, noisy copy), Sakoe-Chiba
band of 8. References: a loop of ``dtw.distance_fast`` (distance only, without pruning, as the metric
calls it: dtaidistance's pruning returns inf for some pairs) and a loop of
``dtw.warping_path_fast`` (distance and path, which the path-length normalisation needs), each on
ready float64 arrays. Timed: the metric's distance stage (what replaces the loop) and the metric
end to end (normalisation, scores and the 1,000-resample bootstrap interval of the mean).
The pruned routine is timed too, to show what correctness costs. Every way is timed in turn on each
repeat; each ratio (a speed ratio: reference seconds / our seconds) is taken per repeat and reported
as min, median and max. Usage: ``python benchmarks/bench_dtw.py [--pairs N] [--length L] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import json
import statistics

import numpy as np
import pandas as pd
from dtaidistance import dtw
from timing import alternate_many, paired

from evalharness.metrics.base import MetricSettings
from evalharness.metrics.dtw import DTW, DtwOptions, row_distances
from evalharness.predictions import Predictions

WINDOW = 8


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--length", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    t = np.linspace(0, 8 * np.pi, args.length)
    expected = [np.sin(t + rng.uniform(0, 6)) * rng.uniform(1, 9) for _ in range(args.pairs)]
    predicted = np.array([np.roll(e, rng.integers(-3, 4)) + rng.normal(0, 0.3, args.length) for e in expected])
    expected_column = np.empty(args.pairs, dtype=object)
    expected_column[:] = expected
    predictions = Predictions(
        np.arange(args.pairs), expected_column, predicted, None, pd.DataFrame(index=range(args.pairs))
    )
    pairs = list(zip(expected, predicted))
    settings = MetricSettings()
    ways = {
        "distance_fast": lambda: [dtw.distance_fast(e, p, window=WINDOW + 1, use_pruning=False) for e, p in pairs],
        "distance_fast_pruned": lambda: [dtw.distance_fast(e, p, window=WINDOW + 1) for e, p in pairs],
        "warping_path_fast": lambda: [
            dtw.warping_path_fast(e, p, include_distance=True, window=WINDOW + 1) for e, p in pairs
        ],
        "stage_distances_only": lambda: row_distances(expected_column, predicted, WINDOW, with_paths=False),
        "stage_distances_and_paths": lambda: row_distances(expected_column, predicted, WINDOW),
        "metric_scale_only": lambda: DTW.compute(predictions, DtwOptions(window=WINDOW, normalize="scale"), settings),
        "metric_path_and_scale": lambda: DTW.compute(predictions, DtwOptions(window=WINDOW), settings),
    }
    times = alternate_many(ways, args.repeats)
    ratios = {  # name: (reference, ours); each a speed ratio, reference seconds / our seconds
        "stage_distances_vs_distance_fast": ("distance_fast", "stage_distances_only"),
        "stage_paths_vs_warping_path_fast": ("warping_path_fast", "stage_distances_and_paths"),
        "scale_only_vs_distance_fast": ("distance_fast", "metric_scale_only"),
        "path_and_scale_vs_warping_path_fast": ("warping_path_fast", "metric_path_and_scale"),
        "path_and_scale_vs_distance_fast": ("distance_fast", "metric_path_and_scale"),
        "unpruned_vs_pruned_distance_fast": ("distance_fast_pruned", "distance_fast"),
    }
    result = {
        "pairs": args.pairs,
        "length": args.length,
        "repeats": args.repeats,
        "median_pairs_per_s": {name: round(args.pairs / statistics.median(values)) for name, values in times.items()},
        "ratios_min_median_max": {name: str(paired(times, *sides)) for name, sides in ratios.items()},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
