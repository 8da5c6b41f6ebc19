"""Q&A metrics for answers of a required form: a number within a tolerance, a regular expression,
JSON (conforming to a JSON Schema when the suite names one). Shares of rows, like
:mod:`evalharness.metrics.qa`'s, with a row that has no usable answer scored 0.
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
from evalharness.metrics.answers import answer_texts, numbers
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.qa import no_answer_facts, share_of_rows
from evalharness.predictions import Predictions
from evalharness.suite.fields import Bounds, GateOptions


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
        details = {**no_answer_facts(predictions), "without_number": int(np.isnan(got).sum())}
        return share_of_rows(self.name, hits, settings, details=details, row_scores={"answer_number": got})


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
        return share_of_rows(self.name, hits, settings, details=no_answer_facts(predictions))


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
        details = {**no_answer_facts(predictions), "not_json": counts["not_json"],
                   "schema_violations": counts["schema"]}  # fmt: skip
        return share_of_rows(self.name, hits, settings, details=details)


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




NUMERIC_MATCH = NumericMatch()
REGEX_MATCH = RegexMatch()
JSON_VALID = JsonValid()
