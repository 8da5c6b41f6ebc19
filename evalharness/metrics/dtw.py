"""``dtw``: temporal consistency of sequence outputs (forecasts, trajectories) by dynamic time warping.

Each row's predicted sequence is aligned with its expected one by dtaidistance's C implementation
(optionally inside a Sakoe-Chiba band). The DTW distance (square root of the summed squared
differences along the best warping path) is normalised per path length (divided by the square
root of the warping path's length: an RMS error along the path) and per series scale (divided by
the expected series' standard deviation), and turned into a temporal-consistency score in
[0, 1]: ``exp(-normalised distance)``. Series may differ in length; every distance is finite.
The few worst rows keep their two series and their warping path in the record, for the report to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, NonNegativeInt

from evalharness._optional import require
from evalharness.compare.options import ComparableOptions
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.stats import bootstrap_rows, percentile_interval, ratio_parts
from evalharness.predictions import Predictions
from evalharness.suite.fields import Bounds, GateOptions

Normalisation = Literal["none", "path_length", "scale", "path_length_and_scale"]
SCALE_FLOOR = 1e-12
WORST_SERIES = 3
"""How many of the worst rows keep their series and warping path in the record (the report draws them)."""
MAX_SERIES_POINTS = 500
"""The most points of one kept series: a longer one keeps every k-th point, its path mapped onto them."""


class DtwOptions(ComparableOptions):
    """Options of ``dtw``: the band, the normalisation, and which mean is gated."""

    value_range: ClassVar[Bounds] = (0.0, None)
    value_range_by: ClassVar[tuple[str, dict[Any, Bounds]] | None] = (
        "gate",
        {"consistency": (0.0, 1.0), "distance": (0.0, None)},
    )

    window: NonNegativeInt | None = Field(
        None, description="Sakoe-Chiba band: points may be matched at most this many steps apart; default: no band"
    )
    normalize: Normalisation = Field("path_length_and_scale", description="how each row's distance is normalised")
    gate: Literal["consistency", "distance"] = Field(
        "consistency", description="consistency: mean score in [0, 1] (use min); distance: mean normalised distance"
    )

    def better(self) -> Literal["higher", "lower"]:
        """A consistency score improves upwards, a distance downwards."""
        return "lower" if self.gate == "distance" else "higher"


def _dtaidistance() -> Any:
    require("dtaidistance", extra="dtw", needed_for="metric 'dtw'")
    from dtaidistance import dtw

    return dtw


def row_distances(
    expected: np.ndarray,
    predicted: np.ndarray,
    window: int | None,
    with_paths: bool = True,
    ids: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the DTW distance and the warping path's length, one C call per row.

    ``window`` is the band half-width (|i - j| <= window, tslearn's ``sakoe_chiba_radius``);
    dtaidistance counts it one larger. When the lengths differ, both libraries widen the band to
    run between the diagonal from the first points and the one into the last points, so a path
    always exists. Without ``with_paths`` the faster distance-only routine runs and the lengths
    are NaN. Empty or non-finite series raise ValueError naming the row (by ``ids`` when given).
    """
    dtw = _dtaidistance()
    pairs = [(_series(e), _series(p)) for e, p in zip(expected, predicted)]
    check_series(pairs, ids)  # an empty series must not reach the C code; a NaN may hide off the path
    options = _options(window)
    distances, lengths = np.empty(len(pairs)), np.full(len(pairs), np.nan)
    for row, (a, b) in enumerate(pairs):
        if with_paths:
            path, distances[row] = dtw.warping_path_fast(a, b, include_distance=True, **options)
            lengths[row] = len(path)
        else:
            distances[row] = dtw.distance_fast(a, b, **options)
    return distances, lengths


def _options(window: int | None) -> dict[str, Any]:
    """dtaidistance's options for a band of half-width ``window`` (None: no band)."""
    # distance_fast prunes by default against the Euclidean upper bound; when the best path is that
    # bound's own path (always for a one-point series, often for short ones) the bound check rejects
    # the exact distance and answers inf, whatever the lengths. Pruning only saves time: never prune.
    options: dict[str, Any] = {"use_pruning": False}
    if window is not None:
        options["window"] = window + 1
    return options


def worst_alignments(
    predictions: Predictions, distances: np.ndarray, normalised: np.ndarray, window: int | None
) -> list[dict[str, Any]]:
    """The :data:`WORST_SERIES` rows of highest normalised distance (above 0), each with both series and
    the warping path between them (pairs of indices into the kept series), worst first."""
    rows = np.argsort(-normalised, kind="stable")[:WORST_SERIES]
    return [
        {"id": _plain_id(predictions.ids[row]), "distance": float(distances[row]),
         "normalised": float(normalised[row]),
         **aligned(predictions.expected[row], predictions.predicted[row], window)}
        for row in rows[normalised[rows] > 0]
    ]  # fmt: skip


