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

import contextvars
import functools
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple

from jinja2 import Environment, Undefined, nodes, pass_eval_context
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.nodes import EvalContext
from jinja2.runtime import LoopContext, Macro, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

MAX_ITERATIONS = 100_000
"""Loop iterations per render, all loops together (a batch of 1,000 rows x 100 fields fits)."""
MAX_SIZE = 1_000_000
"""The largest count one call or operator may ask for (a width, a repeat, a range)."""
MAX_OUTPUT_CHARS = 16 * 2**20
"""The largest rendered body or prompt, and the largest text or list one operation may build."""
MAX_BUILT_CHARS = 4 * MAX_OUTPUT_CHARS
"""Characters one render may build in all: measured results, printed values, loop bodies' text."""
ITEM_CHARS = 16
"""What one item of a list, tuple or dict counts for (its pointer, and a share of a new object)."""

_LOOP = "__evalharness_loop"
_CONCAT = "__evalharness_concat"
_FORMAT_SPEC = re.compile(r"%[^a-zA-Z%]*")
_FORMAT_FIELD = re.compile(r"\{[^{}]*\}")
_REPR_FIELD = re.compile(r"%[^a-zA-Z%]*[ra]|![ra]")  # fields that print repr() or ascii()
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits at
_CHUNK = 2**16
_END = object()
_SCALARS = frozenset({int, float, bool, type(None)})


MAX_RENDER_S = 2.0
"""The longest one render may compute (checked at each loop step, call and measured operation): a
template that builds nothing but loops over slow work (``range(10**6) | sum`` in a loop, a macro
calling itself twice) still ends, so ``deadline_s`` holds."""


@dataclass
class _Budget:
    """What is left to one render."""

    iterations: int = MAX_ITERATIONS
    chars: int = MAX_BUILT_CHARS
    until: float = field(default_factory=lambda: time.perf_counter() + MAX_RENDER_S)

    def step(self) -> None:
        """One loop step or call: from the iteration budget, and within the render's time."""
        self.iterations -= 1
        if self.iterations < 0:
            raise TemplateLimitError(f"the template ran over {MAX_ITERATIONS:,} loop iterations in one render")
        if time.perf_counter() > self.until:  # checked at every step: a few dozen nanoseconds
            raise TemplateLimitError(f"the template computed for more than {MAX_RENDER_S:g} s in one render")


_budget: contextvars.ContextVar[_Budget] = contextvars.ContextVar("template_budget")


class TemplateLimitError(ValueError):
    """A template went over its loop, size or output budget."""


def _draw(chars: int) -> None:
    """Draw ``chars`` from this render's :data:`MAX_BUILT_CHARS` (nothing outside a render)."""
    budget = _budget.get(None)
    if budget is not None:
        budget.chars -= max(chars, 0)
        if budget.chars < 0:
            raise TemplateLimitError(f"the template built more than {MAX_BUILT_CHARS:,} characters in one render")


def _build(size: int, what: str) -> None:
    """Allow a result of ``size`` characters, measured before it is built: refused past
    :data:`MAX_OUTPUT_CHARS`, drawn from the render's budget otherwise."""
    if size > MAX_OUTPUT_CHARS:
        raise TemplateLimitError(f"a template {what} would build more than {MAX_OUTPUT_CHARS:,} characters")
    _draw(size)


def _wide(result: Any) -> Any:
    """``result``, once a text outside ASCII has drawn 3 more per character (up to 4 bytes each)."""
    if isinstance(result, str) and not result.isascii():
        _draw(3 * len(result))
    return result


def _counted(iterable: Iterable[Any], literal_chars: int = 0) -> Iterator[Any]:
    """``iterable``, drawing one unit of this render's loop budget per item, and the loop's
    literal text (``literal_chars``, known from the parse tree) from its build budget."""
    budget = _budget.get(None)
    counted = isinstance(iterable, _CountedRange)  # range() counts its numbers itself: count them once
    for item in iterable:
        if budget is not None:
            if not counted:
                budget.step()
            _draw(literal_chars)
        yield item


