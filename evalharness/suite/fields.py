"""Field types shared by every part of the suite schema."""

from __future__ import annotations

import math
import re
import types
import typing
from functools import cache
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

GateOn = Literal["estimate", "bound"]
Bounds = tuple[float | None, float | None]
"""The least and the most a gated value can be; None where it is unbounded."""
AT_KEY = "at_key"
"""Type of the errors that a validator of a whole mapping locates at one of its keys (``ctx["key"]``)."""


def error_at(key: str, message: str) -> PydanticCustomError:
    """An error about the value at ``key`` of the mapping being validated, located there by the loader."""
    return PydanticCustomError(AT_KEY, "{message}", {"message": message, "key": key})


def _admits_int(annotation: Any) -> bool:
    """Whether a field's type takes an integer (``int``, ``int | None``, ``int | str``...)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _admits_int(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_admits_int(arg) for arg in typing.get_args(annotation))
    return annotation is int


@cache
def _integer_keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(field.alias or name for name, field in model.model_fields.items() if _admits_int(field.annotation))


class ClosedModel(BaseModel):
    """A schema section that rejects unknown keys (typos must never be silently ignored).

    Strict, as JSON Schema is: the text "64" is not a number and true is not 1. Keys are the
    names the JSON Schema publishes (aliases), never the Python field names. Numbers are finite:
    YAML's .inf and .nan have no JSON equivalent and no meaning in a suite.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers_are_integers(cls, data: Any) -> Any:
        # JSON has one number type: 64.0 is the integer 64 to JSON Schema, so it is here (strict
        # pydantic would refuse it). Only a model's own fields hold integers in the suite schema.
        if not isinstance(data, dict):
            return data
        keys = _integer_keys(cls)
        return {
            key: int(value) if key in keys and isinstance(value, float) and value.is_integer() else value
            for key, value in data.items()
        }


def boolean_message(value: bool, fix: str) -> str:
    """What to say when YAML read a value as a boolean (yes/no/on/off) where another type belongs."""
    word = "true" if value else "false"
    return f"YAML read this as the boolean {word} (yes/no/on/off are booleans in YAML); {fix}"


def _as_number(text: str) -> int | float | None:
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if math.isfinite(number) else None
    return None


def text_number_message(text: str, expected: str = "a number") -> str:
    """What to say when YAML read a value as text where a number belongs."""
    number = _as_number(text)
    if number is None:
        return f"expected {expected}, got the text {text!r}"
    why = "YAML 1.1 needs a dot and a signed exponent, as in 1.0e-3" if "e" in text.lower() else "quotes make text"
    return f"YAML read {text!r} as text, not a number ({why}); write {number!r}"


def _number_only(value: Any) -> Any:
    """Reject values YAML turned into strings or booleans, with the reason and the fix."""
    if isinstance(value, bool):
        raise ValueError(boolean_message(value, "write a number such as 0.9"))
    if isinstance(value, str):
        raise ValueError(text_number_message(value))
    return value  # .inf and .nan: refused by ClosedModel (allow_inf_nan=False)


def _not_boolean(value: Any) -> Any:
    """Literal 1 would take true (True == 1 in Python); JSON Schema's const 1 does not."""
    if isinstance(value, bool):
        raise ValueError(boolean_message(value, "write 1"))
    return value


Threshold = Annotated[float, BeforeValidator(_number_only)]
"""A gate threshold: a finite number, never text or a boolean that YAML guessed."""

One = Annotated[Literal[1], BeforeValidator(_not_boolean)]
"""The number 1 exactly (a schema version, a fixed batch size), never the boolean true."""


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"in [{low:g}, {high:g}]"
    return f"of {low:g} or more" if low is not None else f"of {high:g} or less"


def _outside(key: str, value: float | None, bounds: Bounds, what: str) -> str | None:
    """Why threshold ``key`` (min or max) cannot be ``value``, a gated value lying in ``bounds``."""
    low, high = bounds
    if value is None:
        return None
    if low is not None and value < low:
        side, limit, never = "below", f"{low:g}, the least", "fail" if key == "min" else "pass"
    elif high is not None and value > high:
        side, limit, never = "above", f"{high:g}, the most", "pass" if key == "min" else "fail"
    else:
        return None
    return (
        f"{key} {value:g} is {side} {limit} {what} can be, so the gate could never {never}; "
        f"write a {key} {_range_text(low, high)}"
    )


def _bounds_schema(bounds: Bounds) -> dict[str, float]:
    low, high = bounds
    return {**({"minimum": low} if low is not None else {}), **({"maximum": high} if high is not None else {})}


def _option_is(option: str, value: Any, is_default: bool) -> dict[str, Any]:
    """JSON Schema: ``option`` has ``value`` (written so, or left out when it is the default)."""
    return {"properties": {option: {"const": value}}, **({} if is_default else {"required": [option]})}


def _thresholds_within(bounds: Bounds) -> dict[str, Any]:
    return {"properties": {key: _bounds_schema(bounds) for key in ("min", "max")}}


