"""Everything checked once the data is read and before anything runs, located at ``file:line:col``.

The schema has checked each key on its own; here the suite is checked against its data and its
model: the positive class is one of the expected values, every column a target, a rule or a
check names exists, and every input the target maps exists in the model. ``evalharness
validate`` and ``pytest --evalharness`` both stop here (exit code 4) with all problems at once.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from evalharness.compare.checks import baseline_problems
from evalharness.errors import Problem, TargetError, TargetSpecError
from evalharness.suite.dataset import input_columns
from evalharness.suite.fields import ENV_NAME_REFERENCE
from evalharness.suite.positive import positive_label_problems
from evalharness.suite.schema import ENV_FIELDS
from evalharness.suite.yamlsource import KeyPath
from evalharness.targets.checks import column_problems, render_problems

if TYPE_CHECKING:
    from evalharness.runner import SuiteRun
    from evalharness.suite.loader import LoadedSuite

MODEL_KINDS = ("onnx", "torch", "file")
"""Target kinds whose model (or answers file) is opened to check the mapping; endpoints are not
called before the run."""


def target_problems(run: SuiteRun) -> list[Problem]:
    """The suite's target, and its baseline when it has one, checked against the data and model."""
    problems = _side_problems(run, "target", run.spec.target, run.target)
    if run.spec.baseline is not None and run.baseline is not None:
        problems += _side_problems(run, "baseline", run.spec.baseline, run.baseline.target)
    return problems


def _side_problems(run: SuiteRun, key: str, spec: Any, build: Callable[[], Any]) -> list[Problem]:
    """Columns a target section names that it cannot read; then, for local models, the model's own
    inputs. Building the target here loads the model once: the run reuses it."""
    suite, frame = run.suite, run.frame()
    dataset = suite.spec.dataset
    columns = [str(column) for column in frame.columns]
    inputs = input_columns(suite, frame)
    found = column_problems(spec, columns, inputs, dataset.id, dataset.expected)
    found = found or render_problems(spec, frame, list(dict.fromkeys([dataset.id, *inputs])), dataset.expected)
    if found or spec.kind not in MODEL_KINDS or suite.spec.server is not None:
        return [suite.problem((key, *where), message) for where, message in found]
    try:
        build()
    except TargetSpecError as error:
        return [suite.problem((key, *where), message) for where, message in error.problems]
    except TargetError as error:
        return [suite.problem((key,), str(error))]
    return []


def _environment_values(suite: LoadedSuite) -> Iterator[tuple[KeyPath, str]]:
    """Each target value read from the environment at run time, with its key path."""
    for side in ("target", "baseline"):
        spec = getattr(suite.spec, side)
        for key in ENV_FIELDS:
            value = getattr(spec, key, None)
            if isinstance(value, dict):
                yield from (((side, key, name), text) for name, text in value.items())
            elif isinstance(value, str):
                yield (side, key), value


def unset_environment(suite: LoadedSuite) -> list[Problem]:
    """Every ``${env:NAME}`` of the target whose variable is not set, located where it is written."""
    problems = []
    for path, text in _environment_values(suite):
        for name in dict.fromkeys(re.findall(ENV_NAME_REFERENCE, text)):
            if name not in os.environ:
                message = (
                    f"environment variable {name} is not set (the suite reads it as ${{env:{name}}}); "
                    "set it where the suite runs"
                )
                problems.append(suite.problem(path, message))
    return problems


def missing_server(suite: LoadedSuite) -> list[Problem]:
    """The suite's ``server:`` program when it cannot be run from the suite's folder (not installed,
    not executable), located at the command; like an unset variable, ``validate`` only warns."""
    server = suite.spec.server
    if server is None or server.command[0] == "evalharness":
        return []
    program = server.command[0]
    if "/" in program:
        path = (suite.base_dir / program).resolve()
        runnable = path.is_file() and os.access(path, os.X_OK)
        why = f"{program} is not an executable file (from the suite's folder, {path})"
    else:
        runnable = shutil.which(program) is not None
        why = f"{program} is not on PATH"
    if runnable:
        return []
    return [suite.problem(("server", "command", 0), f"the server cannot start: {why}; install it where the suite runs")]


def suite_problems(run: SuiteRun) -> list[Problem]:
    """Every problem of one suite that needs its data or model to be seen."""
    problems = [*positive_label_problems(run.suite, run.frame()), *target_problems(run), *run.metric_problems()]
    return problems + ([] if problems else baseline_problems(run))
