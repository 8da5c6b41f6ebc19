"""Target ``http``: any JSON endpoint, through the shared request loop of
:mod:`evalharness.targets.endpoint` (concurrency, retries, every request accounted for).

The request body is a sandboxed Jinja template over the row's fields (``{{ amount | tojson }}``),
rendered and parsed as JSON; the answer is extracted with JMESPath. A template that reads ``rows``
sends batches whatever ``batch_size`` is, even 1, and its label and score paths must give a list
of exactly one value per row; any other template sends one row per request, and its paths give
that row's answer (any JSON value) and score (a number). An answer of another shape is a
parse_error that names the path and the shape it gave.
"""

from __future__ import annotations

import json
from typing import Any

from evalharness._optional import require
from evalharness.suite.schema import HttpTargetSpec
from evalharness.targets.base import TargetContext
from evalharness.targets.endpoint import EndpointTarget, Outcome
from evalharness.targets.secrets import clip, expand, redact
from evalharness.targets.templates import compile_template, render, render_json

__all__ = ["AnswerPath", "EndpointTarget", "HttpTarget", "Outcome"]


def _shape(value: Any) -> str:
    """A JSON value's shape in words, for parse errors (text redacted before it is cut)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return f"a list of {len(value)} value{'' if len(value) == 1 else 's'}"
    if isinstance(value, dict):
        keys = sorted(redact(str(key)) for key in value)
        return f"an object with keys {keys[:5]}{' ...' if len(keys) > 5 else ''}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {clip(value, 40)!r}"
    return f"the number {value}"


def _rows(count: int) -> str:
    return f"{count} row{'' if count == 1 else 's'}"


def _field_keys(node: dict[str, Any]) -> list[str] | None:
    """The keys of a JMESPath tree made only of fields (``output.label``), or None for anything else."""
    if node.get("type") == "field":
        return [node["value"]]
    if node.get("type") != "subexpression":
        return None
    keys: list[str] = []
    for child in node["children"]:
        inner = _field_keys(child)
        if inner is None:
            return None
        keys += inner
    return keys


class AnswerPath:
    """A compiled JMESPath expression. A chain of fields (``output.label``, the usual case) is read by
    dictionary lookups, as JMESPath reads it (a field of anything but an object is null), without
    building an interpreter for every answer; any other expression is searched by JMESPath."""

    def __init__(self, jmespath: Any, expression: str) -> None:
        self.compiled = jmespath.compile(expression)
        self.keys = _field_keys(self.compiled.parsed)

    def search(self, value: Any) -> Any:
        """What the expression finds in ``value`` (None when nothing)."""
        if self.keys is None:
            return self.compiled.search(value)
        for key in self.keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _one_per_row(name: str, expression: str, found: Any, count: int) -> list[Any]:
    """A batch's values at a path: a list of exactly one value per row of the request."""
    if not isinstance(found, list):
        raise ValueError(
            f"{name} path {expression!r} gave {_shape(found)} where a list of one value per row was expected "
            f"(a request of {_rows(count)})"
        )
    if len(found) != count:
        raise ValueError(f"{name} path {expression!r} gave {_shape(found)} for a request of {_rows(count)}")
    return found


def _numbers_only(values: list[Any]) -> bool:
    return all(_numbers_only(value) if isinstance(value, list) else _is_number(value) for value in values)


def _label(expression: str, value: Any, where: str = "") -> Any:
    """One row's label: text, a number, a boolean, null (no answer) or a sequence of numbers (a forecast);
    an object, or a list holding anything else, cannot be compared with an expected answer."""
    if isinstance(value, list) and not _numbers_only(value):
        item = next(item for item in value if not (_is_number(item) or isinstance(item, list) and _numbers_only(item)))
        shape = f"a list holding {_shape(item)}"
    elif isinstance(value, dict):
        shape = _shape(value)
    else:
        return value
    raise ValueError(
        f"label path {expression!r} gave {shape}{where} where a label (text, a number or a boolean) "
        "or a list of numbers was expected"
    )


