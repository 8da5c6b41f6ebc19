"""Q&A metrics for free-text answers against references: exact match, token F1, contains; and length.

Answers of a required form (a number, a pattern, JSON) are scored in :mod:`evalharness.metrics.qa_format`.

Each is a gate like the others. The expected column holds the reference answer, or several
(a JSONL list, a JSON list written as text, or text split on ``separator``); a row scores its
best reference, as SQuAD does. A row with no usable answer (its request failed within
``max_error_rate``, or extraction could not parse it) scores 0 and stays in n. Proportions get
a Wilson interval and pair with a baseline through McNemar; means get a row bootstrap.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from evalharness.compare.options import ComparableOptions
from evalharness.metrics.answers import (
    SQUAD_STEPS,
    NormalizeStep,
    answer_texts,
    normalize_all,
    reference_lists,
)
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.stats import bootstrap_rows, percentile_interval, ratio_parts, wilson_interval
from evalharness.predictions import Predictions
from evalharness.suite.fields import Bounds, GateOptions


class ReferenceOptions(ComparableOptions):
    """How references are read and answers compared with them."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)

    normalize: list[NormalizeStep] = Field(
        list(SQUAD_STEPS),
        description="normalisation before comparing (SQuAD v1.1's: case, punctuation, articles, whitespace); "
        "[] compares the texts as they are",
    )
    separator: str | None = Field(
        None, min_length=1, description="splits an expected text into acceptable answers, e.g. '|'"
    )
    reference_column: str | None = Field(
        None, description="the dataset column of reference answers; default: the expected column"
    )


class ContainsOptions(ReferenceOptions):
    """Options of ``contains``: a reference found in the answer, on word boundaries by default."""

    whole_words: bool = Field(True, description="a reference must be whole words of the answer ('4' is not in '42')")


class LengthOptions(ComparableOptions):
    """Options of ``answer_length``: the mean answer length, in whitespace tokens or characters."""

    value_range: ClassVar[Bounds] = (0.0, None)

    unit: Literal["tokens", "characters"] = "tokens"

    def better(self) -> Literal["higher", "lower"]:
        """A shorter answer is cheaper: a length improves downwards."""
        return "lower"


def share_of_rows(name: str, hits: np.ndarray, settings: MetricSettings, **extra: Any) -> MetricValue:
    """A share of rows with a Wilson interval, paired with a baseline by McNemar."""
    n, successes = len(hits), int(hits.sum())
    score = hits.astype(float)
    return MetricValue(
        value=successes / n if n else float("nan"),
        n=n,
        interval=wilson_interval(successes, n, settings.confidence),
        method="wilson",
        row_loss=1.0 - score,
        undefined=None if n else "there are no rows",
        **ratio_parts(score, np.ones(n)),
        successes=score,
        **extra,
    )


def _mean(
    name: str,
    scores: np.ndarray,
    settings: MetricSettings,
    loss: np.ndarray,
    counted: np.ndarray | None = None,
    **extra: Any,
) -> MetricValue:
    """The mean of per-row scores over the ``counted`` rows (all by default), with a row-bootstrap
    interval; rows stay aligned with the dataset, so a baseline's draws pair row for row."""
    weight = np.ones(len(scores)) if counted is None else counted.astype(float)
    n = int(weight.sum())
    parts = ratio_parts(scores * weight, weight)
    samples = bootstrap_rows(len(scores), settings, name, parts["resample"]) if n else np.empty(0)
    return MetricValue(
        value=float((scores * weight).sum() / n) if n else float("nan"),
        n=n,
        interval=percentile_interval(samples, settings.confidence),
        samples=samples,
        method="bootstrap",
        row_loss=loss,
        undefined=None if n else "there are no rows with an answer",
        **parts,
        **extra,
    )


def references_of(predictions: Predictions, column: str | None) -> np.ndarray:
    """The reference answers: the ``reference_column`` when the metric names one, else the expected column."""
    return predictions.raw_expected if column is None else predictions.column(column)


def no_answer_facts(predictions: Predictions) -> dict[str, Any]:
    """How many rows had no usable answer, for the record."""
    missing = sum(text is None for text in answer_texts(predictions.raw_predicted))
    return {"no_answer": missing}


def exact_matches(answers: list[str | None], references: list[list[str]], options: ReferenceOptions) -> np.ndarray:
    """Per row, whether the normalised answer equals a normalised reference."""
    normal = normalize_all(answers, options.normalize)
    return np.fromiter(
        (text is not None and text in normalize_all(refs, options.normalize) for text, refs in zip(normal, references)),
        dtype=bool,
        count=len(answers),
    )


