"""Labels compared by value, not by their text or dtype: 1 = '1' = 1.0 = True.

Files disagree on how they write the same answer: a CSV column of 0/1 is int, one empty cell makes
it float, JSON may quote it, and YAML reads an unquoted ``yes`` as ``True``. Everything that
matches a label written in a suite (``positive_label``) or lines up expected and predicted labels
goes through :func:`value_key`, so two writings of one value always compare equal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

_WORDS = {"true": 1.0, "false": 0.0}


def value_key(value: Any) -> Any:
    """A key under which every writing of one value is equal: numbers (and booleans, and text
    that reads as a finite number or as true/false) become floats; other text stays text."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in _WORDS:
            return _WORDS[text.lower()]
        try:
            number = float(text)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    return value


def match_label(label: Any, values: Iterable[Any]) -> Any | None:
    """The element of ``values`` that is ``label`` written another way, or ``None``.

    An exact match (same value and type) wins; otherwise the one value with the same
    :func:`value_key`. Several candidates with no exact match (``'1'`` and ``'01'``) match none.
    A boolean (or the word true/false) finds a number only in a 0/1 or boolean column.
    """
    values = list(values)
    if _is_truth(label) and not is_binary_01(values):
        return next((value for value in values if _is_truth(value) and value_key(value) == value_key(label)), None)
    candidates = [value for value in values if value_key(value) == value_key(label)]
    exact = [value for value in candidates if type(_plain(value)) is type(label) and _plain(value) == label]
    if exact:
        return exact[0]
    return candidates[0] if len(candidates) == 1 else None


def _is_truth(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_)) or (isinstance(value, str) and value.strip().lower() in _WORDS)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def is_binary_01(values: Iterable[Any]) -> bool:
    """Whether the labels are all 0/1 or all booleans (the positive class is then 1, or True)."""
    keys = {value_key(value) for value in values}
    return bool(keys) and keys <= {0.0, 1.0}


def as_numbers(values: np.ndarray) -> np.ndarray | None:
    """The labels as numbers when every one is a number or text that reads as one, else ``None``."""
    if values.dtype.kind in "biuf":
        return values
    if values.dtype.kind not in "OUS":
        return None
    converted = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    if len(values) and (converted.isna().any() or any(isinstance(v, bool) for v in values)):
        return None
    return converted.to_numpy()


NO_ANSWER = "\x00no answer"
"""A text row's predicted label when there is none (its request failed, or its answer could not be
parsed): equal to no label, and shown as null. Number rows use NaN."""


def missing_answers(predicted: np.ndarray) -> np.ndarray:
    """Per row, whether the target gave no answer (None, or NaN in an object array)."""
    if predicted.dtype != object:
        return np.zeros(len(predicted), dtype=bool)
    return np.asarray(pd.isna(predicted), dtype=bool)  # element by element in C, also for list cells


def comparable(expected: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected and predicted labels in one dtype, equal where their values are equal.

    Numbers stay numbers (an answer ``"1"`` from a JSON endpoint equals an expected ``1.0``);
    anything else is compared as text. A row with no answer (None) equals nothing: NaN among
    numbers, :data:`NO_ANSWER` among texts, never the text ``'None'``.
    """
    missing = missing_answers(predicted)
    if missing.any():
        given_expected, given = comparable(expected, predicted[~missing])
        rows = len(predicted)
        filled = np.full(rows, NO_ANSWER, object) if given.dtype == object else np.full(rows, np.nan)
        filled[~missing] = given
        return given_expected, filled
    numeric_expected, numeric_predicted = as_numbers(expected), as_numbers(predicted)
    if numeric_expected is not None and numeric_predicted is not None:
        return numeric_expected, numeric_predicted
    return as_text(expected), as_text(predicted)


def as_text(values: np.ndarray) -> np.ndarray:
    """Every value as its text, in an object array (a list cell, such as several reference answers
    in a JSONL file, becomes its text too)."""
    try:
        return values.astype(str).astype(object)
    except ValueError:  # list cells: numpy would read them as another dimension
        text = np.empty(len(values), dtype=object)
        text[:] = [str(value) for value in values]
        return text


def describe_values(values: Iterable[Any], shown: int = 8) -> str:
    """``0, 1`` or ``'no', 'yes'`` (the first ``shown``, then how many more) for messages."""
    distinct = sorted({_plain(value) for value in values}, key=lambda v: (str(type(v)), str(v)))
    text = ", ".join(repr(value) for value in distinct[:shown])
    return text + (f" and {len(distinct) - shown} more" if len(distinct) > shown else "")
