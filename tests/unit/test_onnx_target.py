"""The ONNX target runs a real ONNX Runtime session, batched, with clear mapping errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalharness.errors import TargetError
from evalharness.suite.schema import OnnxTargetSpec
from evalharness.targets import TargetContext, create_target
from tests.builders import logistic_onnx, two_feature_frame

ort = pytest.importorskip("onnxruntime")


def _target(tmp_path: Path, **spec: object):  # type: ignore[no-untyped-def]
    logistic_onnx(tmp_path / "model.onnx", [1.5, -0.5], 0.25)
    context = TargetContext(tmp_path, "row_id", ["x1", "x2"])
    return create_target(OnnxTargetSpec.model_validate({"kind": "onnx", "path": "model.onnx", **spec}), context)


def _reference(tmp_path: Path, frame) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(None, {"features": frame[["x1", "x2"]].to_numpy(np.float32)})
    return label, probabilities[:, 1]


@pytest.mark.parametrize("batch_size", [1, 7, 64, 10_000])
def test_batches_give_the_same_answers_as_one_run(tmp_path: Path, batch_size: int) -> None:
    frame = two_feature_frame(rows=150)
    output = _target(tmp_path, batch_size=batch_size).predict(frame)
    label, score = _reference(tmp_path, frame)
    assert (output.label == label).all()
    assert np.allclose(output.score, score)
    assert output.label.dtype == label.dtype and output.score.dtype == np.float64


def test_no_rows_give_empty_answers(tmp_path: Path) -> None:
    output = _target(tmp_path).predict(two_feature_frame(rows=10).iloc[:0])
    assert output.label.shape == (0,) and output.score is not None and output.score.shape == (0,)


def test_explicit_mapping_and_score_column(tmp_path: Path) -> None:
    frame = two_feature_frame(rows=50)
    target = _target(
        tmp_path,
        inputs={"features": ["x1", "x2"]},
        outputs={"label": "label", "score": {"name": "probabilities", "column": 0}},
    )
    output = target.predict(frame)
    assert np.allclose(output.score, 1 - _reference(tmp_path, frame)[1])
    assert target.describe()["inputs"] == {"features": ["x1", "x2"]}
    assert target.describe()["providers"][-1] == "CPUExecutionProvider"


def test_label_from_score_threshold_when_no_label_output(tmp_path: Path) -> None:
    frame = two_feature_frame(rows=80)
    output = _target(tmp_path, outputs={"score": "probabilities", "threshold": 0.9}).predict(frame)
    label, score = _reference(tmp_path, frame)
    assert output.label.tolist() == (score >= 0.9).astype(int).tolist() != label.tolist()


def test_unknown_input_name_suggests_the_real_one(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="not an input of the model; did you mean 'features'"):
        _target(tmp_path, inputs={"feature": ["x1", "x2"]})


def test_unknown_output_name_suggests_the_real_one(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="no output 'probability'; did you mean 'probabilities'"):
        _target(tmp_path, outputs={"score": "probability"})


def test_wrong_width_is_an_onnxruntime_error_with_context(tmp_path: Path) -> None:
    logistic_onnx(tmp_path / "model.onnx", [1.0, 1.0], 0.0)
    target = create_target(
        OnnxTargetSpec(kind="onnx", path="model.onnx"), TargetContext(tmp_path, "row_id", ["x1", "x2", "y"])
    )
    with pytest.raises(TargetError, match="ONNX Runtime failed on model.onnx"):
        target.predict(two_feature_frame(rows=5))


def test_non_numeric_column_is_named(tmp_path: Path) -> None:
    frame = two_feature_frame(rows=5).astype({"x2": object})
    frame.loc[2, "x2"] = "oops"
    with pytest.raises(TargetError, match=r"columns \['x1', 'x2'\] are not float32"):
        _target(tmp_path).predict(frame)


def test_unreadable_model_is_a_target_error(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(TargetError, match="ONNX Runtime cannot load"):
        create_target(OnnxTargetSpec(kind="onnx", path="model.onnx"), TargetContext(tmp_path, "row_id", ["x1"]))


def test_unavailable_provider_is_named(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="providers \\['NopeExecutionProvider'\\] are not available"):
        _target(tmp_path, providers=["NopeExecutionProvider"])
