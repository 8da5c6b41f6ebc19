"""Gradient attacks on differentiable torch targets: FGSM and PGD under an L-infinity budget.

The budget ``epsilon`` is in units of each input feature's standard deviation over the dataset,
so one number means the same thing for amounts and for hours. PGD takes ``steps`` steps of
``2.5 * epsilon / steps`` and projects back into the budget after each; FGSM is one full step.
The loss is the one the output kind implies: cross-entropy for probabilities, binary
cross-entropy for a score, squared error (per series scale) for sequences.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveInt

from evalharness.suite.fields import ClosedModel


class GradientRecipe(ClosedModel):
    """``fgsm`` or ``pgd`` on every model input (torch targets only)."""

    recipe: Literal["fgsm", "pgd"]
    epsilon: float = Field(0.05, gt=0, description="L-infinity budget, in standard deviations of each feature")
    steps: PositiveInt = Field(10, description="PGD steps (FGSM always takes one)")
    name: str | None = None

    @property
    def label(self) -> str:
        """How reports name this attack."""
        steps = f", {self.steps} steps" if self.recipe == "pgd" else ""
        return self.name or f"{self.recipe}(epsilon={self.epsilon:g}{steps})"


def _loss(torch: Any, output: Any, expected: Any, kind: str) -> Any:
    """The loss to increase: how wrong the output is about the expected answer."""
    if kind == "sequence":
        scale = expected.std(dim=1, keepdim=True).clamp_min(1e-6)
        return (((output - expected) / scale) ** 2).mean()
    if kind == "probabilities":
        return torch.nn.functional.nll_loss(torch.log(output.clamp_min(1e-12)), expected.long())
    return torch.nn.functional.binary_cross_entropy(output.reshape(-1).clamp(1e-6, 1 - 1e-6), expected.float())


def attack_batch(
    torch: Any, forward: Any, inputs: list[Any], expected: Any, scales: list[Any], recipe: GradientRecipe, kind: str
) -> list[Any]:
    """Adversarial versions of one batch of inputs."""
    steps = 1 if recipe.recipe == "fgsm" else recipe.steps
    step = recipe.epsilon if recipe.recipe == "fgsm" else 2.5 * recipe.epsilon / steps
    adversarial = [x.detach().clone() for x in inputs]
    for _ in range(steps):
        for x in adversarial:
            x.requires_grad_(True)
        loss = _loss(torch, forward(adversarial), expected, kind)
        gradients = torch.autograd.grad(loss, adversarial)
        with torch.no_grad():
            adversarial = [
                torch.max(torch.min(x + step * s * g.sign(), x0 + recipe.epsilon * s), x0 - recipe.epsilon * s)
                for x, x0, s, g in zip(adversarial, inputs, scales, gradients)
            ]
    return [x.detach() for x in adversarial]
