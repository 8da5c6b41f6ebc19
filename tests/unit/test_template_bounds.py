"""Endpoint templates render within a loop, size and output budget, so no suite can hang a run.

Regression: a body with nested ``range(99999)`` loops ignored ``deadline_s: 10`` and ran for over
40 s. Each amplifier is checked to be refused quickly and to leave ordinary templates untouched.
"""

from __future__ import annotations

import json
import resource
import time

import pytest

from evalharness.targets.templates import (
    MAX_BUILT_CHARS,
    MAX_ITERATIONS,
    MAX_OUTPUT_CHARS,
    TemplateLimitError,
    compile_template,
    render,
)

ROWS = [{"id": i, "amount": i * 1.5, "text": f'say "{i}"'} for i in range(1000)]


def test_ordinary_bodies_render_as_jinja_renders_them() -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    text = (
        '{"instances": {{ rows | tojson }}, "n": {{ rows | length }}, "first": "{{ rows[0].text }}", '
        '"pad": "{{ "%05.1f" | format(rows[1].amount) }}", "ids": [{% for r in rows %}{{ r.id }}'
        "{% if not loop.last %},{% endif %}{% endfor %}]}"
    )
    reference = ImmutableSandboxedEnvironment(autoescape=True)
    reference.policies["json.dumps_kwargs"] = {"sort_keys": False}
    expected = reference.from_string(text).render(rows=ROWS)
    assert render(compile_template(text), rows=ROWS) == expected
    body = json.loads(expected)
    assert body["ids"] == list(range(1000)) and body["first"] == "say &#34;0&#34;"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}", "loop iterations"),
        ("{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}", "loop iterations"),
        ("{% for r in rows %}{% for s in rows %}{% endfor %}{% endfor %}", "loop iterations"),
        ("{{ range(10**8) | list | length }}", "asked for more than"),
        ("{{ 'x' * 1000000000 }}", "product would exceed"),
        ("{{ [1] * 1000000000 }}", "product would exceed"),
        ("{{ s * 1000 }}", "product would exceed"),
        ("{{ 10 ** 10 ** 9 }}", "power"),
        ("{{ 'x'.center(1000000000) }}", "call asked for more than"),
        ("{{ 'x'.ljust(1000000000) }}", "call asked for more than"),
        ("{{ 'x' | center(1000000000) }}", "filter asked for more than"),
        ("{{ 'x' | indent(1000000000) }}", "filter asked for more than"),
        ("{{ '%1000000000s' % 'x' }}", "format would exceed"),
        ("{{ '%*s' % (1000000000, 'x') }}", "format would exceed"),
        ("{{ '%1000000000s' | format('x') }}", "format would exceed"),
        ("{% for i in range(16) %}{{ s }}{% endfor %}" * 300, "rendered more than"),
        ("{{ ''.__class__.__mro__ }}", "refused by the sandbox"),
    ],
)
def test_amplifiers_are_refused_quickly_and_with_little_memory(text: str, reason: str) -> None:
    template = compile_template(text)
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(TemplateLimitError, match=reason):
        render(template, rows=ROWS, s="y" * 5000)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 200_000  # no gigabyte string was built on the way (ru_maxrss is in KiB)
    assert time.perf_counter() - started < 5  # a guard against a hang, not a timing assertion


def test_the_loop_budget_is_per_render() -> None:
    template = compile_template("{% for i in range(n) %}{% endfor %}ok")
    for _ in range(3):
        assert render(template, n=MAX_ITERATIONS) == "ok"
    with pytest.raises(TemplateLimitError):
        render(template, n=MAX_ITERATIONS + 1)


