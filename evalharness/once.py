"""A value computed on first use, whose failure is remembered rather than retried by every caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from evalharness.errors import EvalHarnessError

T = TypeVar("T")


class Once(Generic[T]):
    """``get()`` computes the value the first time and keeps it; an EvalHarnessError it raised is
    kept too and raised again, so one failed prediction or load run fails every gate the same way."""

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute
        self.value: T | None = None
        self.error: EvalHarnessError | None = None

    def get(self) -> T:
        """The value, computed on first use."""
        if self.error is not None:
            raise self.error
        if self.value is None:
            try:
                self.value = self._compute()
            except EvalHarnessError as error:
                self.error = error
                raise
        return self.value
