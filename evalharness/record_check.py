"""Check a run.json before ``evalharness report`` renders it: what is wrong, in one line.

A record may have been edited, cut short or written by another version, and reports are rendered
from it alone, so it is checked first: its JSON (no ``Infinity`` or ``NaN``, which JSON lacks),
its ``record_version``, every field the record schema types (a number where a number belongs,
required fields present), and that its status is the one its gates imply. A record with no suites
has nothing to report and says so, rather than rendering as a run that passed.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalharness.errors import EvalHarnessError
from evalharness.record import RECORD_VERSION, RunRecord, summarise
from evalharness.suite.yamlsource import KeyPath, format_key_path


class RecordError(EvalHarnessError):
    """A run.json that cannot be rendered; the message is one line naming the file and the fault."""


def read_record(path: Path) -> RunRecord:
    """The checked record in ``path``; raises :class:`RecordError` saying what is wrong with it."""
    name = str(path)
    text = _read_text(path, name)
    data = _parse(text, name)
    for problem in (_non_finite(data), _version(data), _shape(text)):
        if problem:
            raise RecordError(f"{name}: {problem}")
    record = RunRecord.model_validate(data)
    problem = _contents(record)
    if problem:
        raise RecordError(f"{name}: {problem}")
    return record


def _read_text(path: Path, name: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RecordError(f"{name}: cannot read the record: {error.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError(
            f"{name}: not UTF-8 text (byte offset {error.start}); not a run.json evalharness wrote"
        ) from None


def _parse(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordError(f"{name}:{error.lineno}:{error.colno}: invalid JSON: {error.msg}") from None
    except RecursionError:
        raise RecordError(f"{name}: invalid record: its JSON nests too deep") from None
    except ValueError as error:  # an integer past Python's digit limit
        raise RecordError(f"{name}: invalid JSON: {error}") from None


def _non_finite(data: Any) -> str | None:
    """Where an Infinity or NaN is (JSON has neither; evalharness writes null for them)."""
    stack: list[tuple[KeyPath, Any]] = [((), data)]
    while stack:  # iterative: a record may nest as deep as JSON allows
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            written = json.dumps(value)  # Infinity, -Infinity or NaN, as the record spells it
            return f"{format_key_path(path) or '(record)'}: {written} is not a JSON number (evalharness writes null)"
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
            digits = len(str(abs(value)))
            return f"{format_key_path(path) or '(record)'}: a {digits}-digit integer is beyond any number in a record"
        if isinstance(value, dict):
            stack.extend(((*path, key), child) for key, child in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, index), child) for index, child in reversed(list(enumerate(value))))
    return None


def _version(data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"a run.json is a JSON object, not {_describe(data)}"
    version = data.get("record_version")
    if "record_version" not in data:
        return "missing record_version: not a run.json written by evalharness"
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= RECORD_VERSION:
        newer = isinstance(version, int) and version > RECORD_VERSION
        why = "newer than this evalharness reads; upgrade evalharness" if newer else "not one evalharness writes"
        return f"record_version: {version!r} is {why} (this one reads 1 to {RECORD_VERSION})"
    return None


def _contents(record: RunRecord) -> str | None:
    """A record that says nothing, or contradicts itself."""
    if not record.suites:
        return "the record holds no suites (no gate ran), so there is nothing to report"
    summary, status = summarise(record.suites)
    if record.status != status:
        return f"status: the record says {record.status!r}, but its gates make it {status!r}"
    expected = summary.model_dump()
    if {key: getattr(record.summary, key, None) for key in expected} != expected:
        return "summary: the counts do not match the gates in the record"
    return None


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return "a list" if isinstance(value, list) else "an object"


_EXPECTED = {
    "float_type": "a number", "int_type": "a whole number", "int_from_float": "a whole number",
    "string_type": "text", "bool_type": "true or false", "list_type": "a list", "tuple_type": "a list",
    "dict_type": "an object", "model_type": "an object", "model_attributes_type": "an object",
}  # fmt: skip
"""pydantic's error types, as what the record should have held."""


def _shape(text: str) -> str | None:
    """Where the record does not have the JSON types its schema gives: pydantic's strict JSON
    validation (no text for numbers, no fractions for counts), its first error in one line."""
    try:
        RunRecord.model_validate_json(text, strict=True)
    except ValidationError as error:
        first = error.errors()[0]
        kind, where = first["type"], format_key_path(tuple(first["loc"])) or "(record)"
        if kind == "missing":
            return f"{where}: missing; a run.json written by evalharness has it"
        context = first.get("ctx", {})
        expected: str | None
        if kind == "literal_error":
            expected = "one of " + str(context["expected"]).replace(" or ", ", ")
        elif kind in ("too_long", "too_short") and isinstance(first["input"], list):
            expected = f"a list of {context.get('max_length') or context.get('min_length')}"
        else:
            expected = _EXPECTED.get(kind)
        if expected:
            return f"{where}: expected {expected}, got {_describe(first['input'])}"
        return f"{where}: {' '.join(str(first['msg']).split())}"
    return None
