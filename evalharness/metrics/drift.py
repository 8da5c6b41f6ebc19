"""``drift``: how far the evaluated inputs have moved from a reference sample, per column.

Numeric columns get the population stability index (PSI) over the reference's quantile bins (one
bin per value when the reference has no more distinct values than bins) and the two-sample
Kolmogorov-Smirnov test (:mod:`evalharness.metrics.ks`: scipy's answers without importing scipy);
categorical columns get PSI over categories.
Values are compared as values, not as text, whatever the two files' dtypes: an int column and the same
column read as float (one empty CSV cell is enough), as bool, or as text that reads as numbers is the
same column. Missing values are a bin of their own. The gated value is the largest PSI (or KS statistic)
over the compared columns; every column's figures, and which ones drift, go into the record, and the
columns of highest PSI keep the share of rows in each bin PSI compared (the report plots them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.ks import ks_2samp
from evalharness.metrics.registry import did_you_mean
from evalharness.predictions import Predictions
from evalharness.suite.dataset import dataset_format, read_table
from evalharness.suite.fields import Bounds, GateOptions
from evalharness.untrusted import untrusted

PROPORTION_FLOOR = 1e-4
"""Empty bins count as this share, so PSI stays finite (the usual convention)."""
DISTRIBUTION_COLUMNS = 4
"""How many columns, highest PSI first, keep their binned shares in the record (the report charts them)."""
DISTRIBUTION_BINS = 50
"""The most bins one column's shares keep: finer numeric bins are merged with their neighbours, the
rarest categories pooled into one "other" bin (missing values, when there are any, come on top)."""
MISSING_LABEL = "(missing)"


class DriftOptions(GateOptions):
    """Options of ``drift``: the reference sample, the columns, and what is gated."""

    value_range: ClassVar[Bounds] = (0.0, None)
    value_range_by: ClassVar[tuple[str, dict[Any, Bounds]] | None] = (
        "statistic",
        {"psi": (0.0, None), "ks": (0.0, 1.0)},
    )

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


def as_numbers(values: pd.Series) -> np.ndarray | None:
    """The values as floats (NaN where missing; bools are 0 and 1), or None if a present value is not a number.

    Text that reads as a number counts as one: a column written as "0"/"1" holds the values 0 and 1.
    """
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
    else:  # each distinct text is parsed once (which also unwraps a categorical dtype)
        codes, distinct = pd.factorize(values)
        parsed = pd.to_numeric(pd.Series(np.asarray(distinct, dtype=object)), errors="coerce")
        numbers = np.append(parsed.to_numpy(dtype=float, na_value=np.nan), np.nan)[codes]  # code -1: missing
    return None if (np.isnan(numbers) & values.notna().to_numpy()).any() else numbers


def _counts_by_edges(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts between consecutive edges (a value on an edge counts above it), then the count of missing values."""
    missing = np.isnan(values)
    binned = np.bincount(np.searchsorted(edges, values[~missing], side="right"), minlength=edges.size + 1)
    return np.append(binned, missing.sum())


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """The inner edges of the reference's quantile bins (the outer bins are open-ended)."""
    present = reference[~np.isnan(reference)]
    return np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)))[1:-1] if present.size else np.empty(0)


