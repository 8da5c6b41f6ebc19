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
    new answer where it did.

    The changed rows of every variant are pooled and asked in calls of exactly :data:`BATCH_ROWS`
    rows (the last one fewer): few calls, whatever the variants, and memory bounded by one call's
    rows. ``variants`` may be a generator: only each one's changed rows are kept, so a
    million-row suite holds one whole copy of its inputs at a time.
    """
    pool = _Pool(predictions, predict)
    for variant in variants:
        pool.add(variant)
        del variant  # let the copy go before the generator makes the next one
    pool.flush()
    return pool.answers


BATCH_ROWS = 262_144
"""Rows in one call to the target when changed rows are asked again."""


class _Pool:
    """Changed rows waiting to be asked, and every variant's answers so far."""

    def __init__(self, predictions: Predictions, predict: Callable[[pd.DataFrame], Any]) -> None:
        self.predictions, self.predict = predictions, predict
        self.answers: list[Answers] = []
        self.pending: list[tuple[int, np.ndarray, pd.DataFrame]] = []  # (variant, row positions, their inputs)
        self.pending_rows = 0
        self.copied: set[int] = set()  # variants whose answers are their own arrays, written in place

    def add(self, variant: Variant) -> None:
        """Note the variant's changed rows; ask the target whenever a full batch is waiting."""
        clean = self.predictions
        self.answers.append(Answers(np.asarray(clean.raw_predicted), clean.score))
        positions = np.flatnonzero(changed_rows(clean.inputs, variant.inputs, variant.columns))
        while len(positions):
            part, positions = np.split(positions, [BATCH_ROWS - self.pending_rows])
            self.pending.append((len(self.answers) - 1, part, _rows_at(variant.inputs, part)))
            self.pending_rows += len(part)
            if self.pending_rows >= BATCH_ROWS:
                self.flush()
        if self.pending and self.pending[-1][0] == len(self.answers) - 1:
            index, part, inputs = self.pending[-1]  # a slice would keep the variant's whole copy alive
            self.pending[-1] = (index, part, inputs.copy() if _consecutive(part) else inputs)

    def flush(self) -> None:
        """Ask the target about every waiting row in one call and put the answers in place."""
        if not self.pending:
            return
        frames = [inputs for _, _, inputs in self.pending]
        asked = frames[0].reset_index(drop=True) if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        answer = self.predict(asked)
        start = 0
        for index, positions, _ in self.pending:
            rows = slice(start, start + len(positions))
            self.answers[index] = _merged(self.answers[index], positions, answer, rows, index in self.copied)
            self.copied.add(index)
            start += len(positions)
        self.pending, self.pending_rows = [], 0


def _rows_at(frame: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """The rows at ``positions`` (ascending): a slice, without copying, where they are consecutive
    (a variant that changes every row), else gathered."""
    if _consecutive(positions):
        return frame.iloc[int(positions[0]) : int(positions[-1]) + 1]
    return frame.iloc[positions]


def _consecutive(positions: np.ndarray) -> bool:
    """Whether ascending, distinct ``positions`` are a run with no gaps."""
    return bool(len(positions)) and int(positions[-1] - positions[0]) == len(positions) - 1


def _merged(before: Answers, positions: np.ndarray, answer: Any, rows: slice, own: bool) -> Answers:
    """``before`` with the rows at ``positions`` answered by ``answer``'s ``rows``: copied the first
    time (``before`` then shares the clean answers), written in place when it is already ``own``."""
    new_label = np.asarray(answer.label)[rows]
    dtype = np.result_type(before.label.dtype, new_label.dtype)
    label = before.label if own and dtype == before.label.dtype else before.label.astype(dtype, copy=True)
    label[positions] = new_label
    if before.score is None or answer.score is None:
        return Answers(label, None)
    score = before.score if own else np.asarray(before.score, dtype=float).copy()
    score[positions] = np.asarray(answer.score, dtype=float)[rows]
    return Answers(label, score)
