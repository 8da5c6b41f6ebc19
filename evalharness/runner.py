"""Evaluate one suite: load its data, predict once, then compute each gated metric on demand."""

from __future__ import annotations

import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from evalharness.compare.gate import comparison, delta_message, merged_status
from evalharness.errors import EvalHarnessError, Problem
from evalharness.gates import judge
from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.registry import get_metric
from evalharness.once import Once
from evalharness.record import GateRecord, GateStatus, SuiteRecord
from evalharness.suite.dataset import dataset_format, input_columns, load_dataset
from evalharness.suite.loader import display_path
from evalharness.suite_facts import declared_target, portable, prediction_facts
from evalharness.targets.base import Target, TargetContext, TargetOutput, create_target, file_sha256
from evalharness.untrusted import bounded_text, max_cell_chars, untrusted_lines

if TYPE_CHECKING:
    import pandas as pd

    from evalharness.predictions import Predictions
    from evalharness.suite.loader import LoadedSuite


def row_ids(column: pd.Series) -> Any:
    """The id column as rows are looked up in it: text kept in pandas' Arrow-backed array (a
    million ids as Python strings would take 60 MB more), anything else as a numpy array."""
    import pandas as pd

    if isinstance(column.dtype, pd.StringDtype):
        return column.array
    return column.to_numpy()


