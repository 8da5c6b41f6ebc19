"""Rows are grouped by the values a rule reads exactly as pandas groups them, whatever the columns' sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalharness.metrics import rules
from evalharness.metrics.rules import RuleVariables, column_codes, distinct_rows
from evalharness.predictions import Predictions


def _frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "amount": rng.choice([1.5, 2.0, np.nan, 10.25], rows),
        "flag": rng.integers(0, 2, rows),
        "category": pd.Series(rng.choice(["a", "b", "c"], rows), dtype="str").where(rng.random(rows) > 0.1),
        "wide": rng.integers(0, 50_000, rows),
    })  # fmt: skip


def _expected(frame: pd.DataFrame) -> np.ndarray:
    """The independent grouping: pandas' own, numbered in order of first appearance, missing values a group."""
    return frame.groupby(list(frame.columns), dropna=False, sort=False).ngroup().to_numpy()


@pytest.mark.parametrize("columns", [["amount"], ["flag", "category"], ["amount", "flag", "category", "wide"]])
@pytest.mark.parametrize("key_limit", [2**62, 7])  # 7: the combined number is re-factorised at every step
def test_codes_are_pandas_groups_in_order_of_first_appearance(
    monkeypatch: pytest.MonkeyPatch, columns: list[str], key_limit: int
) -> None:
    monkeypatch.setattr(rules, "_KEY_LIMIT", key_limit)
    frame = _frame(3_000)[columns]
    codes, representatives = distinct_rows([column_codes(frame[name]) for name in columns])
    np.testing.assert_array_equal(codes, _expected(frame))
    first = pd.Series(np.arange(len(frame))).groupby(codes).min().to_numpy()
    np.testing.assert_array_equal(representatives, first)


def test_rule_variables_factorise_each_column_once_and_copies_keep_their_own(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _frame(200)
    predictions = Predictions(np.arange(200), np.zeros(200), np.zeros(200), None, frame)
    table = RuleVariables(predictions)
    calls: list[str] = []
    original = rules.column_codes

    def counted(column: pd.Series) -> tuple[np.ndarray, int]:
        calls.append(str(column.name))
        return original(column)

    monkeypatch.setattr(rules, "column_codes", counted)
    assert table.codes("amount") is table.codes("amount") and len(calls) == 1
    first = table.with_columns(after_predicted=np.zeros(200))
    second = table.with_columns(after_predicted=np.arange(200))
    assert first.codes("after_predicted")[1] == 1 and second.codes("after_predicted")[1] == 200
    assert first.codes("amount") is table.codes("amount")  # shared, not computed again
