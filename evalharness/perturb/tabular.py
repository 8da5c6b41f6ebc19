"""Tabular recipes: noise relative to each column's spread, scaling, categorical swap, missing values.

Each recipe touches a ``rate`` share of rows, chosen by the seeded generator it is given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def chosen_rows(rng: np.random.Generator, rows: int, rate: float) -> np.ndarray:
    """Boolean mask of the rows a recipe changes (each row with probability ``rate``)."""
    return rng.random(rows) < rate


def _keep_integers(original: pd.Series, values: np.ndarray) -> np.ndarray:
    return np.round(values) if pd.api.types.is_integer_dtype(original) else values


def _sequence_noise(column: pd.Series, rng: np.random.Generator, rate: float, scale: float) -> pd.Series:
    """Noise on columns whose cells are sequences: each position's spread sets its noise."""
    matrix = np.array([np.asarray(cell, dtype=float) for cell in column])
    mask = chosen_rows(rng, len(matrix), rate)
    spread = np.nanstd(matrix, axis=0)
    matrix[mask] += rng.normal(0.0, 1.0, (int(mask.sum()), matrix.shape[1])) * scale * spread
    return pd.Series(list(matrix.tolist()), index=column.index, name=column.name, dtype=object)


def noise(column: pd.Series, rng: np.random.Generator, rate: float, scale: float) -> pd.Series:
    """Add Gaussian noise of ``scale`` x the column's standard deviation to the chosen rows."""
    if len(column) and isinstance(column.iloc[0], (list, tuple, np.ndarray)):
        return _sequence_noise(column, rng, rate, scale)
    values = column.to_numpy(dtype=float).copy()
    mask = chosen_rows(rng, len(values), rate)
    spread = float(np.nanstd(values)) or 1.0
    values[mask] += rng.normal(0.0, scale * spread, int(mask.sum()))
    return pd.Series(_keep_integers(column, values), index=column.index, name=column.name)


def scaling(column: pd.Series, rng: np.random.Generator, rate: float, factor: float) -> pd.Series:
    """Multiply the chosen rows by ``factor`` (e.g. amounts in another currency)."""
    values = column.to_numpy(dtype=float).copy()
    mask = chosen_rows(rng, len(values), rate)
    values[mask] *= factor
    return pd.Series(_keep_integers(column, values), index=column.index, name=column.name)


def categorical_swap(column: pd.Series, rng: np.random.Generator, rate: float) -> pd.Series:
    """Replace the chosen rows' value with another value of the column, drawn by frequency.

    Vectorised over the column's categories, not its rows: the chosen rows holding one value draw
    their replacements together, from every other value weighted by how often it occurs.
    """
    codes, values = pd.factorize(column)
    mask = chosen_rows(rng, len(codes), rate)
    weights = np.bincount(codes[codes >= 0], minlength=len(values)).astype(float)
    swapped = codes.copy()
    for code in np.unique(codes[mask]):  # -1: a missing value, which any value may replace
        rows = np.flatnonzero(mask & (codes == code))
        others = np.flatnonzero(np.arange(len(values)) != code)
        if others.size:
            swapped[rows] = rng.choice(others, size=rows.size, p=weights[others] / weights[others].sum())
    if not mask.any():
        return column.copy()
    taken = np.asarray(values, dtype=object)[np.maximum(swapped, 0)] if len(values) else np.empty(len(codes), object)
    left_missing = np.flatnonzero(swapped < 0)  # missing and not chosen: stays as it was (None, NaN)
    taken[left_missing] = column.iloc[left_missing].to_numpy(dtype=object)
    return pd.Series(taken, index=column.index, name=column.name).astype(column.dtype)


def missing(column: pd.Series, rng: np.random.Generator, rate: float) -> pd.Series:
    """Blank the chosen rows (NaN for numbers, None for text)."""
    mask = chosen_rows(rng, len(column), rate)
    blanked = column.astype(float) if pd.api.types.is_integer_dtype(column) else column.copy()
    blanked[mask] = np.nan if pd.api.types.is_numeric_dtype(blanked) else None
    return blanked
