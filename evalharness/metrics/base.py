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
    baseline: Callable[[], Predictions] | None = field(default=None, compare=False, repr=False)
    """The baseline's answers to the same rows, computed on first call (None without a baseline)."""


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
    resample: Callable[[np.ndarray], np.ndarray] | None = field(default=None, compare=False, repr=False)
    """The metric recomputed on row resamples ((b, n) row indices -> b values): drawn with the same
    rows for a candidate and its baseline, it gives the paired bootstrap of their difference."""
    samples: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The row-bootstrap values behind ``interval``, drawn with the stream named after the metric
    (:func:`~evalharness.metrics.stats.bootstrap_rows`): a baseline's draws use the same rows, so
    the difference of the two arrays is the paired bootstrap at no extra cost."""
    terms: Any = field(default=None, compare=False, repr=False)
    """For a ratio of per-row sums, its :class:`~evalharness.metrics.stats.RatioTerms`: rows with the
    same terms on both sides are interchangeable, so the paired bootstrap is a multinomial over
    the few kinds of row, exact and independent of the row count."""
    delong: Any = field(default=None, compare=False, repr=False)
    """For AUC with DeLong's interval, its :class:`~evalharness.metrics.delong.DeLongParts`: with a
    baseline's over the same rows, the paired difference's variance in closed form."""
    successes: np.ndarray | None = field(default=None, compare=False, repr=False)
    """For a proportion over rows both sides share (accuracy; recall over the positives): 1.0 or 0.0
    per counted row, NaN for rows outside it. Paired proportions get McNemar and Newcombe's interval."""


class Metric(Protocol):
    """A metric a suite can name under ``metrics:``; third parties register via entry points."""

    name: str
    options: type[GateOptions]
    description: str

    def compute(self, predictions: Predictions, options: Any, settings: MetricSettings) -> MetricValue:
        """Compute the metric over every row at once (vectorised, no per-row Python loop)."""
        ...
