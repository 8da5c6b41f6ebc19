"""``drift``: how far the evaluated inputs have moved from a reference sample, per column.

Numeric columns get the population stability index (PSI) over the reference's quantile bins (one
bin per value when the reference has no more distinct values than bins) and the two-sample
Kolmogorov-Smirnov test (scipy); categorical columns get PSI over categories.
Missing values are a bin of their own. The gated value is the largest PSI (or KS statistic)
over the compared columns; every column's figures, and which ones drift, go into the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.registry import did_you_mean
from evalharness.predictions import Predictions
from evalharness.suite.dataset import dataset_format, read_table
from evalharness.suite.fields import GateOptions

PROPORTION_FLOOR = 1e-4
"""Empty bins count as this share, so PSI stays finite (the usual convention)."""


class DriftOptions(GateOptions):
    """Options of ``drift``: the reference sample, the columns, and what is gated."""

    reference: str = Field(description="CSV, JSONL or Parquet sample of the data the model was built on")
    columns: list[str] | None = Field(None, description="columns compared; default: the dataset's input columns")
    statistic: Literal["psi", "ks"] = Field("psi", description="gated value: the largest PSI or KS statistic")
    bins: int = Field(10, ge=2, le=100, description="quantile bins of the reference for numeric PSI")
    psi_alarm: float = Field(0.2, gt=0, description="a column whose PSI exceeds this is named as drifting")
    alpha: float = Field(0.01, gt=0, lt=1, description="a column whose KS p-value is below this is named as drifting")


def _proportions(counts: np.ndarray) -> np.ndarray:
    shares = counts / max(counts.sum(), 1)
    return np.maximum(shares, PROPORTION_FLOOR)


def psi_from_counts(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI = sum over bins of (actual - expected) * ln(actual / expected), shares floored."""
    e, a = _proportions(expected), _proportions(actual)
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_bin_counts(reference: np.ndarray, current: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples over the reference's quantile bins, plus one bin for missing values."""
    present = reference[~np.isnan(reference)]
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)))[1:-1] if present.size else np.empty(0)

    def counts(values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values)
        binned = np.bincount(np.searchsorted(edges, values[~missing], side="right"), minlength=edges.size + 1)
        return np.append(binned, missing.sum())

    return counts(reference), counts(current)


def category_counts(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples over the union of categories (missing is a category)."""
    ref = reference.astype(object).where(reference.notna(), "<missing>").astype(str)
    cur = current.astype(object).where(current.notna(), "<missing>").astype(str)
    categories = sorted(set(ref.unique()) | set(cur.unique()))
    return (
        ref.value_counts().reindex(categories, fill_value=0).to_numpy(),
        cur.value_counts().reindex(categories, fill_value=0).to_numpy(),
    )


def _column_drift(name: str, reference: pd.Series, current: pd.Series, options: DriftOptions) -> dict[str, Any]:
    from scipy import stats

    if pd.api.types.is_numeric_dtype(reference) and pd.api.types.is_numeric_dtype(current):
        ref, cur = reference.to_numpy(dtype=float), current.to_numpy(dtype=float)
        few_values = reference.nunique() <= options.bins  # flags, counts: one bin per value
        counts = category_counts(reference, current) if few_values else numeric_bin_counts(ref, cur, options.bins)
        psi = psi_from_counts(*counts)
        test = stats.ks_2samp(ref[~np.isnan(ref)], cur[~np.isnan(cur)])
        ks, p_value = float(test.statistic), float(test.pvalue)
    else:
        psi, ks, p_value = psi_from_counts(*category_counts(reference, current)), None, None
    drifting = psi > options.psi_alarm or (p_value is not None and p_value < options.alpha)
    return {"column": name, "psi": psi, "ks_statistic": ks, "ks_pvalue": p_value, "drifting": bool(drifting)}


@lru_cache(maxsize=8)
def _reference(path: Path, modified: float) -> pd.DataFrame:
    """The reference sample, read once per process (re-read if the file changes)."""
    file_format = dataset_format(path, None)
    if file_format is None:
        raise ValueError(f"{path.name}: unknown file type; use .csv, .jsonl or .parquet")
    return read_table(path, file_format)


def load_reference(options: DriftOptions, base_dir: Path) -> pd.DataFrame:
    """The reference sample named in the options, resolved from the suite's folder."""
    path = (base_dir / options.reference).resolve()
    return _reference(path, path.stat().st_mtime)


@dataclass(frozen=True)
class Drift:
    """Data drift between a reference sample and the evaluated rows, per column."""

    name: str = "drift"
    options: type[GateOptions] = DriftOptions
    description: str = "largest per-column PSI (or KS statistic) against a reference sample"
    requires: tuple[tuple[str, str], ...] = (("scipy", "drift"),)

    def check_suite(
        self, options: DriftOptions, available: list[str], base_dir: Path
    ) -> list[tuple[tuple[Any, ...], str]]:
        """The reference must be readable and hold every compared column; so must the dataset."""
        try:
            reference = load_reference(options, base_dir)
        except (OSError, ValueError) as error:
            return [(("reference",), f"cannot read the reference sample: {error}")]
        problems = []
        for index, column in enumerate(options.columns or available):
            where: tuple[Any, ...] = ("columns", index) if options.columns else ("reference",)
            if column not in available:
                problems.append((where, f"column '{column}' is not a dataset input" + did_you_mean(column, available)))
            if column not in reference.columns:
                problems.append((where, f"column '{column}' is not in the reference sample {options.reference}"))
        return problems

    def compute(self, predictions: Predictions, options: DriftOptions, settings: MetricSettings) -> MetricValue:
        """Per-column PSI and KS; the value is the largest of the gated statistic."""
        reference = load_reference(options, settings.base_dir)
        columns = options.columns or [str(c) for c in predictions.inputs.columns]
        figures = [_column_drift(c, reference[c], predictions.inputs[c], options) for c in columns]
        key = "psi" if options.statistic == "psi" else "ks_statistic"
        gated = [f[key] for f in figures if f[key] is not None]
        return MetricValue(
            value=max(gated) if gated else float("nan"),
            n=len(predictions),
            interval=None,
            method=f"largest {options.statistic} over {len(figures)} columns (reference: {len(reference)} rows)",
            row_loss=None,
            details={"columns": figures, "drifting": [f["column"] for f in figures if f["drifting"]]},
        )


DRIFT = Drift()
