"""Build the bundled finance demo: a synthetic card-transactions dataset and an ONNX fraud model.

Everything is derived from fixed seeds, so running this script again writes byte-identical files
(given the same library versions). The evaluation set (6,000 rows, committed) and the training set
(20,000 rows, never written) come from the same generator with different seeds, so the suite
measures the model on data it was not trained on.

Usage: python scripts/build_finance_demo.py [--out-root PATH]
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
from onnx_tools import finish_model

EVALUATION_SEED = 20261124
TRAINING_SEED = 7
EVALUATION_ROWS = 6000
TRAINING_ROWS = 20000
REFERENCE_ROWS = 5000  # the first rows of the training set, kept as the drift reference
NUMERIC = ["amount", "hour", "card_present", "is_international", "is_new_device",
           "distance_from_home_km", "txn_count_24h", "account_age_days"]  # fmt: skip
CATEGORIES = {  # name: (share of transactions, typical amount in USD, fraud risk on the logit scale)
    "grocery": (0.24, 45.0, -1.0),
    "restaurants": (0.18, 35.0, -0.8),
    "fuel": (0.14, 50.0, -0.4),
    "pharmacy": (0.08, 30.0, -0.9),
    "travel": (0.10, 420.0, 0.6),
    "electronics": (0.12, 260.0, 0.9),
    "online_gaming": (0.08, 60.0, 1.2),
    "jewelry": (0.06, 650.0, 1.3),
}
HOUR_WEIGHTS = np.array([2, 1.5, 1.2, 1, 1, 1.2, 2, 4, 6, 7, 7, 7, 8, 8, 7, 7, 7, 8, 8, 8, 7, 6, 4, 3])


def generate(rows: int, seed: int) -> pd.DataFrame:
    """Synthetic transactions with a fraud label drawn from a logistic model of the features."""
    rng = np.random.default_rng(seed)
    names = list(CATEGORIES)
    shares = np.array([CATEGORIES[n][0] for n in names])
    category = rng.choice(len(names), size=rows, p=shares / shares.sum())
    typical = np.array([CATEGORIES[n][1] for n in names])[category]
    risk = np.array([CATEGORIES[n][2] for n in names])[category]
    amount = np.round(typical * rng.lognormal(0.0, 0.8, rows), 2)
    hour = rng.choice(24, size=rows, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    is_international = (rng.random(rows) < 0.07).astype(int)
    card_present = (rng.random(rows) < np.where(np.isin(category, [5, 6]), 0.25, 0.7)).astype(int)
    is_new_device = (rng.random(rows) < 0.12).astype(int)
    distance = np.round(rng.exponential(12.0, rows) + is_international * rng.uniform(300, 3000, rows), 1)
    txn_count = rng.poisson(2.2, rows)
    account_age = rng.integers(1, 3650, rows)
    night = ((hour <= 4) | (hour >= 23)).astype(int)
    logit = (
        -6.0 + 1.6 * np.log1p(amount / 150.0) + 1.7 * night + 2.6 * is_new_device + 1.4 * is_international
        + 0.8 * np.log1p(distance / 40.0) + 0.45 * (txn_count - 2.2) + 2.0 * (account_age < 90)
        - 1.2 * card_present + 1.3 * risk
    )  # fmt: skip
    logit = 3.2 * logit + 7.0  # a sharp boundary: most rows are clearly fraud or clearly not
    is_fraud = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return pd.DataFrame({
        "txn_id": [f"T{i + 1:06d}" for i in range(rows)],
        "amount": amount, "hour": hour, "merchant_category": np.array(names)[category],
        "card_present": card_present, "is_international": is_international, "is_new_device": is_new_device,
        "distance_from_home_km": distance, "txn_count_24h": txn_count, "account_age_days": account_age,
        "is_fraud": is_fraud,
    })  # fmt: skip


def train(frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    """A gradient-boosted trees pipeline: numeric columns as they are, category one-hot encoded."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    features = ColumnTransformer(
        [
            ("numeric", "passthrough", NUMERIC),
            ("category", OneHotEncoder(handle_unknown="ignore"), ["merchant_category"]),
        ]
    )
    classifier = GradientBoostingClassifier(n_estimators=80, max_depth=3, learning_rate=0.15, random_state=0)
    pipeline = Pipeline([("features", features), ("classifier", classifier)])
    return pipeline.fit(
        frame[NUMERIC + ["merchant_category"]].astype({c: np.float32 for c in NUMERIC}), frame["is_fraud"]
    )


