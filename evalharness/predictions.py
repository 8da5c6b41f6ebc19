"""The predictions frame: one per suite, computed once, read by every metric of that suite."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from evalharness.labels import NO_ANSWER, comparable, is_binary_01, match_label, missing_answers, value_key
from evalharness.untrusted import bounded_value


def is_sequence(values: np.ndarray) -> bool:
    """Whether each element is a sequence (a forecast, a trajectory) rather than one label."""
    if values.ndim == 2:
        return True
    if values.dtype != object or values.size == 0:
        return False
    first = values[0]
    return isinstance(first, (list, tuple, np.ndarray)) or (isinstance(first, str) and first.lstrip().startswith("["))


def as_sequences(values: np.ndarray) -> np.ndarray:
    """An object array of 1-D float arrays from rows of a 2-D array, lists, or JSON text like ``[1.5, 2]``."""
    if values.ndim == 2:
        rows = list(values.astype(float))
    else:
        rows = [np.asarray(json.loads(v) if isinstance(v, str) else v, dtype=float).ravel() for v in values]
    result = np.empty(len(rows), dtype=object)
    result[:] = rows
    return result


def _reads_as_sequences(values: np.ndarray) -> bool:
    """Whether text answers are all lists of numbers written as JSON (a forecast), not other text."""
    try:
        as_sequences(values)
    except (ValueError, TypeError):
        return False
    return True


def default_positive_label(labels: np.ndarray) -> Any | None:
    """``1`` (or ``True``) when the labels are a subset of {0, 1}; otherwise unknown."""
    values = labels.tolist()
    if not is_binary_01(values):
        return None
    return True if all(isinstance(v, bool) for v in values) else 1


def positive_in(label: Any, raw_expected: np.ndarray, expected: np.ndarray) -> Any:
    """The declared positive label as it reads in the compared ``expected`` array.

    ``raw_expected`` is the column as read; ``expected`` the same column after
    :func:`~evalharness.labels.comparable` (numbers, or text). The label is matched by value
    (``'1'``, ``1.0`` and ``True`` all find a 0/1 column's ``1``), then written as that array writes it.
    """
    if label is None:
        return None
    matched = match_label(label, pd.unique(pd.Series(raw_expected, dtype=object)))
    value = label if matched is None else matched
    return str(value) if expected.dtype == object else value_key(value)


@dataclass
class Predictions:
    """What the target answered for every row, beside what was expected.

    ``score`` is the model's probability of the positive class for binary tasks (or ``None``).
    When the target answers a sequence per row, ``predicted`` and ``expected`` hold 1-D float
    arrays and :attr:`is_sequence` is true; label metrics then refuse to run.
    """

    ids: np.ndarray
    """Each row's id; a text id column stays pandas' Arrow-backed string array, which indexes the same."""
    expected: np.ndarray
    predicted: np.ndarray
    score: np.ndarray | None
    inputs: pd.DataFrame
    positive_label: Any | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    raw: np.ndarray | None = None
    """Per row, the answer's text as the target gave it (an LLM's whole reply), None where it gave
    none; kept beside the extracted label for the record, the report and the terminal."""
    outcome: np.ndarray | None = None
    """Per row, how its request ended (ok, unparsed, cut_off, http_error, timeout, parse_error);
    None for local engines, whose every row is ok."""
    table: pd.DataFrame | None = None
    """Every column of the dataset (inputs or not), for metrics that read another reference column."""

    def column(self, name: str) -> np.ndarray:
        """A dataset column by name (a metric's ``reference``); ValueError naming the columns there are."""
        table = self.inputs if self.table is None else self.table
        if name not in table.columns:
            raise ValueError(f"the dataset has no column {name!r} (its columns: {', '.join(map(str, table.columns))})")
        return table[name].to_numpy()

    def __post_init__(self) -> None:
        expected, predicted = np.asarray(self.expected), np.asarray(self.predicted)
        # As the dataset and the target gave them, before labels are made comparable: what the
        # free-text metrics read (a list of acceptable answers stays a list; no answer stays None).
        self.raw_expected, self.raw_predicted = expected, predicted
        self.answered = ~missing_answers(predicted)
        self.is_sequence = is_sequence(predicted)
        if self.is_sequence and predicted.dtype == object and isinstance(predicted[0], str):
            self.is_sequence = _reads_as_sequences(predicted)  # text such as a JSON answer '[{"a": 1}]'
        if self.is_sequence:
            try:
                self.expected, self.predicted = as_sequences(expected), as_sequences(predicted)
            except (ValueError, TypeError) as error:
                raise ValueError(f"the expected column must hold sequences (lists of numbers) too: {error}") from None
        else:
            self.expected, self.predicted = comparable(expected, predicted)
            self.positive_label = positive_in(self.positive_label, expected, self.expected)

    def __len__(self) -> int:
        return len(self.ids)

    def expected_value(self, position: int) -> Any:
        """The expected answer of a row as the dataset holds it: a list of acceptable answers stays a list."""
        raw = self.raw_expected[position]
        if not self.is_sequence and isinstance(raw, (list, tuple)):
            return list(raw)
        return self.expected[position]

    def predicted_value(self, position: int) -> Any:
        """The predicted answer of a row; None where there is none (never the text 'None')."""
        return None if not self.answered[position] else self.predicted[position]

    @cached_property
    def labels(self) -> np.ndarray:
        """Sorted union of expected and predicted labels."""
        if self.is_sequence:
            raise ValueError("this metric compares labels, but the target answers a sequence per row; use dtw")
        labels = np.unique(np.concatenate([self.expected, self.predicted[self.answered]]))
        if self.expected.dtype.kind in "iu" and labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
            labels = labels.astype(self.expected.dtype)  # rows with no answer made the answers float (NaN)
        return labels

    @property
    def all_answered(self) -> bool:
        """Whether every row has an answer (no failed or unparsed row)."""
        return bool(self.answered.all())

    @cached_property
    def codes(self) -> tuple[np.ndarray, np.ndarray]:
        """Expected and predicted labels as indices into :attr:`labels`; a row with no answer is K."""
        predicted = np.searchsorted(self.labels, self.predicted)
        predicted[~self.answered] = len(self.labels)
        return np.searchsorted(self.labels, self.expected), predicted

    @cached_property
    def confusion(self) -> np.ndarray:
        """K x K counts: rows are expected labels, columns predicted ones (scikit-learn's layout); with
        rows that have no answer, K x (K + 1), the last column counting them per expected label."""
        k = len(self.labels)
        columns = k if self.all_answered else k + 1
        true_codes, pred_codes = self.codes
        return np.bincount(true_codes * columns + pred_codes, minlength=k * columns).reshape(k, columns)

    @cached_property
    def correct(self) -> np.ndarray:
        """Per row, whether the prediction equals the expected label."""
        self.labels  # noqa: B018  (refuses sequences with a clear message)
        return self.expected == self.predicted

    def resolved_positive_label(self) -> Any:
        """The positive class for binary metrics, declared or inferred from {0, 1} labels."""
        label = self.positive_label
        if label is None:
            label = default_positive_label(self.labels)
        if label is None:
            raise ValueError(
                f"binary metrics need to know the positive class and the labels are {self.labels.tolist()[:5]}; "
                "set dataset.positive_label in the suite, or use average: macro"
            )
        return label

    def binary_truth(self) -> tuple[np.ndarray, np.ndarray]:
        """Boolean expected and predicted arrays, True where the label is the positive class."""
        positive = self.resolved_positive_label()
        if self.expected.dtype != object and not isinstance(positive, (int, float)):
            return np.zeros(len(self), bool), np.zeros(len(self), bool)  # text never equals a number
        return self.expected == positive, self.predicted == positive

    @property
    def knows_positive(self) -> bool:
        """Whether the positive class is declared or can be inferred (0/1 or boolean labels)."""
        return self.positive_label is not None or default_positive_label(self.labels) is not None

    @cached_property
    def row_loss(self) -> np.ndarray:
        """Per-row loss in [0, 1]: 1 - P(expected class) when scores exist, else 1 for a wrong answer."""
        wrong = (~self.correct).astype(float)
        if self.score is None or len(self.labels) > 2 or not self.knows_positive:
            return wrong
        truth, _ = self.binary_truth()
        loss = np.where(truth, 1.0 - self.score, self.score).astype(float)
        return np.where(self.answered & np.isfinite(loss), loss, 1.0)  # no answer: the worst loss

    def rows(
        self, positions: np.ndarray, loss: np.ndarray | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Plain dicts for the given row positions: id, expected, predicted, score, loss and inputs.

        With ``limit``, every text in them is one safe line of at most ``limit`` characters
        (:func:`~evalharness.untrusted.untrusted`): what run.json and the reports may keep.
        """
        records = []
        inputs = self.inputs.iloc[positions].to_dict(orient="records")
        for slot, position in enumerate(positions):
            row: dict[str, Any] = {
                "id": _plain(self.ids[position]),
                "expected": _plain(self.expected_value(position)),
                "predicted": _plain(self.predicted_value(position)),
            }
            if self.raw is not None:
                row["raw"] = _plain(self.raw[position])
            if self.outcome is not None and self.outcome[position] != "ok":
                row["outcome"] = str(self.outcome[position])
            if self.score is not None:
                row["score"] = float(self.score[position])
            if loss is not None:
                row["loss"] = float(loss[position])
            row["inputs"] = {str(k): _plain(v) for k, v in inputs[slot].items()}
            records.append(row)
        return records if limit is None else [bounded_value(row, limit) for row in records]

    def worst(
        self,
        loss: np.ndarray | None = None,
        count: int = 5,
        scores: dict[str, np.ndarray] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The ``count`` rows with the highest loss (> 0), with the metric's per-row ``scores`` beside
        (text capped at ``limit`` characters, as in :meth:`rows`)."""
        loss = self.row_loss if loss is None else loss
        if count <= 0 or len(loss) == 0:
            return []
        top = np.argsort(-loss, kind="stable")[:count]
        top = top[loss[top] > 0]
        rows = self.rows(top, loss)
        for row, position in zip(rows, top):
            row.update({name: _plain(values[position]) for name, values in (scores or {}).items()})
        return rows if limit is None else [bounded_value(row, limit) for row in rows]


def _plain(value: Any) -> Any:
    """numpy and pandas scalars as JSON-friendly Python values (NaN and no answer as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and value == NO_ANSWER:
        return None
    if isinstance(value, np.ndarray):
        return [round(float(v), 6) for v in value.ravel()]
    if isinstance(value, float) and value != value:
        return None
    return value
