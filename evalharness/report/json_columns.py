"""Whole columns encoded as JSON values, one text per row, at compiled speed where the type allows.

``rows.jsonl`` holds a line per dataset row: at a million rows, one ``json.dumps`` per row is most
of a run's time. A column of one numpy type is encoded in one pass instead (integers by ``str``,
floats by ``repr``, which is what ``json`` writes, text by the C string encoder), and only a
column of mixed Python objects falls back to encoding value by value. Every value is written
exactly as ``json.dumps(plain(value), ensure_ascii=False)`` would write it.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
from typing import Any

import numpy as np

from evalharness.targets.secrets import redact


def plain(value: Any) -> Any:
    """A value as JSON: numpy scalars and arrays as Python ones, NaN and infinities as null, text redacted."""
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        value = value.tolist()
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if value is None or isinstance(value, (bool, int)):
        return value
    return redact(str(value))


def encode_value(value: Any) -> str:
    """One value as JSON text (what :func:`json_column` writes for a mixed column)."""
    if type(value) is str:
        return str(encode_basestring(redact(value)))
    return json.dumps(plain(value), ensure_ascii=False, allow_nan=False)


def json_column(values: Any, missing: np.ndarray | None = None) -> list[str]:
    """Each value of ``values`` (an array or sequence, one per row) as JSON text; ``null`` where
    ``missing`` is true."""
    array = np.asarray(values) if not isinstance(values, np.ndarray) else values
    if array.ndim != 1:  # a sequence per row: (rows, steps)
        texts = [encode_value(row) for row in array]
    elif array.dtype.kind == "b":
        texts = ["true" if value else "false" for value in array.tolist()]
    elif array.dtype.kind in "iu":
        texts = list(map(str, array.tolist()))
    elif array.dtype.kind == "f":
        texts = list(map(float.__repr__, array.tolist()))
        for position in np.flatnonzero(~np.isfinite(array)).tolist():
            texts[position] = "null"
    elif array.dtype.kind == "U":
        texts = [encode_basestring(redact(value)) for value in array.tolist()]
    else:
        texts = [encode_value(value) for value in array.tolist()]
    if missing is not None:
        for position in np.flatnonzero(missing).tolist():
            texts[position] = "null"
    return texts
