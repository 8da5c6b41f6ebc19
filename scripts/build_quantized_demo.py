"""Build the candidate-versus-baseline demo: an fp32 MLP fraud model and its INT8 copy.

`models/fraud.onnx` is a tree ensemble, which has no weight matrices for dynamic quantization to
shrink. This script trains a multilayer perceptron on the finance demo's training rows (the same
generator, seed and columns as scripts/build_finance_demo.py), exports it as the "production"
model `models/fraud_mlp.onnx`, and quantizes its MatMul weights to int8 with ONNX Runtime into
`models/fraud_int8.onnx`, the candidate of `suites/quantized.yaml`.

Everything is derived from fixed seeds, and training runs on one BLAS thread, so running this
script again writes byte-identical files (given the same library versions).

Usage: python scripts/build_quantized_demo.py [--out-root PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from build_finance_demo import (
    EVALUATION_ROWS,
    EVALUATION_SEED,
    NUMERIC,
    TRAINING_ROWS,
    TRAINING_SEED,
    export_pipeline,
    generate,
    held_out_metrics,
)
from onnx_tools import finish_model

HIDDEN_LAYERS = (256, 256)
BATCH_SIZE = 1024  # as suites/quantized.yaml: dynamic quantization scales activations per batch
QUANTIZED_OPS = {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul", "MatMulIntegerToFloat"}


def train(frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    """Numeric columns standardised, category one-hot encoded, then an MLP with early stopping."""
    from sklearn.compose import ColumnTransformer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from threadpoolctl import threadpool_limits

    features = ColumnTransformer(
        [
            ("numeric", StandardScaler(), NUMERIC),
            ("category", OneHotEncoder(handle_unknown="ignore"), ["merchant_category"]),
        ]
    )
    classifier = MLPClassifier(
        hidden_layer_sizes=HIDDEN_LAYERS, alpha=1e-3, early_stopping=True, n_iter_no_change=10, max_iter=300,
        random_state=0,
    )  # fmt: skip
    pipeline = Pipeline([("features", features), ("classifier", classifier)])
    # One BLAS thread: sums split across threads round differently from run to run.
    with threadpool_limits(limits=1):
        return pipeline.fit(
            frame[NUMERIC + ["merchant_category"]].astype({c: np.float32 for c in NUMERIC}), frame["is_fraud"]
        )


def export(pipeline) -> bytes:  # type: ignore[no-untyped-def]
    """The fp32 MLP as ONNX, with the finance model's signature (``export_pipeline``)."""
    doc = "Card-fraud MLP (fp32) built by scripts/build_quantized_demo.py (evalharness demo)."
    return export_pipeline(pipeline, "finance-fraud-mlp", "scripts/build_quantized_demo.py", doc)


def quantize(model_bytes: bytes) -> bytes:
    """ONNX Runtime dynamic quantization: MatMul weights stored as int8, activations quantized per batch."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "int8.onnx"
        # reduce_range keeps weights to 7 bits, so u8 x s8 products cannot saturate on CPUs without
        # VNNI: every x86 CPU then computes the same integers. Per channel keeps small columns precise.
        quantize_dynamic(
            onnx.load_from_string(model_bytes), output, weight_type=QuantType.QInt8, per_channel=True,
            reduce_range=True,
        )  # fmt: skip
        model = onnx.load(str(output))
    doc = "Card-fraud MLP, int8 dynamic quantization of fraud_mlp.onnx, built by scripts/build_quantized_demo.py."
    return finish_model(model, "finance-fraud-int8", "scripts/build_quantized_demo.py", doc)


def quantization_facts(model_bytes: bytes) -> dict[str, int]:
    """Quantized operators and int8 weights in a model: zero for all of them means nothing was quantized."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    ops = Counter(node.op_type for node in model.graph.node)
    int8 = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    facts = {op: ops[op] for op in sorted(QUANTIZED_OPS) if ops[op]}
    facts["int8_initializers"] = len(int8)
    facts["int8_weights"] = int(sum(np.prod(t.dims) for t in int8))
    facts["float_matmuls"] = ops["MatMul"] + ops["Gemm"]
    return facts


def answers(model_bytes: bytes, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Labels and P(fraud) from ONNX Runtime, fed in batches of BATCH_SIZE rows as the suite does."""
    import onnxruntime as ort

    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    numeric = frame[NUMERIC].to_numpy(np.float32)
    category = frame[["merchant_category"]].to_numpy(object)
    parts = [
        session.run(["label", "probabilities"], {"numeric": numeric[s : s + BATCH_SIZE],
                                                 "merchant_category": category[s : s + BATCH_SIZE]})
        for s in range(0, len(frame), BATCH_SIZE)
    ]  # fmt: skip
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1][:, 1] for p in parts])


def comparison(fp32: bytes, int8: bytes, frame: pd.DataFrame) -> dict[str, float]:
    """The int8 model against the fp32 one on the evaluation rows."""
    from sklearn import metrics

    truth = frame["is_fraud"].to_numpy()
    (base_label, base_score), (label, score) = answers(fp32, frame), answers(int8, frame)
    base_right, right = base_label == truth, label == truth
    return {
        "int8 accuracy": metrics.accuracy_score(truth, label),
        "int8 f1": metrics.f1_score(truth, label),
        "int8 auc": metrics.roc_auc_score(truth, score),
        "accuracy drop": metrics.accuracy_score(truth, base_label) - metrics.accuracy_score(truth, label),
        "auc drop": metrics.roc_auc_score(truth, base_score) - metrics.roc_auc_score(truth, score),
        "agreement": float((label == base_label).mean()),
        "only int8 right": int((right & ~base_right).sum()),
        "only fp32 right": int((~right & base_right).sum()),
        "size ratio": len(int8) / len(fp32),
    }


def main() -> None:
    """Write models/fraud_mlp.onnx and models/fraud_int8.onnx under ``--out-root``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-root", type=Path, default=Path(__file__).resolve().parents[1])
    root = parser.parse_args().out_root
    evaluation = generate(EVALUATION_ROWS, EVALUATION_SEED)
    pipeline = train(generate(TRAINING_ROWS, TRAINING_SEED))
    fp32 = export(pipeline)
    int8 = quantize(fp32)
    facts = quantization_facts(int8)
    if not facts["int8_initializers"] or facts["float_matmuls"]:
        raise SystemExit(f"quantization left float MatMuls or no int8 weights: {facts}")
    paths = {"fp32 model": root / "models" / "fraud_mlp.onnx", "int8 model": root / "models" / "fraud_int8.onnx"}
    paths["fp32 model"].parent.mkdir(parents=True, exist_ok=True)
    paths["fp32 model"].write_bytes(fp32)
    paths["int8 model"].write_bytes(int8)
    for name, value in held_out_metrics(fp32, evaluation, pipeline).items():
        print(f"{'fp32 ' + name:>30}: {value:.4f}")
    for name, value in {**comparison(fp32, int8, evaluation), **facts}.items():
        print(f"{name:>30}: {value:.4f}" if isinstance(value, float) else f"{name:>30}: {value}")
    for name, path in paths.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{name:>30}: {path} ({path.stat().st_size} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()
