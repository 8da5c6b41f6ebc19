"""The target's answers to changed copies of the inputs, asking only about the rows that changed.

Robustness recipes and behavioural checks each make a changed copy of the dataset's inputs. A row a
copy left as it was keeps its clean answer, which is what the target would say again; the rows
that did change, from every copy, go to the target in one call, which it batches as it batches the
dataset. A recipe that blanks 2 % of one column asks about 2 % of the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalharness.predictions import Predictions


@dataclass(frozen=True)
class Variant:
    """A changed copy of the inputs and the columns that may differ from the clean ones."""

    inputs: pd.DataFrame
    columns: Sequence[str]


@dataclass(frozen=True)
class Answers:
    """Every row's answer to one variant: the label and, when the target gives one, the score."""

    label: np.ndarray
    score: np.ndarray | None


def changed_rows(before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Rows where any of ``columns`` differs (two missing values are alike); every row for a column of
    sequences, which are not compared element by element."""
    changed = np.zeros(len(before), dtype=bool)
    for name in columns:
        old, new = before[name], after[name]
        if old.dtype == object and len(old) and isinstance(old.iloc[0], (list, tuple, np.ndarray)):
            return np.ones(len(before), dtype=bool)
        same = (old.to_numpy() == new.to_numpy()) | (old.isna().to_numpy() & new.isna().to_numpy())
        changed |= ~np.asarray(same, dtype=bool)
    return changed


def answer_variants(
    predictions: Predictions, variants: Iterable[Variant], predict: Callable[[pd.DataFrame], Any]
) -> list[Answers]:
    """Each variant's answers for every row: the clean answer where it changed nothing, the target's
    new answer where it did (all variants' changed rows asked in one ``predict`` call).

    ``variants`` may be a generator: only each one's changed rows are kept, so a million-row suite
    holds one whole copy of its inputs at a time.
    """
    changed, wanted = [], []
    for variant in variants:
        mask = changed_rows(predictions.inputs, variant.inputs, variant.columns)
        changed.append(mask)
        if mask.any():
            wanted.append(variant.inputs[mask])
    answer = predict(pd.concat(wanted, ignore_index=True)) if wanted else None
    results, start = [], 0
    for mask in changed:
        count = int(mask.sum())
        results.append(_merged(predictions, mask, answer, start, count))
        start += count
    return results


def _merged(predictions: Predictions, changed: np.ndarray, answer: Any, start: int, count: int) -> Answers:
    """The clean answers with the changed rows' new answers (``answer``'s rows start..start+count)."""
    label, score = np.asarray(predictions.raw_predicted), predictions.score
    if count == 0:
        return Answers(label, score)
    new_label = np.asarray(answer.label)[start : start + count]
    merged = label.astype(np.result_type(label.dtype, new_label.dtype), copy=True)
    merged[changed] = new_label
    if score is None or answer.score is None:
        return Answers(merged, None)
    merged_score = np.asarray(score, dtype=float).copy()
    merged_score[changed] = np.asarray(answer.score, dtype=float)[start : start + count]
    return Answers(merged, merged_score)
