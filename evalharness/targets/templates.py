"""Endpoint templates (request bodies, prompts): sandboxed, autoescaped, and bounded.

Jinja's sandbox stops a template from reaching Python internals, but not from working forever:
two nested ``range(99999)`` loops, ``'x' * 10**9`` or ``'x'.center(10**9)`` each pass it. A suite
must not be able to hang a run past its ``deadline_s`` or fill the memory, so every render here
has a budget:

- every ``for`` loop of the template, whatever it iterates, draws from one budget of
  :data:`MAX_ITERATIONS` iterations per render (the parse tree is rewritten so each loop's
  iterable passes through a counter);
- a call, filter or operator cannot ask for more than :data:`MAX_SIZE` items or characters (an
  integer argument above it, or a product or power that would exceed it, is refused);
- the rendered text is capped at :data:`MAX_OUTPUT_CHARS`.

Going over any of them raises :class:`TemplateLimitError`, which the endpoint targets count as a
failed request with the reason, like any other request that cannot be sent.
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_ITERATIONS = 100_000
"""Loop iterations per render, all loops together (a batch of 1,000 rows x 100 fields fits)."""
MAX_SIZE = 1_000_000
"""The largest count one call or operator may ask for (a width, a repeat, a range)."""
MAX_OUTPUT_CHARS = 16 * 2**20
"""The largest rendered body or prompt."""

_LOOP = "__evalharness_loop"
_FORMAT_SPEC = re.compile(r"%[^a-zA-Z%]*")
_budget: contextvars.ContextVar[list[int]] = contextvars.ContextVar("template_budget")


class TemplateLimitError(ValueError):
    """A template went over its loop, size or output budget."""


def _counted(iterable: Iterable[Any]) -> Iterator[Any]:
    """``iterable``, drawing one unit of this render's loop budget per item."""
    budget = _budget.get(None)
    for item in iterable:
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise TemplateLimitError(f"the template ran over {MAX_ITERATIONS:,} loop iterations in one render")
        yield item


def _too_big(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE


def _size(value: Any) -> int:
    """How much a factor multiplies by: a sequence's length, an integer's value, else 1."""
    if isinstance(value, (str, bytes, list, tuple)):
        return len(value)
    return abs(value) if isinstance(value, int) and not isinstance(value, bool) else 1


def _refuse_huge(values: Iterable[Any], what: str) -> None:
    if any(_too_big(value) for value in values):
        raise TemplateLimitError(f"a template {what} asked for more than {MAX_SIZE:,} items or characters")


def _huge_format(text: str, arguments: Any) -> bool:
    """Whether ``text % arguments`` would pad to more than :data:`MAX_SIZE` (checked before formatting)."""
    widths = [int(number) for spec in _FORMAT_SPEC.findall(text) for number in re.findall(r"\d+", spec)]
    values = arguments if isinstance(arguments, tuple) else (arguments,)
    return any(width > MAX_SIZE for width in widths) or any(_too_big(value) for value in values)


def _checked_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that refuses a count above :data:`MAX_SIZE` (``center(10**9)``, ``'%9999999999s' |
    format(x)``) before it runs. ``functools.wraps`` keeps Jinja's pass_context/pass_environment
    marks (they live in ``__dict__``)."""

    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        _refuse_huge((*args, *kwargs.values()), "filter")
        texts = [value for value in args if isinstance(value, str)]
        if name == "format" and texts and _huge_format(texts[0], tuple(args[args.index(texts[0]) + 1 :])):
            raise TemplateLimitError(f"a template format would exceed {MAX_SIZE:,} characters")
        return function(*args, **kwargs)

    return checked


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, autoescaped, with every loop counted and every amplifying operation capped."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(autoescape=True, **options)
        self.policies["json.dumps_kwargs"] = {"sort_keys": False}
        self.globals[_LOOP] = _counted
        self.globals["range"] = self._range
        self.filters = {name: _checked_filter(name, function) for name, function in self.filters.items()}

    @staticmethod
    def _range(*args: int) -> Iterator[int]:
        if any(_too_big(arg) for arg in args):
            raise TemplateLimitError(f"range() may give at most {MAX_SIZE:,} numbers in a template")
        return iter(range(*args))

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name(_LOOP, "load"), [loop.iter], [], None, None, lineno=loop.lineno)
        return tree

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's signature)
        """Every call in the template (functions, methods such as ``center``): no huge counts."""
        _refuse_huge((*args, *kwargs.values()), "call")
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        """``*``, ``**`` and ``%`` only when the result stays within :data:`MAX_SIZE`."""
        repeats = isinstance(left, (str, bytes, list, tuple)) or isinstance(right, (str, bytes, list, tuple))
        if operator_name == "*" and (repeats and _size(left) * _size(right) > MAX_SIZE):
            raise TemplateLimitError(f"a template product would exceed {MAX_SIZE:,} items or characters")
        if operator_name == "**" and (_too_big(left) or _too_big(right) or abs(right) > 64):
            raise TemplateLimitError("a template power must have an exponent of at most 64")
        if operator_name == "%" and isinstance(left, str) and _huge_format(left, right):
            raise TemplateLimitError(f"a template format would exceed {MAX_SIZE:,} characters")
        return super().call_binop(context, operator_name, left, right)


def compile_template(text: str, undefined: type[Undefined] | None = None) -> Any:
    """A bounded template: a raw ``{{ value }}`` holding a quote cannot break out of a JSON string
    (autoescape makes it ``&#34;``); ``{{ value | tojson }}`` gives exact JSON. ``undefined``
    replaces Jinja's lenient undefined value (validation renders with a strict one)."""
    return (BoundedEnvironment(undefined=undefined) if undefined else BoundedEnvironment()).from_string(text)


def render(template: Any, **context: Any) -> str:
    """The template rendered within its budgets; :class:`TemplateLimitError` past any of them,
    and the sandbox's own refusals (``SecurityError``, ``OverflowError``) as that error too."""
    token = _budget.set([MAX_ITERATIONS])
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
    finally:
        _budget.reset(token)
