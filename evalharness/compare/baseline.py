"""The baseline side of a suite: a second target answering exactly the suite's rows.

It is built, asked and remembered like the suite's own target (once per process, through the
same answer cache and resume), and its metrics are computed with the same settings, except that
perturbations and attacks are answered by the baseline itself.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import TYPE_CHECKING, Any

from evalharness.errors import EvalHarnessError
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.registry import get_metric
from evalharness.once import Once
from evalharness.targets.base import Target, TargetOutput, create_target

if TYPE_CHECKING:
    import pandas as pd

    from evalharness.predictions import Predictions
    from evalharness.runner import SuiteRun


def same_answer_kind(baseline: Predictions, candidate: Predictions, what: str) -> Predictions:
    """``baseline`` when it answers the same kind of output as the candidate (labels, or sequences)."""
    if baseline.is_sequence != candidate.is_sequence:
        kinds = {True: "a sequence per row", False: "a label per row"}
        raise EvalHarnessError(
            f"{what} answers {kinds[baseline.is_sequence]} and the target {kinds[candidate.is_sequence]}; "
            "a baseline must give the same kind of answer as the target"
        )
    return baseline


class BaselineSide:
    """The suite's ``baseline:`` target, its predictions and its metric values (each computed once)."""

    def __init__(self, run: SuiteRun) -> None:
        from evalharness.suite_facts import declared_target

        self.run = run
        self.spec = run.spec.baseline
        self._target: Target | None = None
        self._predictions: Once[Predictions] = Once(self._predict)
        self._values: dict[str, MetricValue] = {}
        self.target_info: dict[str, Any] = declared_target(run.suite, self.spec)

    def target(self) -> Target:
        """The live baseline target, created on first use."""
        if self._target is None:
            self._target = create_target(self.run.with_port(self.spec), self.run.target_context("baseline"))
        return self._target

    def predict_frame(self, frame: pd.DataFrame) -> TargetOutput:
        """The baseline's answers for ``frame`` (the dataset, or a perturbed copy of its inputs)."""
        return self.target().predict(frame)

    def attack_frame(self, frame: pd.DataFrame, expected: Any, recipe: Any) -> TargetOutput:
        """The baseline's answers to gradient-attacked versions of ``frame`` (torch baselines)."""
        return self.target().attack(frame, expected, recipe)  # type: ignore[attr-defined]

    def predictions(self) -> Predictions:
        """The baseline's answer to every row, computed on first use; a failure is remembered."""
        return self._predictions.get()

    def _predict(self) -> Predictions:
        predictions, self.target_info = self.run.answer_every_row(self.target(), "baseline")
        return same_answer_kind(predictions, self.run.predictions(), "the baseline")

    @cached_property
    def settings(self) -> MetricSettings:
        """The suite's settings, with perturbed rows answered by the baseline."""
        live = self.spec.kind != "file"
        return dataclasses.replace(
            self.run.settings,
            predict=self.predict_frame if live else None,
            attack=self.attack_frame if self.spec.kind == "torch" else None,
            baseline=None,
        )

    def metric_value(self, name: str) -> MetricValue:
        """The named metric over the baseline's predictions (computed once)."""
        if name not in self._values:
            options = self.run.spec.declared_metrics()[name]
            try:
                self._values[name] = get_metric(name).compute(self.predictions(), options, self.settings)
            except ValueError as error:
                raise EvalHarnessError(f"metric '{name}' of the baseline: {error}") from None
        return self._values[name]

    def close(self) -> None:
        """Release the baseline's model or connections."""
        if self._target is not None:
            self._target.close()
            self._target = None
