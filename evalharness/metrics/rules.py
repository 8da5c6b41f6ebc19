"""CEL rules over a row's inputs and outputs: compiled once, evaluated once per distinct row.

CEL (the Common Expression Language) cannot run code, loop forever or touch the file system, so
compliance officers' rules are safe to evaluate. Rules see every dataset column by name plus
``predicted``, ``score`` and ``expected``. Rows are deduplicated on the variables a rule reads
before the compiled program runs, so repeated combinations cost one evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic_core import PydanticCustomError

from evalharness._optional import defer_submodule, require
from evalharness.predictions import Predictions

OUTPUT_VARIABLES = ("predicted", "score", "expected")
_CEL_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*?)(?:\n|$)")


def _cel() -> Any:
    defer_submodule("cel", "cli")  # the package imports its command line: 70 ms we never use
    return require("cel", extra="rules", needed_for="CEL rules (metric 'consistency')")


def compile_rule(text: str) -> Any:
    """Compile a CEL rule; a syntax error becomes a pydantic error carrying its line and column."""
    try:
        return _cel().compile(text)
    except ValueError as error:
        match = _CEL_POSITION.search(str(error))
        line, column, reason = (int(match[1]), int(match[2]), match[3]) if match else (1, 1, str(error))
        raise PydanticCustomError(
            "expression_syntax",
            "CEL syntax error: {reason}",
            {"reason": reason.strip(), "line": line, "column": column},
        ) from None


def _python_values(series: pd.Series) -> list[Any]:
    """Values as plain Python objects for CEL: numpy scalars unwrapped, NaN and None as null."""
    return series.astype(object).where(series.notna(), None).tolist()


class RuleVariables(Mapping[str, pd.Series]):
    """Every name a rule may read: the input columns, then ``predicted``, ``expected``, ``score``."""

    def __init__(self, predictions: Predictions) -> None:
        index = pd.RangeIndex(len(predictions))
        self._columns: dict[str, pd.Series] = {
            str(name): predictions.inputs[name].reset_index(drop=True) for name in predictions.inputs.columns
        }
        self._columns["predicted"] = pd.Series(predictions.predicted, index=index)
        self._columns["expected"] = pd.Series(predictions.expected, index=index)
        if predictions.score is not None:
            self._columns["score"] = pd.Series(predictions.score, index=index)
        self._codes: dict[str, tuple[np.ndarray, int]] = {}

    def codes(self, name: str) -> tuple[np.ndarray, int]:
        """The column's :func:`column_codes`, computed once: rules over the same columns share them."""
        if name not in self._codes:
            self._codes[name] = column_codes(self._columns[name])
        return self._codes[name]

    def __getitem__(self, name: str) -> pd.Series:
        return self._columns[name]

    def with_columns(self, **columns: Any) -> RuleVariables:
        """A copy that can also read ``columns`` (e.g. ``after_predicted`` for a metamorphic check)."""
        copy = object.__new__(RuleVariables)
        index = next(iter(self._columns.values())).index
        extra = {name: pd.Series(values, index=index) for name, values in columns.items() if values is not None}
        copy._columns = {**self._columns, **extra}
        copy._codes = {name: codes for name, codes in self._codes.items() if name not in extra}
        return copy

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def rule_variables(predictions: Predictions) -> RuleVariables:
    """The variables rules over ``predictions`` can read."""
    return RuleVariables(predictions)


@dataclass
class RuleOutcome:
    """Per row: whether the rule held, whether it could not be evaluated, and the first error."""

    satisfied: np.ndarray
    errored: np.ndarray
    first_error: str | None


def column_codes(column: pd.Series) -> tuple[np.ndarray, int]:
    """Each value's code, in order of first appearance (a missing value is a code too), and how many codes.

    The column is factorised in its own dtype (fast, no Python objects); list or mapping cells (a JSONL
    column of tags) are compared by value.
    """
    try:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
    except TypeError:
        codes, uniques = pd.factorize(column.map(_hashable), use_na_sentinel=False)
    count = max(len(uniques), 1)
    return codes.astype(np.min_scalar_type(count - 1), copy=False), count  # kept per column: the least memory


_KEY_LIMIT = 2**62
"""Combined codes stay below this, so ``key * count + codes`` never overflows an int64."""


