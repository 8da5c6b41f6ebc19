"""Drift compares values, not their text: every branch checked against a PSI computed another way.

The oracles here count with ``collections.Counter`` (Python equality, so 1 == 1.0 == True) or with
``np.histogram`` over the reference's quantile edges, and compute PSI as the symmetrised KL divergence
with ``scipy.special.rel_entr``; KS is checked against ``scipy.stats.ks_2samp``.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from evalharness.metrics.base import MetricSettings
from evalharness.metrics.drift import DRIFT, DriftOptions, column_drift
from evalharness.predictions import Predictions

FLOOR = 1e-4
MISSING = object()
OPTIONS = DriftOptions(reference="unused.csv")  # column_drift reads no file; bins=10, psi_alarm=0.2


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI as the symmetrised KL divergence between the floored shares."""
    e = np.maximum(expected / expected.sum(), FLOOR)
    a = np.maximum(actual / actual.sum(), FLOOR)
    return float(np.sum(special.rel_entr(a, e) + special.rel_entr(e, a)))


def _key(value: Any) -> Any:
    return MISSING if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _psi_per_value(reference: list[Any], current: list[Any]) -> float:
    """PSI with one bin per value as Python's equality sees it, missing values in a bin of their own."""
    ref, cur = Counter(map(_key, reference)), Counter(map(_key, current))
    keys = list(ref | cur)
    return _psi(np.array([ref[k] for k in keys]), np.array([cur[k] for k in keys]))


