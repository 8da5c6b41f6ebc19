"""Target ``torch``: a TorchScript or ``torch.export`` file, batched, in inference mode, CPU or CUDA.

The suite names a file, never a Python class, so evaluating a model cannot import user code.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import pandas as pd

from evalharness._optional import require
from evalharness.errors import TargetError, TargetSpecError
from evalharness.suite.schema import TorchTargetSpec
from evalharness.targets.base import TargetContext, TargetOutput, file_sha256


def _device(torch: Any, choice: str) -> Any:
    if choice == "cuda" and not torch.cuda.is_available():
        raise TargetError("target.device is cuda but no CUDA device is visible to torch; use auto or cpu")
    return torch.device("cuda" if choice != "cpu" and torch.cuda.is_available() else "cpu")


def load_model(torch: Any, path: Any, device: Any) -> Any:
    """A ``torch.export`` program (``.pt2``) or a TorchScript module, in eval mode on ``device``."""
    try:
        if path.suffix == ".pt2":
            module = torch.export.load(str(path)).module()
        else:
            with warnings.catch_warnings():  # TorchScript is deprecated upstream but still what many teams ship
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location=device)
    except Exception as error:  # torch raises RuntimeError, pickle and zip errors for bad files
        message = f"torch cannot load {path} as TorchScript or torch.export: {error}"
        raise TargetSpecError([(("path",), message)]) from None
    if hasattr(module, "eval") and path.suffix != ".pt2":  # exported programs have no train/eval switch
        module.eval()
    return module.to(device)


def input_counts(model: Any) -> tuple[int, int] | None:
    """How many positional inputs the model takes, as (fewest, most); ``None`` when unknowable."""
    schema = getattr(getattr(model, "forward", None), "schema", None)
    if schema is not None:  # TorchScript: the first argument is the module itself
        arguments = schema.arguments[1:]
        return sum(not a.has_default_value() for a in arguments), len(arguments)
    graph = getattr(model, "graph", None)
    if graph is not None and hasattr(graph, "nodes"):  # torch.export: one placeholder per user input
        count = sum(node.op == "placeholder" for node in graph.nodes)
        return count, count
    return None


def _input_count_problems(model: Any, inputs: list[list[str]]) -> list[tuple[tuple[Any, ...], str]]:
    counts = input_counts(model)
    if counts is None or counts[0] <= len(inputs) <= counts[1]:
        return []
    takes = str(counts[0]) if counts[0] == counts[1] else f"{counts[0]} to {counts[1]}"
    message = f"the model takes {takes} positional inputs; inputs gives {len(inputs)} ({inputs})"
    return [(("inputs",), message)]


def column_block(frame: pd.DataFrame, columns: list[str], dtype: Any) -> np.ndarray:
    """One model input: a column of sequences stacked to [N, L], or scalar columns stacked to [N, k]."""
    first = frame[columns[0]].iloc[0] if len(frame) else None
    if len(columns) == 1 and isinstance(first, (list, tuple, np.ndarray, str)):
        cells = [json.loads(v) if isinstance(v, str) else v for v in frame[columns[0]]]
        lengths = {len(cell) for cell in cells}
        if len(lengths) != 1:
            raise TargetError(f"column '{columns[0]}' holds sequences of different lengths {sorted(lengths)[:5]}")
        return np.asarray(cells, dtype=dtype)
    try:
        return frame[columns].to_numpy(dtype=dtype)
    except (ValueError, TypeError) as error:
        raise TargetError(f"columns {columns} are not {np.dtype(dtype).name}: {error}") from None


class TorchTarget:
    """Batched ``model(*inputs)`` under ``torch.inference_mode()``."""

    kind = "torch"

    def __init__(self, spec: TorchTargetSpec, context: TargetContext) -> None:
        self.torch = require("torch", extra="torch", needed_for="target kind 'torch'")
        self.spec = spec
        self.path = context.resolve(spec.path)
        self.device = _device(self.torch, spec.device)
        self.model = load_model(self.torch, self.path, self.device)
        written = spec.inputs or [context.input_columns]
        self.inputs = [[item] if isinstance(item, str) else list(item) for item in written]
        problems = _input_count_problems(self.model, self.inputs)
        if problems:
            raise TargetSpecError(problems)

    def tensors(self, frame: pd.DataFrame) -> list[Any]:
        """Every model input for every row, converted once."""
        dtype = np.dtype(self.spec.dtype)
        blocks = (np.require(column_block(frame, columns, dtype), requirements="W") for columns in self.inputs)
        return [self.torch.from_numpy(block) for block in blocks]  # pandas may hand out read-only views

    def forward(self, tensors: list[Any]) -> np.ndarray:
        """The selected model output for all rows, batch by batch, as one numpy array."""
        size, index, parts = self.spec.batch_size, self.spec.outputs.index, []
        rows = int(tensors[0].shape[0]) if tensors else 0
        with self.torch.inference_mode():
            for start in range(0, rows, size):
                output = self.model(*(t[start : start + size].to(self.device) for t in tensors))
                output = output[index] if index is not None else output
                parts.append(output.detach().to("cpu").numpy())
        return np.concatenate(parts) if parts else np.empty(0)

    def attack(self, frame: pd.DataFrame, expected: np.ndarray, recipe: Any) -> TargetOutput:
        """Answers to adversarial versions of every row (FGSM or PGD against the expected answers)."""
        from evalharness.perturb.gradient import attack_batch

        kind, index = self.spec.outputs.kind, self.spec.outputs.index
        if kind == "label":
            raise TargetError("gradient attacks need probabilities, a score or a sequence from the model, not labels")
        tensors = [t.float().to(self.device) for t in self.tensors(frame)]
        scales = [t.std(dim=0, keepdim=True).clamp_min(1e-12) for t in tensors]
        target = self.torch.tensor(np.stack(list(expected)) if kind == "sequence" else expected, device=self.device)

        def forward(inputs: list[Any]) -> Any:
            output = self.model(*inputs)
            return output[index] if index is not None else output

        size, parts = self.spec.batch_size, []
        for start in range(0, len(frame), size):
            batch = [t[start : start + size] for t in tensors]
            adversarial = attack_batch(self.torch, forward, batch, target[start : start + size], scales, recipe, kind)
            with self.torch.inference_mode():
                parts.append(forward(adversarial).detach().to("cpu").numpy())
        values = np.concatenate(parts) if parts else np.empty(0)
        return interpret(values, kind, self.spec.outputs.threshold, len(frame))

    def predict(self, frame: pd.DataFrame) -> TargetOutput:
        """Labels (and scores) or sequences for every row of ``frame``."""
        try:
            values = self.forward(self.tensors(frame))
        except TargetError:
            raise
        except Exception as error:  # shape, dtype and device errors from the model itself
            raise TargetError(f"the torch model {self.path.name} failed: {error}") from None
        return interpret(values, self.spec.outputs.kind, self.spec.outputs.threshold, len(frame))

    def describe(self) -> dict[str, Any]:
        """Model file, hash, torch version, device and the input mapping."""
        return {
            "kind": self.kind,
            "path": str(self.path),
            "sha256": file_sha256(self.path),
            "engine": f"torch {self.torch.__version__}",
            "device": str(self.device),
            "batch_size": self.spec.batch_size,
            "inputs": self.inputs,
            "outputs": self.spec.outputs.kind,
        }

    def close(self) -> None:
        """Drop the model (and free GPU memory when it was on a GPU)."""
        self.model = None
        if self.device.type == "cuda":
            self.torch.cuda.empty_cache()


def interpret(values: np.ndarray, kind: str, threshold: float, rows: int) -> TargetOutput:
    """Turn the raw output array into labels, scores or per-row sequences."""
    if kind == "sequence":
        return TargetOutput(label=values.reshape(rows, -1))
    if kind == "probabilities":
        matrix = values.reshape(rows, -1)
        return TargetOutput(label=matrix.argmax(axis=1), score=matrix[:, 1] if matrix.shape[1] == 2 else None)
    flat = values.reshape(rows, -1)[:, 0]
    if kind == "score":
        return TargetOutput(label=(flat >= threshold).astype(np.int64), score=flat.astype(float))
    return TargetOutput(label=flat)
