"""Target ``file``: outputs computed elsewhere, joined to the dataset on the id column."""

from __future__ import annotations

from typing import Any

import pandas as pd

from evalharness.errors import TargetError
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

    def _table(self) -> pd.DataFrame:
        file_format = dataset_format(self.path, None)
        if file_format is None:
            raise TargetError(f"{self.path.name}: unknown file type; use .csv, .jsonl or .parquet")
        try:
            table = read_table(self.path, file_format)
        except ValueError as error:
            raise TargetError(str(error)) from None
        needed = [self.context.id_column, self.spec.label] + ([self.spec.score] if self.spec.score else [])
        missing = [column for column in needed if column not in table.columns]
        if missing:
            raise TargetError(f"{self.path.name} lacks columns {missing}; it has {list(table.columns)}")
        if table[self.context.id_column].duplicated().any():
            raise TargetError(f"{self.path.name} has more than one answer for some ids")
        return table[needed]

    def predict(self, frame: pd.DataFrame) -> TargetOutput:
        """The stored answer for every dataset row, in dataset order."""
        key = self.context.id_column
        answers = frame[[key]].merge(self._table(), on=key, how="left", sort=False)
        absent = answers[self.spec.label].isna()
        if absent.any():
            shown = ", ".join(map(str, answers.loc[absent, key].head(5)))
            raise TargetError(f"{int(absent.sum())} dataset rows have no answer in {self.path.name} (ids {shown})")
        score = answers[self.spec.score].to_numpy(dtype=float) if self.spec.score else None
        return TargetOutput(label=answers[self.spec.label].to_numpy(), score=score)

    def describe(self) -> dict[str, Any]:
        """File and hash of the stored answers."""
        return {"kind": self.kind, "path": str(self.path), "sha256": file_sha256(self.path)}

    def close(self) -> None:
        """Nothing to release."""
