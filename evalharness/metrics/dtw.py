"""``dtw``: temporal consistency of sequence outputs (forecasts, trajectories) by dynamic time warping.

Each row's predicted sequence is aligned with its expected one by dtaidistance's C implementation
(optionally inside a Sakoe-Chiba band). The DTW distance (square root of the summed squared
differences along the best warping path) is normalised per path length (an RMS error along the
path) and per series scale (in units of the expected series' standard deviation), and turned
into a temporal-consistency score in [0, 1]: ``exp(-normalised distance)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field, NonNegativeInt

from evalharness._optional import require
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.stats import bootstrap_rows, percentile_interval
from evalharness.predictions import Predictions
from evalharness.suite.fields import GateOptions

Normalisation = Literal["none", "path_length", "scale", "path_length_and_scale"]
SCALE_FLOOR = 1e-12


class DtwOptions(GateOptions):
    """Options of ``dtw``: the band, the normalisation, and which mean is gated."""

    window: NonNegativeInt | None = Field(
        None, description="Sakoe-Chiba band: points may be matched at most this many steps apart; default: no band"
    )
    normalize: Normalisation = Field("path_length_and_scale", description="how each row's distance is normalised")
    gate: Literal["consistency", "distance"] = Field(
        "consistency", description="consistency: mean score in [0, 1] (use min); distance: mean normalised distance"
    )


def _dtaidistance() -> Any:
    require("dtaidistance", extra="dtw", needed_for="metric 'dtw'")
    from dtaidistance import dtw

    return dtw


def row_distances(
    expected: np.ndarray, predicted: np.ndarray, window: int | None, with_paths: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the DTW distance and the warping path's length, one C call per row.

    ``window`` is the band half-width (|i - j| <= window, tslearn's ``sakoe_chiba_radius``);
    dtaidistance counts it one larger. Without ``with_paths`` the faster, pruned distance-only
    routine runs and the lengths are NaN.
    """
    dtw = _dtaidistance()
    options = {"window": window + 1} if window is not None else {}
    distances, lengths = np.empty(len(expected)), np.full(len(expected), np.nan)
    for row, (e, p) in enumerate(zip(expected, predicted)):
        a, b = np.ascontiguousarray(e, dtype=np.double), np.ascontiguousarray(p, dtype=np.double)
        if with_paths:
            path, distances[row] = dtw.warping_path_fast(a, b, include_distance=True, **options)
            lengths[row] = len(path)
        else:
            distances[row] = dtw.distance_fast(a, b, **options)
    return distances, lengths


def series_scales(series: np.ndarray) -> np.ndarray:
    """Standard deviation of each series; one vectorised pass when they share a length."""
    lengths = {len(s) for s in series}
    if len(lengths) == 1:
        return np.std(np.stack(list(series)), axis=1)
    return np.fromiter((np.std(s) for s in series), dtype=float, count=len(series))


def normalise(distances: np.ndarray, lengths: np.ndarray, expected: np.ndarray, how: Normalisation) -> np.ndarray:
    """Distances divided by sqrt(path length) and/or the expected series' standard deviation."""
    result = distances.copy()
    if how in ("path_length", "path_length_and_scale"):
        result /= np.sqrt(lengths)
    if how in ("scale", "path_length_and_scale"):
        result /= np.maximum(series_scales(expected), SCALE_FLOOR)
    return result


@dataclass(frozen=True)
class Dtw:
    """Dynamic-time-warping agreement between predicted and expected sequences."""

    name: str = "dtw"
    options: type[GateOptions] = DtwOptions
    description: str = "mean temporal-consistency score exp(-normalised DTW distance), or the mean distance"
    requires: tuple[tuple[str, str], ...] = (("dtaidistance", "dtw"),)

    def compute(self, predictions: Predictions, options: DtwOptions, settings: MetricSettings) -> MetricValue:
        """Per-row DTW, normalised; mean score (or distance) with a row-bootstrap interval."""
        if not predictions.is_sequence:
            raise ValueError("dtw needs a sequence per row; set the target's outputs to a sequence")
        with_paths = options.normalize in ("path_length", "path_length_and_scale")
        distances, lengths = row_distances(predictions.expected, predictions.predicted, options.window, with_paths)
        normalised = normalise(distances, lengths, predictions.expected, options.normalize)
        consistency = np.exp(-normalised)
        per_row = consistency if options.gate == "consistency" else normalised
        samples = bootstrap_rows(len(per_row), settings, self.name, lambda idx: per_row[idx].mean(axis=1))
        return MetricValue(
            value=float(per_row.mean()),
            n=len(per_row),
            interval=percentile_interval(samples, settings.confidence),
            method="bootstrap",
            row_loss=1.0 - consistency,
            row_scores={"dtw_distance": distances, "dtw_normalised": normalised, "dtw_consistency": consistency},
            details={
                "gate": options.gate,
                "normalize": options.normalize,
                "window": options.window,
                "mean_distance": float(distances.mean()),
                "median_normalised_distance": float(np.median(normalised)),
                "mean_consistency": float(consistency.mean()),
            },
        )


DTW = Dtw()
