"""DTW on series of unequal length: finite, and equal to tslearn and to dtaidistance's pure-Python code.

dtaidistance's C ``distance_fast`` prunes by default and then answers inf for some pairs (a
one-point series, or a pair whose best path is the Euclidean one); these tests pin the distance,
the path length and the metric value to two independent implementations on seeded random pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalharness.metrics.base import MetricSettings
from evalharness.metrics.dtw import DTW, DtwOptions, Normalisation, row_distances
from evalharness.predictions import Predictions

tslearn_metrics = pytest.importorskip("tslearn.metrics")
dtaidistance_dtw = pytest.importorskip("dtaidistance.dtw")
WINDOWS = [None, 0, 1, 3]
# (expected length, predicted length): equal, unequal by one, by several, one much shorter, either side.
LENGTHS = [(24, 24), (44, 45), (45, 44), (6, 4), (9, 8), (4, 6), (30, 21), (40, 3), (2, 35), (1, 17), (17, 1), (1, 1)]


def _objects(series: list[np.ndarray]) -> np.ndarray:
    """An object array of 1-D series, as the predictions frame holds them."""
    column = np.empty(len(series), dtype=object)
    column[:] = series
    return column


def _random_pairs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each length pair of LENGTHS three times, plus 30 pairs of random lengths 1..50; seeded."""
    rng = np.random.default_rng(seed)
    sizes = LENGTHS * 3 + [tuple(rng.integers(1, 51, size=2)) for _ in range(30)]
    expected = [rng.normal(0, rng.uniform(0.1, 5), n) for n, _ in sizes]
    predicted = [rng.normal(rng.normal(), rng.uniform(0.1, 5), m) for _, m in sizes]
    return _objects(expected), _objects(predicted)


def _tslearn_options(window: int | None) -> dict[str, object]:
    return {} if window is None else {"global_constraint": "sakoe_chiba", "sakoe_chiba_radius": window}


def _pure_python(a: np.ndarray, b: np.ndarray, window: int | None) -> float:
    """dtaidistance's Python implementation, unpruned; its window counts one more than our band."""
    options = {} if window is None else {"window": window + 1}
    return float(dtaidistance_dtw.distance(a, b, use_c=False, use_pruning=False, **options))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("with_paths", [True, False])
@pytest.mark.parametrize("window", WINDOWS)
def test_unequal_lengths_give_the_references_distance(seed: int, with_paths: bool, window: int | None) -> None:
    expected, predicted = _random_pairs(seed)
    distances, _ = row_distances(expected, predicted, window, with_paths)
    assert np.isfinite(distances).all()
    for row, (e, p) in enumerate(zip(expected, predicted)):
        reference = tslearn_metrics.dtw(e, p, **_tslearn_options(window))
        assert distances[row] == pytest.approx(reference, rel=1e-9), (row, len(e), len(p))
        assert distances[row] == pytest.approx(_pure_python(e, p, window), rel=1e-9), (row, len(e), len(p))


@pytest.mark.parametrize("window", WINDOWS)
def test_path_lengths_on_unequal_lengths_are_tslearns(window: int | None) -> None:
    expected, predicted = _random_pairs(7)
    _, lengths = row_distances(expected, predicted, window)
    for row, (e, p) in enumerate(zip(expected, predicted)):
        path, _ = tslearn_metrics.dtw_path(e, p, **_tslearn_options(window))
        assert lengths[row] == len(path), (row, len(e), len(p))
        assert max(len(e), len(p)) <= lengths[row] <= len(e) + len(p) - 1


def test_the_band_is_tslearns_radius_not_dtaidistances_window() -> None:
    """Passing our window to dtaidistance unchanged would be a band one narrower: other distances."""
    expected, predicted = _random_pairs(11)
    ours, _ = row_distances(expected, predicted, 2, with_paths=False)
    unshifted = [_pure_python(e, p, 1) for e, p in zip(expected, predicted)]
    radius_2 = [tslearn_metrics.dtw(e, p, **_tslearn_options(2)) for e, p in zip(expected, predicted)]
    assert ours == pytest.approx(radius_2, rel=1e-9)
    assert not np.allclose(ours, unshifted)


def _predictions(expected: np.ndarray, predicted: np.ndarray, ids: list[object] | None = None) -> Predictions:
    rows = len(predicted)
    row_ids = np.array(ids if ids is not None else [f"r{i}" for i in range(rows)], dtype=object)
    return Predictions(row_ids, expected, predicted, None, pd.DataFrame(index=range(rows)))


def _independent(e: np.ndarray, p: np.ndarray, window: int | None, how: Normalisation) -> float:
    """The normalised distance from tslearn's path and distance and numpy's standard deviation."""
    path, distance = tslearn_metrics.dtw_path(e, p, **_tslearn_options(window))
    if how in ("path_length", "path_length_and_scale"):
        distance /= np.sqrt(len(path))
    if how in ("scale", "path_length_and_scale"):
        distance /= np.std(e)
    return float(distance)


@pytest.mark.parametrize("window", [None, 0, 3])
@pytest.mark.parametrize("how", ["none", "path_length", "scale", "path_length_and_scale"])
def test_the_metric_is_finite_and_independent_for_each_normalisation(how: Normalisation, window: int | None) -> None:
    expected, predicted = _random_pairs(5)
    keep = np.array([len(e) > 1 for e in expected])  # a one-point series has no spread to scale by
    expected, predicted = expected[keep], predicted[keep]
    settings = MetricSettings(resamples=50)
    for gate in ("distance", "consistency"):
        value = DTW.compute(_predictions(expected, predicted), DtwOptions(normalize=how, window=window, gate=gate),
                            settings)  # fmt: skip
        reference = np.array([_independent(e, p, window, how) for e, p in zip(expected, predicted)])
        per_row = reference if gate == "distance" else np.exp(-reference)
        assert np.isfinite(value.value)
        assert value.value == pytest.approx(per_row.mean(), rel=1e-9)
        assert value.row_scores["dtw_normalised"] == pytest.approx(reference, rel=1e-9)
        assert value.interval is not None and np.isfinite(value.interval).all()


@pytest.mark.parametrize(
    ("expected", "predicted", "message"),
    [
        ([[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0, 3.0], []], "predicted series of row 'b' has no points"),
        ([[1.0, 2.0], []], [[1.0, 2.0, 3.0], [1.0]], "expected series of row 'b' has no points"),
        ([[1.0, 2.0], [3.0, 4.0]], [[1.0, np.nan], [2.0]], "predicted series of row 'a' has a NaN or infinite"),
        ([[1.0, np.inf], [3.0, -np.inf]], [[1.0], [2.0]], "expected series of rows 'a', 'b' have a NaN or infinite"),
    ],
)
def test_empty_or_non_finite_series_are_refused_naming_the_row(expected, predicted, message) -> None:  # type: ignore[no-untyped-def]
    predictions = _predictions(_objects(expected), _objects(predicted), ids=["a", "b"])
    for how in ("none", "path_length_and_scale"):
        with pytest.raises(ValueError, match=message):
            DTW.compute(predictions, DtwOptions(normalize=how), MetricSettings(resamples=10))
