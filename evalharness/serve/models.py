"""The models ``evalharness serve`` answers with: each one a suite's local target (ONNX or torch).

A suite already says how dataset columns become model inputs and which outputs are the label and
the score, so serving a suite's model needs no second configuration: a JSON row is turned into a
one-row frame and answered by the same target class the evaluation uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalharness.errors import EvalHarnessError
from evalharness.suite.dataset import input_columns, load_dataset
from evalharness.suite.loader import load_suite
from evalharness.targets.base import Target, TargetContext, create_target

SERVABLE_KINDS = ("onnx", "torch")


@dataclass
class ServedModel:
    """One model behind the server: its name, the target that answers, and its input columns."""

    name: str
    suite_path: Path
    target: Target
    columns: list[str]
    column_types: dict[str, str] = field(default_factory=dict)  # column -> "number" or "text"
    sha256: str = ""  # of the model file read at start-up (a deploy's smoke check compares it)
    file: str = ""  # that file, symbolic links resolved (models/current -> the release it points to)

    @property
    def text_column(self) -> str | None:
        """The single text input of a text model (a chat message maps onto it), else None."""
        if len(self.columns) == 1 and self.column_types.get(self.columns[0]) == "text":
            return self.columns[0]
        return None

    @property
    def session(self) -> Any:
        """The ONNX Runtime session (for raw v2 tensors), or None for other engines."""
        return getattr(self.target, "session", None)

    def missing_columns(self, rows: list[dict[str, Any]]) -> list[str]:
        """Input columns some row lacks (named in the 400 answer)."""
        return sorted({column for row in rows for column in self.columns if column not in row})

    def answer(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``{"label": ..., "score": ...}`` for each row, in order (score only when the model has one)."""
        output = self.target.predict(self.frame(rows))
        labels = [_plain(value) for value in output.label]
        if output.score is None:
            return [{"label": label} for label in labels]
        return [{"label": label, "score": float(score)} for label, score in zip(labels, output.score)]

    def frame(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        """The rows as a frame of the input columns, built in one step (this is every request's path)."""
        columns: dict[str, np.ndarray] = {}
        for column in self.columns:
            values = [row[column] for row in rows]
            if self.column_types.get(column) != "number":
                columns[column] = np.asarray(values, dtype=object)
                continue
            try:
                columns[column] = np.asarray(values, dtype=np.float64)
            except (ValueError, TypeError) as error:
                raise ValueError(f"field '{column}' must be a number: {error}") from None
        return pd.DataFrame(columns, copy=False)


def _plain(value: Any) -> Any:
    """A numpy scalar as the JSON value it stands for."""
    return value.item() if isinstance(value, np.generic) else value


def _name_for(suite_path: Path, target_path: str) -> str:
    return Path(target_path).stem or suite_path.stem


def load_served_model(suite_path: Path, name: str | None = None, side: str = "target") -> ServedModel:
    """The local target a suite names (``side``: its target, or its baseline), ready to answer; a
    clear error for endpoint or file kinds."""
    suite = load_suite(suite_path)
    spec = suite.spec.baseline if side == "baseline" else suite.spec.target
    if spec.kind not in SERVABLE_KINDS:
        raise EvalHarnessError(
            f"{suite.display_name}: target kind '{spec.kind}' is not a local model; "
            f"evalharness serve runs suites whose target is {' or '.join(SERVABLE_KINDS)}"
        )
    frame = load_dataset(suite)
    columns = input_columns(suite, frame)
    context = TargetContext(suite.base_dir, suite.spec.dataset.id, columns)
    types = {column: "number" if pd.api.types.is_numeric_dtype(frame[column]) else "text" for column in columns}
    target = create_target(spec, context)
    facts = target.describe()
    return ServedModel(name or _name_for(suite_path, spec.path), suite_path, target, columns, types,
                       sha256=str(facts.get("sha256", "")), file=str(facts.get("path", "")))  # fmt: skip


def parse_model_argument(argument: str) -> tuple[str | None, Path]:
    """``NAME=suite.yaml`` or ``suite.yaml`` (the model is then named after its file)."""
    name, sep, path = argument.partition("=")
    return (name, Path(path)) if sep and name and "/" not in name else (None, Path(argument))
