"""The exit codes a pipeline acts on, and the fail-on policies that map a run's outcome to one.

pytest owns 0 to 5 and keeps them; evalharness adds 6 for a gate that could not be evaluated, so
Jenkins and the GitHub Action can tell "the model is worse" from "the check did not happen":

=====  ==============================================================================
code   meaning
=====  ==============================================================================
0      every gate passed
1      at least one gate failed (a threshold, a delta gate against the baseline)
2      interrupted (pytest: Ctrl-C, ``-x`` stop)
3      internal error: a bug of ours or of a plugin (a traceback was printed)
4      the suite, a flag or the install is invalid: nothing was evaluated
5      no gate was collected (pytest: "no tests ran")
6      no gate failed, but at least one could not be evaluated (endpoint down, n = 0, ...)
=====  ==============================================================================

A run with both a failed gate and one that could not be evaluated exits 1: the build is known bad.
"""

from __future__ import annotations

from typing import Literal

OK, GATES_FAILED, INTERRUPTED, INTERNAL_ERROR, USAGE_ERROR, NO_GATES, GATES_ERROR = 0, 1, 2, 3, 4, 5, 6
FailOn = Literal["failed", "error", "never"]
FAIL_ON_CHOICES: tuple[FailOn, ...] = ("failed", "error", "never")
STATUS_BY_CODE = {
    OK: "passed", GATES_FAILED: "failed", INTERRUPTED: "interrupted", INTERNAL_ERROR: "internal-error",
    USAGE_ERROR: "invalid", NO_GATES: "empty", GATES_ERROR: "error",
}  # fmt: skip
"""What each exit code is called in the GitHub Action's ``status`` output and Jenkins' build description."""


def gates_exit_code(failed: int, errors: int) -> int:
    """The exit code of gate outcomes: 1 when any gate failed, else 6 when any could not be evaluated."""
    if failed:
        return GATES_FAILED
    return GATES_ERROR if errors else OK


def apply_fail_on(code: int, policy: FailOn, errors: int = 0) -> int:
    """The exit code a pipeline step should end with under ``policy``, for a run that exited ``code``
    with ``errors`` gates that could not be evaluated.

    - ``failed`` (default): any gate that did not pass fails the step (1 or 6 as they are).
    - ``error``: failed gates are reported but do not fail the step; a gate that could not be
      evaluated still does (6), so a broken endpoint is never mistaken for a good model.
    - ``never``: the gates never fail the step; read the outcome from the outputs or run.json.

    Whatever the policy, a run that checked nothing (invalid suite or flag, interrupted, internal
    error, no gates) keeps its code: a typo must not turn a pipeline green.
    """
    if code not in (OK, GATES_FAILED, GATES_ERROR) or policy == "failed":
        return code
    if policy == "error" and (errors or code == GATES_ERROR):
        return GATES_ERROR
    return OK


def parse_fail_on(value: str) -> FailOn:
    """``--fail-on`` converter: ``failed``, ``error`` or ``never`` (any case)."""
    import argparse

    choice = value.strip().lower()
    if choice not in FAIL_ON_CHOICES:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(FAIL_ON_CHOICES)}")
    return choice