def test_a_runaway_body_is_a_counted_parse_error_within_the_deadline() -> None:
    """Regression: nested range loops in a body ignored ``deadline_s: 10`` and ran for over 40 s."""
    pytest.importorskip("aiohttp")
    from pathlib import Path

    from evalharness.errors import TargetError
    from evalharness.suite.schema import HttpTargetSpec
    from evalharness.targets import TargetContext, create_target
    from tests.builders import two_feature_frame
    from tests.servers import loopback_server

    body = '{"x": [{% for i in range(99999) %}{% for j in range(99999) %}1,{% endfor %}{% endfor %}0]}'
    with loopback_server() as (url, state):
        spec = HttpTargetSpec.model_validate(
            {"kind": "http", "url": f"{url}/predict", "body": body, "label": "output.label", "deadline_s": 10}
        )
        target = create_target(spec, TargetContext(Path("."), "row_id", ["x1", "x2"]))
        started = time.perf_counter()
        with pytest.raises(TargetError, match=r"40 of 40 requests failed \(parse_error 40\)") as error:
            target.predict(two_feature_frame(rows=40))  # 4 M loop steps: well inside 10 s even on a busy machine
        assert time.perf_counter() - started < 10  # the deadline holds (each render stops at its budget)
    assert "ran over 100,000 loop iterations" in str(error.value)
    assert sum(state.requests.values()) == 0  # nothing was sent


BIG = "{% set a = 'x' * 999999 %}"  # one string of just under MAX_SIZE characters, then printed many times
TOO_BIG = f"would build more than {MAX_OUTPUT_CHARS:,} characters"
BUILT_TOO_MUCH = f"built more than {MAX_BUILT_CHARS:,} characters in one render"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{{ (([a] * 1000) | tojson)[:10] }}", "tojson " + TOO_BIG),
        ("{{ " + " ~ ".join(["a"] * 1500) + " }}", "concatenation " + TOO_BIG),
        ("{{ (([a] * 1000) | join)[:10] }}", "join " + TOO_BIG),
        ("{{ (([a] * 1000) | join(a))[:10] }}", "join " + TOO_BIG),
        ("{% set a = a + a + a + a %}" * 5 + "{{ a[:10] }}", "concatenation " + TOO_BIG),
        ("{{ (([a] * 1000) | string)[:10] }}", "string " + TOO_BIG),
        ("{{ (([a] * 1000) | pprint)[:10] }}", "pprint " + TOO_BIG),
        ("{{ (('x' * 1000) | replace('x', a))[:10] }}", "replace " + TOO_BIG),
        ("{{ (('x\n' * 1000) | indent(999999))[:10] }}", "indent " + TOO_BIG),
        ("{{ (('x\n' * 1000) | indent(a))[:10] }}", "indent " + TOO_BIG),
        ("{{ (('x ' * 1000) | wordwrap(1, wrapstring=a))[:10] }}", "wordwrap " + TOO_BIG),
        ("{{ (('%s' * 1000) | format(*([a] * 1000)))[:10] }}", "format " + TOO_BIG),
        ("{{ ('%s' * 1000) % (([a] * 1000) | batch(1000) | first | list) }}", "format " + TOO_BIG),
        ("{{ ([[0] * 1000000] * 1000) | sum(start=[]) | length }}", "sum " + TOO_BIG),
        ("{{ [a] * 1000 }}", "printed value " + TOO_BIG),
        ("{{ a.join([a] * 1000)[:10] }}", "str.join " + TOO_BIG),
        ("{{ ('{0}' * 1000).format(a)[:10] }}", "str.format " + TOO_BIG),
        ("{{ ('x' * 1000).replace('x', a)[:10] }}", "str.replace " + TOO_BIG),
        ("{{ ('{:>999999}' * 17).format(1) | length }}", "str.format " + TOO_BIG),
        (
            "{% set ns = namespace(items=[]) %}{% for i in range(2000) %}{% set ns.items = ns.items + [a ~ i] %}"
            "{% endfor %}{{ ns.items | length }}",
            BUILT_TOO_MUCH,
        ),
        ("{% set x %}" + "{{ a }}" * 1500 + "{% endset %}{{ x | length }}", BUILT_TOO_MUCH),
        ("{% set x %}{% for i in range(99999) %}" + "y" * 1000 + "{% endfor %}{% endset %}", BUILT_TOO_MUCH),
        ("{% macro m() %}{{ a }}{% endmacro %}{% for i in range(1000) %}{% set x = m() %}{% endfor %}", BUILT_TOO_MUCH),
    ],
    ids=["tojson", "tilde", "join", "join-separator", "plus", "string", "pprint", "replace", "indent", "indent-text",
         "wordwrap", "format", "percent", "sum", "printed", "str.join", "str.format", "str.replace", "str.format-width",
         "loop-list", "set-block", "loop-text", "macro"],
)  # fmt: skip
def test_text_amplified_from_one_big_string_is_refused_before_it_is_built(text: str, reason: str) -> None:
    """Regression: no integer was large, yet ``[a] * 1000 | tojson`` took 8 s and 1.9 GB in one
    render, and ``a ~ a ~ ... ~ a`` 12 s and 3 GB at validation. Each result is now measured (by
    counting, or by walking the value) before it is built, and what one render builds is capped."""
    template = compile_template(BIG + text)
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(TemplateLimitError, match=reason):
        render(template)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 200_000  # nothing near a gigabyte was built on the way (ru_maxrss is in KiB)
    assert time.perf_counter() - started < 5  # a guard against a hang, not a timing assertion


