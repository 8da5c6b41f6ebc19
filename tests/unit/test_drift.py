"""Drift: PSI checked against scipy's relative entropy, KS against scipy, shifts detected and named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from evalharness.errors import SuiteError
from evalharness.metrics.base import MetricSettings
from evalharness.metrics.drift import (
    DRIFT,
    PROPORTION_FLOOR,
    DriftOptions,
    category_counts,
    numeric_bin_counts,
    psi_from_counts,
)
from evalharness.predictions import Predictions
from evalharness.session import EvalSession
from tests.builders import demo_project, two_feature_frame


def _sample(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(4 + shift, 1.0, rows),
            "flag": rng.integers(0, 2, rows),
            "category": rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2]),
        }
    )


def _drift(tmp_path: Path, current: pd.DataFrame, **options: object) -> dict:  # type: ignore[type-arg]
    _sample(4000, 1).to_csv(tmp_path / "reference.csv", index=False)
    rows = len(current)
    predictions = Predictions(np.arange(rows), np.zeros(rows), np.zeros(rows), None, current)
    value = DRIFT.compute(
        predictions, DriftOptions(reference="reference.csv", **options), MetricSettings(base_dir=tmp_path)
    )
    return {"value": value.value, **value.details}


def test_psi_matches_scipy_relative_entropy() -> None:
    expected, actual = np.array([500, 300, 150, 50, 0]), np.array([400, 320, 180, 90, 10])
    e = np.maximum(expected / expected.sum(), PROPORTION_FLOOR)
    a = np.maximum(actual / actual.sum(), PROPORTION_FLOOR)
    reference = np.sum(special.rel_entr(a, e) + special.rel_entr(e, a))  # PSI is the symmetrised KL divergence
    assert psi_from_counts(expected, actual) == pytest.approx(reference, rel=1e-12)


def test_numeric_bins_are_reference_quantiles_plus_missing() -> None:
    rng = np.random.default_rng(0)
    reference, current = rng.normal(size=1000), np.append(rng.normal(0.5, size=800), [np.nan] * 3)
    ref_counts, cur_counts = numeric_bin_counts(reference, current, bins=10)
    assert ref_counts[:-1].tolist() == [100] * 10 and ref_counts[-1] == 0
    edges = np.quantile(reference, np.linspace(0, 1, 11))
    edges[0], edges[-1] = -np.inf, np.inf
    histogram, _ = np.histogram(current[~np.isnan(current)], bins=edges)
    assert cur_counts[:-1].tolist() == histogram.tolist()
    assert cur_counts[-1] == 3


def test_categories_include_new_and_missing_values() -> None:
    ref, cur = category_counts(pd.Series(["a", "b", "a"]), pd.Series(["a", None, "z"]))
    # categories in sorted order, then missing: a, b, z, <missing>
    assert (ref.tolist(), cur.tolist()) == ([2, 1, 0, 0], [1, 0, 1, 1])


def test_unshifted_data_does_not_drift_and_ks_matches_scipy(tmp_path: Path) -> None:
    current = _sample(3000, 2)
    result = _drift(tmp_path, current)
    assert result["drifting"] == []
    assert result["value"] < 0.02
    amount = next(c for c in result["columns"] if c["column"] == "amount")
    reference = pd.read_csv(tmp_path / "reference.csv")["amount"]
    test = stats.ks_2samp(reference, current["amount"])
    assert (amount["ks_statistic"], amount["ks_pvalue"]) == pytest.approx((test.statistic, test.pvalue))
    category = next(c for c in result["columns"] if c["column"] == "category")
    assert category["ks_statistic"] is None


def test_a_shifted_column_is_named_and_gated(tmp_path: Path) -> None:
    current = _sample(3000, 2, shift=0.5)
    result = _drift(tmp_path, current)
    assert result["drifting"] == ["amount"]
    assert result["value"] > 0.2
    by_ks = _drift(tmp_path, current, statistic="ks")
    assert by_ks["value"] == pytest.approx(max(c["ks_statistic"] for c in by_ks["columns"] if c["ks_statistic"]))


def test_missing_reference_and_columns_are_located(tmp_path: Path) -> None:
    suite = demo_project(tmp_path, "drift: {reference: nope.csv, max: 0.2}")
    with pytest.raises(SuiteError) as raised:
        EvalSession.load([str(suite)], tmp_path)
    assert [str(p).split(": ", 1)[1] for p in raised.value.problems][0].startswith(
        "metrics.drift.reference: cannot read the reference sample"
    )
    two_feature_frame()[["x1"]].to_csv(tmp_path / "ref.csv", index=False)
    suite = demo_project(tmp_path, "drift: {reference: ref.csv, columns: [x1, x2, x9], max: 0.2}")
    with pytest.raises(SuiteError) as raised:
        EvalSession.load([str(suite)], tmp_path)
    assert [str(p) for p in raised.value.problems] == [
        f"{suite}:7:45: metrics.drift.columns[1]: column 'x2' is not in the reference sample ref.csv",
        f"{suite}:7:49: metrics.drift.columns[2]: column 'x9' is not a dataset input; valid names: x1, x2",
        f"{suite}:7:49: metrics.drift.columns[2]: column 'x9' is not in the reference sample ref.csv",
    ]
