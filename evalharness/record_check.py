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
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from evalharness.errors import EvalHarnessError
from evalharness.record import RECORD_VERSION, RunRecord, summarise
from evalharness.suite.yamlsource import KeyPath, format_key_path


class RecordError(EvalHarnessError):
    """A run.json that cannot be rendered; the message is one line naming the file and the fault."""


def read_record(path: Path) -> RunRecord:
    """The checked record in ``path``; raises :class:`RecordError` saying what is wrong with it."""
    name = str(path)
    data = _parse(_read_text(path, name), name)
    for problem in (_non_finite(data), _version(data), _shape(data, RunRecord, ())):
        if problem:
            raise RecordError(f"{name}: {problem}")
    try:
        record = RunRecord.model_validate(data)
    except ValidationError as error:  # what the shape check above did not foresee: still one line
        first = error.errors()[0]
        where = format_key_path(tuple(first["loc"])) or "(record)"
        raise RecordError(f"{name}: {where}: {' '.join(str(first['msg']).split())}") from None
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


def _shape(value: Any, annotation: Any, path: KeyPath) -> str | None:
    """Where ``value`` does not have the JSON type ``annotation`` (a field of the record schema) gives."""
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_shape(value, annotation, path)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        found = [_shape(value, option, path) for option in options if option is not type(None)]
        return None if None in found else found[0]
    if origin is Literal:
        allowed = typing.get_args(annotation)
        return None if value in allowed else _wrong(path, f"one of {', '.join(map(repr, allowed))}", value)
    if origin in (list, tuple, dict):
        return _container_shape(value, origin, typing.get_args(annotation), path)
    return _scalar_shape(value, annotation, path)


def _model_shape(value: Any, model: type[BaseModel], path: KeyPath) -> str | None:
    if not isinstance(value, dict):
        return _wrong(path, "an object", value)
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in value:
            if field.is_required():
                return f"{format_key_path((*path, key))}: missing; a run.json written by evalharness has it"
            continue
        problem = _shape(value[key], field.annotation, (*path, key))
        if problem:
            return problem
    return None


def _container_shape(value: Any, origin: Any, args: tuple[Any, ...], path: KeyPath) -> str | None:
    if origin is dict:
        if not isinstance(value, dict):
            return _wrong(path, "an object", value)
        items = [((*path, key), child, args[1] if args else Any) for key, child in value.items()]
    elif not isinstance(value, list):
        return _wrong(path, "a list", value)
    elif origin is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            return _wrong(path, f"a list of {len(args)}", value)
        items = [((*path, index), child, kind) for index, (child, kind) in enumerate(zip(value, args))]
    else:
        kind = args[0] if args else Any
        items = [((*path, index), child, kind) for index, child in enumerate(value)]
    return next((problem for where, child, kind in items if (problem := _shape(child, kind, where))), None)


def _scalar_shape(value: Any, annotation: Any, path: KeyPath) -> str | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is float:
        return None if number else _wrong(path, "a number", value)
    if annotation is int:  # JSON has one number type: 3.0 is the integer 3
        whole = number and (isinstance(value, int) or float(value).is_integer())
        return None if whole else _wrong(path, "a whole number", value)
    if annotation is str:
        return None if isinstance(value, str) else _wrong(path, "text", value)
    if annotation is bool:
        return None if isinstance(value, bool) else _wrong(path, "true or false", value)
    return None


def _wrong(path: KeyPath, expected: str, value: Any) -> str:
    return f"{format_key_path(path) or '(record)'}: expected {expected}, got {_describe(value)}"