def test_ordinary_joins_concatenations_and_batches_render_as_jinja_renders_them() -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    text = (
        '{"prompt": {{ ("Rows " ~ rows | length ~ ": " ~ (rows | map(attribute="id") | join(", ")) ~ ".") | tojson }}, '
        '"texts": "{{ rows[:3] | join(" / ", attribute="text") }}", "tags": {{ (["a"] + ["b"]) | tojson }}, '
        '"sum": {{ rows | sum(attribute="amount") }}, "pairs": {{ [[1], [2]] | sum(start=[]) | tojson }}, '
        '"line": "{{ "%s-%05.1f" | format(rows[2].id, rows[2].amount) }}", '
        '"built": "{% set ns = namespace(s="") %}{% for r in rows %}{% set ns.s = ns.s ~ r.id ~ "," %}{% endfor %}'
        '{{ ns.s | length }}", "batch": {{ rows | tojson }}}'
    )
    reference = ImmutableSandboxedEnvironment(autoescape=True)
    reference.policies["json.dumps_kwargs"] = {"sort_keys": False}
    expected = reference.from_string(text).render(rows=ROWS)
    assert render(compile_template(text), rows=ROWS) == expected
    body = json.loads(expected)
    assert body["prompt"].startswith("Rows 1000: 0, 1, 2") and len(body["batch"]) == 1000


def test_a_result_just_within_the_output_limit_still_renders() -> None:
    text = render(compile_template(BIG + "{{ ([a] * 16) | join }}{{ (a ~ a) | length }}"))
    assert len(text) == 16 * 999_999 + len("1999998")


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
         "ran over 100,000 loop iterations"),
        ("{% for x in [1] recursive %}{{ loop([1, 1]) }}{% endfor %}", "nests its calls too deeply"),
        ("{% for x in [[1, 2]] recursive %}{{ loop(range(999999)) if x is iterable }}{% endfor %}",
         "ran over 100,000 loop iterations|computed for more than 2 s"),  # on a busy machine the clock ends it
        ("{% for i in range(1000) %}{{ range(999999) | sum }}{% endfor %}", "ran over 100,000 loop iterations"),
    ],
    ids=["macro-calling-itself-twice", "endless-recursive-loop", "recursive-loop-items", "range-sum-in-a-loop"],
)  # fmt: skip
def test_work_that_builds_nothing_is_still_bounded(template: str, says: str) -> None:
    """Regression: a macro calling itself twice (2**40 calls), a recursive loop's loop(...) (not counted)
    and range(10**6) | sum in a loop built nothing, so no size budget stopped them: they ran past 20 s."""
    started = time.perf_counter()
    with pytest.raises(TemplateLimitError, match=says):
        render(compile_template(template), x1=1.0)
    assert time.perf_counter() - started < 10  # a guard: each ends within about a second


def test_a_render_has_a_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans that stay within every count (a 1 MB membership test per step) still end at MAX_RENDER_S."""
    import evalharness.targets.template_budget as budget

    monkeypatch.setattr(budget, "MAX_RENDER_S", 0.05)
    slow = compile_template("{% set a = 'x' * 999999 %}{% for i in range(40000) %}{{ 'y' in a }}{% endfor %}")
    with pytest.raises(TemplateLimitError, match=r"computed for more than 0.05 s in one render"):
        render(slow)
    assert render(compile_template("{{ x1 | tojson }}"), x1=2.5) == "2.5"  # a quick render is untouched
