"""Target ``file``: outputs computed elsewhere, joined to the dataset on the id column."""

from __future__ import annotations

from typing import Any

import pandas as pd

from evalharness.errors import TargetError, TargetSpecError
from evalharness.metrics.registry import did_you_mean
from evalharness.suite.dataset import dataset_format, read_table
from evalharness.suite.schema import FileTargetSpec
from evalharness.targets.base import TargetContext, TargetOutput, file_sha256


class FileTarget:
    """Reads a table of pre-computed answers; rows without an answer are an error, never dropped."""

    kind = "file"

    def __init__(self, spec: FileTargetSpec, context: TargetContext) -> None:
        self.spec = spec
        self.context = context
        self.path = context.resolve(spec.path)
        self.table = self._table()

    def _table(self) -> pd.DataFrame:
        """The answers, read once and checked: the id, label and score columns exist, ids are unique."""
        file_format = dataset_format(self.path, None)
        if file_format is None:
            raise TargetSpecError([(("path",), f"{self.path.name}: unknown file type; use .csv, .jsonl or .parquet")])
        try:
            table = read_table(self.path, file_format)
        except ValueError as error:
            raise TargetSpecError([(("path",), str(error))]) from None
        columns = [str(column) for column in table.columns]
        wanted = [(("path",), self.context.id_column), (("label",), self.spec.label)]
        wanted += [(("score",), self.spec.score)] if self.spec.score else []
        problems = [
            (where, f"{self.path.name} has no column '{column}'" + did_you_mean(column, columns))
            for where, column in wanted
            if column not in columns
        ]
        if not problems and table[self.context.id_column].duplicated().any():
            problems.append((("path",), f"{self.path.name} has more than one answer for some ids"))
        if problems:
            raise TargetSpecError(problems)
        return table[[column for _, column in wanted]]

    def predict(self, frame: pd.DataFrame) -> TargetOutput:
        """The stored answer for every dataset row, in dataset order."""
        key = self.context.id_column
        try:
            answers = frame[[key]].merge(self.table, on=key, how="left", sort=False)
        except ValueError as error:  # ids written as numbers in one file and as text in the other
            raise TargetError(f"cannot join {self.path.name} to the dataset on '{key}': {error}") from None
        absent = answers[self.spec.label].isna()
        if absent.any():
            shown = ", ".join(map(str, answers.loc[absent, key].head(5)))
            raise TargetError(f"{int(absent.sum())} dataset rows have no answer in {self.path.name} (ids {shown})")
        return TargetOutput(label=answers[self.spec.label].to_numpy(), score=self._scores(answers))

    def _scores(self, answers: pd.DataFrame) -> Any:
        """The score column as floats (``None`` without one); text there is the file's mistake."""
        if not self.spec.score:
            return None
        try:
            return answers[self.spec.score].to_numpy(dtype=float)
        except (ValueError, TypeError) as error:
            raise TargetError(f"column '{self.spec.score}' of {self.path.name} is not all numbers: {error}") from None

    def describe(self) -> dict[str, Any]:
        """File and hash of the stored answers."""
        return {"kind": self.kind, "path": str(self.path), "sha256": file_sha256(self.path)}

    def close(self) -> None:
        """Nothing to release."""
