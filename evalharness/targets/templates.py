"""Endpoint templates (request bodies, prompts): sandboxed, autoescaped, and bounded.

Jinja's sandbox stops a template from reaching Python internals, but not from working forever:
two nested ``range(99999)`` loops, ``'x' * 10**9`` or ``'x'.center(10**9)`` each pass it, and so
does text amplified without any large number, by printing one big string many times (``[a] * 1000
| tojson``, ``a ~ a ~ ... ~ a``). A suite must not be able to hang a run past its ``deadline_s`` or
fill the memory, so every render here has a budget:

- every ``for`` loop of the template, whatever it iterates, draws from one budget of
  :data:`MAX_ITERATIONS` iterations per render (the parse tree is rewritten so each loop's
  iterable passes through a counter);
- a call, filter or operator cannot ask for more than :data:`MAX_SIZE` items or characters (an
  integer argument above it, or a product or power that would exceed it, is refused);
- no text or list is built past :data:`MAX_OUTPUT_CHARS` characters (a list item counts as
  :data:`ITEM_CHARS`): ``~`` and ``+``, every printed ``{{ value }}``, ``str.format``, ``%`` and the
  filters that build text or lists (``join``, ``tojson``, ``string``, ``pprint``, ``replace``,
  ``indent``, ``wordwrap``, ``format``, ``sum``, ...) measure their result *before* building it,
  by counting (``s.count(old)``, the lines of a text) or by walking the value without building
  any text; and what one render builds in all (those results, loop bodies' text) is capped at
  :data:`MAX_BUILT_CHARS`, so a loop cannot keep a thousand big strings either;
- the rendered text is capped at :data:`MAX_OUTPUT_CHARS`.

Going over any of them raises :class:`TemplateLimitError`, which the endpoint targets count as a
failed request with the reason, like any other request that cannot be sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import Environment, Undefined, nodes, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import LoopContext, Macro, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

from evalharness.targets.template_budget import (
    _CONCAT,
    _LOOP,
    ITEM_CHARS,
    MAX_BUILT_CHARS,
    MAX_ITERATIONS,
    MAX_OUTPUT_CHARS,
    MAX_RENDER_S,
    MAX_SIZE,
    TemplateLimitError,
    _Budget,
    _budget,
    _build,
    _counted,
    _CountedRange,
    _step,
    _wide,
)
from evalharness.targets.template_plain import PlainBody
from evalharness.targets.template_sizes import (
    _FILTER_SIZES,
    _MATERIALIZED,
    _METHOD_SIZES,
    _huge_format,
    _listed,
    _percent_size,
    _refuse_huge,
    _size,
    _text_size,
    _texts_size,
    _too_big,
    _weight,
)

__all__ = [
    "ITEM_CHARS", "MAX_BUILT_CHARS", "MAX_ITERATIONS", "MAX_OUTPUT_CHARS", "MAX_RENDER_S", "MAX_SIZE",
    "BoundedEnvironment", "TemplateLimitError", "compile_template", "render",
]  # fmt: skip


@pass_eval_context
def _concat(eval_ctx: EvalContext, parts: tuple[Any, ...]) -> str:
    """Jinja's ``~`` (the parse tree is rewritten to call this filter): measured, then joined as Jinja joins."""
    _build(_texts_size(parts), "concatenation")
    return _wide(markup_join(parts) if eval_ctx.autoescape else str_join(parts))