def token_f1(answer: str | None, references: list[str], steps: list[NormalizeStep]) -> float:
    """SQuAD's token F1 of one answer against its best reference (0 with no common token)."""
    if answer is None:
        return 0.0
    tokens = Counter(answer.split())
    best = 0.0
    for reference in normalize_all(references, steps):
        expected = Counter((reference or "").split())
        same = sum((tokens & expected).values())
        if same:
            precision, recall = same / sum(tokens.values()), same / sum(expected.values())
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


@dataclass(frozen=True)
class ExactMatch:
    """Share of answers equal to a reference after normalisation (SQuAD's EM)."""

    name: str = "exact_match"
    options: type[GateOptions] = ReferenceOptions
    description: str = "share of answers equal to a reference answer after SQuAD normalisation"

    def compute(self, predictions: Predictions, options: ReferenceOptions, settings: MetricSettings) -> MetricValue:
        """Exact match over every row."""
        answers = answer_texts(predictions.raw_predicted)
        references = reference_lists(references_of(predictions, options.reference_column), options.separator)
        hits = exact_matches(answers, references, options)
        return share_of_rows(self.name, hits, settings, details=no_answer_facts(predictions))


@dataclass(frozen=True)
class TokenF1:
    """Mean token-level F1 of answers against their best reference (SQuAD's F1)."""

    name: str = "token_f1"
    options: type[GateOptions] = ReferenceOptions
    description: str = "mean SQuAD token F1 of answers against reference answers"

    def compute(self, predictions: Predictions, options: ReferenceOptions, settings: MetricSettings) -> MetricValue:
        """Token F1 over every row."""
        answers = normalize_all(answer_texts(predictions.raw_predicted), options.normalize)
        references = reference_lists(references_of(predictions, options.reference_column), options.separator)
        scores = np.fromiter((token_f1(answer, refs, options.normalize) for answer, refs in zip(answers, references)),
                             dtype=float, count=len(answers))  # fmt: skip
        return _mean(self.name, scores, settings, 1.0 - scores, row_scores={"token_f1": scores},
                     details=no_answer_facts(predictions))  # fmt: skip


@dataclass(frozen=True)
class Contains:
    """Share of answers that contain a reference answer (any of them)."""

    name: str = "contains"
    options: type[GateOptions] = ContainsOptions
    description: str = "share of answers containing a reference answer (any of them)"

    def compute(self, predictions: Predictions, options: ContainsOptions, settings: MetricSettings) -> MetricValue:
        """Containment over every row, after normalisation."""
        answers = normalize_all(answer_texts(predictions.raw_predicted), options.normalize)
        references = reference_lists(references_of(predictions, options.reference_column), options.separator)
        pad = " " if options.whole_words else ""
        hits = np.fromiter(
            (answer is not None and any(f"{pad}{ref}{pad}" in f"{pad}{answer}{pad}"
                                        for ref in normalize_all(refs, options.normalize) if ref)
             for answer, refs in zip(answers, references)),
            dtype=bool, count=len(answers),
        )  # fmt: skip
        return share_of_rows(self.name, hits, settings, details=no_answer_facts(predictions))


@dataclass(frozen=True)
class AnswerLength:
    """Mean answer length in whitespace tokens or characters (rows with an answer)."""

    name: str = "answer_length"
    options: type[GateOptions] = LengthOptions
    description: str = "mean answer length, in whitespace tokens or characters"

    def compute(self, predictions: Predictions, options: LengthOptions, settings: MetricSettings) -> MetricValue:
        """Lengths of the answers there are; a row with no answer is left out of n."""
        answers = answer_texts(predictions.raw_predicted)
        counted = np.fromiter((text is not None for text in answers), dtype=bool, count=len(answers))
        size = (lambda text: len(text.split())) if options.unit == "tokens" else len
        lengths = np.fromiter((size(text) if text is not None else 0 for text in answers), dtype=float,
                              count=len(answers))  # fmt: skip
        present = lengths[counted]
        spread = np.percentile(present, [50, 95]).tolist() if present.size else [None, None]
        details = {**no_answer_facts(predictions), "unit": options.unit, "p50": spread[0], "p95": spread[1],
                   "max": float(present.max()) if present.size else None}  # fmt: skip
        return _mean(self.name, lengths, settings, np.zeros(len(answers)), counted, details=details,
                     row_scores={"answer_length": lengths})  # fmt: skip


EXACT_MATCH = ExactMatch()
TOKEN_F1 = TokenF1()
CONTAINS = Contains()
ANSWER_LENGTH = AnswerLength()
