"""Free-text answers made comparable: SQuAD-style normalisation, tokens, reference lists and numbers.

The Q&A metrics (:mod:`evalharness.metrics.qa`) score a model's answer text against one or more
reference answers. What "the same answer" means is set by the suite: by default SQuAD v1.1's
normalisation (lower case, no punctuation, no articles ``a``/``an``/``the``, single spaces), each
step of which can be turned off.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np

NormalizeStep = Literal["case", "punctuation", "articles", "whitespace"]
SQUAD_STEPS: tuple[NormalizeStep, ...] = ("case", "punctuation", "articles", "whitespace")
"""SQuAD v1.1's normalisation, every step on: the default of every text metric."""

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+(?:[eE][-+]?\d+)?")


def normalize(text: str, steps: Iterable[NormalizeStep] = SQUAD_STEPS) -> str:
    """``text`` normalised by ``steps``, in SQuAD's order: case, punctuation, articles, whitespace.

    Without the whitespace step, removing punctuation or articles leaves the spaces around them.
    """
    chosen = set(steps)
    if "case" in chosen:
        text = text.lower()
    if "punctuation" in chosen:
        text = text.translate(_PUNCTUATION)
    if "articles" in chosen:
        text = _ARTICLES.sub(" ", text)
    if "whitespace" in chosen:
        text = " ".join(text.split())
    return text


def normalize_all(texts: Sequence[str | None], steps: Iterable[NormalizeStep] = SQUAD_STEPS) -> list[str | None]:
    """:func:`normalize` over many texts; a missing answer (None) stays None."""
    chosen = tuple(steps)
    return [None if text is None else normalize(text, chosen) for text in texts]


def answer_texts(values: np.ndarray) -> list[str | None]:
    """The model's answers as text: None where there is no usable answer (a failed or unparsed row)."""
    return [None if _missing(value) else str(value) for value in values]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def reference_lists(values: np.ndarray, separator: str | None = None) -> list[list[str]]:
    """Each row's acceptable answers: a list cell (JSONL) as it is, a JSON list written as text, or
    one text split on ``separator`` (``|`` for ``Paris|City of Paris``); otherwise the one text."""
    return [_references(value, separator) for value in values]


def _references(value: Any, separator: str | None) -> list[str]:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(item) for item in value]
    if _missing(value):
        return []
    text = str(value)
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
    if separator:
        return [part.strip() for part in text.split(separator)]
    return [text]


def first_number(text: str | None, which: Literal["first", "last"] = "last") -> float:
    """The first or last number written in ``text`` (thousands commas allowed), NaN when there is none."""
    if text is None:
        return float("nan")
    found = _NUMBER.findall(text)
    if not found:
        return float("nan")
    return float((found[0] if which == "first" else found[-1]).replace(",", ""))


def numbers(texts: Sequence[str | None], which: Literal["first", "last"] = "last") -> np.ndarray:
    """:func:`first_number` of every text, as a float array."""
    return np.fromiter((first_number(text, which) for text in texts), dtype=float, count=len(texts))
