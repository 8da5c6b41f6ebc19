"""evalharness: gate model builds in CI on quality and speed.

Public names load lazily (PEP 562) so that importing the pytest plugin, which imports this
package, stays cheap for every pytest run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from evalharness.__about__ import __version__

_EXPORTS: dict[str, str] = {
    "EvalHarnessError": "evalharness.errors",
    "GateRecord": "evalharness.record",
    "LoadedSuite": "evalharness.suite.loader",
    "Metric": "evalharness.metrics.base",
    "MetricValue": "evalharness.metrics.base",
    "MissingDependencyError": "evalharness.errors",
    "Predictions": "evalharness.predictions",
    "Problem": "evalharness.errors",
    "RunRecord": "evalharness.record",
    "MetricSettings": "evalharness.metrics.base",
    "SuiteError": "evalharness.errors",
    "SuiteRecord": "evalharness.record",
    "SuiteRun": "evalharness.runner",
    "Target": "evalharness.targets.base",
    "TargetContext": "evalharness.targets.base",
    "TargetError": "evalharness.errors",
    "TargetOutput": "evalharness.targets.base",
    "get_metric": "evalharness.metrics.registry",
    "load_record": "evalharness.report",
    "load_suite": "evalharness.suite.loader",
    "write_reports": "evalharness.report",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from evalharness.errors import EvalHarnessError, MissingDependencyError, Problem, SuiteError, TargetError
    from evalharness.metrics.base import Metric, MetricSettings, MetricValue
    from evalharness.metrics.registry import get_metric
    from evalharness.predictions import Predictions
    from evalharness.record import GateRecord, RunRecord, SuiteRecord
    from evalharness.report import load_record, write_reports
    from evalharness.runner import SuiteRun
    from evalharness.suite.loader import LoadedSuite, load_suite
    from evalharness.targets.base import Target, TargetContext, TargetOutput


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evalharness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
