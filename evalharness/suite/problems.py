"""Turn pydantic validation errors into located, actionable problems with "did you mean"."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from evalharness.errors import Problem
from evalharness.metrics.registry import did_you_mean, unknown_metric_message
from evalharness.suite.fields import AT_KEY, boolean_message, text_number_message
from evalharness.suite.schema import PLANNED_TARGET_KINDS, TARGET_KINDS
from evalharness.suite.yamlsource import KeyPath, YamlDocument, format_key_path


def _data_path(data: Any, loc: tuple[Any, ...]) -> KeyPath:
    """Drop the parts of a pydantic location that are not in the data (union tags, type names)."""
    path: list[Any] = []
    current = data
    for index, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        elif index != len(loc) - 1:
            continue
        path.append(part)
    return tuple(path)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through Optional, Union, Annotated, list, dict)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, typing.Annotated, list, dict):
        return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]
    return []


def _pick_model(models: list[type[BaseModel]], value: Any) -> type[BaseModel] | None:
    """Among union members, the one whose ``kind`` matches the data (or the only one)."""
    if len(models) == 1:
        return models[0]
    kind = value.get("kind") if isinstance(value, dict) else None
    for model in models:
        field = model.model_fields.get("kind")
        if field is not None and kind in typing.get_args(field.annotation):
            return model
    return None


def allowed_keys(root: type[BaseModel], path: KeyPath, data: Any) -> list[str]:
    """The keys the schema accepts in the mapping at ``path`` (for "did you mean")."""
    model: type[BaseModel] | None = root
    value = data
    for part in path:
        if model is None or not isinstance(value, dict):
            return []
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        value = value.get(part)
        model = _pick_model(_models_in(field.annotation), value)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _tag_message(error: Any) -> str:
    """A wrong or missing discriminator (target ``kind``, recipe ``recipe``) with the valid names."""
    ctx = error["ctx"]
    key = str(ctx["discriminator"]).strip("'")
    valid = [tag.strip().strip("'") for tag in str(ctx.get("expected_tags", "")).split(",") if tag.strip()]
    if key == "kind":
        valid = list(TARGET_KINDS)
    elif key == "recipe":
        from evalharness.perturb.recipes import RECIPE_NAMES

        valid = list(RECIPE_NAMES)
    if error["type"] == "union_tag_not_found":
        return f"missing required key '{key}' (one of {', '.join(valid)})"
    tag = ctx.get("tag")
    if key == "kind" and tag in PLANNED_TARGET_KINDS:
        return f"target kind '{tag}' is planned but not available in this version; use one of {', '.join(valid)}"
    noun = "target kind" if key == "kind" else key
    return f"unknown {noun} '{tag}'" + did_you_mean(str(tag), valid)


EXPECTED_TYPES = {
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "text",
    "list_type": "a list such as [a, b]",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
}
"""Pydantic's strict type errors -> what the suite should have there, in a user's words."""
EXPECTED_MODELS = {"OutputRef": "an output's name, or a mapping {name: ..., column: ...}"}


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f"the text {value!r}"
    if value is None:
        return "null (nothing)"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return "a list" if isinstance(value, list) else "a mapping"


def _type_message(kind: str, value: Any, model: str | None) -> str:
    """A wrong type, with the YAML reading that usually causes it (quotes, yes/no, 1e-3) and the fix."""
    expected = EXPECTED_MODELS.get(model or "", EXPECTED_TYPES[kind])
    if isinstance(value, bool) and kind != "bool_type":
        return boolean_message(
            value, "quote it to mean text, as in 'yes'" if kind == "string_type" else f"write {expected}"
        )
    if isinstance(value, str) and kind in ("int_type", "float_type"):
        return text_number_message(value, expected)
    if isinstance(value, str) and kind == "bool_type":
        return f"expected true or false, got the text {value!r} (quotes make text; write true or false without them)"
    if isinstance(value, (int, float)) and kind == "string_type":
        return f"expected text, got the number {value!r}; quote it to mean the text ('{value!r}')"
    return f"expected {expected}, got {_describe(value)}"


BOUND_WORDS = {
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "below"),
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "above"),
}
"""Pydantic's bound errors -> the bound's key in the error context and how to say it."""


def _bound_message(kind: str, value: Any, ctx: dict[str, Any]) -> str:
    """A number past a documented bound (``load.users`` at most 10,000), with the bound."""
    key, words = BOUND_WORDS[kind]
    bound = ctx.get(key)
    shown = str(bound)
    if isinstance(bound, (int, float)) and not isinstance(bound, bool) and float(bound).is_integer():
        shown = f"{int(bound):,}"  # 100000.0 -> 100,000
    return f"expected a number {words} {shown}, got {value!r}"


def _message(error: Any, path: KeyPath, root: type[BaseModel], data: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        key = path[-1]
        if path[:-1] == ("metrics",):
            return unknown_metric_message(str(key))
        return f"unknown key '{key}'" + did_you_mean(str(key), allowed_keys(root, path[:-1], data))
    if kind == "missing":
        return f"missing required key '{path[-1]}'"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return _tag_message(error)
    if kind == "literal_error" and path == ("schema",):
        return f"unsupported schema version {error.get('input')!r}; this evalharness reads schema: 1"
    if kind in EXPECTED_TYPES:
        return _type_message(kind, error.get("input"), error.get("ctx", {}).get("class_name"))
    if kind in BOUND_WORDS:
        return _bound_message(kind, error.get("input"), error.get("ctx", {}))
    if kind == "finite_number":
        return f"expected a finite number, got {error.get('input')!r} (.inf and .nan are not allowed)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def validation_problems(error: ValidationError, document: YamlDocument, root: type[BaseModel]) -> list[Problem]:
    """One located problem per pydantic error, each with the key path and how to fix it."""
    problems = []
    for item in error.errors():
        path = _data_path(document.data, tuple(item["loc"]))
        message = _message(item, path, root, document.data)
        if item["type"] == "union_tag_invalid":
            path = (*path, str(item["ctx"]["discriminator"]).strip("'"))
        if item["type"] == AT_KEY:  # a validator of the whole mapping, about one of its keys
            path = (*path, item["ctx"]["key"])
        if item["type"] == "missing":
            problems.append(document.problem(path[:-1], message))
        elif item["type"] == "expression_syntax":
            line, col = document.inner_position(path, item["ctx"]["line"], item["ctx"]["column"])
            problems.append(Problem(document.file, line, col, format_key_path(path), message))
        else:
            problems.append(document.problem(path, message, key=item["type"] == "extra_forbidden"))
    return problems
