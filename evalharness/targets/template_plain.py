"""The common request body, rendered without Jinja's runtime: literal text and ``{{ name | tojson }}``.

Most bodies a suite writes are ``{"x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}`` or
``{{ row | tojson }}``. Jinja renders them through a new context, the sandbox, and the budgets'
measuring wrappers, about 35 µs a request: a tenth of the client's time at a few thousand requests a
second. A :class:`PlainBody` recognises that shape once, when the template is compiled, and joins the
literal text with each value's JSON, written by the environment's own ``tojson`` (HTML-safe, the same
``json.dumps`` settings), so the text is the same as the bounded render's, character for character.

It answers only where the bounded render cannot fail: every name is in the render's context, and
every value is small and plain (``None``, a boolean, a number, a text, or a flat list or dict of
them; a whole number no larger than :data:`MAX_SIZE` where the filter reads it directly, since the
bounded render refuses a larger one). Anything else returns ``None`` and takes the bounded render,
with its budgets and its messages.
"""

from __future__ import annotations

import json
import math
from typing import Any

from jinja2 import Environment, nodes
from jinja2.utils import htmlsafe_json_dumps

from evalharness.targets.template_budget import MAX_SIZE

PLAIN_CHARS = 2**16
"""The most text the values of one plain render may hold: far inside every budget, even escaped."""
PLAIN_ITEMS = 1024
"""The most items a list or dict value may have to be written plainly."""
_PLAIN_TYPES = frozenset({float, bool, str, type(None)})
_CONSTANTS = {True: "true", False: "false", None: "null"}


def _number_json(value: Any) -> str | None:
    """``json.dumps``' own text for a float, a whole number, a boolean or None (what its C encoder writes:
    ``repr``, or NaN and Infinity); None for any other value."""
    kind = type(value)
    if kind is float:
        if value != value:
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool or value is None:
        return _CONSTANTS[value]
    return None


def _leaf_chars(value: Any, whole_int_limit: bool) -> int | None:
    """Characters a scalar counts for, or None when it is not plain (a large whole number read by
    the filter directly, a subclass, an object)."""
    kind = type(value)
    if kind is int:
        return 24 if not whole_int_limit or abs(value) <= MAX_SIZE else None
    if kind not in _PLAIN_TYPES:
        return None
    return len(value) if kind is str else 24


def _value_chars(value: Any) -> int | None:
    """Characters a value counts for, or None when it must take the bounded render."""
    if type(value) is list:
        items = value
    elif type(value) is dict:
        if not all(type(key) is str for key in value):
            return None
        items = [*value, *value.values()]
    else:
        return _leaf_chars(value, whole_int_limit=True)
    if len(items) > 2 * PLAIN_ITEMS:
        return None
    total = 0
    for item in items:
        chars = _leaf_chars(item, whole_int_limit=False)
        if chars is None:
            return None
        total += chars
    return total


class PlainBody:
    """A template of literal text and ``{{ name | tojson }}`` parts, rendered by joining them."""

    def __init__(self, texts: list[str], names: list[str], environment: Environment) -> None:
        self.texts = texts  # the literal text before each name's JSON, and after the last one
        self.names = names
        self.dumps = environment.policies["json.dumps_function"]
        self.dumps_kwargs = environment.policies["json.dumps_kwargs"]
        # Numbers are written directly when the JSON is json.dumps' own (the default policy).
        self.numbers_directly = self.dumps in (None, json.dumps)
        self.writes_json = self.numbers_directly and _values_in_value_positions(texts)

    @classmethod
    def recognise(cls, environment: Environment, source: str) -> PlainBody | None:
        """The plain body of ``source``, or None when it holds anything but text and ``{{ name | tojson }}``."""
        if len(source) > PLAIN_CHARS:  # a long literal text takes the bounded render and its output cap
            return None
        body = environment.parse(source).body
        outputs = [node for node in body if isinstance(node, nodes.Output)]
        if len(outputs) != len(body):
            return None
        texts, names = [""], []
        for node in (part for output in outputs for part in output.nodes):
            if isinstance(node, nodes.TemplateData):
                texts[-1] += node.data
            elif isinstance(node, nodes.Filter) and isinstance(node.node, nodes.Name) and _is_plain_tojson(node):
                names.append(node.node.name)
                texts.append("")
            else:
                return None
        return cls(texts, names, environment)

    def render(self, context: dict[str, Any]) -> str | None:
        """The rendered text, or None when a name is missing or a value is not plain."""
        pieces = [self.texts[0]]
        budget = PLAIN_CHARS
        for name, text in zip(self.names, self.texts[1:]):
            if name not in context:
                return None
            value = context[name]
            written = _number_json(value) if self.numbers_directly else None
            if written is None or (type(value) is int and abs(value) > MAX_SIZE):
                chars = _value_chars(value)
                if chars is None or chars > budget:
                    return None
                budget -= chars
                written = htmlsafe_json_dumps(value, dumps=self.dumps, **self.dumps_kwargs)
            pieces += (written, text)
        return "".join(pieces)


VALUE_PROBES = ("0", '"s"')
"""A number and a string: JSON takes both only where a whole value goes (not in a key, a string or a number)."""


def _values_in_value_positions(texts: list[str]) -> bool:
    """Whether the literal text is JSON with every name in a value position, so that any JSON written
    for the names makes the whole body JSON (checked once, with each probe in every position)."""
    for probe in VALUE_PROBES:
        try:
            json.loads(probe.join(texts))
        except ValueError:
            return False
    return True


def _is_plain_tojson(node: nodes.Filter) -> bool:
    """Whether the filter is ``tojson``, with no arguments."""
    return node.name == "tojson" and not (node.args or node.kwargs or node.dyn_args or node.dyn_kwargs)
