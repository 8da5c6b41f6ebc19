"""Q&A metrics for free-text answers: exact match, token F1, contains, numbers, regex, JSON, length.

Each is a gate like the others. The expected column holds the reference answer, or several
(a JSONL list, a JSON list written as text, or text split on ``separator``); a row scores its
best reference, as SQuAD does. A row with no usable answer (its request failed within
``max_error_rate``, or extraction could not parse it) scores 0 and stays in n. Proportions get
a Wilson interval and pair with a baseline through McNemar; means get a row bootstrap.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, NonNegativeFloat

from evalharness._optional import require
from evalharness.compare.options import ComparableOptions
from evalharness.metrics.answers import (
    SQUAD_STEPS,
    NormalizeStep,
    answer_texts,
    normalize_all,
    numbers,
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


class NumericOptions(ComparableOptions):
    """Options of ``numeric_match``: which number of the answer, and the tolerance."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)

    which: Literal["first", "last"] = Field("last", description="the answer's first or last number (GSM8K: last)")
    abs_tol: NonNegativeFloat = Field(0.0, description="|answer - expected| <= abs_tol passes")
    rel_tol: NonNegativeFloat = Field(1e-9, description="or |answer - expected| <= rel_tol x the larger magnitude")


class RegexOptions(ComparableOptions):
    """Options of ``regex_match``: one pattern for every answer, or each row's expected pattern."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)

    pattern: str | None = Field(None, description="a Python regex every answer must match; default: the row's own")
    mode: Literal["search", "fullmatch"] = "search"
    ignore_case: bool = False


class JsonOptions(ComparableOptions):
    """Options of ``json_valid``: JSON that parses, and conforms to a JSON Schema when one is named."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)

    schema_path: str | None = Field(
        None, alias="schema", description="JSON Schema file (relative to the suite) every answer must conform to"
    )
    code_fences: bool = Field(True, description="read the JSON inside a Markdown ``` fence when the answer has one")


class LengthOptions(ComparableOptions):
    """Options of ``answer_length``: the mean answer length, in whitespace tokens or characters."""

    value_range: ClassVar[Bounds] = (0.0, None)

    unit: Literal["tokens", "characters"] = "tokens"

    def better(self) -> Literal["higher", "lower"]:
        """A shorter answer is cheaper: a length improves downwards."""
        return "lower"


def _proportion(name: str, hits: np.ndarray, settings: MetricSettings, **extra: Any) -> MetricValue:
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


def _answered(predictions: Predictions) -> dict[str, Any]:
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
        return _proportion(self.name, hits, settings, details=_answered(predictions))


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
                     details=_answered(predictions))  # fmt: skip


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
        return _proportion(self.name, hits, settings, details=_answered(predictions))


@dataclass(frozen=True)
class NumericMatch:
    """Share of answers whose number equals the expected number within a tolerance."""

    name: str = "numeric_match"
    options: type[GateOptions] = NumericOptions
    description: str = "share of answers whose first or last number matches the expected number within a tolerance"

    def compute(self, predictions: Predictions, options: NumericOptions, settings: MetricSettings) -> MetricValue:
        """Numbers read from every answer and every expected value, compared as math.isclose does."""
        got = numbers(answer_texts(predictions.raw_predicted), options.which)
        expected = numbers(answer_texts(predictions.raw_expected), "first")
        if np.isnan(expected).any():
            row = predictions.ids[int(np.flatnonzero(np.isnan(expected))[0])]
            row = row.item() if isinstance(row, np.generic) else row
            raise ValueError(f"numeric_match needs a number in every expected value; row {row!r} has none")
        allowed = np.maximum(options.rel_tol * np.maximum(np.abs(got), np.abs(expected)), options.abs_tol)
        with np.errstate(invalid="ignore"):
            hits = np.abs(got - expected) <= allowed  # NaN (no number in the answer) is never close
        details = {**_answered(predictions), "without_number": int(np.isnan(got).sum())}
        return _proportion(self.name, hits, settings, details=details, row_scores={"answer_number": got})