def distinct_rows(columns: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the code of its combination of values; and one representative row (the first) per code.

    ``columns`` are the columns' :func:`column_codes`. They are combined as digits of one number, which is
    factorised once at the end (and on the way only if the number would overflow), so that codes are
    dense and in order of first appearance.
    """
    key, size = columns[0][0].astype(np.int64), columns[0][1]
    for codes, count in columns[1:]:
        if size * count >= _KEY_LIMIT:
            key, uniques = pd.factorize(key)
            size = max(len(uniques), 1)
        key, size = key * count + codes, size * count
    if len(columns) > 1:
        key, _ = pd.factorize(key)
    representatives = np.empty(int(key.max()) + 1 if key.size else 0, dtype=np.int64)
    representatives[key[::-1]] = np.arange(key.size - 1, -1, -1)
    return key, representatives


def _hashable(value: Any) -> Any:
    """A list or mapping cell as a hashable value equal for equal cells (tuples, sorted items)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(key), _hashable(item)) for key, item in value.items()))
    return value


def _run_all(program: Any, contexts: list[dict[str, Any]]) -> list[Any]:
    """``program.execute`` on each context; an exception is kept as the result."""
    execute = program.execute
    results: list[Any] = []
    for context in contexts:
        try:
            results.append(execute(context))
        except Exception as error:  # the CEL runtime raises TypeError, KeyError, ZeroDivisionError...
            results.append(error)
    return results


def _describe_error(result: Any) -> str:
    if isinstance(result, Exception):
        return f"{type(result).__name__}: {result}"
    return f"the rule gave {result!r}, not true or false"


def evaluate_expression(program: Any, table: RuleVariables, rows: int) -> tuple[list[Any], np.ndarray]:
    """Results of ``program`` per distinct combination of the variables it reads, and each row's code."""
    names = [name for name in program.variables() if name in table]  # not a macro's own variable
    if names:
        codes, representatives = distinct_rows([table.codes(name) for name in names])
        values = [_python_values(table[name].iloc[representatives]) for name in names]
        contexts = [dict(zip(names, combination)) for combination in zip(*values)]
    else:
        codes, contexts = np.zeros(rows, dtype=np.int64), [{}]
    return _run_all(program, contexts), codes


def computed_column(program: Any, table: RuleVariables, rows: int) -> tuple[np.ndarray, str | None]:
    """Per row, the value of a CEL expression (None where it failed), and the first failure."""
    results, codes = evaluate_expression(program, table, rows)
    first_error = next((_describe_error(r) for r in results if isinstance(r, Exception)), None)
    values = np.empty(len(results), dtype=object)
    values[:] = [None if isinstance(r, Exception) else r for r in results]
    return values[codes], first_error


def evaluate_rule(program: Any, table: RuleVariables, rows: int) -> RuleOutcome:
    """Run ``program`` once per distinct combination of the variables it reads."""
    results, codes = evaluate_expression(program, table, rows)
    held = np.fromiter((result is True for result in results), dtype=bool, count=len(results))
    failed = np.fromiter((not isinstance(r, bool) for r in results), dtype=bool, count=len(results))
    first_error = next((_describe_error(r) for r in results if not isinstance(r, bool)), None)
    return RuleOutcome(held[codes], failed[codes], first_error)


CEL_FUNCTIONS = frozenset(
    "size contains startsWith endsWith matches int uint double string bytes bool duration timestamp type dyn "
    "has all exists exists_one map filter max min getDate getDayOfMonth getDayOfWeek getDayOfYear getFullYear "
    "getHours getMilliseconds getMinutes getMonth getSeconds".split()
)
"""CEL's standard functions and macros; anything else a rule calls does not exist."""


def _is_operator(name: str) -> bool:
    return name.startswith("@") or not name.replace("_", "a").isalnum()


_MACRO_VARIABLE = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")
"""The variable a comprehension macro binds: ``x`` in ``tags.exists(x, x == "vip")``."""


def macro_variables(text: str) -> set[str]:
    """The names ``all``, ``exists``, ``exists_one``, ``map`` and ``filter`` bind in a rule's text."""
    return set(_MACRO_VARIABLE.findall(text))


def unknown_names(program: Any, available: list[str], text: str = "") -> list[str]:
    """Problems with what a rule reads or calls: unknown variables (a macro's own variable is known
    inside the rule ``text``) and non-CEL functions."""
    references = program.references()
    known = {*available, *macro_variables(text)}
    problems = [
        f"'{name}' is not a dataset column or an output" for name in references["variables"] if name not in known
    ]
    for name in references["functions"]:
        if not _is_operator(name) and name not in CEL_FUNCTIONS:
            problems.append(f"'{name}' is not a CEL function; CEL rules cannot call Python or anything outside CEL")
    return problems