class _CountedRange:
    """``range()`` in a template: each number drawn from the loop budget as it is given."""

    def __init__(self, numbers: range) -> None:
        self.numbers = numbers

    def __iter__(self) -> Iterator[int]:
        budget = _budget.get(None)
        for number in self.numbers:
            if budget is not None:
                budget.step()
            yield number


def _step() -> None:
    """One call of this render (a macro, a recursive loop's ``loop(...)``): counted like a loop step."""
    budget = _budget.get(None)
    if budget is not None:
        budget.step()


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


# Measuring a result before it is built.


def _weight(value: Any) -> int:
    """Characters a value holds: a text's length, :data:`ITEM_CHARS` per item of a list or tuple, four
    times that per entry of a dict or set (a hash, a key, a value and a free slot)."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (dict, set, frozenset)):
        return 4 * ITEM_CHARS * len(value)
    return ITEM_CHARS * len(value) if isinstance(value, (list, tuple)) else 0


def _escaped_size(text: str) -> int:
    """The length of ``text`` HTML-escaped (``&'"`` become 5 characters, ``<>`` 4), counted, not escaped."""
    return len(text) + 4 * sum(map(text.count, "&'\"")) + 3 * sum(map(text.count, "<>"))


def _quoted_size(text: str) -> int:
    """A bound on ``text`` printed inside a list or as JSON: its ASCII JSON string (which escapes more
    than ``repr``, but for DEL) and the HTML escapes of either (callers add room for ``Markup('')``)."""
    if len(text) <= _CHUNK:
        json_size = len(encode_basestring_ascii(text))
    else:  # in pieces: the escaped copy of a long text may be 12 times as long
        json_size = sum(len(encode_basestring_ascii(text[at : at + _CHUNK])) for at in range(0, len(text), _CHUNK))
    return json_size + 5 * sum(map(text.count, "<>&'\"")) + 3 * text.count("\x7f")


class _Measure(NamedTuple):
    """A bound on a value's text, and on how deep it nests: levels (JSON's indentation) and columns (pprint's)."""

    size: int
    levels: int
    columns: int


def _flat_size(values: Collection[Any], limit: int) -> int | None:
    """The measure of values that are all numbers, ``None`` or texts, taken in bulk (no walk, no
    Python loop per value); ``None`` when some are not."""
    kinds = set(map(type, values))
    if not kinds <= _SCALARS | {str}:
        return None
    texts = values if kinds == {str} else [value for value in values if type(value) is str]
    numbers = values if str not in kinds else [value for value in values if type(value) is not str]
    chars = sum(map(len, texts))
    if chars > limit:
        return chars
    size = sum(map(len, map(repr, numbers))) + (5 * len(numbers) if float in kinds else 0)  # JSON: inf is Infinity
    return size + (_quoted_size("".join(texts)) + 16 * len(texts) if texts else 0)


def _leaf_size(item: Any) -> int:
    """:func:`_measure` of a value that holds no other (a text, a number, ``None``, an object)."""
    if isinstance(item, str):
        return _quoted_size(item) + 16
    if type(item) in _SCALARS:
        return len(repr(item)) + (5 if type(item) is float else 0)  # JSON writes inf as Infinity
    return 6 * len(item) + 16 if isinstance(item, (bytes, bytearray)) else len(repr(item))


def _measure(value: Any, limit: int = MAX_OUTPUT_CHARS) -> _Measure:
    """A bound on the characters of any text Jinja makes of ``value`` (``str``, ``repr``, JSON, their
    HTML escapes), and on its nesting (for ``pprint`` and ``tojson(indent)``).

    It walks the value without building any text, counts a part as often as it is referenced
    (``[a] * 1000`` prints ``a`` 1000 times) and stops as soon as the size passes ``limit``.
    """
    if isinstance(value, str) or type(value) in _SCALARS:  # the common case, without the walk
        return _Measure(min(_leaf_size(value), limit + 1), 0, 0)
    size, levels, columns = 0, 0, 0
    stack: list[tuple[Iterator[Any], int, int]] = [(iter((value,)), 0, 0)]
    while stack and size <= limit:
        parts, level, column = stack[-1]
        item = next(parts, _END)
        if item is _END:
            stack.pop()
            continue
        levels, columns = max(levels, level), max(columns, column)
        if isinstance(item, Namespace):  # prints as <Namespace {its attributes}>
            size += 24
            item = object.__getattribute__(item, "_Namespace__attrs")
        children: Collection[Any]
        if isinstance(item, Mapping):
            keys = [_quoted_size(key) + 16 if type(key) is str else _measure(key, limit).size for key in item]
            size += 24 + sum(keys) + 8 * len(keys)
            children, inner = item.values(), (level + 1, column + 12 + max(keys, default=0))
        elif isinstance(item, Collection) and not isinstance(item, (str, bytes, bytearray, range, Undefined)):
            size += len(type(item).__name__) + 16 + 2 * len(item)
            children, inner = item, (level + 1, column + len(type(item).__name__) + 2)
        else:
            size += _leaf_size(item)
            continue
        flat = _flat_size(children, limit - size)
        if flat is None:
            stack.append((iter(children), *inner))
        elif children:
            size += flat
            levels, columns = max(levels, inner[0]), max(columns, inner[1])
    return _Measure(min(size, limit + 1), levels, columns)


def _text_size(value: Any, limit: int = MAX_OUTPUT_CHARS) -> int:
    """A bound on the text Jinja prints for ``value``: a text's length (escaped unless it is
    ``Markup``), else its measure."""
    if isinstance(value, str):
        return len(value) if hasattr(value, "__html__") else _escaped_size(value)
    return _leaf_size(value) if type(value) in _SCALARS else _measure(value, limit).size


def _repr_size(value: Any) -> int:
    """A bound on ``repr(value)`` (or its JSON), even for a text."""
    return _measure(value).size


def _texts_size(values: Iterable[Any], limit: int = MAX_OUTPUT_CHARS) -> int:
    """The sum of the values' text sizes, stopping once it passes ``limit``."""
    total = 0
    for value in values:
        total += _text_size(value, limit - total)
        if total > limit:
            break
    return total


def _lines(text: Any) -> int:
    """How many lines ``str.splitlines`` may cut ``text`` into."""
    return 1 + sum(map(text.count, _LINE_BREAKS)) if isinstance(text, str) else 1


def _format_size(text: str, fields: list[str], values: list[Any], positional: bool) -> int:
    """A bound on ``text`` formatted (``%`` or ``str.format``): the text; per field, the numbers in it
    as padding and room for a number (``'%f' % 1e308`` takes 317 characters); integer arguments as
    ``*`` widths; and the arguments' text (``repr`` for ``%r``, ``!r``...): each once when consumed in
    order (``'%s %s' % (a, b)``), else the longest once per field (``'{0}{0}'.format(a)``)."""
    pads = sum(int(number) for field in fields for number in re.findall(r"\d+", field)) + 320 * len(fields)
    numbers = [abs(value) for value in values if isinstance(value, int) and not isinstance(value, bool)]
    pads += sum(numbers) if positional else len(fields) * max(numbers, default=0)
    measure = _repr_size if _REPR_FIELD.search(text) else _text_size
    sizes = {key: measure(value) for key, value in {id(value): value for value in values}.items()}  # once each
    texts = sum(sizes[id(value)] for value in values) if positional else len(fields) * max(sizes.values(), default=0)
    return len(text) + pads + texts


def _percent_size(text: str, arguments: Any) -> int:
    """``text % arguments``, measured."""
    fields = _FORMAT_SPEC.findall(text)
    if isinstance(arguments, Mapping):
        return _format_size(text, fields, [arguments], positional=False)
    return _format_size(text, fields, list(arguments) if isinstance(arguments, tuple) else [arguments], True)


def _join_size(environment: Any, value: Collection[Any], d: Any = "", attribute: Any = None) -> int:
    """``join``: every item's text, and the separator between two."""
    items = value if attribute is None else map(make_attrgetter(environment, attribute), value)
    return _texts_size(items) + max(len(value) - 1, 0) * _text_size(d)


def _sum_size(environment: Any, value: Iterable[Any], attribute: Any = None, start: Any = 0) -> int:
    """``sum`` of lists: the result; the lists built on the way (one per item) are drawn too."""
    if not isinstance(start, (list, tuple)):
        return 0  # numbers (texts cannot be summed)
    size = built = _weight(start)
    for item in value if attribute is None else map(make_attrgetter(environment, attribute), value):
        size += _weight(item)
        built += size
        if size > MAX_OUTPUT_CHARS:
            return size
    _draw(built - size)
    return size


def _replace_size(environment: Any, s: Any, old: Any, new: Any, count: Any = None) -> int:
    """``replace``: the text, plus the new text for every occurrence (counted; at most ``count``)."""
    hits = s.count(old) if isinstance(s, str) and type(old) is str and type(new) is str else _text_size(s) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return _text_size(s) + hits * _text_size(new)


def _indent_size(environment: Any, s: Any, width: Any = 4, *args: Any, **kwargs: Any) -> int:
    """``indent``: the text, plus the indentation, a newline and a list slot for every line."""
    indention = _text_size(width) if isinstance(width, str) else max(width, 0) if isinstance(width, int) else 0
    return _text_size(s) + _lines(s) * (indention + 1 + ITEM_CHARS)


def _wordwrap_size(environment: Any, s: Any, width: Any = 79, *args: Any, **kwargs: Any) -> int:
    """``wordwrap``: the text, plus a wrap string and a list slot for every piece it may be cut into."""
    wrapstring = kwargs.get("wrapstring", args[1] if len(args) > 1 else None)
    wrap = len(environment.newline_sequence) if wrapstring is None else _text_size(wrapstring)
    return _text_size(s) + (_text_size(s) + 1) * (wrap + ITEM_CHARS)


def _tojson_size(environment: Any, value: Any, indent: Any = None) -> int:
    """``tojson``: the value's measure, with a newline and the indentation per line when indented."""
    measure = _measure(value)
    if indent is None:
        return measure.size
    step = len(indent) if isinstance(indent, str) else max(int(indent), 0)
    return measure.size * (2 + step * (measure.levels + 1))


def _pprint_size(environment: Any, value: Any) -> int:
    """``pprint``: the value's measure, with a newline and the indentation per line."""
    measure = _measure(value)
    return measure.size * (measure.columns + 4)


def _urlize_size(environment: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    """``urlize``: the text twice (link and label), and a tag with attributes per link (4 characters at least)."""
    attributes = [kwargs.get("target"), kwargs.get("rel"), *args[2:4]]
    extra = sum(_text_size(attribute) for attribute in attributes if isinstance(attribute, str))
    return 2 * _text_size(value) + (_text_size(value) // 4 + 1) * (64 + extra)


def _format_filter_size(environment: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    """``format``: ``value % (kwargs or args)``."""
    return _percent_size(value, kwargs or args) if isinstance(value, str) else _text_size(value)


def _cased_size(environment: Any, value: Any) -> int:
    """``upper``, ``lower``...: a cased letter outside ASCII may become three (``'ﬃ'.upper()``)."""
    return (1 if isinstance(value, str) and value.isascii() else 3) * _text_size(value)


def _text_of(environment: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    """Filters that print their value (``string``, ``escape``, ``trim``...): its text."""
    return _text_size(value)


def _list_of(environment: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    """Filters that list a sequence (``list``, ``sort``, ``unique``...): a slot per item (five for a
    character outside ASCII, which becomes an object of its own)."""
    wide = isinstance(value, str) and not value.isascii()
    return ITEM_CHARS * len(value) * (5 if wide else 1) if isinstance(value, Collection) else 0


def _batch_size(environment: Any, value: Any, linecount: Any = 1, *args: Any, **kwargs: Any) -> int:
    """``batch``: a slot per item and filler, and a list (4 slots) per batch."""
    items, count = _list_of(environment, value) // ITEM_CHARS, max(linecount, 1) if isinstance(linecount, int) else 1
    return ITEM_CHARS * (items + count + 4 * (items // count + 1))


def _slice_size(environment: Any, value: Any, slices: Any = 1, *args: Any, **kwargs: Any) -> int:
    """``slice``: a slot per item and filler, and a list (4 slots) per slice."""
    count = max(slices, 1) if isinstance(slices, int) else 1
    return _list_of(environment, value) + ITEM_CHARS * 5 * count


_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "join": _join_size,
    "sum": _sum_size,
    "replace": _replace_size,
    "indent": _indent_size,
    "wordwrap": _wordwrap_size,
    "tojson": _tojson_size,
    "pprint": _pprint_size,
    "urlize": _urlize_size,
    "format": _format_filter_size,
    "center": lambda _, value, width=80: _text_size(value) + max(width, 0),
    "urlencode": lambda _, value: (3 if isinstance(value, str) and value.isascii() else 12) * _text_size(value),
    "xmlattr": lambda _, value, *args: _repr_size(value),
    "wordcount": lambda _, value: _text_size(value) + ITEM_CHARS * (_text_size(value) // 2 + 1),  # words listed
    **dict.fromkeys(["upper", "lower", "title", "capitalize"], _cased_size),
    **dict.fromkeys(["string", "e", "escape", "forceescape", "safe", "trim", "striptags", "truncate"], _text_of),
    "reverse": lambda _, value: len(value) if isinstance(value, str) else _list_of(_, value),
    "batch": _batch_size,
    "slice": _slice_size,
    **dict.fromkeys(["list", "sort", "dictsort", "unique", "groupby"], _list_of),
}
"""For the filters that build text or lists: a bound on their result, computed before it is built."""


def _split_size(s: Any, sep: Any = None, maxsplit: Any = -1) -> int:
    """``str.split``: the text, and a list slot per piece."""
    return len(s) + ITEM_CHARS * (s.count(sep) + 1 if sep else len(s) // 2 + 1)


def _translate_size(s: Any, table: Any) -> int:
    """``str.translate``: every character may become the longest text of the table."""
    values = table.values() if isinstance(table, Mapping) else table
    return len(s) * max(1, max(map(_text_size, values), default=1))


_METHOD_SIZES: dict[str, Callable[..., int]] = {
    "join": lambda s, items: _join_size(None, items, s),
    "replace": lambda s, old, new, count=-1: _replace_size(None, s, old, new, count),
    "format": lambda s, *args, **kwargs: _format_size(s, _FORMAT_FIELD.findall(s), [*args, *kwargs.values()], False),
    "format_map": lambda s, mapping: _format_size(s, _FORMAT_FIELD.findall(s), [mapping], False),
    "expandtabs": lambda s, tabsize=8: len(s) + s.count("\t") * max(tabsize, 0),
    "translate": _translate_size,
    "split": _split_size,
    "rsplit": _split_size,
    "splitlines": lambda s, keepends=False: len(s) + ITEM_CHARS * _lines(s),
    **dict.fromkeys(["upper", "lower", "title", "capitalize", "swapcase", "casefold"], lambda s: _cased_size(None, s)),
}
"""The same for the methods of a text that may build more than they are given."""

_MATERIALIZED = frozenset({"join", "sum", "list", "sort", "unique", "groupby", "batch", "slice"})
"""Filters and methods whose iterable is measured, then used: an iterator is made a list first."""


def _listed(args: tuple[Any, ...], position: int) -> tuple[Any, ...]:
    """``args`` with the iterator at ``position`` (if it is one) made a list, to be measured and then
    used; the list (of new items, often: a range's numbers) is drawn from the render's budget."""
    if len(args) <= position or isinstance(args[position], Collection):
        return args
    listed = list(args[position])
    _build(_weight(listed), "list")
    return (*args[:position], listed, *args[position + 1 :])


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
    replaces Jinja's lenient undefined value (validation renders with a strict one)."""
    return (BoundedEnvironment(undefined=undefined) if undefined else BoundedEnvironment()).from_string(text)


def render(template: Any, **context: Any) -> str:
    """The template rendered within its budgets; :class:`TemplateLimitError` past any of them,
    and the sandbox's own refusals (``SecurityError``, ``OverflowError``) as that error too."""
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
