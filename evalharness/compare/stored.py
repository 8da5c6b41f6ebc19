"""An earlier run as the baseline: its run.json and the rows.jsonl beside it.

``pytest --evalharness suite.yaml --evalharness-baseline main/run.json`` compares the suite's target
with the answers a stored run gave (the last run on the main branch, say). The stored answers are
paired with today's rows by id, so every metric that can be computed from answers alone
(accuracy, precision, recall, F1, AUC, DTW, rules, BERTScore) is recomputed with the same code and
compared row by row; a metric that needs the live model (robustness, INV/DIR checks) is compared
from the two recorded intervals, and the method says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evalharness.errors import EvalHarnessError
from evalharness.metrics.base import MetricValue
from evalharness.metrics.registry import get_metric
from evalharness.once import Once
from evalharness.record import RunRecord, SuiteRecord
from evalharness.report.rows import ROWS_FILE, read_rows
from evalharness.suite.dataset import input_columns
from evalharness.targets.base import TargetOutput

if TYPE_CHECKING:
    from evalharness.predictions import Predictions
    from evalharness.runner import SuiteRun


class StoredRunError(EvalHarnessError):
    """A stored run that cannot serve as a baseline: what is wrong, and how to fix it."""


def id_key(value: Any) -> str:
    """One row id as a key that a JSON round trip keeps (1 and numpy's int64 1 are one key)."""
    plain = value.item() if isinstance(value, np.generic) else value
    return json.dumps(plain, sort_keys=True, default=str)


@dataclass
class StoredRun:
    """A run.json, checked, and its rows file, read on first use."""

    path: Path
    record: RunRecord
    _answers: dict[str, dict[str, dict[str, Any]]] | None = field(default=None, repr=False)

    @classmethod
    def read(cls, path: Path) -> StoredRun:
        """The run at ``path``; :class:`StoredRunError` when it cannot be read."""
        from evalharness.record_check import RecordError, read_record

        try:
            return cls(path, read_record(path))
        except RecordError as error:
            raise StoredRunError(f"--evalharness-baseline: {error}") from None

    def suite(self, name: str) -> SuiteRecord | None:
        """The stored suite of this name, if the run has one."""
        return next((suite for suite in self.record.suites if suite.name == name), None)

    @property
    def rows_path(self) -> Path:
        """Where the run's answers are: rows.jsonl beside run.json."""
        return self.path.parent / ROWS_FILE

    def answers(self, suite_path: str) -> dict[str, dict[str, Any]]:
        """The stored answers of one suite, by id key (empty when the run kept none for it);
        :class:`StoredRunError`, located, when rows.jsonl is unreadable or another run's."""
        if self._answers is None:
            self._answers = self._read_answers() if self.rows_path.is_file() else {}
        return self._answers.get(suite_path, {})

    def _read_answers(self) -> dict[str, dict[str, Any]]:
        answers: dict[str, dict[str, Any]] = {}
        line = 1  # the line being read: the header, then one row a line
        try:
            header, rows = read_rows(self.rows_path)
            line = 2
            for row in rows:  # read to the end, which closes the file
                if not isinstance(row, dict):
                    raise ValueError("a row is not a JSON object")
                answers.setdefault(str(row.get("suite")), {})[id_key(row.get("id"))] = row
                line += 1
            if header.get("run_started_at") != self.record.started_at:
                line = 1
                raise ValueError(f"these answers are from the run started at {header.get('run_started_at')}, and "
                                 f"{self.path.name} is the run started at {self.record.started_at}; keep each "
                                 "run's rows.jsonl beside its own run.json")  # fmt: skip
        except (OSError, ValueError) as error:  # JSON and Unicode errors are ValueErrors
            raise StoredRunError(f"{self.rows_path}:{line}: cannot use the stored answers: {error}") from None
        return answers


class StoredBaseline:
    """The baseline side of a suite read from a stored run (the same interface as BaselineSide)."""

    def __init__(self, run: SuiteRun, stored: StoredRun) -> None:
        self.run = run
        self.stored = stored
        self.suite_record = stored.suite(run.spec.name)
        self._predictions: Once[Predictions] = Once(self._predict)
        self._values: dict[str, MetricValue] = {}
        target = dict(self.suite_record.target) if self.suite_record else {}
        self.target_info: dict[str, Any] = {**target, "stored_run": str(stored.path),
                                            "run_started_at": stored.record.started_at}  # fmt: skip

    def problems(self) -> list[str]:
        """Why the stored run cannot be this suite's baseline (empty when it can)."""
        where = f"the stored run {self.stored.path}"
        if self.suite_record is None:
            names = ", ".join(suite.name for suite in self.stored.record.suites) or "none"
            return [f"{where} has no suite named '{self.run.spec.name}' (it has {names}); compare runs of one suite"]
        stored, now = self.suite_record.dataset.get("sha256"), self.run.dataset_sha256
        if stored != now:
            return [f"{where} evaluated another dataset (sha256 {str(stored)[:12]}…, this one {str(now)[:12]}…); "
                    "a baseline must answer the same rows"]  # fmt: skip
        try:
            answers = self.stored.answers(self.suite_record.path)
        except StoredRunError as error:
            return [str(error)]
        if not answers:
            return [f"{where} kept no answers for this suite ({self.stored.rows_path} is missing or has none); "
                    "rerun the baseline with reports on"]  # fmt: skip
        ids = self.run.frame()[self.run.spec.dataset.id]
        missing = [str(value) for value in ids if id_key(value) not in answers][:5]
        if missing:
            return [f"{where} has no answer for rows {', '.join(missing)}; it is not this dataset's run"]
        recorded = {gate.name for gate in self.suite_record.gates}
        return [
            f"{where} has no '{name}' gate, and {name} needs the live model to be scored again; compare runs of "
            "the same metrics, or name the baseline model in a baseline: section"
            for name in self._live_only()
            if name not in recorded
        ]

    def _live_only(self) -> list[str]:
        """Declared metrics that answers alone cannot score: perturbations ask the model again."""
        declared = self.run.spec.declared_metrics()
        live = [name for name in ("robustness",) if name in declared]
        consistency = declared.get("consistency")
        return live + (["consistency"] if consistency is not None and consistency.checks else [])

    def predict_frame(self, frame: Any) -> TargetOutput:
        """A stored run answers nothing new (perturbed rows need the live model)."""
        raise ValueError("a stored baseline cannot answer new rows")

    def predictions(self) -> Predictions:
        """The stored answers, in this dataset's row order."""
        return self._predictions.get()

    def _predict(self) -> Predictions:
        frame = self.run.frame()
        answers = self.stored.answers(self.suite_record.path if self.suite_record else "")
        rows = [answers[id_key(value)] for value in frame[self.run.spec.dataset.id]]
        labels = _array([row.get("predicted") for row in rows])
        scores = [row.get("score") for row in rows]
        score = None if all(s is None for s in scores) else np.asarray([np.nan if s is None else s for s in scores])
        columns = input_columns(self.run.suite, frame)
        from evalharness.compare.baseline import same_answer_kind

        predictions = self.run.assemble(frame, columns, TargetOutput(label=labels, score=score), 0.0)
        return same_answer_kind(predictions, self.run.predictions(), f"the stored run {self.stored.path}")

    @cached_property
    def settings(self) -> Any:
        """The suite's settings, with nothing live to answer perturbed rows."""
        import dataclasses

        return dataclasses.replace(self.run.settings, predict=None, attack=None, baseline=None)

    def metric_value(self, name: str) -> MetricValue:
        """The metric recomputed from the stored answers; else as the stored run recorded it."""
        if name not in self._values:
            options = self.run.spec.declared_metrics()[name]
            try:
                self._values[name] = get_metric(name).compute(self.predictions(), options, self.settings)
            except (ValueError, EvalHarnessError):
                self._values[name] = self._recorded(name)
        return self._values[name]

    def _recorded(self, name: str) -> MetricValue:
        gate = next((g for g in (self.suite_record.gates if self.suite_record else []) if g.name == name), None)
        if gate is None or gate.value is None:
            raise EvalHarnessError(
                f"metric '{name}' needs the live baseline, and the stored run {self.stored.path} has no value for it"
            )
        interval = tuple(gate.interval) if gate.interval else None
        return MetricValue(gate.value, gate.n or 0, interval, f"{gate.method} (stored)")  # type: ignore[arg-type]

    def close(self) -> None:
        """Nothing is held open."""


def _array(values: list[Any]) -> np.ndarray:
    """Stored answers as the array a target would give: numbers as numbers, lists as sequences."""
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.asarray(values)
    result = np.empty(len(values), dtype=object)
    result[:] = values
    return result