def export(pipeline) -> bytes:  # type: ignore[no-untyped-def]
    """The finance fraud model as ONNX (see :func:`export_pipeline`)."""
    doc = "Card-fraud classifier built by scripts/build_finance_demo.py (evalharness demo)."
    return export_pipeline(pipeline, "finance-fraud", "scripts/build_finance_demo.py", doc)


def export_pipeline(pipeline, name: str, script: str, doc: str) -> bytes:  # type: ignore[no-untyped-def]
    """ONNX with inputs ``numeric`` [N, 8] float32 and ``merchant_category`` [N, 1] string;
    outputs ``label`` [N] int64 and ``probabilities`` [N, 2] float32 (no ZipMap)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    inputs = [(column, FloatTensorType([None, 1])) for column in NUMERIC] + [
        ("merchant_category", StringTensorType([None, 1]))
    ]
    classifier = pipeline.named_steps["classifier"]
    model = convert_sklearn(pipeline, name, inputs, options={id(classifier): {"zipmap": False}}, target_opset=17)
    return finish_model(_with_numeric_block(model), name, script, doc)


def _with_numeric_block(model):  # type: ignore[no-untyped-def]
    """Replace the eight [N, 1] numeric inputs by one [N, 8] input ``numeric`` split inside the graph."""
    from onnx import TensorProto, helper

    graph = model.graph
    kept = [i for i in graph.input if i.name not in NUMERIC]
    split = helper.make_node("Split", ["numeric", "numeric_split_sizes"], list(NUMERIC), axis=1, name="split_numeric")
    sizes = helper.make_tensor("numeric_split_sizes", TensorProto.INT64, [len(NUMERIC)], [1] * len(NUMERIC))
    graph.initializer.append(sizes)
    graph.node.insert(0, split)
    del graph.input[:]
    graph.input.extend([helper.make_tensor_value_info("numeric", TensorProto.FLOAT, [None, len(NUMERIC)]), *kept])
    return model


def held_out_metrics(model_bytes: bytes, frame: pd.DataFrame, pipeline) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Metrics of the exported model on the evaluation rows, and its agreement with scikit-learn."""
    import onnxruntime as ort
    from sklearn import metrics

    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    feeds = {
        "numeric": frame[NUMERIC].to_numpy(np.float32),
        "merchant_category": frame[["merchant_category"]].to_numpy(object),
    }
    label, probabilities = session.run(["label", "probabilities"], feeds)
    truth = frame["is_fraud"].to_numpy()
    agreement = float(
        (
            label == pipeline.predict(frame[NUMERIC + ["merchant_category"]].astype({c: np.float32 for c in NUMERIC}))
        ).mean()
    )
    assert agreement >= 0.999, f"ONNX and scikit-learn disagree on {1 - agreement:.2%} of rows"
    return {
        "accuracy": metrics.accuracy_score(truth, label),
        "precision": metrics.precision_score(truth, label),
        "recall": metrics.recall_score(truth, label),
        "f1": metrics.f1_score(truth, label),
        "auc": metrics.roc_auc_score(truth, probabilities[:, 1]),
        "onnx_sklearn_agreement": agreement,
        "fraud_rate": float(truth.mean()),
    }


def main() -> None:
    """Write the evaluation set, the drift reference and models/fraud.onnx under ``--out-root``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-root", type=Path, default=Path(__file__).resolve().parents[1])
    root = parser.parse_args().out_root
    evaluation = generate(EVALUATION_ROWS, EVALUATION_SEED)
    training = generate(TRAINING_ROWS, TRAINING_SEED)
    pipeline = train(training)
    model_bytes = export(pipeline)
    paths = {
        "dataset": root / "datasets" / "finance" / "transactions.csv",
        "reference": root / "datasets" / "finance" / "reference.csv",
        "model": root / "models" / "fraud.onnx",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    paths["dataset"].write_text(evaluation.to_csv(index=False, lineterminator="\n"))
    paths["reference"].write_text(training.head(REFERENCE_ROWS).to_csv(index=False, lineterminator="\n"))
    paths["model"].write_bytes(model_bytes)
    for name, value in held_out_metrics(model_bytes, evaluation, pipeline).items():
        print(f"{name:>24}: {value:.4f}")
    for name, path in paths.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{name:>24}: {path} ({path.stat().st_size} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()
