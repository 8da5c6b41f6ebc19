"""Gates compare the estimate or the pessimistic confidence bound with min and max."""

from __future__ import annotations

import math

from evalharness.gates import judge
from evalharness.metrics.base import MetricValue
from evalharness.metrics.classification import AccuracyOptions

VALUE = MetricValue(value=0.93, n=1000, interval=(0.914, 0.944), method="wilson")


def test_min_on_the_estimate_passes_and_on_the_bound_fails() -> None:
    assert judge("accuracy", VALUE, AccuracyOptions(min=0.92), "estimate").passed is True
    verdict = judge("accuracy", VALUE, AccuracyOptions(min=0.92), "bound")
    assert verdict.passed is False
    assert verdict.compared == 0.914
    assert verdict.reason == "accuracy lower bound 0.9140 is below min 0.92"


def test_max_reads_the_upper_bound() -> None:
    assert judge("x", VALUE, AccuracyOptions(max=0.94), "estimate").passed is True
    verdict = judge("x", VALUE, AccuracyOptions(max=0.94), "bound")
    assert (verdict.passed, verdict.compared) == (False, 0.944)


def test_no_threshold_is_reported_not_gated() -> None:
    verdict = judge("x", VALUE, AccuracyOptions(), "estimate")
    assert verdict.passed is None


def test_undefined_metric_fails_its_gate() -> None:
    undefined = MetricValue(value=math.nan, n=0, interval=None, method="wilson")
    assert judge("x", undefined, AccuracyOptions(min=0.1), "estimate").passed is False
