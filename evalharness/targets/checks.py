"""Before anything runs: every dataset column a target section names must be one it can read.

A target reads the id and input columns of a row, never the expected answer (endpoints are sent
only those; perturbed copies hold only those). A name outside them would fail mid-run with a
bare ``KeyError``, or render as an empty string in an endpoint's template; here it is a located
problem instead. Whether the *model* has the inputs the suite maps is checked by the target
itself when it is built (:class:`~evalharness.errors.TargetSpecError`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evalharness.metrics.registry import did_you_mean

KeyPath = tuple[Any, ...]
Problems = list[tuple[KeyPath, str]]
TEMPLATE_NAMES = frozenset({"row", "rows"})
"""Names every endpoint template may use besides the row's own fields."""


def _column_references(spec: Any) -> Iterator[tuple[KeyPath, str]]:
    """(key path under target, column) for every column a local engine or v2 input names."""
    if spec.kind == "onnx":
        for name, columns in (spec.inputs or {}).items():
            if isinstance(columns, str):
                yield ("inputs", name), columns
            else:
                yield from ((("inputs", name, index), column) for index, column in enumerate(columns))
    elif spec.kind == "torch":
        for position, item in enumerate(spec.inputs or []):
            if isinstance(item, str):
                yield ("inputs", position), item
            else:
                yield from ((("inputs", position, index), column) for index, column in enumerate(item))
    elif spec.kind == "kserve":
        for position, tensor in enumerate(spec.inputs):
            yield from ((("inputs", position, "columns", index), c) for index, c in enumerate(tensor.columns))


def template_names(text: str) -> set[str] | None:
    """Top-level names a Jinja template reads (``None`` if it does not parse: the schema says why)."""
    from jinja2 import TemplateSyntaxError, meta

    from evalharness.targets.templates import BoundedEnvironment

    # The bounded sandbox: finding the names compiles the template, and compiling folds constants,
    # which must not build "x" * 10**9 (a plain sandbox would, before any budget applies).
    environment = BoundedEnvironment()
    try:
        names = meta.find_undeclared_variables(environment.parse(text))
    except (TemplateSyntaxError, RecursionError, SyntaxError, MemoryError):
        return None
    return {name for name in names if name not in environment.globals}


def _template_references(spec: Any) -> Iterator[tuple[KeyPath, str]]:
    """(key path under target, name) for every row field an endpoint template reads."""
    templates = {"http": ("body",), "openai": ("prompt",)}.get(spec.kind, ())  # a system prompt is plain text
    for key in templates:
        text = getattr(spec, key, None)
        names = template_names(text) if text else None
        yield from (((key,), name) for name in sorted(names or ()) if name not in TEMPLATE_NAMES)


def _column_message(column: str, columns: list[str], readable: list[str], expected: str | None) -> str | None:
    if column in readable:
        return None
    if column == expected:
        return f"column '{column}' is the expected answer; the model under test must never read it"
    if column in columns:
        return f"column '{column}' is not among the dataset's inputs; add it to dataset.inputs"
    return f"column '{column}' is not in the dataset" + did_you_mean(column, readable)


def column_problems(spec: Any, columns: list[str], inputs: list[str], id_column: str, expected: str) -> Problems:
    """Columns the target section names that it cannot read, located under ``target``.

    ``columns`` are the dataset file's columns, ``inputs`` the ones given to the target.
    """
    readable = list(dict.fromkeys([*inputs, id_column])) if spec.kind in ("http", "openai") else inputs
    problems: Problems = []
    for where, column in [*_column_references(spec), *_template_references(spec)]:
        message = _column_message(column, columns, readable, expected)
        if message is not None:
            problems.append((where, message))
    return problems


def _sample_rows(frame: Any, fields: list[str], count: int) -> list[dict[str, Any]]:
    """The first ``count`` rows as an endpoint receives them: the id and inputs, missing as None."""
    sample = frame[[column for column in fields if column in frame.columns]].head(count)
    return list(sample.astype(object).where(sample.notna(), None).to_dict(orient="records"))


def render_problems(spec: Any, frame: Any, fields: list[str], expected: str | None = None) -> Problems:
    """Render the body (http) or prompt (openai) once for the first rows, as the run will.

    A template the sandbox refuses, one past its loop or size budget, or a body that is not JSON
    would make every request fail; found here, it is a located problem before any request.
    """
    import json

    from evalharness.targets.templates import TemplateLimitError, compile_template, render

    key = {"http": "body", "openai": "prompt"}.get(spec.kind)
    if key is None or len(frame) == 0:
        return []
    batched = key == "body" and spec.body_reads_rows(spec.body)
    rows = _sample_rows(frame, fields, spec.batch_size if batched else 1)
    context = {"rows": rows} if batched else {**rows[0], "row": rows[0]}
    missing = _missing_field(getattr(spec, key), context, rows)
    message = None if missing is None else _column_message(missing, [str(c) for c in frame.columns], fields, expected)
    if message is not None:
        return [((key,), f"it reads '{missing}' from a row: {message}")]
    try:
        text = render(compile_template(getattr(spec, key)), **context)
        if key == "body":
            json.loads(text)
    except TemplateLimitError as error:
        return [((key,), f"rendering it for the first row fails: {error}")]
    except ValueError as error:  # json.JSONDecodeError included
        return [((key,), f"it renders to text that is not JSON for the first row ({error}); use | tojson for values")]
    except Exception as error:  # Jinja's runtime errors (an undefined attribute, a type error) are many
        return [((key,), f"rendering it for the first row fails: {type(error).__name__}: {error}")]
    return []


def _missing_field(text: str, context: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
    """The field a template reads from a row that the row lacks (``row.amout``, ``r.amout`` in a loop over
    ``rows``), found by rendering once with a strict undefined value; None when there is none.

    The run renders such a lookup as empty text (or fails in ``tojson``); a template that tests for a field
    (``is defined``, ``default``) renders strictly too and is left alone.
    """
    from jinja2 import StrictUndefined

    from evalharness.targets.templates import compile_template, render

    looked_up: list[str] = []

    class Recorded(StrictUndefined):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if any(self._undefined_obj is row for row in rows) and isinstance(self._undefined_name, str):
                looked_up.append(self._undefined_name)

    try:
        render(compile_template(text, undefined=Recorded), **context)
    except Exception:  # the lenient render below says what else is wrong
        return looked_up[0] if looked_up else None
    return None
