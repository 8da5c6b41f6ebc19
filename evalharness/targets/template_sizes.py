"""What a template operation would build, measured before it builds it: the size of a text, a list or
a value's printed form, and of each filter's and text method's result (:mod:`evalharness.targets.templates`
refuses an operation whose result would pass the budgets of :mod:`evalharness.targets.template_budget`).

Measures walk values without building any text, count a part as often as it is referenced and stop
once past the limit they are given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple

from jinja2 import Undefined
from jinja2.filters import make_attrgetter
from jinja2.utils import Namespace

from evalharness.targets.template_budget import (
    _CHUNK,
    _END,
    _FORMAT_FIELD,
    _FORMAT_SPEC,
    _LINE_BREAKS,
    _REPR_FIELD,
    _SCALARS,
    ITEM_CHARS,
    MAX_OUTPUT_CHARS,
    MAX_SIZE,
    TemplateLimitError,
    _build,
    _draw,
)


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
