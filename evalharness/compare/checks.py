"""Before anything runs: delta gates need a baseline, and a baseline must answer like the target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from evalharness.compare.options import ComparableOptions
from evalharness.errors import EvalHarnessError, Problem
from evalharness.predictions import is_sequence

if TYPE_CHECKING:
    from evalharness.runner import SuiteRun

LOCAL_KINDS = ("onnx", "torch", "file")
"""Targets cheap to ask at validation: their answer kind is checked on the first rows."""


def baseline_problems(run: SuiteRun) -> list[Problem]:
    """Delta gates or ``agreement`` without a baseline; a baseline whose answers are of another kind."""
    if run.baseline is None:
        return _needs_baseline(run)
    if run.stored_baseline is not None:
        return _stored_problems(run) + [
            run.suite.problem(("load", "gates", name), "a stored run has answers, not a model to load: speed "
                              "ratios need the baseline: section")
            for name in _load_ratio_gates(run)
        ]  # fmt: skip
    return _answer_kinds(run) + _load_sides(run)


def _load_sides(run: SuiteRun) -> list[Problem]:
    """Speed ratios load both sides in one run: both local engines, or both endpoints."""
    from evalharness.load.versus import check_sides

    reason = check_sides(run) if _load_ratio_gates(run) else None
    return [run.suite.problem(("load",), reason)] if reason else []


def _stored_problems(run: SuiteRun) -> list[Problem]:
    """A stored run given on the command line must be this suite's, on these rows."""
    if run.spec.baseline is not None:
        message = "the suite names a baseline: and --evalharness-baseline gives a stored run; use one of them"
        return [run.suite.problem(("baseline",), message)]
    return [run.suite.problem(("name",), message) for message in run.baseline.problems()]


def _load_ratio_gates(run: SuiteRun) -> list[str]:
    load = run.spec.load
    return [name for name, options in (load.gates.declared() if load else {}).items() if options.ratio_gates]


def _needs_baseline(run: SuiteRun) -> list[Problem]:
    problems = [
        run.suite.problem(("load", "gates", name), "min_ratio and max_ratio compare the target's speed with a "
                          "baseline's; add a baseline: section (a local engine or an endpoint, like the target)")
        for name in _load_ratio_gates(run)
    ]  # fmt: skip
    for name, options in run.spec.declared_metrics().items():
        if name == "agreement":
            message = "agreement compares the target with a baseline; add a baseline: section (any target kind)"
            problems.append(run.suite.problem(("metrics", name), message))
        for gate in options.delta_gates if isinstance(options, ComparableOptions) else {}:
            message = f"{gate} compares the target with a baseline; add a baseline: section (any target kind)"
            problems.append(run.suite.problem(("metrics", name, gate), message))
    return problems


def _answer_kinds(run: SuiteRun) -> list[Problem]:
    """Ask both local sides for the first rows: a sequence against a label can never be compared."""
    if run.spec.target.kind not in LOCAL_KINDS or run.spec.baseline.kind not in LOCAL_KINDS:
        return []  # endpoints are not called before the run; the run checks their answers
    sample = run.frame().head(2)
    try:
        kinds = [_answer_kind(side.predict_frame(sample).label) for side in (run, run.baseline)]
    except (EvalHarnessError, ValueError, TypeError):
        return []  # the run reports the target's own failure, with its reason
    if kinds[0] == kinds[1]:
        return []
    message = f"the baseline answers {kinds[1]} and the target {kinds[0]}; a baseline must answer like the target"
    return [run.suite.problem(("baseline",), message)]


def _answer_kind(labels: Any) -> str:
    return "a sequence per row" if is_sequence(np.asarray(labels)) else "a label per row"
