"""Paired statistics of a candidate against its baseline, checked against independent computations.

McNemar's exact p-value against statsmodels; Newcombe's paired interval recomputed from
statsmodels' Wilson intervals and checked for coverage by simulation; the paired bootstrap
against a plain loop over the same resamples; every metric's resampler against its own value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from evalharness.compare.paired import PairedCounts, mcnemar_exact, newcombe_paired_interval, paired_bootstrap
from evalharness.metrics.base import MetricSettings
from evalharness.metrics.registry import get_metric
from evalharness.metrics.stats import ratio_resampler
from evalharness.predictions import Predictions

statsmodels = pytest.importorskip("statsmodels")
from statsmodels.stats.contingency_tables import mcnemar  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

SETTINGS = MetricSettings(confidence=0.95, resamples=400, seed=5)


@pytest.mark.parametrize(
    "table", [(50, 3, 9, 38), (2649, 30, 22, 299), (10, 0, 0, 5), (0, 1, 0, 0), (400, 120, 80, 400), (5, 7, 0, 1)]
)
def test_mcnemar_exact_matches_statsmodels(table: tuple[int, int, int, int]) -> None:
    both, only_a, only_b, neither = table
    expected = mcnemar([[both, only_a], [only_b, neither]], exact=True).pvalue
    assert mcnemar_exact(PairedCounts(*table)) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def _newcombe_reference(table: tuple[int, int, int, int], confidence: float) -> tuple[float, float]:
    """Newcombe (1998) method 10, written from the paper with statsmodels' Wilson limits."""
    a, b, c, d = table
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = proportion_confint(a + b, n, alpha=1 - confidence, method="wilson")
    l2, u2 = proportion_confint(a + c, n, alpha=1 - confidence, method="wilson")
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0 if denominator == 0 else (a * d - b * c) / math.sqrt(denominator)
    dl = math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    du = math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2)
    return p1 - p2 - dl, p1 - p2 + du


@pytest.mark.parametrize("table", [(50, 3, 9, 38), (2649, 30, 22, 299), (400, 120, 80, 400), (30, 12, 2, 6)])
def test_newcombe_interval_matches_the_paper(table: tuple[int, int, int, int]) -> None:
    interval = newcombe_paired_interval(PairedCounts(*table), 0.95)
    assert interval == pytest.approx(_newcombe_reference(table, 0.95), abs=1e-12)


def test_newcombe_interval_covers_the_true_difference_about_95_percent() -> None:
    """Simulated paired trials with a known difference: the interval covers it close to 95 % of the time."""
    rng = np.random.default_rng(11)
    cells = np.array([0.70, 0.06, 0.04, 0.20])  # both, only candidate, only baseline, neither
    true_difference = cells[1] - cells[2]
    covered = 0
    for _ in range(2000):
        table = rng.multinomial(400, cells)
        low, high = newcombe_paired_interval(PairedCounts(*map(int, table)), 0.95)  # type: ignore[misc]
        covered += low <= true_difference <= high
    assert 0.935 <= covered / 2000 <= 0.97


def test_paired_bootstrap_uses_the_same_rows_for_both_sides() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.random(300) < 0.8, rng.random(300) < 0.7
    candidate, baseline = paired_bootstrap(
        ratio_resampler(a, np.ones(300)), ratio_resampler(b, np.ones(300)), 300, SETTINGS, "accuracy"
    )
    from evalharness.metrics.stats import rng_for

    indices = rng_for(SETTINGS, "accuracy:paired").integers(0, 300, size=(SETTINGS.resamples, 300), dtype=np.int32)
    assert candidate == pytest.approx(a[indices].mean(axis=1), abs=1e-12)
    assert baseline == pytest.approx(b[indices].mean(axis=1), abs=1e-12)


def _predictions(expected, predicted, score=None) -> Predictions:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"x": np.arange(len(expected))})
    return Predictions(np.arange(len(expected)), np.asarray(expected), np.asarray(predicted), score, frame)


@pytest.mark.parametrize(
    ("name", "options", "reference"),
    [
        ("accuracy", {}, skm.accuracy_score),
        ("precision", {}, skm.precision_score),
        ("recall", {}, skm.recall_score),
        ("f1", {}, skm.f1_score),
        ("precision", {"average": "macro"}, lambda t, p: skm.precision_score(t, p, average="macro")),
        ("recall", {"average": "macro"}, lambda t, p: skm.recall_score(t, p, average="macro")),
        ("f1", {"average": "macro"}, lambda t, p: skm.f1_score(t, p, average="macro")),
    ],
)
def test_each_resampler_recomputes_its_metric_on_resampled_rows(  # type: ignore[no-untyped-def]
    name: str,
    options: dict,
    reference,  # type: ignore[type-arg]
) -> None:
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 3 if options else 2, 500)
    predicted = np.where(rng.random(500) < 0.75, truth, rng.integers(0, 3 if options else 2, 500))
    metric = get_metric(name)
    value = metric.compute(_predictions(truth, predicted), metric.options(**options), SETTINGS)
    assert value.resample is not None
    assert value.resample(np.arange(500)[None, :])[0] == pytest.approx(value.value, abs=1e-12)
    indices = rng.integers(0, 500, size=(5, 500))
    expected = [reference(truth[row], predicted[row]) for row in indices]
    assert value.resample(indices) == pytest.approx(expected, abs=1e-12)


def test_the_auc_resampler_matches_scikit_learn_on_resampled_rows() -> None:
    rng = np.random.default_rng(8)
    truth = rng.integers(0, 2, 400)
    score = np.round(np.clip(0.3 * truth + 0.7 * rng.random(400), 0, 1), 2)
    auc = get_metric("auc")
    value = auc.compute(_predictions(truth, (score > 0.5).astype(int), score), auc.options(), SETTINGS)
    indices = rng.integers(0, 400, size=(4, 400))
    expected = [skm.roc_auc_score(truth[row], score[row]) for row in indices]
    assert value.resample(indices) == pytest.approx(expected, abs=1e-12)  # type: ignore[misc]


def test_the_multinomial_over_kinds_of_row_agrees_with_resampling_rows() -> None:
    """The exact shortcut (rows alike are interchangeable) against the row-index bootstrap."""
    from evalharness.compare.paired import paired_terms_bootstrap
    from evalharness.metrics.stats import RatioTerms, percentile_interval

    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, 3000).astype(bool)
    a = np.where(rng.random(3000) < 0.85, truth, ~truth)
    b = np.where(rng.random(3000) < 0.80, truth, ~truth)
    terms = [RatioTerms(2.0 * (truth & side), truth.astype(float) + side) for side in (a, b)]  # F1
    settings = MetricSettings(confidence=0.95, resamples=4000, seed=1)
    fast = paired_terms_bootstrap(*terms, settings, "f1")
    slow = paired_bootstrap(*(ratio_resampler(t.numerator, t.denominator) for t in terms), 3000, settings, "f1")
    assert fast[0].mean() == pytest.approx(skm.f1_score(truth, a), abs=2e-3)
    for fast_side, slow_side in zip(fast, slow):
        assert fast_side.std() == pytest.approx(slow_side.std(), rel=0.1)
    fast_interval = percentile_interval(fast[0] - fast[1], 0.95)
    slow_interval = percentile_interval(slow[0] - slow[1], 0.95)
    assert fast_interval == pytest.approx(slow_interval, abs=4e-3)  # type: ignore[arg-type]
