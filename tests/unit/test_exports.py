"""The public API: every exported name resolves, and nothing else is exported by accident."""

from __future__ import annotations

import evalharness


def test_every_exported_name_resolves() -> None:
    for name in evalharness.__all__:
        assert getattr(evalharness, name) is not None, name


def test_exported_names_are_the_documented_set() -> None:
    assert set(evalharness.__all__) == {
        "__version__", "EvalHarnessError", "GateRecord", "LoadedSuite", "Metric", "MetricValue",
        "MissingDependencyError", "Predictions", "Problem", "RunRecord", "MetricSettings", "SuiteError",
        "SuiteRecord", "SuiteRun", "Target", "TargetContext", "TargetError", "TargetOutput",
        "get_metric", "load_record", "load_suite", "write_reports",
    }  # fmt: skip


def test_exported_objects_keep_their_home_module_names() -> None:
    assert evalharness.load_suite.__module__ == "evalharness.suite.loader"
    assert evalharness.RunRecord.__name__ == "RunRecord"