def aligned(expected: Any, predicted: Any, window: int | None) -> dict[str, Any]:
    """Both series and their DTW warping path, at most :data:`MAX_SERIES_POINTS` points a series:
    ``step`` > 1 when every step-th point was kept (the path's indices then count kept points)."""
    a, b = _series(expected), _series(predicted)
    path = np.asarray(_dtaidistance().warping_path_fast(a, b, **_options(window)), dtype=np.int64)
    step = max(-(-max(len(a), len(b)) // MAX_SERIES_POINTS), 1)
    kept = path // step
    kept = kept[np.r_[True, (np.diff(kept, axis=0) != 0).any(axis=1)]]  # merged points repeat pairs: keep one of each
    return {"points": [len(a), len(b)], "step": step, "expected": np.round(a[::step], 6).tolist(),
            "predicted": np.round(b[::step], 6).tolist(), "path": kept.tolist()}  # fmt: skip


def _plain_id(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    return value if value is None or isinstance(value, (str, int, float)) else str(value)


def _series(values: Any) -> np.ndarray:
    """One series as the contiguous 1-D doubles the C routines read."""
    return np.ascontiguousarray(np.asarray(values, dtype=np.double).ravel())


def check_series(pairs: list[tuple[np.ndarray, np.ndarray]], ids: np.ndarray | None = None) -> None:
    """Refuse empty series and NaN or infinite values, which have no DTW distance, naming the rows.

    One concatenation per side (about 1 µs a row, a tenth of a DTW call on 96 points)."""
    for side, index in (("expected", 0), ("predicted", 1)):
        series = [pair[index] for pair in pairs]
        sizes = np.fromiter(map(len, series), dtype=np.int64, count=len(series))
        if not sizes.all():
            raise ValueError(_bad_rows_message(side, "no points", np.flatnonzero(sizes == 0), ids))
        values_of_side = np.concatenate(series) if series else np.empty(0)
        if np.isfinite(values_of_side).all():
            continue
        finite_rows = np.ones(len(series), dtype=bool)
        finite_rows[np.repeat(np.arange(len(series)), sizes)[~np.isfinite(values_of_side)]] = False
        if not finite_rows.all():
            raise ValueError(_bad_rows_message(side, "a NaN or infinite value", np.flatnonzero(~finite_rows), ids))


def _bad_rows_message(side: str, problem: str, rows: np.ndarray, ids: np.ndarray | None) -> str:
    """Which rows' series are unusable and why, and where to fix them."""
    names = [_row_name(row, ids) for row in rows[:5]]
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    subject = f"row {names[0]}" if len(rows) == 1 else f"rows {', '.join(names)}{more}"
    source = "dataset's expected column" if side == "expected" else "target's answers"
    verb, those = ("has", "that row") if len(rows) == 1 else ("have", "those rows")
    return (
        f"the {side} series of {subject} {verb} {problem}; DTW needs at least one point per series and only "
        f"finite numbers: fix the {source} for {those}"
    )


def _row_name(row: int, ids: np.ndarray | None) -> str:
    """A row as the user knows it: its id when known, else its position."""
    if ids is None:
        return f"#{row}"
    value = ids[row]
    return repr(value.item() if isinstance(value, np.generic) else value)


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
        distances, lengths = row_distances(
            predictions.expected, predictions.predicted, options.window, with_paths, ids=predictions.ids
        )
        normalised = normalise(distances, lengths, predictions.expected, options.normalize)
        consistency = np.exp(-normalised)
        per_row = consistency if options.gate == "consistency" else normalised
        samples = bootstrap_rows(len(per_row), settings, self.name, lambda idx: per_row[idx].mean(axis=1))
        return MetricValue(
            value=float(per_row.mean()),
            n=len(per_row),
            interval=percentile_interval(samples, settings.confidence),
            samples=samples,
            method="bootstrap",
            row_loss=1.0 - consistency,
            **ratio_parts(per_row, np.ones(len(per_row))),
            row_scores={"dtw_distance": distances, "dtw_normalised": normalised, "dtw_consistency": consistency},
            details={
                "gate": options.gate,
                "normalize": options.normalize,
                "window": options.window,
                "mean_distance": float(distances.mean()),
                "median_normalised_distance": float(np.median(normalised)),
                "mean_consistency": float(consistency.mean()),
                "worst_series": worst_alignments(predictions, distances, normalised, options.window),
            },
        )


DTW = Dtw()
