"""AUC's DeLong interval against DeLong's definition computed pair by pair, and against the bootstrap.

The reference below is the 1988 paper's definition, written independently of the code under test:
psi(x, y) = 1 if x > y, 1/2 if x == y, 0 otherwise over every positive-negative pair (an m x n
matrix); the structural components are its row and column means; S10 and S01 their sample
variances (and covariances, for two scores of the same rows).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from evalharness.compare.delta import compare
from evalharness.metrics.base import MetricSettings
from evalharness.metrics.delong import covariance, delong_interval, delong_parts, paired_intervals
from evalharness.metrics.registry import get_metric
from evalharness.predictions import Predictions

SETTINGS = MetricSettings(confidence=0.95, resamples=2000, seed=3)


def _components(truth: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's V10 (per positive) and V01 (per negative) from the full pairwise kernel."""
    x, y = score[truth][:, None], score[~truth][None, :]
    psi = (x > y) + 0.5 * (x == y)
    return psi.mean(axis=1), psi.mean(axis=0)


def _reference_covariance(truth: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    a10, a01 = _components(truth, first)
    b10, b01 = _components(truth, second)
    return float(np.cov(a10, b10)[0, 1] / len(a10) + np.cov(a01, b01)[0, 1] / len(a01))


def _data(rows: int, seed: int, decimals: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth and two correlated scores, rounded so that many scores tie."""
    rng = np.random.default_rng(seed)
    truth = rng.random(rows) < 0.3
    shared = rng.normal(size=rows)
    first = np.round(1.2 * truth + shared + 0.5 * rng.normal(size=rows), decimals)
    second = np.round(0.9 * truth + shared + 0.8 * rng.normal(size=rows), decimals)
    return truth, first, second


@pytest.mark.parametrize(("rows", "seed", "decimals"), [(60, 1, 1), (400, 2, 2), (900, 3, 0), (300, 4, 6)])
def test_variance_and_interval_match_the_pairwise_definition(rows: int, seed: int, decimals: int) -> None:
    truth, score, _ = _data(rows, seed, decimals)
    parts = delong_parts(truth, score)
    assert parts.auc == pytest.approx(roc_auc_score(truth, score), abs=1e-15)
    variance = _reference_covariance(truth, score, score)
    assert parts.variance() == pytest.approx(variance, rel=1e-12)
    z = NormalDist().inv_cdf(0.975)
    interval = delong_interval(parts, 0.95)
    assert interval is not None
    auc = roc_auc_score(truth, score)
    assert interval == pytest.approx((auc - z * math.sqrt(variance), min(1.0, auc + z * math.sqrt(variance))))


def test_the_paired_difference_uses_the_covariance_of_the_two_scores() -> None:
    truth, first, second = _data(500, 5, 1)
    one, two = delong_parts(truth, first), delong_parts(truth, second)
    assert covariance(one, two) == pytest.approx(_reference_covariance(truth, first, second), rel=1e-12)
    difference, ratio = paired_intervals(one, two, 0.95)
    assert difference is not None and ratio is not None
    var = (_reference_covariance(truth, first, first) + _reference_covariance(truth, second, second)
           - 2 * _reference_covariance(truth, first, second))  # fmt: skip
    half = NormalDist().inv_cdf(0.975) * math.sqrt(var)
    delta = roc_auc_score(truth, first) - roc_auc_score(truth, second)
    assert difference == pytest.approx((delta - half, delta + half), abs=1e-12)
    assert ratio[0] < one.auc / two.auc < ratio[1]
    # correlated scores: the paired interval is narrower than one that ignores the pairing
    unpaired = NormalDist().inv_cdf(0.975) * math.sqrt(one.variance() + two.variance())
    assert difference[1] - difference[0] < 2 * unpaired


def test_an_interval_needs_two_rows_of_each_class_and_clips_at_one() -> None:
    assert delong_interval(delong_parts(np.array([True, False, False]), np.array([0.9, 0.1, 0.2])), 0.95) is None
    separated = delong_parts(np.array([True, True, False, False]), np.array([0.9, 0.8, 0.1, 0.2]))
    assert separated.auc == 1.0 and delong_interval(separated, 0.95) == (1.0, 1.0)
    assert paired_intervals(separated, delong_parts(np.array([True, False, True, False]), np.arange(4.0)), 0.95) == (
        None,
        None,
    )


def _predictions(truth: np.ndarray, score: np.ndarray) -> Predictions:
    frame = pd.DataFrame({"x": np.arange(len(truth))})
    return Predictions(np.arange(len(truth)), truth.astype(int), (score > 0).astype(int), score, frame, 1)


def test_the_auc_metric_defaults_to_delong_and_the_bootstrap_agrees_within_monte_carlo_error() -> None:
    truth, score, _ = _data(3000, 6, 2)
    auc = get_metric("auc")
    delong = auc.compute(_predictions(truth, score), auc.options(), SETTINGS)
    bootstrap = auc.compute(_predictions(truth, score), auc.options(interval="bootstrap"), SETTINGS)
    assert delong.method == "delong" and bootstrap.method == "bootstrap"
    assert delong.value == bootstrap.value == pytest.approx(roc_auc_score(truth, score), abs=1e-15)
    assert delong.details["standard_error"] == pytest.approx(math.sqrt(_reference_covariance(truth, score, score)))
    width = delong.interval[1] - delong.interval[0]  # type: ignore[index]
    # 2,000 resamples put a 2.5 % quantile within about 3 % of the interval's width of its true place
    assert bootstrap.interval == pytest.approx(delong.interval, abs=0.06 * width)


def test_a_comparison_of_two_delong_aucs_is_paired_in_closed_form_and_agrees_with_the_paired_bootstrap() -> None:
    truth, first, second = _data(3000, 7, 2)
    auc = get_metric("auc")
    options = auc.options(max_drop=0.02)
    values = [auc.compute(_predictions(truth, score), options, SETTINGS) for score in (first, second)]
    closed = compare("auc", values[0], values[1], options, SETTINGS, "bound")
    assert closed.delta_method == "delong paired"
    boot_options = auc.options(interval="bootstrap", max_drop=0.02)
    boot = [auc.compute(_predictions(truth, score), boot_options, SETTINGS) for score in (first, second)]
    resampled = compare("auc", boot[0], boot[1], boot_options, SETTINGS, "bound")
    assert resampled.delta_method == "paired bootstrap"
    width = closed.delta_interval[1] - closed.delta_interval[0]  # type: ignore[index]
    assert resampled.delta_interval == pytest.approx(closed.delta_interval, abs=0.06 * width)
    assert resampled.ratio_interval == pytest.approx(closed.ratio_interval, abs=0.06 * width)
