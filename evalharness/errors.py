"""Errors a user can act on: each says what happened, where, and how to fix it.

These are shown without a traceback. Anything else that escapes is a bug of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One mistake in a suite or its dataset, located as ``file:line:col``."""

    file: str
    line: int
    col: int
    key_path: str
    message: str

    def __str__(self) -> str:
        """One line, safe to print: the key path and message quote the suite and its dataset (keys,
        values, column names), so control characters are escaped, no line starts with ``::`` and
        a 900,000-character key is cut (``evalharness validate`` prints this without pytest's guard)."""
        from evalharness.untrusted import MAX_MESSAGE_CHARS, untrusted

        where = self.key_path or "(document)"
        return untrusted(f"{self.file}:{self.line}:{self.col}: {where}: {self.message}", MAX_MESSAGE_CHARS)


class EvalHarnessError(Exception):
    """Base class of the errors that are the user's to fix (shown without a traceback)."""


class SuiteError(EvalHarnessError):
    """A suite file, or the data it names, is invalid; carries every problem found at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col))
        super().__init__("\n".join(str(p) for p in self.problems))


class MissingDependencyError(EvalHarnessError):
    """An optional dependency is not installed; the message names the exact install command."""

    def __init__(self, module: str, extra: str, needed_for: str) -> None:
        self.module = module
        self.extra = extra
        self.install_command = f"pip install 'evalharness[{extra}]'"
        super().__init__(
            f"{needed_for} needs the Python package '{module}', which is not installed. "
            f"Install it with: {self.install_command}"
        )


class TargetError(EvalHarnessError):
    """The model under test could not be loaded or did not answer as the suite expects."""


class TargetSpecError(TargetError):
    """The target section does not fit the model or the data (an input the model lacks, say).

    ``problems`` holds ``(key path under target, message)`` pairs, so validation can locate
    each one at its ``file:line:col``.
    """

    def __init__(self, problems: list[tuple[tuple[Any, ...], str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))
