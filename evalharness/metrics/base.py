"""What a metric is: options, a vectorised computation, and a result with its uncertainty."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from evalharness.suite.fields import GateOptions

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from evalharness.predictions import Predictions
    from evalharness.targets.base import TargetOutput


@dataclass(frozen=True)
class MetricSettings:
    """What a metric computes with besides the predictions: how uncertainty is estimated
    (confidence level, bootstrap size, seed) and the suite's folder (for files a metric reads)."""

    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0
    base_dir: Path = field(default_factory=Path.cwd)
    predict: Callable[[pd.DataFrame], TargetOutput] | None = field(default=None, compare=False, repr=False)
    """Answers new inputs with the suite's live target (perturbations); None for stored answers."""
    attack: Callable[[pd.DataFrame, np.ndarray, Any], TargetOutput] | None = field(
        default=None, compare=False, repr=False
    )
    """Answers gradient-attacked inputs (differentiable torch targets only)."""


@dataclass(frozen=True)
class MetricValue:
    """A metric computed over the predictions frame.

    ``row_loss`` is aligned with the frame (higher is worse) and drives the worst-rows listing.
    """

    value: float
    n: int
    interval: tuple[float, float] | None
    method: str
    row_loss: np.ndarray | None = None
    details: dict[str, Any] = field(default_factory=dict)
    row_scores: dict[str, np.ndarray] = field(default_factory=dict)
    """Per-row numbers shown beside the worst rows (e.g. BERTScore P, R and F1; DTW distance)."""
    undefined: str | None = None
    """Why the value is NaN (no predicted positives, one class only...): its gate then errors."""


class Metric(Protocol):
    """A metric a suite can name under ``metrics:``; third parties register via entry points."""

    name: str
    options: type[GateOptions]
    description: str

    def compute(self, predictions: Predictions, options: Any, settings: MetricSettings) -> MetricValue:
        """Compute the metric over every row at once (vectorised, no per-row Python loop)."""
        ...
