"""FGSM and PGD on real torch models: FGSM checked in closed form on a logistic model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.errors import TargetError
from evalharness.perturb.gradient import GradientRecipe, attack_batch
from evalharness.suite.schema import TorchTargetSpec
from evalharness.targets import TargetContext, create_target

torch = pytest.importorskip("torch")
WEIGHTS, BIAS = [2.0, -1.0], 0.1


class Logistic(torch.nn.Module):
    """P(positive) = sigmoid(2 x1 - x2 + 0.1), as a [N, 2] probability output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(x @ torch.tensor(WEIGHTS) + BIAS)
        return torch.stack([1 - p, p], dim=1)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 2))
    return pd.DataFrame({"row_id": range(300), "x1": x[:, 0], "x2": x[:, 1], "y": (x @ WEIGHTS > 0).astype(int)})


def _target(tmp_path: Path):  # type: ignore[no-untyped-def]
    program = torch.export.export(Logistic(), (torch.zeros(2, 2),), dynamic_shapes={"x": {0: torch.export.Dim("n")}})
    torch.export.save(program, str(tmp_path / "logistic.pt2"))
    spec = TorchTargetSpec(kind="torch", path="logistic.pt2", device="cpu", outputs={"kind": "probabilities"})
    return create_target(spec, TargetContext(tmp_path, "row_id", ["x1", "x2"]))


def test_fgsm_matches_the_closed_form(tmp_path: Path, frame: pd.DataFrame) -> None:
    epsilon = 0.3
    attacked = _target(tmp_path).attack(frame, frame["y"].to_numpy(), GradientRecipe(recipe="fgsm", epsilon=epsilon))
    x = frame[["x1", "x2"]].to_numpy()
    p = 1 / (1 + np.exp(-(x @ WEIGHTS + BIAS)))
    gradient = (p - frame["y"].to_numpy())[:, None] * np.array(WEIGHTS)  # d(cross-entropy)/dx
    adversarial = x + epsilon * x.astype(np.float32).std(axis=0, ddof=1) * np.sign(gradient)
    expected_p = 1 / (1 + np.exp(-(adversarial @ WEIGHTS + BIAS)))
    assert np.allclose(attacked.score, expected_p, atol=1e-4)
    assert (attacked.label == frame["y"]).mean() < (np.argmax(np.c_[1 - p, p], axis=1) == frame["y"]).mean()


def test_pgd_stays_in_the_budget_and_hurts_at_least_as_much_as_fgsm(frame: pd.DataFrame) -> None:
    x = torch.tensor(frame[["x1", "x2"]].to_numpy(np.float32))
    y = torch.tensor(frame["y"].to_numpy())
    scales = [x.std(dim=0, keepdim=True)]
    model = Logistic()

    def forward(inputs: list[torch.Tensor]) -> torch.Tensor:
        return model(*inputs)

    losses = {}
    for recipe in (GradientRecipe(recipe="fgsm", epsilon=0.2), GradientRecipe(recipe="pgd", epsilon=0.2, steps=8)):
        (adversarial,) = attack_batch(torch, forward, [x], y, scales, recipe, "probabilities")
        assert torch.all((adversarial - x).abs() <= 0.2 * scales[0] + 1e-6)
        probabilities = forward([adversarial]).detach()
        losses[recipe.recipe] = torch.nn.functional.nll_loss(torch.log(probabilities), y).item()
    assert losses["pgd"] >= losses["fgsm"] - 1e-6


def test_label_outputs_cannot_be_attacked(tmp_path: Path, frame: pd.DataFrame) -> None:
    target = _target(tmp_path)
    target.spec = target.spec.model_copy(update={"outputs": target.spec.outputs.model_copy(update={"kind": "label"})})
    with pytest.raises(TargetError, match="gradient attacks need probabilities"):
        target.attack(frame, frame["y"].to_numpy(), GradientRecipe(recipe="fgsm"))
