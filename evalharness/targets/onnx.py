"""Target ``onnx``: a real ONNX Runtime session, fed in batches from the dataset's columns."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalharness._optional import require
from evalharness.errors import TargetError, TargetSpecError
from evalharness.metrics.registry import did_you_mean
from evalharness.suite.schema import OnnxTargetSpec, OutputRef
from evalharness.targets.base import TargetContext, TargetOutput, file_sha256

_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.object_,
}
_PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
Problems = list[tuple[tuple[Any, ...], str]]


@dataclass(frozen=True)
class InputPlan:
    """How one model input is built: which columns, which dtype, and whether it is [N] or [N, k]."""

    name: str
    columns: list[str]
    dtype: Any
    rank: int

    def build(self, frame: pd.DataFrame) -> np.ndarray:
        """The whole column block as one array, converted once (batches are views into it)."""
        try:
            if self.dtype is np.object_ and len(self.columns) == 1:  # the strings as they are made, no copy
                array = _as_text(frame[self.columns[0]]).reshape(-1, 1)
            elif self.dtype is np.object_:
                array = np.empty((len(frame), len(self.columns)), dtype=self.dtype)
                for position, column in enumerate(self.columns):
                    array[:, position] = _as_text(frame[column])
            else:
                array = _numeric_block([frame[column].to_numpy() for column in self.columns], self.dtype)
        except (ValueError, TypeError) as error:
            raise TargetError(
                f"model input '{self.name}': columns {self.columns} are not {self.dtype.__name__}: {error}"
            ) from None
        return array[:, 0] if self.rank == 1 else array


BLOCK_ROWS = 8192
"""Rows converted at a time into a numeric input: the block's rows stay in the CPU's cache while every
column is written into them (a whole column at a time strides over megabytes, twice as slow)."""


def _numeric_block(columns: list[np.ndarray], dtype: Any) -> np.ndarray:
    """The columns side by side, as ``dtype``, in row-major order (what ONNX Runtime reads)."""
    rows = len(columns[0]) if columns else 0
    array = np.empty((rows, len(columns)), dtype=dtype)
    for start in range(0, rows, BLOCK_ROWS):
        block = array[start : start + BLOCK_ROWS]
        for position, values in enumerate(columns):
            block[:, position] = values[start : start + BLOCK_ROWS]
    return array


def _as_text(column: pd.Series) -> np.ndarray:
    """A column as Python strings (missing as "nan"), one object array.

    A string column hands over the strings it holds: an Arrow-backed one is dictionary-encoded in
    Arrow, so each distinct string becomes a Python string once. Any other column builds each distinct
    value's text once (``pd.factorize``).
    """
    if isinstance(column.dtype, pd.StringDtype):
        if column.dtype.storage == "pyarrow":
            return _arrow_text(column)
        return column.to_numpy(dtype=object, na_value="nan")
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=False) == "string":
        return column.to_numpy(dtype=object)
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return np.asarray([str(value) for value in uniques], dtype=object)[codes]


def _arrow_text(column: pd.Series) -> np.ndarray:
    """An Arrow-backed string column as Python strings: one per distinct value, picked by code."""
    import pyarrow as pa  # present: pandas made this column with it
    import pyarrow.compute as pc

    chunks = pa.chunked_array(column.array.__arrow_array__())
    strings = chunks.chunk(0) if chunks.num_chunks == 1 else chunks.combine_chunks()
    encoded = pc.dictionary_encode(strings, null_encoding="encode")
    texts = ["nan" if text is None else text for text in encoded.dictionary.to_pylist()]
    return np.asarray(texts, dtype=object)[encoded.indices.to_numpy()]


def _session(ort: Any, spec: OnnxTargetSpec, context: TargetContext) -> Any:
    path = context.resolve(spec.path)
    options = ort.SessionOptions()
    if spec.threads:
        options.intra_op_num_threads = spec.threads
    available = ort.get_available_providers()
    providers = spec.providers or [p for p in _PREFERRED_PROVIDERS if p in available]
    unknown = [p for p in providers if p not in available]
    if unknown:
        message = f"ONNX Runtime providers {unknown} are not available here; available: {available}"
        raise TargetSpecError([(("providers",), message)])
    try:
        return ort.InferenceSession(str(path), options, providers=providers)
    except Exception as error:  # onnxruntime raises its own untyped errors for unreadable models
        raise TargetSpecError([(("path",), f"ONNX Runtime cannot load {path}: {error}")]) from None


def _mapping(model_inputs: dict[str, Any], spec: OnnxTargetSpec, context: TargetContext) -> Problems | dict[str, Any]:
    """The suite's input mapping, or the default one: a single input takes every column, several
    inputs take the columns of their own names."""
    if spec.inputs is not None:
        return dict(spec.inputs)
    if len(model_inputs) == 1:
        return {next(iter(model_inputs)): context.input_columns}
    missing = [name for name in model_inputs if name not in context.input_columns]
    if missing:
        message = f"the model has inputs {list(model_inputs)}; map {missing} to dataset columns under inputs"
        return [(("inputs",), message)]
    return {name: name for name in model_inputs}


def input_problems(model_inputs: dict[str, Any], spec: OnnxTargetSpec, context: TargetContext) -> Problems:
    """Every way the suite's input mapping misses the model: unknown names, unmapped inputs,
    tensor types evalharness cannot feed. Each as (key path under target, message)."""
    mapping = _mapping(model_inputs, spec, context)
    if isinstance(mapping, list):
        return mapping
    problems: Problems = []
    for name in mapping:
        if name not in model_inputs:
            message = f"'{name}' is not an input of the model" + did_you_mean(name, list(model_inputs))
            problems.append((("inputs", name), message))
        elif model_inputs[name].type not in _NUMPY_TYPES:
            message = f"model input '{name}' has type {model_inputs[name].type}, which evalharness cannot feed yet"
            problems.append((("inputs", name), message))
    unmapped = [name for name in model_inputs if name not in mapping]
    if unmapped:
        problems.append((("inputs",), f"model inputs {unmapped} are not mapped; add them under inputs"))
    return problems


def _plan_inputs(session: Any, spec: OnnxTargetSpec, context: TargetContext) -> list[InputPlan]:
    model_inputs = {i.name: i for i in session.get_inputs()}
    problems = input_problems(model_inputs, spec, context)
    if problems:
        raise TargetSpecError(problems)
    mapping = _mapping(model_inputs, spec, context)
    assert isinstance(mapping, dict)  # no problems: the mapping exists
    plans = []
    for name, columns in mapping.items():
        model_input, dtype = model_inputs[name], _NUMPY_TYPES[model_inputs[name].type]
        column_list = [columns] if isinstance(columns, str) else list(columns)
        plans.append(InputPlan(name, column_list, dtype, len(model_input.shape or [None, None])))
    return plans


def _default_output(outputs: dict[str, Any], names: tuple[str, ...], kinds: tuple[str, ...]) -> OutputRef | None:
    for name in names:
        if name in outputs:
            return OutputRef(name=name)
    for name, output in outputs.items():
        if output.type in kinds:
            return OutputRef(name=name)
    return None


def _plan_outputs(session: Any, spec: OnnxTargetSpec) -> tuple[OutputRef | None, OutputRef | None]:
    outputs = {o.name: o for o in session.get_outputs()}
    label, score = spec.outputs.label, spec.outputs.score
    if label is None and score is None:  # nothing mapped: recognise the usual converter outputs
        label = _default_output(
            outputs, ("label", "output_label"), ("tensor(int64)", "tensor(int32)", "tensor(string)")
        )
        score = _default_output(
            outputs, ("probabilities", "output_probability", "score"), ("tensor(float)", "tensor(double)")
        )
    for ref in (label, score):
        if ref is not None and ref.name not in outputs:
            message = f"the model has no output '{ref.name}'" + did_you_mean(ref.name, list(outputs))
            raise TargetSpecError([(("outputs",), message)])
        if ref is not None and not outputs[ref.name].type.startswith("tensor("):
            raise TargetError(
                f"output '{ref.name}' is {outputs[ref.name].type}, not a tensor "
                "(a skl2onnx ZipMap?); export with options={'zipmap': False}"
            )
    if label is None and score is None:
        message = f"cannot tell which output is the label or score among {list(outputs)}; set outputs"
        raise TargetSpecError([(("outputs",), message)])
    return label, score


def _score_column(values: np.ndarray, ref: OutputRef) -> np.ndarray | None:
    """The positive-class scores of a batch, as a view (``_Answers.put`` casts them while copying)."""
    if values.ndim == 1:
        return values
    if ref.column is not None:
        return values[:, ref.column]
    if values.shape[1] == 2:
        return values[:, 1]
    return values[:, 0] if values.shape[1] == 1 else None


class _Answers:
    """The labels and scores of every row, filled batch by batch (their dtypes are the first batch's)."""

    def __init__(self, rows: int, scored: bool) -> None:
        self.rows = rows
        self.label: np.ndarray = np.empty(0, dtype=np.int64)  # what no rows give
        self.score: np.ndarray | None = np.empty(0) if scored else None

    def put(self, start: int, label: np.ndarray, score: np.ndarray | None) -> None:
        """One batch's answers, for the rows from ``start``."""
        if start == 0:
            self.label = np.empty(self.rows, dtype=label.dtype)
            self.score = None if score is None else np.empty(self.rows, dtype=float)
        self.label[start : start + len(label)] = label
        if self.score is not None and score is not None:
            self.score[start : start + len(score)] = score


class OnnxTarget:
    """Batched inference through ``onnxruntime.InferenceSession.run`` on CPU, or CUDA when present."""

    kind = "onnx"

    def __init__(self, spec: OnnxTargetSpec, context: TargetContext) -> None:
        ort = require("onnxruntime", extra="onnx", needed_for="target kind 'onnx'")
        self.spec = spec
        self.path = context.resolve(spec.path)
        self.session = _session(ort, spec, context)
        self.input_plans = _plan_inputs(self.session, spec, context)
        self.label_ref, self.score_ref = _plan_outputs(self.session, spec)
        self.output_names = [ref.name for ref in (self.label_ref, self.score_ref) if ref is not None]
        self._version = ort.__version__

    def feeds(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Every model input for every row, converted once."""
        return {plan.name: plan.build(frame) for plan in self.input_plans}

    def run_batches(self, feeds: dict[str, np.ndarray], rows: int) -> Iterator[tuple[int, list[np.ndarray]]]:
        """``session.run`` over consecutive batches of ``batch_size`` rows: each batch's first row and outputs."""
        size = self.spec.batch_size
        run = self.session.run
        for start in range(0, rows, size):
            yield start, run(self.output_names, {name: array[start : start + size] for name, array in feeds.items()})

    def predict(self, frame: pd.DataFrame) -> TargetOutput:
        """Labels and positive-class scores for every row of ``frame``.

        Each batch's label and score are copied into the whole arrays as soon as the batch is answered,
        while its outputs are still in the CPU's cache; nothing else of the outputs is kept.
        """
        answers = _Answers(len(frame), self.score_ref is not None)
        try:
            for start, outputs in self.run_batches(self.feeds(frame), len(frame)):
                answers.put(start, *self._batch_answer(dict(zip(self.output_names, outputs))))
        except TargetError:
            raise
        except Exception as error:  # onnxruntime's own failures (shape or type mismatch)
            raise TargetError(f"ONNX Runtime failed on {self.path.name}: {error}") from None
        return TargetOutput(label=answers.label, score=answers.score)

    def _batch_answer(self, outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """One batch's labels and positive-class scores (None when the model gives none)."""
        score = _score_column(outputs[self.score_ref.name], self.score_ref) if self.score_ref else None
        if self.label_ref is not None:
            values = np.asarray(outputs[self.label_ref.name])
            return values.reshape(len(values), -1)[:, 0], score
        if score is not None:
            return (score >= self.spec.outputs.threshold).astype(np.int64), score
        assert self.score_ref is not None  # _plan_outputs guarantees a label or a score
        return np.argmax(outputs[self.score_ref.name], axis=1), None

    def describe(self) -> dict[str, Any]:
        """Model file, hash, engine version, providers and the input/output mapping."""
        return {
            "kind": self.kind,
            "path": str(self.path),
            "sha256": file_sha256(self.path),
            "engine": f"onnxruntime {self._version}",
            "providers": list(self.session.get_providers()),
            "batch_size": self.spec.batch_size,
            "inputs": {plan.name: plan.columns for plan in self.input_plans},
            "outputs": {
                "label": self.label_ref and self.label_ref.name,
                "score": self.score_ref and self.score_ref.name,
            },
        }

    def close(self) -> None:
        """Drop the session so its memory is released."""
        self.session = None
