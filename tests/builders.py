"""Small real ONNX models and datasets built on the fly for tests (no fixtures checked in)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd


def logistic_onnx(path: Path, weights: list[float], bias: float, input_name: str = "features") -> Path:
    """A real ONNX logistic regression: input [N, k] float32; outputs label int64 [N] and probabilities [N, 2]."""
    import onnx
    from onnx import TensorProto, helper

    k = len(weights)
    nodes = [
        helper.make_node("MatMul", [input_name, "w"], ["z0"]),
        helper.make_node("Add", ["z0", "b"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["p"]),
        helper.make_node("Sub", ["one", "p"], ["q"]),
        helper.make_node("Concat", ["q", "p"], ["probabilities"], axis=1),
        helper.make_node("Greater", ["p", "half"], ["positive"]),
        helper.make_node("Cast", ["positive"], ["label2d"], to=TensorProto.INT64),
        helper.make_node("Squeeze", ["label2d", "axis1"], ["label"]),
    ]
    initializers = [
        helper.make_tensor("w", TensorProto.FLOAT, [k, 1], weights),
        helper.make_tensor("b", TensorProto.FLOAT, [1], [bias]),
        helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0]),
        helper.make_tensor("half", TensorProto.FLOAT, [1], [0.5]),
        helper.make_tensor("axis1", TensorProto.INT64, [1], [1]),
    ]
    graph = helper.make_graph(
        nodes,
        "logistic",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [None, k])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2]),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def two_feature_frame(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Rows whose label follows x1 + x2 > 0 with some noise: a logistic model gets ~90 % right."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    noisy = x.sum(axis=1) + rng.normal(scale=0.5, size=rows)
    return pd.DataFrame(
        {"row_id": [f"r{i:05d}" for i in range(rows)], "x1": x[:, 0], "x2": x[:, 1], "y": (noisy > 0).astype(int)}
    )


def write_suite(directory: Path, metrics: str = "accuracy: {min: 0.8}", **overrides: str) -> Path:
    """A suite over ``model.onnx`` and ``data.csv`` in ``directory`` (both made by the caller)."""
    parts = {
        "target": "{kind: onnx, path: model.onnx, batch_size: 64}",
        "dataset": "{path: data.csv, id: row_id, expected: y, inputs: [x1, x2]}",
    }
    parts.update(overrides)
    text = f"schema: 1\nname: demo\nseed: 3\ntarget: {parts['target']}\ndataset: {parts['dataset']}\nmetrics:\n"
    text += textwrap.indent(textwrap.dedent(metrics).strip("\n") + "\n", "  ")
    path = directory / "suite.yaml"
    path.write_text(text)
    return path


def demo_project(directory: Path, metrics: str = "accuracy: {min: 0.8}", rows: int = 400) -> Path:
    """A model, a dataset and a suite in ``directory``; returns the suite path."""
    logistic_onnx(directory / "model.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(rows).to_csv(directory / "data.csv", index=False)
    return write_suite(directory, metrics)


def build_twice_and_compare(script: Path, out: Path, outputs: list[str], committed: list[str]) -> Path:
    """Run a demo build script into two folders; every output must be byte-identical across the two
    runs, and each ``committed`` file identical to the repository's. Returns the first folder."""
    import subprocess
    import sys

    repo = script.resolve().parents[1]
    for folder in ("a", "b"):
        command = [sys.executable, str(script), "--out-root", str(out / folder)]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
    for relative in outputs:
        assert (out / "a" / relative).read_bytes() == (out / "b" / relative).read_bytes(), relative
    for relative in committed:
        assert (out / "a" / relative).read_bytes() == (repo / relative).read_bytes(), relative
    return out / "a"
