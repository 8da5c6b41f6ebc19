"""DTW checked against tslearn and a plain dynamic-programming reference; scores and gates."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evalharness.metrics.base import MetricSettings
from evalharness.metrics.dtw import DTW, DtwOptions, normalise, row_distances
from evalharness.predictions import Predictions

tslearn_metrics = pytest.importorskip("tslearn.metrics")


def _reference_dtw(a: np.ndarray, b: np.ndarray, radius: int | None) -> tuple[float, int]:
    """Textbook DTW: squared differences, square root of the best path's sum, and that path's length."""
    n, m = len(a), len(b)
    cost = np.full((n + 1, m + 1), np.inf)
    steps = np.zeros((n + 1, m + 1), dtype=int)
    cost[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            if radius is not None and abs(i - j) > radius:
                continue
            previous = [(cost[i - 1, j - 1], steps[i - 1, j - 1]), (cost[i - 1, j], steps[i - 1, j]),
                        (cost[i, j - 1], steps[i, j - 1])]  # fmt: skip
            best, length = min(previous, key=lambda p: (p[0], p[1]))
            cost[i, j] = (a[i - 1] - b[j - 1]) ** 2 + best
            steps[i, j] = length + 1
    return float(np.sqrt(cost[n, m])), int(steps[n, m])


@pytest.fixture(scope="module")
def pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    t = np.linspace(0, 4 * np.pi, 24)
    expected = [np.sin(t + rng.uniform(0, 1)) * rng.uniform(1, 5) for _ in range(40)]
    predicted = [np.roll(e, rng.integers(-2, 3)) + rng.normal(0, 0.2, 24) for e in expected]
    as_objects = np.empty(40, dtype=object), np.empty(40, dtype=object)
    as_objects[0][:], as_objects[1][:] = expected, predicted
    return as_objects


@pytest.mark.parametrize("window", [None, 0, 2, 5])
def test_distances_match_tslearn_and_the_textbook(pairs, window) -> None:  # type: ignore[no-untyped-def]
    expected, predicted = pairs
    distances, lengths = row_distances(expected, predicted, window)
    for row in range(len(expected)):
        options = {} if window is None else {"global_constraint": "sakoe_chiba", "sakoe_chiba_radius": window}
        assert distances[row] == pytest.approx(tslearn_metrics.dtw(expected[row], predicted[row], **options), rel=1e-9)
        if row < 8:
            textbook, _ = _reference_dtw(expected[row], predicted[row], window)
            assert distances[row] == pytest.approx(textbook, rel=1e-9)
    if window == 0:  # no warping allowed: the Euclidean distance, along a path of 24 steps
        euclidean = [np.linalg.norm(e - p) for e, p in zip(expected, predicted)]
        assert distances == pytest.approx(euclidean) and set(lengths) == {24}


def test_path_lengths_are_those_of_an_optimal_path(pairs) -> None:  # type: ignore[no-untyped-def]
    expected, predicted = pairs
    _, lengths = row_distances(expected, predicted, None)
    path = tslearn_metrics.dtw_path(expected[0], predicted[0])[0]
    assert 24 <= lengths[0] <= 47
    assert lengths[0] == len(path)


def test_normalisations() -> None:
    expected = np.empty(2, dtype=object)
    expected[:] = [np.array([0.0, 2.0, 4.0]), np.array([1.0, 1.0, 1.0])]
    distances, lengths = np.array([6.0, 3.0]), np.array([4.0, 9.0])
    assert normalise(distances, lengths, expected, "none").tolist() == [6.0, 3.0]
    assert normalise(distances, lengths, expected, "path_length").tolist() == [3.0, 1.0]
    scale = np.std([0.0, 2.0, 4.0])
    assert normalise(distances, lengths, expected, "scale")[0] == pytest.approx(6.0 / scale)
    assert normalise(distances, lengths, expected, "path_length_and_scale")[0] == pytest.approx(3.0 / scale)


def _predictions(expected: list[object], predicted: np.ndarray) -> Predictions:
    rows = len(predicted)
    return Predictions(
        np.arange(rows), np.array(expected, dtype=object), predicted, None, pd.DataFrame(index=range(rows))
    )


def test_metric_scores_perfect_and_noisy_forecasts() -> None:
    truth = np.sin(np.linspace(0, 6, 12)) * 10
    expected = [json.dumps(truth.tolist())] * 3  # as a CSV cell would hold it
    perfect = DTW.compute(_predictions(expected, np.tile(truth, (3, 1))), DtwOptions(min=0.9), MetricSettings())
    assert perfect.value == pytest.approx(1.0) and perfect.n == 3
    noisy = np.tile(truth, (3, 1)) + np.array([[0.0], [5.0], [10.0]])
    value = DTW.compute(_predictions(expected, noisy), DtwOptions(window=1), MetricSettings(resamples=200))
    truths = np.empty(3, dtype=object)
    truths[:] = [truth] * 3
    distances, lengths = row_distances(truths, noisy, 1)
    scores = np.exp(-distances / np.sqrt(lengths) / np.std(truth))
    assert value.value == pytest.approx(scores.mean())
    assert value.row_loss.tolist() == pytest.approx((1 - scores).tolist())
    low, high = value.interval
    assert low <= value.value <= high


def test_label_predictions_are_refused() -> None:
    with pytest.raises(ValueError, match="dtw needs a sequence per row"):
        DTW.compute(_predictions([1, 0], np.array([1, 0])), DtwOptions(), MetricSettings())