def _printed(value: Any) -> Any:
    """Every ``{{ value }}``, in the body or in a macro or ``set`` block: measured before it is printed."""
    _build(_text_size(value), "printed value")
    return _wide(value)


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002 (Jinja's names)
    """Jinja's ``lipsum``, within :data:`MAX_SIZE` words (16 characters each, at most)."""
    _build(16 * n * max, "lipsum")
    return generate_lorem_ipsum(n, html, min, max)


def _checked_filter(environment: Environment, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses a count above :data:`MAX_SIZE` (``center(10**9)``, ``'%9999999999s' |
    format(x)``) and, for those that build text or lists, a result past :data:`MAX_OUTPUT_CHARS`,
    before it runs. ``functools.wraps`` keeps Jinja's pass_context/pass_environment marks (they live
    in ``__dict__``)."""
    offset = 1 if hasattr(function, "jinja_pass_arg") else 0  # the context Jinja passes first
    size_of = _FILTER_SIZES.get(name)

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _refuse_huge((*args, *kwargs.values()), "filter")
        texts = [value for value in args if isinstance(value, str)]
        if name == "format" and texts and _huge_format(texts[0], tuple(args[args.index(texts[0]) + 1 :])):
            raise TemplateLimitError(f"a template format would exceed {MAX_SIZE:,} characters")
        if size_of is not None and len(args) > offset:
            args = _listed(args, offset) if name in _MATERIALIZED else args
            _build(size_of(environment, *args[offset:], **kwargs), name)
            result = _wide(function(*args, **kwargs))
            if isinstance(args[offset], Iterator):  # reverse lists an iterator: measured once built
                _build(_weight(result), name)
            return result
        return function(*args, **kwargs)

    return checked


class _BoundingTransformer(NodeTransformer):
    """Rewrites a parse tree: every ``for`` loop's iterable passes through the loop counter (with
    the characters of the loop's literal text), every ``~`` becomes the measured concatenation."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        literal = sum(len(data.data) * (1 if data.data.isascii() else 4) for data in node.find_all(nodes.TemplateData))
        counter = nodes.Name(_LOOP, "load")
        node.iter = nodes.Call(counter, [node.iter, nodes.Const(literal)], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        parts = nodes.Tuple(node.nodes, "load", lineno=node.lineno)
        return nodes.Filter(parts, _CONCAT, [], [], None, None, lineno=node.lineno)


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, autoescaped, with every loop counted and every amplifying operation capped."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(autoescape=True, finalize=_printed, **options)
        self.policies["json.dumps_kwargs"] = {"sort_keys": False}
        self.globals[_LOOP] = _counted
        self.globals["range"] = self._range
        self.globals["lipsum"] = _lipsum
        self.filters = {name: _checked_filter(self, name, function) for name, function in self.filters.items()}
        self.filters[_CONCAT] = _concat

    @staticmethod
    def _range(*args: int) -> Iterable[int]:
        """``range()``, each number it gives drawn from the loop budget (``range(10**6) | sum`` counts)."""
        if any(_too_big(arg) for arg in args):
            raise TemplateLimitError(f"range() may give at most {MAX_SIZE:,} numbers in a template")
        return _CountedRange(range(*args))

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = _BoundingTransformer().visit(super()._parse(source, name, filename))
        assert isinstance(tree, nodes.Template)
        tree.set_environment(self)
        return tree

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's signature)
        """Every call in the template (functions, methods such as ``center``): no huge counts, and a
        text's method that may build more than it is given (``join``, ``replace``, ``format``...)
        measured first. What a method of a text or container (``center``, ``copy``, ``fromkeys``),
        ``dict()`` or a macro builds is drawn from the render's budget: each is small, not all of them."""
        if __obj is _counted:  # the loop counter of the rewritten tree (its literal size may pass MAX_SIZE)
            return super().call(__context, __obj, *args, **kwargs)
        if isinstance(__obj, (Macro, LoopContext)):  # what can call itself: a macro, a recursive loop's loop(...)
            _step()
            if isinstance(__obj, LoopContext) and args:  # its next level's items are loop steps too
                args = (_counted(args[0]), *args[1:])
        _refuse_huge((*args, *kwargs.values()), "call")
        method = getattr(__obj, "__wrapped__", __obj)  # str.format comes wrapped by the sandbox
        owner, name = getattr(method, "__self__", None), getattr(method, "__name__", "")
        if isinstance(owner, (str, bytes)) and name in _METHOD_SIZES:
            args = _listed(args, 0) if name in _MATERIALIZED else args
            _build(_METHOD_SIZES[name](owner, *args, **kwargs), f"str.{name}")
            return _wide(super().call(__context, __obj, *args, **kwargs))
        result = super().call(__context, __obj, *args, **kwargs)
        builds = isinstance(owner, (str, bytes, list, tuple, dict, set, frozenset, type)) and name != "get"
        if (builds or isinstance(__obj, Macro) or __obj is dict) and result is not owner:
            owned = getattr(owner, "__name__", type(owner).__name__)  # dict.fromkeys, str.center
            _build(_weight(result), "macro" if isinstance(__obj, Macro) else f"{owned}.{name}" if builds else name)
            _wide(result)
        return result

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        """``*``, ``**``, ``%`` and ``+`` only when the result stays within :data:`MAX_SIZE` (repeats,
        format widths) and :data:`MAX_OUTPUT_CHARS` (texts, lists), measured first."""
        repeats = isinstance(left, (str, bytes, list, tuple)) or isinstance(right, (str, bytes, list, tuple))
        if operator_name == "*" and (repeats and _size(left) * _size(right) > MAX_SIZE):
            raise TemplateLimitError(f"a template product would exceed {MAX_SIZE:,} items or characters")
        if operator_name == "**" and (_too_big(left) or _too_big(right) or abs(right) > 64):
            raise TemplateLimitError("a template power must have an exponent of at most 64")
        if operator_name == "%" and isinstance(left, str) and _huge_format(left, right):
            raise TemplateLimitError(f"a template format would exceed {MAX_SIZE:,} characters")
        if operator_name == "*" and repeats:
            item = ITEM_CHARS if isinstance(left, (list, tuple)) or isinstance(right, (list, tuple)) else 1
            _build(_size(left) * _size(right) * item, "product")
        elif operator_name == "%" and isinstance(left, str):
            _build(_percent_size(left, right), "format")
        elif operator_name == "+" and isinstance(left, (str, bytes, list, tuple)):
            _build(
                sum(_text_size(side) if isinstance(side, str) else _weight(side) for side in (left, right)),
                "concatenation",
            )
        return _wide(super().call_binop(context, operator_name, left, right))


def compile_template(text: str, undefined: type[Undefined] | None = None) -> Any:
    """A bounded template: a raw ``{{ value }}`` holding a quote cannot break out of a JSON string
    (autoescape makes it ``&#34;``); ``{{ value | tojson }}`` gives exact JSON. ``undefined``
    replaces Jinja's lenient undefined value (validation renders with a strict one). A body of only
    text and ``{{ name | tojson }}`` also keeps its :class:`PlainBody`, which :func:`render` tries first."""
    environment = BoundedEnvironment(undefined=undefined) if undefined else BoundedEnvironment()
    template: Any = environment.from_string(text)
    template.evalharness_plain = None if undefined else PlainBody.recognise(environment, text)
    return template


def render_json(template: Any, context: dict[str, Any]) -> str | None:
    """The body as JSON without parsing it back, where that is known when it compiled: text and
    ``{{ name | tojson }}`` parts with every name in a value position (:class:`PlainBody`). None when
    this template or these values need the whole render (and a check of what it gives)."""
    plain = getattr(template, "evalharness_plain", None)
    return plain.render(context) if plain is not None and plain.writes_json else None


def render(template: Any, **context: Any) -> str:
    """The template rendered within its budgets; :class:`TemplateLimitError` past any of them,
    and the sandbox's own refusals (``SecurityError``, ``OverflowError``) as that error too."""
    plain = getattr(template, "evalharness_plain", None)
    text = plain.render(context) if plain is not None else None
    if text is not None:
        return text
    token = _budget.set(_Budget())
    try:
        parts, size = [], 0
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateLimitError(f"the template rendered more than {MAX_OUTPUT_CHARS:,} characters")
            parts.append(chunk)
        return "".join(parts)
    except (SecurityError, OverflowError, MemoryError) as error:
        raise TemplateLimitError(f"the template was refused by the sandbox: {error}") from None
    except RecursionError:  # a macro or a recursive loop calling itself without end
        raise TemplateLimitError("the template nests its calls too deeply (a macro or loop calling itself)") from None
    finally:
        _budget.reset(token)
