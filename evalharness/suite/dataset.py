"""Datasets: CSV, JSONL or Parquet through pandas, checked against what the suite declares."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from evalharness._optional import require
from evalharness.errors import Problem, SuiteError
from evalharness.metrics.registry import did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from evalharness.suite.loader import LoadedSuite

FORMATS_BY_SUFFIX = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
_SHOWN = 5


def dataset_format(path: Path, declared: str | None) -> str | None:
    """The declared format, else the one the file extension implies (``None`` if unknown)."""
    return declared or FORMATS_BY_SUFFIX.get(path.suffix.lower())


def read_table(path: Path, file_format: str) -> pd.DataFrame:
    """Read a whole table with pandas; raises ``ValueError`` with a readable reason.

    Text stays text: ``None``, ``NA``, ``null`` and empty cells of a text column are answers, not
    missing values (pandas' defaults would read them as missing). Only an empty cell in a numeric
    column, or a JSON ``null``, is missing. JSON values keep their JSON types (``"1"`` stays text).
    """
    import pandas as pd

    try:
        if file_format == "csv":
            return _text_stays_text(pd.read_csv(path, keep_default_na=False, na_values=[""]))
        if file_format == "jsonl":
            return pd.read_json(path, lines=True, dtype=False)
        require("pyarrow", extra="parquet", needed_for="reading Parquet datasets")
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise ValueError(f"cannot read {path.name} as {file_format}: {error}") from None


def _text_stays_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Empty cells of text columns back to the empty text (``read_csv`` marks every empty cell missing)."""
    import pandas as pd

    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind in "biufcmM" or not values.isna().any():
            continue
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            frame[column] = values.fillna("")
    return frame


def _column_problems(suite: LoadedSuite, frame: pd.DataFrame) -> list[Problem]:
    spec = suite.spec.dataset
    columns = [str(c) for c in frame.columns]
    wanted: list[tuple[tuple[str | int, ...], str]] = [
        (("dataset", "id"), spec.id),
        (("dataset", "expected"), spec.expected),
    ]
    wanted += [(("dataset", "inputs", i), column) for i, column in enumerate(spec.inputs or [])]
    return [
        suite.problem(path, f"column '{column}' is not in the dataset" + did_you_mean(column, columns))
        for path, column in wanted
        if column not in columns
    ]


def _content_problems(suite: LoadedSuite, frame: pd.DataFrame) -> list[Problem]:
    spec = suite.spec.dataset
    problems = []
    ids = frame[spec.id]
    duplicated = ids[ids.duplicated(keep=False)] if not ids.is_unique else ids[:0]  # is_unique: 4x faster
    if len(duplicated):
        shown = ", ".join(map(str, duplicated.unique()[:_SHOWN]))
        message = f"{duplicated.nunique()} ids appear more than once (e.g. {shown}); ids must be unique"
        problems.append(suite.problem(("dataset", "id"), message))
    missing = frame[spec.id][frame[spec.expected].isna()]
    if len(missing):
        shown = ", ".join(map(str, missing[:_SHOWN]))
        message = f"{len(missing)} rows have no expected value (ids {shown}); fill or drop them"
        problems.append(suite.problem(("dataset", "expected"), message))
    return problems


def load_dataset(suite: LoadedSuite) -> pd.DataFrame:
    """The suite's dataset, with every declared column present, unique ids and no missing expected."""
    spec = suite.spec.dataset
    path = suite.resolve(spec.path)
    file_format = dataset_format(path, spec.format)
    if file_format is None:
        known = ", ".join(sorted(FORMATS_BY_SUFFIX))
        raise SuiteError([suite.problem(("dataset", "path"), f"unknown file type; use {known} or set dataset.format")])
    try:
        frame = read_table(path, file_format)
    except ValueError as error:
        raise SuiteError([suite.problem(("dataset", "path"), str(error))]) from None
    if frame.empty:
        raise SuiteError(
            [suite.problem(("dataset", "path"), f"{path.name} has no rows; a suite needs data to evaluate")]
        )
    problems = _column_problems(suite, frame)
    problems = problems or _content_problems(suite, frame)
    if problems:
        raise SuiteError(problems)
    return frame


def input_columns(suite: LoadedSuite, frame: pd.DataFrame) -> list[str]:
    """Declared input columns, else every column but the id and expected ones."""
    spec = suite.spec.dataset
    if spec.inputs is not None:
        return list(spec.inputs)
    return [str(c) for c in frame.columns if c not in (spec.id, spec.expected)]
