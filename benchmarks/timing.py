"""Timing shared by the benchmarks: A and B alternate on every repeat, and the ratio is taken per pair.

The machine is shared (two cores; tests and other benchmarks run beside these), so a slow spell
must hit both sides of a comparison alike. Each repeat times A and B back to back; the ratio of
that pair is one sample, and the samples' minimum, median and maximum are reported, so the spread
shows how much the machine moved while measuring. The order swaps on every repeat (A B, then B A;
several functions rotate), so neither side always runs second, after the other has filled the caches
or freed its memory.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RatioStats:
    """Paired timings of A and B and the ratio A / B of each pair (seconds over seconds: below 1, A is faster)."""

    a_seconds: tuple[float, ...]
    b_seconds: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.a_seconds or len(self.a_seconds) != len(self.b_seconds):
            raise ValueError("RatioStats needs the same number of A and B timings, at least one")

    @property
    def ratios(self) -> tuple[float, ...]:
        """A / B for each repeat pair."""
        return tuple(a / b for a, b in zip(self.a_seconds, self.b_seconds))

    @property
    def low(self) -> float:
        """The smallest ratio of a pair."""
        return min(self.ratios)

    @property
    def median(self) -> float:
        """The median ratio of the pairs."""
        return statistics.median(self.ratios)

    @property
    def high(self) -> float:
        """The largest ratio of a pair."""
        return max(self.ratios)

    @property
    def a_median_s(self) -> float:
        """A's median time, in seconds."""
        return statistics.median(self.a_seconds)

    @property
    def b_median_s(self) -> float:
        """B's median time, in seconds."""
        return statistics.median(self.b_seconds)

    def inverted(self) -> RatioStats:
        """The same pairs as B / A (a speed ratio where A is the reference)."""
        return RatioStats(self.b_seconds, self.a_seconds)

    def summary(self, digits: int = 3) -> dict[str, Any]:
        """Plain data for a benchmark's JSON: the ratio's min, median and max, each side's median seconds."""
        return {
            "ratio_min": round(self.low, digits),
            "ratio_median": round(self.median, digits),
            "ratio_max": round(self.high, digits),
            "a_median_s": round(self.a_median_s, 6),
            "b_median_s": round(self.b_median_s, 6),
            "repeats": len(self.a_seconds),
        }

    def __str__(self) -> str:
        return f"x{self.low:.3f} / x{self.median:.3f} / x{self.high:.3f}"


def seconds(function: Callable[[], Any]) -> float:
    """Wall time of one call, in seconds, started on a freshly collected heap: a full collection of the
    garbage the other side left (100 ms in a process holding pandas and torch) lands in neither call."""
    gc.collect()
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


Measure = Callable[[Callable[[], Any]], float]
"""How one call is timed: given the call, its cost in seconds."""


def alternate(a: Callable[[], Any], b: Callable[[], Any], repeats: int = 7, measure: Measure = seconds) -> RatioStats:
    """Time ``a`` and ``b`` back to back, ``repeats`` times over, ``a`` first on even repeats and ``b`` first on
    odd ones; ``measure`` times one call (wall seconds by default; a benchmark whose calls time themselves
    passes ``lambda call: call()``)."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    a_times, b_times = [], []
    for repeat in range(repeats):
        if repeat % 2:
            b_times.append(measure(b))
            a_times.append(measure(a))
        else:
            a_times.append(measure(a))
            b_times.append(measure(b))
    return RatioStats(tuple(a_times), tuple(b_times))


def alternate_many(functions: dict[str, Callable[[], Any]], repeats: int = 7) -> dict[str, tuple[float, ...]]:
    """Wall seconds of each function, all of them called in turn on every repeat, for benchmarks that
    compare several ways against one reference; pair any two with :func:`paired`. The order rotates by
    one place on each repeat, so each function runs first, second and so on equally often."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    times: dict[str, list[float]] = {name: [] for name in functions}
    names = list(functions)
    for repeat in range(repeats):
        shift = repeat % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            times[name].append(seconds(functions[name]))
    return {name: tuple(values) for name, values in times.items()}


def paired(times: dict[str, Sequence[float]], a: str, b: str) -> RatioStats:
    """The ratio A / B, per repeat, of two functions timed together by :func:`alternate_many`."""
    return RatioStats(tuple(times[a]), tuple(times[b]))
