"""A text column becomes the Python strings an ONNX string input takes, whatever pandas stores it as."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.suite.schema import OnnxTargetSpec
from evalharness.targets import TargetContext, create_target
from evalharness.targets.onnx import _as_text

ort = pytest.importorskip("onnxruntime")
pa = pytest.importorskip("pyarrow")

REPO = Path(__file__).resolve().parents[2]
WORDS = ["grocery", "", "ünïcode", "two words", "jewelry"]


def _expected(values: list[object]) -> list[str]:
    """The independent answer: each value's text, a missing one as "nan"."""
    return ["nan" if value is None or value != value else str(value) for value in values]  # NaN != NaN


def _words(rows: int, missing_every: int = 0) -> list[object]:
    picks = np.random.default_rng(rows).integers(0, len(WORDS), rows)
    return [None if missing_every and i % missing_every == 0 else WORDS[p] for i, p in enumerate(picks)]


STRING_DTYPES = ["str", "string[python]", "string[pyarrow]", pd.StringDtype("pyarrow", na_value=np.nan), object]


@pytest.mark.parametrize("dtype", STRING_DTYPES, ids=str)
@pytest.mark.parametrize("rows", [0, 1, 9, 2_000])
@pytest.mark.parametrize("missing_every", [0, 3])
def test_string_columns_give_their_strings_and_nan_for_missing(dtype: object, rows: int, missing_every: int) -> None:
    values = _words(rows, missing_every)
    text = _as_text(pd.Series(values, dtype=dtype))  # type: ignore[call-overload]
    assert text.dtype == object
    assert text.tolist() == _expected(values)
    assert all(type(item) is str for item in text)


def test_an_arrow_column_of_several_chunks_keeps_its_order() -> None:
    values = _words(500, missing_every=7)
    chunks = pa.chunked_array([pa.array(values[:120]), pa.array(values[120:121]), pa.array(values[121:])])
    column = pd.Series(pd.arrays.ArrowStringArray(chunks))
    assert _as_text(column).tolist() == _expected(values)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, 2, 2, 3]),
        pd.Series([1.5, np.nan, 1.5]),
        pd.Series(["a", 1, None, 2.5], dtype=object),
        pd.Series(["b", "a", "b", None], dtype="category"),
        pd.Series([True, False, True]),
    ],
    ids=["int", "float-nan", "mixed-object", "category", "bool"],
)
def test_other_columns_give_each_value_as_text(column: pd.Series) -> None:
    assert _as_text(column).tolist() == _expected(column.astype(object).tolist())


@pytest.mark.parametrize("dtype", STRING_DTYPES, ids=str)
def test_the_fraud_model_answers_the_same_whatever_the_text_dtype(dtype: object) -> None:
    """The bundled model has a string input: its answers equal a raw session fed plain Python strings."""
    frame = pd.read_csv(REPO / "datasets/finance/transactions.csv", nrows=3_000)
    frame["merchant_category"] = frame["merchant_category"].astype(dtype)  # type: ignore[call-overload]
    numeric = ["amount", "hour", "card_present", "is_international", "is_new_device",
               "distance_from_home_km", "txn_count_24h", "account_age_days"]  # fmt: skip
    spec = OnnxTargetSpec.model_validate(
        {
            "kind": "onnx",
            "path": "models/fraud.onnx",
            "batch_size": 256,
            "inputs": {"numeric": numeric, "merchant_category": "merchant_category"},
            "outputs": {"label": "label", "score": {"name": "probabilities", "column": 1}},
        }
    )
    target = create_target(spec, TargetContext(REPO, "txn_id", [*numeric, "merchant_category"]))
    answer = target.predict(frame)
    session = ort.InferenceSession(str(REPO / "models/fraud.onnx"), providers=["CPUExecutionProvider"])
    feed = {
        "numeric": frame[numeric].to_numpy(np.float32),
        "merchant_category": np.array([[str(v)] for v in frame["merchant_category"]], dtype=object),
    }
    label, probabilities = session.run(["label", "probabilities"], feed)
    np.testing.assert_array_equal(answer.label, label)
    assert answer.score is not None and answer.score.dtype == np.float64
    np.testing.assert_array_equal(answer.score, probabilities[:, 1])
