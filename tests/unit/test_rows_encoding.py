"""rows.jsonl, encoded column by column, writes every row exactly as one ``json.dumps`` per row would.

The reference below is the per-row encoding written out independently: each value made plain
(numpy to Python, NaN and infinities to null, text redacted), the row dumped with
``ensure_ascii=False``, then the characters JSON leaves raw escaped.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from evalharness.predictions import Predictions
from evalharness.report.rows import row_lines
from evalharness.targets import secrets

SECRET = "sk-rows-encoding-secret-42"
RAW = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _reference_plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, str):
        return value.replace(SECRET, "***")
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_reference_plain(item) for item in value]
    return value


def _reference_lines(suite: str, predictions: Predictions) -> str:
    lines = []
    for position in range(len(predictions)):
        row = {
            "suite": suite,
            "id": _reference_plain(predictions.ids[position]),
            "expected": _reference_plain(predictions.expected_value(position)),
            "predicted": _reference_plain(predictions.predicted_value(position)),
            "score": None if predictions.score is None else _reference_plain(predictions.score[position]),
        }
        if predictions.raw is not None:
            row["raw"] = _reference_plain(predictions.raw[position])
        if predictions.outcome is not None:
            row["outcome"] = str(predictions.outcome[position])
        text = json.dumps(row, ensure_ascii=False, allow_nan=False)
        lines.append(RAW.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n")
    return "".join(lines)


@pytest.fixture
def planted_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROWS_ENCODING_KEY", SECRET)
    secrets.expand("${env:ROWS_ENCODING_KEY}")
    yield
    secrets._SEEN.discard(SECRET)


def _frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(rows)})


TEXTS = ['say "hi"\n', "tab\there", "\x1b[31mred", "line\u2028sep", "del\x7f", "back\\slash", "é ü 漢字",
         f"Bearer {SECRET}", "lone \ud800 surrogate", "", "NA"]  # fmt: skip


@pytest.mark.usefixtures("planted_secret")
@pytest.mark.parametrize("chunk_rows", [1, 3, 65_536])
def test_labels_and_text_encode_as_one_dumps_per_row(chunk_rows: int) -> None:
    rows = len(TEXTS)
    rng = np.random.default_rng(0)
    score = rng.random(rows)
    score[[1, 4]] = [np.nan, np.inf]
    predicted = np.array(TEXTS[::-1], dtype=object)
    predicted[[2, 5]] = None  # no answer: null, never the text 'None'
    raw = np.array([f"answer {t}" for t in TEXTS], dtype=object)
    raw[2] = None
    outcome = np.array(["ok"] * rows, dtype=object)
    outcome[2] = "http_error"
    predictions = Predictions(np.array(TEXTS, dtype=object), np.array(TEXTS, dtype=object), predicted, score,
                              _frame(rows), raw=raw, outcome=outcome)  # fmt: skip
    written = "".join(row_lines("suites/a \u2028 b.yaml", predictions, chunk_rows))
    assert written == _reference_lines("suites/a \u2028 b.yaml", predictions)
    assert SECRET not in written and all(json.loads(line) for line in written.splitlines())


def test_numbers_booleans_lists_and_sequences_encode_as_one_dumps_per_row() -> None:
    ids = np.arange(5, dtype=np.int64) * 10**12
    numbers = Predictions(ids, np.array([0.1, 2.5, 1e16, -0.0, 3.0]), np.array([1.0, np.nan, 1e-300, 2.0, 5.5]),
                          None, _frame(5))  # fmt: skip
    flags = Predictions(np.arange(3, dtype=np.uint8), np.array([True, False, True]), np.array([True, True, False]),
                        np.array([0.9, 0.2, 0.6], dtype=np.float32), _frame(3), positive_label=True)  # fmt: skip
    acceptable = np.empty(3, dtype=object)
    acceptable[:] = [["Paris", "paris"], "Rome", ("Oslo",)]
    lists = Predictions(np.array(["a", "b", "c"]), acceptable, np.array(["Paris", "rome", "Oslo"], dtype=object),
                        None, _frame(3))  # fmt: skip
    sequences = Predictions(np.array(["s1", "s2"]), np.array([[1.0, 2.0], [3.0, np.nan]]),
                            np.array([[1.5, np.inf], [3.0, 4.0]]), None, _frame(2))  # fmt: skip
    for predictions in (numbers, flags, lists, sequences):
        written = "".join(row_lines("s", predictions, 2))
        assert written == _reference_lines("s", predictions)
