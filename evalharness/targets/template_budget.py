"""The budgets of one template render: loop steps, characters built and time, and the error for
going past any of them (:mod:`evalharness.targets.templates` renders within them)."""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

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