def numeric_bin_counts(reference: np.ndarray, current: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples over the reference's quantile bins, plus one bin for missing values."""
    edges = quantile_edges(reference, bins)
    return _counts_by_edges(reference, edges), _counts_by_edges(current, edges)


def distinct_values(reference: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The distinct present values of both samples, sorted."""
    both = np.concatenate([reference, current])
    return np.unique(both[~np.isnan(both)])


def numeric_value_counts(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples per distinct value of either, plus one bin for missing values.

    Values are compared as numbers, so 1 (int), 1.0 (float) and True are one bin.
    """
    distinct = distinct_values(reference, current)
    # every distinct value but the smallest starts a bin: each value then has a bin to itself
    return _counts_by_edges(reference, distinct[1:]), _counts_by_edges(current, distinct[1:])


def _text_mask(objects: pd.Series) -> pd.Series:
    """Which values are text; decided once per Python type present, not once per value."""
    types = objects.map(type)
    return types.isin([kind for kind in types.unique() if issubclass(kind, str)])


def _only_text(values: pd.Series) -> bool:
    """Whether every present value is text: a string dtype, or objects that are all ``str``."""
    if isinstance(values.dtype, pd.StringDtype):
        return True
    return values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def _category_keys(values: pd.Series, parse_text: bool) -> pd.Series:
    """What each value is counted under: numbers (and bools) by value, so 1, 1.0 and True are one category;
    text as itself, or by the number it reads as when ``parse_text``; anything else by its text; NaN if missing."""
    objects = values.astype(object)
    text = _text_mask(objects)
    numbers = pd.to_numeric(objects.where(~text | parse_text), errors="coerce").astype(float)
    keys = objects.where(text, objects.astype(str)).where(numbers.isna(), numbers)
    return keys.where(values.notna())


def category_counts(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples over the union of categories (numbers first, then text, sorted), plus missing.

    Where one side is stored as numbers, text on the other side that reads as a number is that number
    (so 1 and "1" agree); between two text columns "01" and "1" stay distinct categories.
    """
    ref_counts, cur_counts, _ = category_table(reference, current)
    return ref_counts, cur_counts


def category_table(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """:func:`category_counts` and the categories counted (the last count, missing values, has none)."""
    parse_text = pd.api.types.is_numeric_dtype(reference) or pd.api.types.is_numeric_dtype(current)
    if not parse_text and _only_text(reference) and _only_text(current):  # text as itself: no per-value work
        same = isinstance(reference.dtype, pd.StringDtype) and reference.dtype == current.dtype
        both = (reference, current) if same else (reference.astype(object), current.astype(object))
        keys = pd.concat(both, ignore_index=True)  # factorised by the string array itself where it can
    else:
        keys = pd.concat([_category_keys(reference, parse_text), _category_keys(current, parse_text)],
                         ignore_index=True)  # fmt: skip
    codes, categories = pd.factorize(keys, sort=True)
    codes = np.where(codes < 0, len(categories), codes)  # missing values (code -1) are the last bin
    return (
        np.bincount(codes[: len(reference)], minlength=len(categories) + 1),
        np.bincount(codes[len(reference) :], minlength=len(categories) + 1),
        list(categories),
    )


def _ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float | None, float | None]:
    """KS statistic and p-value over the present values; None when either side has none (the test needs some)."""
    ref, cur = reference[~np.isnan(reference)], current[~np.isnan(current)]
    if not (ref.size and cur.size):
        return None, None
    test = ks_2samp(ref, cur)
    return test.statistic, test.pvalue


def column_drift(name: str, reference: pd.Series, current: pd.Series, options: DriftOptions) -> dict[str, Any]:
    """PSI (and KS for numbers) of one column, and whether it drifts.

    The column is numeric when both sides hold only numbers and at least one is stored as numbers, whatever the
    dtypes (int, float, bool, or text that reads as numbers); otherwise it is compared per category.
    """
    ref, cur = as_numbers(reference), as_numbers(current)
    stored_as_numbers = pd.api.types.is_numeric_dtype(reference) or pd.api.types.is_numeric_dtype(current)
    if ref is None or cur is None or not stored_as_numbers:
        ref_counts, cur_counts, categories = category_table(reference, current)
        shares = category_shares(categories, ref_counts, cur_counts)
        ks, p_value = None, None
    else:
        if np.unique(ref[~np.isnan(ref)]).size <= options.bins:  # flags, counts: one bin per value
            distinct = distinct_values(ref, cur)
            kind, edges, labels = "values", distinct[1:], [_number_label(value) for value in distinct] or ["(none)"]
        else:
            edges = quantile_edges(ref, options.bins)
            kind, labels = "bins", interval_labels(edges)
        ref_counts, cur_counts = _counts_by_edges(ref, edges), _counts_by_edges(cur, edges)
        shares = numeric_shares(kind, edges, labels, ref_counts, cur_counts)
        ks, p_value = _ks_test(ref, cur)
    psi = psi_from_counts(ref_counts, cur_counts)
    drifting = psi > options.psi_alarm or (p_value is not None and p_value < options.alpha)
    return {"column": name, "psi": psi, "ks_statistic": ks, "ks_pvalue": p_value, "drifting": bool(drifting),
            "distribution": shares}  # fmt: skip


def _number_label(value: float) -> str:
    return f"{value:.4g}"


def interval_labels(edges: np.ndarray) -> list[str]:
    """What each bin between ``edges`` holds (a value on an edge counts above it): ``< 3``, ``[3, 7)``, ``≥ 7``."""
    if not edges.size:
        return ["every value"]
    texts = [_number_label(edge) for edge in edges]
    return [f"< {texts[0]}", *(f"[{low}, {high})" for low, high in zip(texts[:-1], texts[1:])), f"≥ {texts[-1]}"]


def _shares(labels: list[str], ref_counts: np.ndarray, cur_counts: np.ndarray) -> dict[str, Any]:
    """Labels and the share of each sample's rows per bin, the missing bin last when either side has one."""
    keep = len(labels) + (1 if ref_counts[-1] or cur_counts[-1] else 0)
    labels = [*labels, MISSING_LABEL][:keep]
    reference, evaluated = (
        np.round(counts[:keep] / max(counts.sum(), 1), 6).tolist() for counts in (ref_counts, cur_counts)
    )
    return {"labels": labels, "reference": reference, "evaluated": evaluated}


def numeric_shares(kind: str, edges: np.ndarray, labels: list[str], ref_counts: np.ndarray,
                   cur_counts: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """Shares per numeric bin (``kind`` "values": one per distinct value; "bins": quantile bins) between
    ``edges`` as :func:`_counts_by_edges` reads them; past :data:`DISTRIBUTION_BINS` bins, neighbours
    are merged into wider ones."""
    bins = edges.size + 1
    if bins > DISTRIBUTION_BINS:
        kind = "bins"
        group = -(-bins // DISTRIBUTION_BINS)
        starts = np.arange(0, bins, group)
        ref_counts, cur_counts = (np.append(np.add.reduceat(counts[:-1], starts), counts[-1])
                                  for counts in (ref_counts, cur_counts))  # fmt: skip
        edges = edges[group - 1 :: group]
        labels = interval_labels(edges)
    return {"kind": kind, "edges": edges.tolist(), **_shares(labels, ref_counts, cur_counts)}


def category_shares(categories: list[Any], ref_counts: np.ndarray, cur_counts: np.ndarray) -> dict[str, Any]:
    """Shares per category; past :data:`DISTRIBUTION_BINS` categories, the rarest (in both samples
    together) are pooled into one "other" bin, the others kept in their order."""
    if len(categories) <= DISTRIBUTION_BINS:
        return {"kind": "categories", **_shares([_category_label(c) for c in categories], ref_counts, cur_counts)}
    weight = ref_counts[:-1] / max(ref_counts.sum(), 1) + cur_counts[:-1] / max(cur_counts.sum(), 1)
    kept = np.sort(np.argsort(-weight, kind="stable")[: DISTRIBUTION_BINS - 1])
    pooled = np.setdiff1d(np.arange(len(categories)), kept)
    ref_counts, cur_counts = (np.concatenate([counts[kept], [counts[pooled].sum(), counts[-1]]])
                              for counts in (ref_counts, cur_counts))  # fmt: skip
    labels = [*(_category_label(categories[index]) for index in kept), f"other ({len(pooled):,} categories)"]
    return {"kind": "categories", **_shares(labels, ref_counts, cur_counts)}


def _category_label(category: Any) -> str:
    """A category as the chart names it: a number as 4 significant digits, text as one safe short line."""
    return untrusted(_number_label(category) if isinstance(category, float) else category, 60)


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
    requires: tuple[tuple[str, str], ...] = ()  # the KS test is ours (evalharness.metrics.ks), not scipy's

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
        figures = [column_drift(c, reference[c], predictions.inputs[c], options) for c in columns]
        charted = sorted(range(len(figures)), key=lambda index: -figures[index]["psi"])[:DISTRIBUTION_COLUMNS]
        for index in set(range(len(figures))) - set(charted):
            del figures[index]["distribution"]  # the record stays small: shares of the worst columns only
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