class GateOptions(ClosedModel):
    """Thresholds every gated metric accepts.

    Each options class declares where its value lies (``value_range``; ``value_range_by`` when an
    option changes it), so a ``min`` or ``max`` no value could meet is refused where it is written,
    and the JSON Schema states the same bounds.
    """

    value_range: ClassVar[Bounds] = (None, None)
    """The least and the most the gated value can be (``(0.0, 1.0)`` for a share of rows)."""
    value_range_by: ClassVar[tuple[str, dict[Any, Bounds]] | None] = None
    """When an option sets the range: (option, option value -> range), as dtw's ``gate``."""

    min: Threshold | None = None
    max: Threshold | None = None
    gate_on: GateOn | None = None

    def gated_range(self) -> Bounds:
        """Where the gated value lies with these options."""
        if self.value_range_by is None:
            return self.value_range
        option, ranges = self.value_range_by
        return ranges.get(getattr(self, option), self.value_range)

    @model_validator(mode="after")
    def _thresholds_in_range(self) -> GateOptions:
        what = "this value"
        if self.value_range_by is not None:
            option = self.value_range_by[0]
            what = f"this value (with {option}: {str(getattr(self, option)).lower()})"
        for key in ("min", "max"):
            why = _outside(key, getattr(self, key), self.gated_range(), what)
            if why:
                raise error_at(key, why)
        return self

    @model_validator(mode="after")
    def _min_below_max(self) -> GateOptions:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max}); no value could pass")
        return self

    @property
    def is_gate(self) -> bool:
        """Whether a threshold is set (a metric without one is reported, not gated)."""
        return self.min is not None or self.max is not None

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # JSON Schema's minimum and maximum apply to numbers only, so they sit beside min's anyOf
        # [number, null]; a range set by an option becomes an if/then on that option's value.
        schema = handler(core_schema)
        definition = handler.resolve_ref_schema(schema)
        for key in ("min", "max"):
            definition["properties"][key].update(_bounds_schema(cls.value_range))
        if cls.value_range_by is not None:
            option, ranges = cls.value_range_by
            default = cls.model_fields[option].default
            definition.setdefault("allOf", []).extend(
                {"if": _option_is(option, value, value == default), "then": _thresholds_within(bounds)}
                for value, bounds in ranges.items()
            )
        return schema


class ShareGateOptions(GateOptions):
    """Thresholds on a share (of rows, of requests): a value in [0, 1]."""

    value_range = (0.0, 1.0)


class NonNegativeGateOptions(GateOptions):
    """Thresholds on a time, a rate, a count or a distance: a value of 0 or more."""

    value_range = (0.0, None)


# --- secrets: only from the environment -------------------------------------------------------------

ENV_NAME_REFERENCE = r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}"
"""A whole ``${env:NAME}`` reference, anywhere in a value (group 1: the name)."""
SECRET_HEADER_WORDS = ("authorization", "token", "secret", "key", "cookie", "password", "credential")
"""A header whose name holds one of these words, in any case (X-Api-Key, Proxy-Authorization), carries
a secret: its value must read one from the environment."""


def _any_case(word: str) -> str:
    # JSON Schema's regular expressions (ECMA-262) have no case-insensitive flag, so spell it out.
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)


SECRET_HEADER_NAME = "|".join(_any_case(word) for word in SECRET_HEADER_WORDS)


def _secrets_from_environment(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if re.search(SECRET_HEADER_NAME, name) and not re.search(ENV_NAME_REFERENCE, value):
            raise error_at(
                name,
                f"the header {name} carries a secret, and a suite file must never hold one: read it from the "
                f"environment, e.g. {name}: 'Bearer ${{env:API_TOKEN}}' with API_TOKEN set where the suite runs",
            )
    return headers


Headers = Annotated[
    dict[str, str],
    AfterValidator(_secrets_from_environment),
    Field(
        default_factory=dict,
        description="values may use ${env:NAME}; those of secret headers (Authorization, *key*, *token*...) must",
        json_schema_extra={
            "patternProperties": {SECRET_HEADER_NAME: {"type": "string", "pattern": ENV_NAME_REFERENCE}}
        },
    ),
]
"""Request headers; a secret header (:data:`SECRET_HEADER_WORDS`) reads its value from the environment."""


def _no_password(url: str) -> str:
    try:
        userinfo, at, _ = urlsplit(url).netloc.rpartition("@")
    except ValueError:  # not a URL at all: the target says so when it connects
        return url
    _, colon, password = userinfo.partition(":")
    if at and colon and not re.search(ENV_NAME_REFERENCE, password):
        raise ValueError(
            "the URL holds a password (user:password@host), and a suite file must never hold a secret: "
            "write it as https://user:${env:API_PASSWORD}@host, or send a token in headers"
        )
    return url


EndpointUrl = Annotated[str, AfterValidator(_no_password)]
"""An endpoint URL: ``${env:NAME}`` allowed, a literal password in it refused."""


def repeated_names(names: list[str]) -> list[str]:
    """Names that appear more than once, sorted (for "must be unique" errors)."""
    return sorted({name for name in names if names.count(name) > 1})