@dataclass(frozen=True)
class RegexMatch:
    """Share of answers matching a regex: the suite's pattern, or each row's expected pattern."""

    name: str = "regex_match"
    options: type[GateOptions] = RegexOptions
    description: str = "share of answers matching a regular expression"

    def check_suite(self, options: RegexOptions, available: list[str], base_dir: Path) -> list[tuple[Any, str]]:
        """The pattern must compile."""
        if options.pattern is None:
            return []
        try:
            re.compile(options.pattern)
        except re.error as error:
            return [(("pattern",), f"not a valid regular expression: {error}")]
        return []

    def compute(self, predictions: Predictions, options: RegexOptions, settings: MetricSettings) -> MetricValue:
        """Every answer matched against its pattern."""
        flags = re.IGNORECASE if options.ignore_case else 0
        answers = answer_texts(predictions.raw_predicted)
        patterns = [options.pattern] * len(answers) if options.pattern else answer_texts(predictions.raw_expected)
        compiled = {pattern: _compile(pattern, flags, predictions) for pattern in set(patterns)}
        hits = np.fromiter(
            (answer is not None and _matches(compiled[pattern], answer, options.mode)
             for answer, pattern in zip(answers, patterns)),
            dtype=bool, count=len(answers),
        )  # fmt: skip
        return _proportion(self.name, hits, settings, details=_answered(predictions))


def _compile(pattern: str | None, flags: int, predictions: Predictions) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern, flags)
    except re.error as error:
        raise ValueError(f"the expected pattern {pattern!r} is not a valid regular expression: {error}") from None


def _matches(pattern: re.Pattern[str] | None, answer: str, mode: str) -> bool:
    if pattern is None:
        return False
    return (pattern.fullmatch(answer) if mode == "fullmatch" else pattern.search(answer)) is not None


_FENCE = re.compile(r"```[A-Za-z0-9_-]*\s*\n?(.*?)```", re.DOTALL)


def json_document(answer: str, code_fences: bool) -> Any:
    """The JSON value an answer holds (inside its first ``` fence when allowed); raises ValueError."""
    if code_fences:
        fenced = _FENCE.search(answer)
        if fenced:
            answer = fenced.group(1)
    return json.loads(answer)


@dataclass(frozen=True)
class JsonValid:
    """Share of answers that are JSON (and conform to the suite's JSON Schema when it names one)."""

    name: str = "json_valid"
    options: type[GateOptions] = JsonOptions
    description: str = "share of answers that parse as JSON and conform to the JSON Schema, when one is given"

    def check_suite(self, options: JsonOptions, available: list[str], base_dir: Path) -> list[tuple[Any, str]]:
        """The schema file must exist and be a valid JSON Schema."""
        if options.schema_path is None:
            return []
        try:
            _validator(options.schema_path, base_dir)
        except (OSError, ValueError) as error:
            return [(("schema",), str(error))]
        return []

    def compute(self, predictions: Predictions, options: JsonOptions, settings: MetricSettings) -> MetricValue:
        """Every answer parsed, then validated against the schema when there is one."""
        validator = _validator(options.schema_path, settings.base_dir) if options.schema_path else None
        answers = answer_texts(predictions.raw_predicted)
        verdicts = [_json_verdict(answer, options.code_fences, validator) for answer in answers]
        hits = np.fromiter((verdict == "ok" for verdict in verdicts), dtype=bool, count=len(verdicts))
        counts = Counter(verdict for verdict in verdicts)
        details = {**_answered(predictions), "not_json": counts["not_json"], "schema_violations": counts["schema"]}
        return _proportion(self.name, hits, settings, details=details)


def _json_verdict(answer: str | None, code_fences: bool, validator: Any) -> str:
    if answer is None:
        return "no_answer"
    try:
        document = json_document(answer, code_fences)
    except ValueError:
        return "not_json"
    if validator is not None and not validator.is_valid(document):
        return "schema"
    return "ok"


def _validator(schema_path: str, base_dir: Path) -> Any:
    """A jsonschema validator for the file (its ``$schema`` draft, 2020-12 by default); ValueError when
    the file is not JSON or not a valid schema."""
    jsonschema = require("jsonschema", extra="qa", needed_for="json_valid's schema")
    path = (base_dir / schema_path).resolve()
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"no JSON Schema file at {path}") from None
    except ValueError as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as error:
        raise ValueError(f"{path} is not a valid JSON Schema: {error.message}") from None
    return cls(schema)


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
        details = {**_answered(predictions), "unit": options.unit, "p50": spread[0], "p95": spread[1],
                   "max": float(present.max()) if present.size else None}  # fmt: skip
        return _mean(self.name, lengths, settings, np.zeros(len(answers)), counted, details=details,
                     row_scores={"answer_length": lengths})  # fmt: skip


EXACT_MATCH = ExactMatch()
TOKEN_F1 = TokenF1()
CONTAINS = Contains()
NUMERIC_MATCH = NumericMatch()
REGEX_MATCH = RegexMatch()
JSON_VALID = JsonValid()
ANSWER_LENGTH = AnswerLength()
