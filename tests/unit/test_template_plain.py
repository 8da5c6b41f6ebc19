"""The plain body (text and ``{{ name | tojson }}``) renders exactly what the bounded render does."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from evalharness.targets.template_budget import MAX_SIZE
from evalharness.targets.template_plain import PLAIN_CHARS, PlainBody
from evalharness.targets.templates import TemplateLimitError, compile_template, render, render_json

ROW_BODY = '{"x1": {{ x1 | tojson }}, "note": {{ note | tojson }}}'
VALUES: list[Any] = [
    0.1, -1.5e-300, math.inf, -math.inf, math.nan, 0, -7, MAX_SIZE, True, False, None, "", "plain",
    "<b>&'\"</b>", "caf\u00e9 \u2603 \U0001f600", "line\nbreak\ttab\x00", [1, 2.5, "a<", None],
    {"k": 1, "j": "<x>", "z": None}, [], {},
]  # fmt: skip


def _bounded(text: str, **context: Any) -> str:
    """The bounded render alone, with the plain body switched off."""
    template = compile_template(text)
    template.evalharness_plain = None
    return render(template, **context)


@pytest.mark.parametrize("value", VALUES, ids=[repr(value)[:30] for value in VALUES])
def test_a_plain_value_renders_as_the_bounded_render_does(value: Any) -> None:
    template = compile_template(ROW_BODY)
    assert template.evalharness_plain is not None
    context = {"x1": value, "note": value}
    assert template.evalharness_plain.render(context) is not None
    assert render(template, **context) == _bounded(ROW_BODY, **context)


@pytest.mark.parametrize(
    "text",
    ["{{ row | tojson }}", "no expressions at all", "", "a {{ x1|tojson }}{{ x1|tojson }} b\n", "{{ x1 | tojson }}\n"],
)
def test_plain_shapes_match_the_bounded_render(text: str) -> None:
    context = {"x1": 2.5, "row": {"x1": 2.5, "id": "r1"}}
    template = compile_template(text)
    assert template.evalharness_plain is not None
    assert render(template, **context) == _bounded(text, **context)


@pytest.mark.parametrize(
    "text", ["{{ x1 }}", "{{ x1 | tojson(2) }}", "{{ row.x1 | tojson }}", "{% for r in rows %}{% endfor %}",
             "{{ x1 | tojson | safe }}", "{{ 'a' ~ x1 }}"],
)  # fmt: skip
def test_other_templates_are_not_plain(text: str) -> None:
    assert compile_template(text).evalharness_plain is None


@pytest.mark.parametrize(
    "value",
    [MAX_SIZE + 1, [[1]], {"a": {"b": 1}}, {1: "a"}, "x" * (PLAIN_CHARS + 1), list(range(5000)), object()],
    ids=["huge int", "nested list", "nested dict", "int key", "long text", "long list", "object"],
)
def test_values_that_are_not_plain_take_the_bounded_render(value: Any) -> None:
    template = compile_template(ROW_BODY)
    assert template.evalharness_plain.render({"x1": value, "note": 1}) is None


def test_a_whole_number_past_the_limit_is_still_refused() -> None:
    with pytest.raises(TemplateLimitError, match="more than"):
        render(compile_template(ROW_BODY), x1=MAX_SIZE + 1, note="a")


def test_a_missing_name_takes_the_bounded_render() -> None:
    template = compile_template(ROW_BODY)
    assert template.evalharness_plain.render({"x1": 1}) is None
    with pytest.raises(TypeError, match="Undefined"):  # the bounded render's own error, as before
        render(template, x1=1)


def test_a_strict_template_has_no_plain_body() -> None:
    from jinja2 import StrictUndefined

    assert compile_template(ROW_BODY, undefined=StrictUndefined).evalharness_plain is None


def test_recognise_reads_the_environment_policies() -> None:
    template = compile_template(ROW_BODY)
    plain = template.evalharness_plain
    assert isinstance(plain, PlainBody)
    assert plain.dumps_kwargs == {"sort_keys": False}


@pytest.mark.parametrize(
    "text",
    ['{"x1": {{ x1 | tojson }}, "note": {{ note | tojson }}}', "{{ x1 | tojson }}", ' [ {{ x1|tojson }} , 1 ]\n',
     '{"a": {"b": [{{ x1 | tojson }}, {{ note | tojson }}]}}', '{{ row | tojson }}'],
)  # fmt: skip
def test_names_in_value_positions_make_a_body_that_is_json_for_any_value(text: str) -> None:
    template = compile_template(text)
    assert template.evalharness_plain.writes_json
    for value in VALUES:
        context = {"x1": value, "note": value, "row": {"x1": value}}
        body = render_json(template, context)
        nested = "row" in text and isinstance(value, (list, dict))  # a nested value takes the whole render
        assert body == (None if nested else _bounded(text, **context))
        json.loads(body or "null")  # raises if not JSON


@pytest.mark.parametrize(
    "text",
    ['{"x1": "{{ x1 | tojson }}"}', '{ {{ x1 | tojson }}: 1}', '{"x1": 1{{ x1 | tojson }}}', '[-{{ x1 | tojson }}]',
     "{{ x1 | tojson }}{{ note | tojson }}", '{"x1": {{ x1 | tojson }}', "x = {{ x1 | tojson }}", "",
     '{"x1": {{ x1 | tojson }}} // note'],
    ids=["in a string", "as a key", "after a digit", "after a minus", "two together", "unclosed", "not json",
         "empty", "comment"],
)  # fmt: skip
def test_a_name_anywhere_else_keeps_the_render_and_its_check(text: str) -> None:
    template = compile_template(text)
    assert template.evalharness_plain is not None and not template.evalharness_plain.writes_json
    assert render_json(template, {"x1": 1, "note": "n"}) is None


def test_render_json_gives_none_where_the_values_need_the_whole_render() -> None:
    template = compile_template('{"x1": {{ x1 | tojson }}}')
    assert render_json(template, {"x1": object()}) is None  # not a plain value
    assert render_json(template, {}) is None  # a missing name
    assert render_json(compile_template('{"x1": {{ x1 }}}'), {"x1": 1}) is None  # not a plain body