class SuiteRun:
    """One suite's evaluation in this process: predictions computed once and shared by every gate."""

    def __init__(
        self,
        suite: LoadedSuite,
        frame: pd.DataFrame | None = None,
        gate_on: str | None = None,
        cache_dir: Path | None = None,
        resume: bool = False,
        on_inconclusive: str | None = None,
        stored_baseline: Any = None,
    ) -> None:
        self.suite = suite
        self.cache_dir, self.resume = cache_dir, resume
        self.gate_on_override = gate_on
        self.on_inconclusive = on_inconclusive or suite.spec.statistics.on_inconclusive
        self._frame = frame
        self._predictions: Once[Predictions] = Once(self._predict)
        self._values: dict[str, MetricValue] = {}
        self._target: Target | None = None
        self.progress: Any = None  # a text sink for endpoint progress bars, set by the pytest plugin
        self.target_info: dict[str, Any] = declared_target(suite, suite.spec.target)
        self.server: Any = None  # the suite's server (evalharness.load.server.ManagedServer) once started
        self._load: Any = None
        self.baseline: Any = None  # BaselineSide (baseline:) or StoredBaseline (--evalharness-baseline)
        self.stored_baseline = stored_baseline  # evalharness.compare.stored.StoredRun, from the command line
        if suite.spec.baseline is not None:
            from evalharness.compare.baseline import BaselineSide

            self.baseline = BaselineSide(self)
        elif stored_baseline is not None:
            from evalharness.compare.stored import StoredBaseline

            self.baseline = StoredBaseline(self, stored_baseline)

    @property
    def spec(self) -> Any:
        """The validated suite model."""
        return self.suite.spec

    @cached_property
    def settings(self) -> MetricSettings:
        """Confidence level, bootstrap size, seed and folder of this suite, for its metrics."""
        stats = self.spec.statistics
        live = self.spec.target.kind != "file"
        return MetricSettings(
            stats.confidence, stats.bootstrap_resamples, self.spec.seed, self.suite.base_dir,
            predict=self.predict_frame if live else None,
            attack=self.attack_frame if self.spec.target.kind == "torch" else None,
            baseline=None if self.baseline is None else self.baseline.predictions,
        )  # fmt: skip

    @cached_property
    def dataset_sha256(self) -> str | None:
        """sha256 of the dataset file (hashed once)."""
        path = self.suite.resolve(self.spec.dataset.path)
        return file_sha256(path) if path.is_file() else None

    def frame(self) -> pd.DataFrame:
        """The dataset, read and validated once."""
        if self._frame is None:
            self._frame = load_dataset(self.suite)
        return self._frame

    def metric_problems(self) -> list[Problem]:
        """What metrics find wrong with their options once the data is known, located.

        A metric may define ``check_suite(options, input_columns, base_dir)`` returning
        ``(key path under its options, message)`` pairs: unknown rule variables, a reference
        file without the compared columns, and so on.
        """
        available = input_columns(self.suite, self.frame())
        problems = []
        for name, options in self.spec.declared_metrics().items():
            reference = getattr(options, "reference_column", None)
            if reference is not None and reference not in self.frame().columns:
                columns = ", ".join(map(str, self.frame().columns))
                why = f"the dataset has no column {reference!r} (its columns: {columns})"
                problems.append(self.suite.problem(("metrics", name, "reference_column"), why))
            check = getattr(get_metric(name), "check_suite", None)
            for where, message in check(options, available, self.suite.base_dir) if check else []:
                problems.append(self.suite.problem(("metrics", name, *where), message))
        return problems

    def predictions(self) -> Predictions:
        """Every row's answer, computed on first use; a failure is remembered, not retried per gate."""
        return self._predictions.get()

    def _predict(self) -> Predictions:
        predictions, self.target_info = self.answer_every_row(self.target())
        return predictions

    def answer_every_row(self, target: Target, side: str = "") -> tuple[Predictions, dict[str, Any]]:
        """Every dataset row answered by ``target`` (this suite's, or its baseline: ``side``), timed,
        and the target's description for the record."""
        frame = self.frame()
        started = time.perf_counter()
        output = target.predict(frame)
        seconds = time.perf_counter() - started
        info = portable(target.describe())
        try:
            return self.assemble(frame, input_columns(self.suite, frame), output, seconds), info
        except ValueError as error:
            where = f"{self.suite.display_name}: {side}" if side else self.suite.display_name
            raise EvalHarnessError(f"{where}: {error}") from None

    def assemble(self, frame: pd.DataFrame, columns: list[str], output: Any, seconds: float) -> Predictions:
        from evalharness.predictions import Predictions

        dataset = self.spec.dataset
        return Predictions(
            ids=row_ids(frame[dataset.id]),
            expected=frame[dataset.expected].to_numpy(),
            predicted=output.label,
            score=output.score,
            inputs=frame[columns],
            positive_label=dataset.positive_label,
            seconds=seconds,
            raw=getattr(output, "raw", None),
            outcome=getattr(output, "outcome", None),
            table=frame,
        )

    def target(self) -> Target:
        """The live target, created on first use and kept until :meth:`close` (perturbations reuse it)."""
        if self._target is None:
            self._target = create_target(self.with_port(self.spec.target), self.target_context())
        return self._target

    def target_context(self, role: str = "") -> TargetContext:
        """What a target of this suite (``role``: "" or "baseline") knows: folder, columns, cache, progress."""
        dataset = self.spec.dataset
        columns = input_columns(self.suite, self.frame())
        name = f"{self.suite.display_name} ({role})" if role else self.suite.display_name
        return TargetContext(self.suite.base_dir, dataset.id, columns, self.cache_dir, self.resume,
                             self.progress, name)  # fmt: skip

    def with_port(self, spec: Any) -> Any:
        """A target spec with ``{port}`` filled in once the suite's server is up."""
        if self.spec.server is None:
            return spec
        if self.server is None:
            from evalharness.load.server import ManagedServer

            self.server = ManagedServer.start(self.spec.server, self.suite.base_dir)
        port = str(self.server.port)
        updates = {key: getattr(spec, key).replace("{port}", port) for key in ("url", "base_url") if hasattr(spec, key)}
        return spec.model_copy(update=updates)

    def load(self) -> Any:
        """The suite's load run (:class:`evalharness.load.run.LoadRun`), created on first use."""
        if self._load is None:
            from evalharness.load.run import LoadRun

            self._load = LoadRun(self)
        return self._load

    def predict_frame(self, frame: pd.DataFrame) -> TargetOutput:
        """The target's answers for ``frame`` (the dataset, or a perturbed copy of its inputs)."""
        return self.target().predict(frame)

    def attack_frame(self, frame: pd.DataFrame, expected: Any, recipe: Any) -> TargetOutput:
        """The target's answers to gradient-attacked versions of ``frame`` (torch targets)."""
        return self.target().attack(frame, expected, recipe)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Release the targets (model memory, GPU, connections) and stop the suite's server."""
        if self._target is not None:
            self._target.close()
            self._target = None
        if self.baseline is not None:
            self.baseline.close()
        if self.server is not None:
            self.server.stop()
            self.server = None

    def metric_value(self, name: str) -> MetricValue:
        """The named metric over this suite's predictions (computed once)."""
        if name not in self._values:
            metric = get_metric(name)
            options = self.spec.declared_metrics()[name]
            try:
                self._values[name] = metric.compute(self.predictions(), options, self.settings)
            except ValueError as error:
                raise EvalHarnessError(f"metric '{name}': {error}") from None
        return self._values[name]

    def evaluate_gate(self, name: str, nodeid: str) -> GateRecord:
        """Compute and judge one gate; the record carries the verdict and the worst rows."""
        started = time.perf_counter()
        options = self.spec.declared_metrics()[name]
        gate_on = self.gate_on_override or options.gate_on or self.spec.statistics.gate_on
        value = self.metric_value(name)
        verdict = judge(name, value, options, gate_on)
        status, message, against = verdict.status, verdict.reason, self._compared(name, value, options, gate_on)
        if against is not None and against["verdict"] is not None:
            status = merged_status(status, against["verdict"], self.on_inconclusive)
            own = message if options.is_gate or status == "error" else ""  # not "reported only": it is gated
            message = "; ".join(part for part in (own, delta_message(against)) if part)
        count = self.spec.report.worst_rows
        worst = [] if value.row_loss is None else self.predictions().worst(value.row_loss, count, value.row_scores)
        return GateRecord(
            name=name,
            nodeid=nodeid,
            metric=name,
            status=cast(GateStatus, status),
            value=value.value,
            n=value.n,
            interval=value.interval,
            confidence=self.settings.confidence,
            method=value.method,
            min=options.min,
            max=options.max,
            gate_on=gate_on,
            compared_value=verdict.compared,
            message=message,
            details=value.details,
            worst_rows=worst,
            comparison=against,
            delta_gates=getattr(options, "delta_gates", {}),
            better=options.better() if hasattr(options, "better") else "higher",
            duration_s=time.perf_counter() - started,
        )

    def _compared(self, name: str, value: MetricValue, options: Any, gate_on: str) -> dict[str, Any] | None:
        """The gate against the baseline, when the suite has one (None otherwise)."""
        return None if self.baseline is None else comparison(self, name, value, options, gate_on)

    def cases(self) -> list[Any]:
        """The MFT cases the suite declares (under ``consistency``), in order."""
        options = self.spec.declared_metrics().get("consistency")
        return list(options.cases) if options is not None else []

    @cached_property
    def _case_answers(self) -> Predictions:
        """The target's answers to every case, asked in one batch."""
        from evalharness.metrics.checks import case_frame
        from evalharness.predictions import Predictions

        cases = self.cases()
        frame = case_frame(cases, input_columns(self.suite, self.frame()))
        answer = self.predict_frame(frame)
        expected = np.asarray([case.expected for case in cases])
        names = np.array([case.name for case in cases], dtype=object)
        return Predictions(names, expected, answer.label, answer.score, frame, self.spec.dataset.positive_label)

    def evaluate_case(self, name: str, nodeid: str) -> GateRecord:
        """One MFT case: the target's answer must equal the case's expected answer."""
        started = time.perf_counter()
        answers = self._case_answers
        position = [case.name for case in self.cases()].index(name)
        passed = bool(answers.correct[position])
        row = answers.rows(np.array([position]))[0]
        message = "as expected" if passed else f"expected {row['expected']!r}, the target answered {row['predicted']!r}"
        return GateRecord(
            name=f"cases::{name}", nodeid=nodeid, metric="case", status="passed" if passed else "failed",
            value=float(passed), n=1, message=message, details={"case": row}, worst_rows=[] if passed else [row],
            duration_s=time.perf_counter() - started,
        )  # fmt: skip

    def error_gate(self, name: str, nodeid: str, error: BaseException) -> GateRecord:
        """The record of a gate that could not be evaluated."""
        options = self.spec.declared_metrics().get(name)
        return GateRecord(
            name=name,
            nodeid=nodeid,
            metric=name,
            status="error",
            min=options.min if options else None,
            max=options.max if options else None,
            message=str(error),
        )

    def record(self) -> SuiteRecord:
        """Facts about this suite's inputs and predictions (gates are added by the collector); text
        from outside (the target's first error, the prediction error, load errors) made safe and small."""
        spec = self.spec
        dataset_path = self.suite.resolve(spec.dataset.path)
        record = SuiteRecord(
            name=spec.name,
            path=self.suite.display_name,
            sha256=self.suite.sha256,
            description=spec.description,
            seed=spec.seed,
            dataset={
                "path": display_path(dataset_path),
                "sha256": self.dataset_sha256,
                "format": dataset_format(dataset_path, spec.dataset.format),
                "id": spec.dataset.id,
                "expected": spec.dataset.expected,
            },
            target=bounded_text(self.target_info),
            baseline=None if self.baseline is None else bounded_text(self.baseline.target_info),
            error=untrusted_lines(self._predictions.error) if self._predictions.error else None,
            load=bounded_text(self._load_facts()),
            max_cell_chars=max_cell_chars(spec),
        )
        if self._predictions.value is not None:
            record.dataset["rows"] = len(self._predictions.value)
            record = record.model_copy(update=self._prediction_facts)
        return record

    def _load_facts(self) -> dict[str, Any] | None:
        """The load run's result, once it ran (its values are plain JSON)."""
        result = self._load.finished() if self._load is not None else None
        return None if result is None else {key: value for key, value in result.items() if key != "values"}

    @cached_property
    def _prediction_facts(self) -> dict[str, Any]:
        """Rows, timing, confusion matrix and a capped sample of wrong rows (built once)."""
        return prediction_facts(self.predictions(), self.spec, self.suite.metric_order)