def _psi_over_quantiles(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI over np.histogram counts between the reference's quantiles (open-ended), plus a missing bin."""
    edges = np.quantile(reference[~np.isnan(reference)], np.linspace(0, 1, bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf

    def counts(values: np.ndarray) -> np.ndarray:
        histogram, _ = np.histogram(values[~np.isnan(values)], bins=edges)
        return np.append(histogram, np.isnan(values).sum())

    return _psi(counts(reference), counts(current))


def _ks(reference: list[Any], current: list[Any]) -> tuple[float, float]:
    """scipy's two-sample KS test over the present values, read as floats."""
    present = [[float(v) for v in values if _key(v) is not MISSING] for values in (reference, current)]
    test = stats.ks_2samp(*present)
    return float(test.statistic), float(test.pvalue)


def _flags(rows: int, share: float, seed: int) -> list[int]:
    return np.random.default_rng(seed).binomial(1, share, rows).tolist()


# --- numeric columns: quantile bins -------------------------------------------------------------


@pytest.mark.parametrize("current_dtype", ["float64", "int64", "object"])
def test_quantile_bins_match_histogram_psi_and_scipy_ks(current_dtype: str) -> None:
    rng = np.random.default_rng(3)
    reference = rng.integers(0, 1000, 2000)  # many distinct values: the quantile branch
    current = rng.integers(100, 1100, 1500)
    shown = pd.Series(current).astype(current_dtype)  # 'object': Python ints inside an object column
    figures = column_drift("x", pd.Series(reference), shown, OPTIONS)
    expected = _psi_over_quantiles(reference.astype(float), current.astype(float))
    assert figures["psi"] == pytest.approx(expected, rel=1e-12)
    assert (figures["ks_statistic"], figures["ks_pvalue"]) == pytest.approx(_ks(reference.tolist(), current.tolist()))


def test_quantile_bins_count_missing_values_on_both_sides() -> None:
    rng = np.random.default_rng(4)
    reference = np.append(rng.normal(size=1000), [np.nan] * 40)
    current = np.append(rng.normal(0.3, size=900), [np.nan] * 90)
    figures = column_drift("x", pd.Series(reference), pd.Series(current), OPTIONS)
    assert figures["psi"] == pytest.approx(_psi_over_quantiles(reference, current), rel=1e-12)
    assert (figures["ks_statistic"], figures["ks_pvalue"]) == pytest.approx(_ks(reference.tolist(), current.tolist()))


def test_an_int_column_as_float_is_the_same_column_in_the_quantile_branch() -> None:
    reference = pd.Series(np.random.default_rng(5).integers(0, 10_000, 3000))
    figures = column_drift("x", reference, reference.astype(float), OPTIONS)
    assert figures["psi"] < 1e-12 and figures["ks_statistic"] == 0 and not figures["drifting"]


# --- numeric columns: one bin per distinct value --------------------------------------------------


@pytest.mark.parametrize("current_dtype", ["float64", "object", "str"])
def test_few_values_are_binned_by_value_whatever_the_dtype(current_dtype: str) -> None:
    rng = np.random.default_rng(6)
    reference = rng.integers(0, 5, 2000).tolist()  # 5 distinct values <= 10 bins: one bin per value
    current = [*rng.integers(0, 7, 1500).tolist(), None, None]  # new values 5 and 6, and missing ones
    if current_dtype == "str":  # text that reads as numbers, as JSON with quoted numbers gives
        shown = pd.Series([None if v is None else str(v) for v in current], dtype="str")
    else:
        shown = pd.Series(current, dtype="float64").astype(current_dtype)
    figures = column_drift("x", pd.Series(reference), shown, OPTIONS)
    assert figures["psi"] == pytest.approx(_psi_per_value(reference, current), rel=1e-12)
    assert (figures["ks_statistic"], figures["ks_pvalue"]) == pytest.approx(_ks(reference, current))


def test_an_int_flag_as_float_has_no_drift() -> None:
    """The issue: 0/1 stored as int in the reference and as float in the evaluated rows gave PSI 17.2."""
    reference = pd.Series(_flags(4000, 0.3, 7))
    figures = column_drift("flag", reference, reference.astype(float), OPTIONS)
    assert figures["psi"] < 1e-12
    assert (figures["ks_statistic"], figures["ks_pvalue"]) == pytest.approx((0.0, 1.0))
    assert not figures["drifting"]


@pytest.mark.parametrize("reference_is_bool", [True, False])
def test_bools_and_zero_one_ints_are_equal_values(reference_is_bool: bool) -> None:
    reference, current = _flags(3000, 0.3, 8), _flags(2000, 0.4, 9)
    ref = pd.Series(reference, dtype=bool if reference_is_bool else "int64")
    cur = pd.Series(current, dtype="int64" if reference_is_bool else bool)
    figures = column_drift("flag", ref, cur, OPTIONS)
    assert figures["psi"] == pytest.approx(_psi_per_value(reference, current), rel=1e-12)
    assert (figures["ks_statistic"], figures["ks_pvalue"]) == pytest.approx(_ks(reference, current))
    assert column_drift("flag", ref, ref.astype("int64" if reference_is_bool else bool), OPTIONS)["psi"] < 1e-12


@pytest.mark.parametrize("text_side", ["reference", "current"])
def test_numbers_against_text_that_reads_as_numbers_are_compared_as_numbers(text_side: str) -> None:
    numbers, other = _flags(3000, 0.3, 10), _flags(2000, 0.5, 11)
    text = pd.Series([str(v) for v in other], dtype="str")
    ref, cur = (text, pd.Series(numbers)) if text_side == "reference" else (pd.Series(numbers), text)
    reference, current = (other, numbers) if text_side == "reference" else (numbers, other)
    figures = column_drift("flag", ref, cur, OPTIONS)
    assert figures["psi"] == pytest.approx(_psi_per_value(reference, current), rel=1e-12)
    assert (figures["ks_statistic"], figures["ks_pvalue"]) == pytest.approx(_ks(reference, current))


def test_an_all_missing_column_drifts_on_the_missing_bin_without_ks() -> None:
    reference = [1.5, 2.5, 2.5, None]
    current: list[Any] = [None] * 5  # JSONL with only nulls: an object column of None
    figures = column_drift("x", pd.Series(reference, dtype="float64"), pd.Series(current, dtype=object), OPTIONS)
    assert figures["psi"] == pytest.approx(_psi_per_value(reference, current), rel=1e-12)
    assert (figures["ks_statistic"], figures["ks_pvalue"], figures["drifting"]) == (None, None, True)


# --- categorical columns ------------------------------------------------------------------------


def test_categories_with_missing_and_new_values_match_counter_psi() -> None:
    rng = np.random.default_rng(12)
    reference = [*rng.choice(["a", "b", "c"], 2000, p=[0.5, 0.3, 0.2]).tolist(), None, None]
    current = [*rng.choice(["a", "b", "z"], 1000, p=[0.4, 0.4, 0.2]).tolist(), *[None] * 30]
    figures = column_drift("c", pd.Series(reference, dtype="str"), pd.Series(current, dtype=object), OPTIONS)
    assert figures["psi"] == pytest.approx(_psi_per_value(reference, current), rel=1e-12)
    assert (figures["ks_statistic"], figures["ks_pvalue"]) == (None, None)


def test_numbers_inside_a_text_column_are_keyed_by_value() -> None:
    reference: list[Any] = ["a", "b", 1, 2.5, True, None] * 50  # 1 and True are one category
    current: list[Any] = ["a", 1.0, 1.0, 2.5, "1", None] * 40  # "1" is text here: neither side is numeric
    figures = column_drift("c", pd.Series(reference, dtype=object), pd.Series(current, dtype=object), OPTIONS)
    assert figures["psi"] == pytest.approx(_psi_per_value(reference, current), rel=1e-12)
    assert figures["ks_statistic"] is None


def test_two_text_columns_keep_their_text() -> None:
    """Codes such as "01" and "1" are distinct categories when neither side is stored as numbers."""
    reference, current = ["01", "02"] * 100, ["1", "2"] * 100
    figures = column_drift("code", pd.Series(reference, dtype="str"), pd.Series(current, dtype="str"), OPTIONS)
    assert figures["psi"] == pytest.approx(_psi_per_value(reference, current), rel=1e-12)
    assert figures["psi"] > 10 and figures["drifting"]


def test_numbers_against_text_with_words_match_the_numbers_they_read_as() -> None:
    reference = [0, 1, 1, 2] * 100
    current: list[Any] = ["0", "1", "unknown", None] * 100  # not all numbers: compared per category
    figures = column_drift("x", pd.Series(reference), pd.Series(current, dtype="str"), OPTIONS)
    parsed = [float(v) if v not in ("unknown", None) else v for v in current]
    assert figures["psi"] == pytest.approx(_psi_per_value(reference, parsed), rel=1e-12)
    assert figures["ks_statistic"] is None


# --- end to end, through DRIFT.compute ------------------------------------------------------------


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(4, 1.0, rows),
            "flag": rng.integers(0, 2, rows),
            "category": rng.choice(["a", "b", "c"], rows, p=[0.5, 0.3, 0.2]),
        }
    )


def _compute(tmp_path: Path, reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, Any]:
    reference.to_csv(tmp_path / "reference.csv", index=False)
    rows = len(current)
    predictions = Predictions(np.arange(rows), np.zeros(rows), np.zeros(rows), None, current)
    value = DRIFT.compute(predictions, DriftOptions(reference="reference.csv"), MetricSettings(base_dir=tmp_path))
    return {"value": value.value, **value.details, "by_column": {c["column"]: c for c in value.details["columns"]}}


def test_identical_data_with_a_float_flag_column_does_not_drift(tmp_path: Path) -> None:
    reference = _frame(4000, 1)
    current = reference.assign(flag=reference["flag"].astype(float))
    result = _compute(tmp_path, reference, current)
    assert result["value"] < 1e-12
    assert result["drifting"] == []
    assert result["by_column"]["flag"]["ks_statistic"] == 0


def test_a_csv_with_one_empty_cell_matches_the_independent_psi(tmp_path: Path) -> None:
    reference = _frame(4000, 1)
    written = reference.astype({"flag": object})
    written.loc[17, "flag"] = None  # one empty cell: pandas reads the column back as float
    written.to_csv(tmp_path / "current.csv", index=False)
    current = pd.read_csv(tmp_path / "current.csv")
    assert current["flag"].dtype == np.float64
    result = _compute(tmp_path, reference, current)
    flag = result["by_column"]["flag"]
    assert flag["psi"] == pytest.approx(_psi_per_value(reference["flag"].tolist(), current["flag"].tolist()), rel=1e-12)
    assert flag["psi"] < 1e-3
    assert (flag["ks_statistic"], flag["ks_pvalue"]) == pytest.approx(
        _ks(reference["flag"].tolist(), current["flag"].tolist())
    )
    assert result["drifting"] == []


TEXT_DTYPES = ["str", "string[python]", "string[pyarrow]", object]


@pytest.mark.parametrize("reference_dtype", TEXT_DTYPES, ids=str)
@pytest.mark.parametrize("current_dtype", TEXT_DTYPES, ids=str)
def test_text_columns_of_any_string_dtype_count_as_counter_does(reference_dtype: Any, current_dtype: Any) -> None:
    """Text against text is counted by the string array itself where it can: the same counts as Counter."""
    from evalharness.metrics.drift import category_table

    pytest.importorskip("pyarrow")
    words = ["grocery", "Zebra", "", "ünï", "01", "1", "fuel"]
    rng = np.random.default_rng(3)
    reference = [None if i % 11 == 0 else words[p] for i, p in enumerate(rng.integers(0, 5, 300))]
    current = [None if i % 5 == 0 else words[p] for i, p in enumerate(rng.integers(1, 7, 900))]
    ref_counts, cur_counts, categories = category_table(
        pd.Series(reference, dtype=reference_dtype), pd.Series(current, dtype=current_dtype)
    )
    expected_categories = sorted({value for value in reference + current if value is not None})
    assert categories == expected_categories and all(type(category) is str for category in categories)
    for counts, values in ((ref_counts, reference), (cur_counts, current)):
        counted = Counter(values)
        assert counts.tolist() == [counted[category] for category in expected_categories] + [counted[None]]
