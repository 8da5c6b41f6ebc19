"""Named, lazy registry of metrics: built-ins as ``module:attr``, third parties via entry points.

Looking a name up imports only the module that defines it. The entry point group is
``evalharness.metrics``; each entry point names an object satisfying :class:`Metric`.
"""

from __future__ import annotations

import difflib
import importlib
from functools import cache
from importlib.metadata import entry_points

from evalharness.metrics.base import Metric

ENTRY_POINT_GROUP = "evalharness.metrics"

BUILTIN_METRICS: dict[str, str] = {
    "accuracy": "evalharness.metrics.classification:ACCURACY",
    "precision": "evalharness.metrics.classification:PRECISION",
    "recall": "evalharness.metrics.classification:RECALL",
    "f1": "evalharness.metrics.classification:F1",
    "auc": "evalharness.metrics.ranking:AUC",
    "consistency": "evalharness.metrics.consistency:CONSISTENCY",
    "drift": "evalharness.metrics.drift:DRIFT",
    "dtw": "evalharness.metrics.dtw:DTW",
    "robustness": "evalharness.metrics.robustness:ROBUSTNESS",
    "bertscore": "evalharness.metrics.bertscore:BERTSCORE",
    "agreement": "evalharness.metrics.agreement:AGREEMENT",
    "exact_match": "evalharness.metrics.qa:EXACT_MATCH",
    "token_f1": "evalharness.metrics.qa:TOKEN_F1",
    "contains": "evalharness.metrics.qa:CONTAINS",
    "numeric_match": "evalharness.metrics.qa_format:NUMERIC_MATCH",
    "regex_match": "evalharness.metrics.qa_format:REGEX_MATCH",
    "json_valid": "evalharness.metrics.qa_format:JSON_VALID",
    "answer_length": "evalharness.metrics.qa:ANSWER_LENGTH",
}

PLANNED_METRICS: tuple[str, ...] = ()
"""Names reserved for metrics that are designed but not in this release."""


class UnknownMetricError(KeyError):
    """A metric name that no built-in or installed plugin provides."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.message = unknown_metric_message(name)

    def __str__(self) -> str:
        return self.message


def _load(reference: str) -> Metric:
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@cache
def _plugin_references() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def metric_references() -> dict[str, str]:
    """Every available metric name and where it lives; built-ins win over plugins of the same name."""
    return {**_plugin_references(), **BUILTIN_METRICS}


def metric_names() -> list[str]:
    """Sorted names of every available metric."""
    return sorted(metric_references())


@cache
def get_metric(name: str) -> Metric:
    """The metric called ``name``, importing its module on first use."""
    reference = metric_references().get(name)
    if reference is None:
        raise UnknownMetricError(name)
    return _load(reference)


def unknown_metric_message(name: str) -> str:
    """Explain an unknown metric name: planned, misspelt (did you mean), or simply absent."""
    if name in PLANNED_METRICS:
        return f"metric '{name}' is planned but not available in this version of evalharness; remove it for now"
    return f"unknown metric '{name}'" + did_you_mean(name, metric_names())


def did_you_mean(name: str, choices: list[str]) -> str:
    """``"; did you mean 'x'?"`` for a near miss, else the list of valid names."""
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; valid names: {', '.join(choices)}" if choices else ""
