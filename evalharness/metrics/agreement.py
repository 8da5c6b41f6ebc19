"""``agreement``: the share of rows where the candidate gives the same answer as its baseline.

A quantized or distilled model can keep its accuracy while answering differently row by row;
agreement shows how much of production's behaviour it keeps. It needs the suite's ``baseline:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from evalharness.compare.flips import same_answer
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.stats import ratio_parts, wilson_interval
from evalharness.predictions import Predictions
from evalharness.suite.fields import Bounds, GateOptions


class AgreementOptions(GateOptions):
    """Options of ``agreement``: thresholds on the share of rows answered alike."""

    value_range: ClassVar[Bounds] = (0.0, 1.0)


@dataclass(frozen=True)
class Agreement:
    """Share of rows where candidate and baseline answer the same; Wilson interval."""

    name: str = "agreement"
    options: type[GateOptions] = AgreementOptions
    description: str = "share of rows where the target answers as the baseline does (needs baseline:)"

    def compute(self, predictions: Predictions, options: GateOptions, settings: MetricSettings) -> MetricValue:
        """Agreement over every row; the disagreeing rows are its worst rows."""
        if settings.baseline is None:
            raise ValueError("agreement compares the target with its baseline; add a baseline: section")
        baseline = settings.baseline()
        if predictions.is_sequence or baseline.is_sequence:
            raise ValueError("agreement compares labels; a sequence answer has no single label to agree on")
        same = same_answer(predictions, baseline)
        n, alike = len(same), int(same.sum())
        return MetricValue(
            value=alike / n if n else float("nan"),
            n=n,
            interval=wilson_interval(alike, n, settings.confidence),
            method="wilson",
            row_loss=(~same).astype(float),
            details={"disagreeing_rows": n - alike},
            undefined=None if n else "there are no rows",
            **ratio_parts(same, np.ones(n)),
        )


AGREEMENT = Agreement()
