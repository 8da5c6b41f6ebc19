"""The torch target runs real TorchScript and torch.export files, batched, with every output kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.errors import TargetError
from evalharness.suite.schema import TorchTargetSpec
from evalharness.targets import TargetContext, create_target

torch = pytest.importorskip("torch")
# The fixtures below write TorchScript on purpose (teams still ship it); torch warns that it is deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class TwoHeads(torch.nn.Module):
    """Logits over two classes and a 3-step sequence, from two features."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.classify = torch.nn.Linear(2, 2)
        self.forecast = torch.nn.Linear(2, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.softmax(self.classify(x), dim=1), self.forecast(x)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"row_id": range(37), "x1": rng.normal(size=37), "x2": rng.normal(size=37)})


def _save(tmp_path: Path, exported: bool) -> str:
    model = TwoHeads().eval()
    if exported:
        batch = torch.export.Dim("batch", min=1)
        program = torch.export.export(model, (torch.zeros(2, 2),), dynamic_shapes={"x": {0: batch}})
        torch.export.save(program, str(tmp_path / "model.pt2"))
        return "model.pt2"
    torch.jit.save(torch.jit.script(model), str(tmp_path / "model.ts"))
    return "model.ts"


def _target(tmp_path: Path, path: str, **spec: object):  # type: ignore[no-untyped-def]
    model_spec = TorchTargetSpec.model_validate({"kind": "torch", "path": path, "device": "cpu", **spec})
    return create_target(model_spec, TargetContext(tmp_path, "row_id", ["x1", "x2"]))


def _direct(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    with torch.inference_mode():
        probabilities, sequence = TwoHeads().eval()(torch.tensor(frame[["x1", "x2"]].to_numpy(np.float32)))
    return probabilities.numpy(), sequence.numpy()


@pytest.mark.parametrize("exported", [False, True])
@pytest.mark.parametrize("batch_size", [1, 8, 1000])
def test_probabilities_match_the_model_called_directly(tmp_path: Path, frame, exported, batch_size) -> None:  # type: ignore[no-untyped-def]
    path = _save(tmp_path, exported)
    output = _target(tmp_path, path, batch_size=batch_size, outputs={"kind": "probabilities", "index": 0}).predict(
        frame
    )
    probabilities, _ = _direct(frame)
    assert output.label.tolist() == probabilities.argmax(axis=1).tolist()
    assert np.allclose(output.score, probabilities[:, 1], atol=1e-6)


def test_sequence_output_and_description(tmp_path: Path, frame: pd.DataFrame) -> None:
    target = _target(tmp_path, _save(tmp_path, True), outputs={"kind": "sequence", "index": 1})
    output = target.predict(frame)
    assert output.label.shape == (37, 3)
    assert np.allclose(output.label, _direct(frame)[1], atol=1e-5)
    described = target.describe()
    assert described["device"] == "cpu" and described["engine"].startswith("torch ") and len(described["sha256"]) == 64


def test_score_output_thresholds_into_labels(tmp_path: Path, frame: pd.DataFrame) -> None:
    target = _target(tmp_path, _save(tmp_path, False), outputs={"kind": "score", "index": 0, "threshold": 0.7})
    output = target.predict(frame)
    first_column = _direct(frame)[0][:, 0]
    assert np.allclose(output.score, first_column, atol=1e-6)
    assert output.label.tolist() == (output.score >= 0.7).astype(int).tolist()


def test_list_cells_are_stacked_into_one_input(tmp_path: Path, frame: pd.DataFrame) -> None:
    lists = pd.DataFrame({"row_id": frame["row_id"], "pair": frame[["x1", "x2"]].to_numpy().tolist()})
    model = _target(tmp_path, _save(tmp_path, True), inputs=["pair"], outputs={"kind": "probabilities", "index": 0})
    assert np.allclose(model.predict(lists).score, _direct(frame)[0][:, 1], atol=1e-6)
    ragged = lists.assign(pair=[[1.0]] + lists["pair"].tolist()[1:])
    with pytest.raises(TargetError, match="sequences of different lengths"):
        model.predict(ragged)


def test_unloadable_file_and_missing_gpu_are_target_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.pt2").write_bytes(b"not a model")
    with pytest.raises(TargetError, match="torch cannot load"):
        _target(tmp_path, "broken.pt2")
    if not torch.cuda.is_available():
        with pytest.raises(TargetError, match="no CUDA device"):
            _target(tmp_path, _save(tmp_path, True), device="cuda")


def test_a_model_failure_is_reported_with_its_file(tmp_path: Path, frame: pd.DataFrame) -> None:
    target = _target(tmp_path, _save(tmp_path, False), inputs=[["x1"]])
    with pytest.raises(TargetError, match="the torch model model.ts failed"):
        target.predict(frame)
