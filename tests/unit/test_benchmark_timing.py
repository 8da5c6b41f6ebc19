"""benchmarks/timing.py: A and B alternate, and the ratio is taken per repeat pair (no clock involved)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

TIMING = Path(__file__).resolve().parents[2] / "benchmarks" / "timing.py"


@pytest.fixture(scope="module")
def timing() -> ModuleType:
    """The benchmarks' helper, loaded from its file (benchmarks/ is a folder of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("benchmark_timing", TIMING)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_a_and_b_alternate_and_each_pair_gives_one_ratio(timing: ModuleType) -> None:
    calls: list[str] = []
    costs = iter([2.0, 1.0, 3.0, 1.0, 1.0, 1.0])  # the measure hands back each call's "seconds"

    def measure(function: Any) -> float:
        function()
        return next(costs)

    stats = timing.alternate(lambda: calls.append("a"), lambda: calls.append("b"), repeats=3, measure=measure)
    assert calls == ["a", "b", "b", "a", "a", "b"]  # the order swaps on every repeat
    assert stats.ratios == (2.0, 1.0 / 3.0, 1.0)
    assert (stats.low, stats.median, stats.high) == (1.0 / 3.0, 1.0, 2.0)
    assert (stats.a_median_s, stats.b_median_s) == (1.0, 1.0)
    assert str(stats) == "x0.333 / x1.000 / x2.000"


def test_the_ratio_is_per_pair_not_of_the_medians(timing: ModuleType) -> None:
    # A slow spell hits both sides of the second pair: its ratio is still 1.
    stats = timing.RatioStats((1.0, 10.0, 1.2), (1.0, 10.0, 1.0))
    assert stats.ratios == (1.0, 1.0, 1.2)
    assert stats.median == 1.0
    assert stats.inverted().ratios == pytest.approx((1.0, 1.0, 1 / 1.2))


def test_the_summary_is_plain_data(timing: ModuleType) -> None:
    summary = timing.RatioStats((1.0, 3.0), (2.0, 2.0)).summary()
    assert summary == {"ratio_min": 0.5, "ratio_median": 1.0, "ratio_max": 1.5, "a_median_s": 2.0,
                       "b_median_s": 2.0, "repeats": 2}  # fmt: skip


def test_several_functions_are_timed_in_turn_and_paired(timing: ModuleType) -> None:
    calls: list[str] = []
    times = timing.alternate_many({name: (lambda name=name: calls.append(name)) for name in "xyz"}, repeats=2)
    assert calls == ["x", "y", "z", "y", "z", "x"]  # the order rotates on every repeat
    assert all(len(values) == 2 and min(values) >= 0 for values in times.values())
    assert len(timing.paired(times, "x", "z").ratios) == 2


@pytest.mark.parametrize("a, b", [((), ()), ((1.0,), (1.0, 2.0))])
def test_unpaired_timings_are_refused(timing: ModuleType, a: tuple[float, ...], b: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="same number"):
        timing.RatioStats(a, b)


def test_no_repeats_is_refused(timing: ModuleType) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        timing.alternate(lambda: None, lambda: None, repeats=0)