def _score(expression: str, value: Any, where: str = "") -> float:
    """One row's score, which must be a number (a list means the path is not per row); ``where``
    says which row of a batch, for the message."""
    if isinstance(value, list):
        raise ValueError(f"score path {expression!r} gave a list{where} where one number per row was expected")
    if not _is_number(value):
        raise ValueError(f"score path {expression!r} gave {_shape(value)}{where} where a number was expected")
    return float(value)


class HttpTarget(EndpointTarget):
    """Any JSON endpoint: a sandboxed body template per row or batch, answers read by JMESPath."""

    kind = "http"

    def __init__(self, spec: HttpTargetSpec, context: TargetContext) -> None:
        super().__init__(spec, context)
        jmespath = require("jmespath", extra="http", needed_for="target kind 'http'")
        self.method = spec.method
        self.url = expand(spec.url)
        self.body = compile_template(spec.body)
        # Batch mode follows the template, not batch_size: a template over rows asks for one answer
        # per row, so a lone row's answer is a list of one as well.
        self.batched = spec.body_reads_rows(spec.body)
        self.label_path = AnswerPath(jmespath, spec.label)
        self.score_path = AnswerPath(jmespath, spec.score) if spec.score else None
        self.has_score = self.score_path is not None

    def _cache_identity(self, spec: Any) -> dict[str, Any]:
        identity = super()._cache_identity(spec)
        if spec.batch_size == 1 and spec.body_reads_rows(spec.body):
            # Earlier versions read these answers as one value (a list kept whole): never reuse them.
            identity["answers"] = "one per row"
        return identity

    def _payload(self, rows: list[dict[str, Any]]) -> Any:
        return json.loads(render(self.body, **self._context(rows)))

    def _body(self, rows: list[dict[str, Any]]) -> tuple[Any, bytes | None]:
        """The rendered template, checked as JSON and sent as it was rendered (not parsed and written again).

        A body that is JSON by construction (see :func:`render_json`) is not parsed back when no cache
        needs its value to key on; the value is then None.
        """
        context = self._context(rows)
        if self.cache is None:
            text = render_json(self.body, context)
            if text is not None:
                return None, text.encode()
        text = render(self.body, **context)
        return json.loads(text), text.encode()

    def _context(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """What the template sees: ``rows`` in batch mode, else the one row's columns and ``row``."""
        return {"rows": rows} if self.batched else {**rows[0], "row": rows[0]}

    def _extract(self, answer: Any, count: int) -> tuple[list[Any], list[Any]]:
        return self._batch(answer, count) if self.batched else self._row(answer)

    def _batch(self, answer: Any, count: int) -> tuple[list[Any], list[Any]]:
        """One label (and score) per row of the request, from lists at the paths."""
        found_labels = _one_per_row("label", self.spec.label, self.label_path.search(answer), count)
        labels = [
            _label(self.spec.label, value, f" for row {row + 1} of {count}") for row, value in enumerate(found_labels)
        ]
        if labels.count(None) == count:
            raise ValueError(f"label path {self.spec.label!r} gave only nulls for a request of {_rows(count)}")
        if self.score_path is None:
            return labels, [None] * count
        found = _one_per_row("score", self.spec.score, self.score_path.search(answer), count)
        return labels, [_score(self.spec.score, value, f" for row {row + 1} of {count}")
                        for row, value in enumerate(found)]  # fmt: skip

    def _row(self, answer: Any) -> tuple[list[Any], list[Any]]:
        """The one row's answer (any JSON value but null, e.g. a forecast's list) and its score."""
        label = self.label_path.search(answer)
        if label is None:
            raise ValueError(f"label path {self.spec.label!r} found nothing in the answer, {_shape(answer)}")
        label = _label(self.spec.label, label)
        if self.score_path is None:
            return [label], [None]
        return [label], [_score(self.spec.score, self.score_path.search(answer))]
