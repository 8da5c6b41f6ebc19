"""The positive class: it must be one of the expected column's values, and binary metrics need one.

A ``positive_label`` that never occurs makes precision, recall and F1 zero and AUC empty, and a
``max`` gate then passes on nothing. So it is checked, by value (``'1'`` finds a 0/1 column's
``1``; see :mod:`evalharness.labels`), before anything runs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from evalharness.errors import Problem
from evalharness.labels import describe_values, is_binary_01, match_label

if TYPE_CHECKING:
    import pandas as pd

    from evalharness.suite.loader import LoadedSuite

BINARY_METRICS = ("precision", "recall", "f1", "auc")
"""Metrics that score one class against the rest unless they are macro-averaged."""


def binary_metric_names(spec: Any) -> list[str]:
    """The declared metrics that need a positive class (binary average, or AUC)."""
    declared = spec.declared_metrics()
    return [
        name for name in BINARY_METRICS if name in declared and getattr(declared[name], "average", "binary") == "binary"
    ]


def _distinct(column: pd.Series) -> list[Any] | None:
    """The column's distinct values, or ``None`` when they are not labels (lists, sequences)."""
    try:
        return list(column.dropna().unique())
    except TypeError:
        return None


def _written(suite: LoadedSuite, path: tuple[str, ...]) -> str:
    """The scalar as typed in the file, e.g. ``yes`` for what YAML read as ``True``."""
    line, col = suite.document.position(path)
    text = suite.document.lines[line - 1][col - 1 :] if 0 < line <= len(suite.document.lines) else ""
    match = re.match(r"[^\s,}\]#]+", text)
    return match.group(0) if match else ""


def _unknown_label_message(suite: LoadedSuite, label: Any, expected: str, values: list[Any]) -> str:
    message = f"{label!r} is not a value of column '{expected}' (its values: {describe_values(values)})"
    if isinstance(label, bool):
        written = _written(suite, ("dataset", "positive_label")) or str(label).lower()
        return (
            f"YAML read {written} as the boolean {str(label).lower()}, which is not a value of column "
            f"'{expected}' (its values: {describe_values(values)}); if the label is text, quote it: "
            f"positive_label: '{written}'"
        )
    return message + "; write one of them (numbers and their text match: 1 = '1' = 1.0)"


def positive_label_problems(suite: LoadedSuite, frame: pd.DataFrame) -> list[Problem]:
    """A declared positive label that is not in the expected column, or binary metrics without one."""
    spec = suite.spec.dataset
    binary = binary_metric_names(suite.spec)
    if spec.positive_label is None and not binary:
        return []
    values = _distinct(frame[spec.expected])
    if values is None:
        return []
    if spec.positive_label is not None:
        if match_label(spec.positive_label, values) is not None:
            return []
        message = _unknown_label_message(suite, spec.positive_label, spec.expected, values)
        return [suite.problem(("dataset", "positive_label"), message)]
    if is_binary_01(values):
        return []
    names = ", ".join(binary)
    message = (
        f"{names} score one class against the rest, and the labels of column '{spec.expected}' "
        f"({describe_values(values)}) do not say which is positive; set dataset.positive_label to one "
        f"of them, or use average: macro"
    )
    return [suite.problem(("metrics", binary[0]), message)]
