"""``rows.jsonl``: every suite row's answer, whole, in one file beside run.json.

run.json keeps capped samples (the worst and the failing rows, values cut to ``max_cell_chars``);
the full answers of a run are here, for people and for tools that pair two runs row by row
(candidate against baseline). The answers are never printed to the terminal.

Format (JSON Lines, UTF-8, one JSON object a line):

- Line 1, the header::

      {"format": "evalharness-rows", "version": 1, "run_started_at": "2025-01-31T12:00:00+00:00",
       "suites": ["suites/finance.yaml"], "fields": ["suite", "id", "expected", "predicted", "score"]}

  ``run_started_at`` is run.json's ``started_at``; ``suites`` lists, in run.json's order, the
  suites whose rows follow (a suite whose predictions failed has none).
- Then one line per dataset row, suite by suite, rows in dataset order::

      {"suite": "suites/finance.yaml", "id": "txn-0001", "expected": 1, "predicted": 0, "score": 0.31}

  ``suite`` is the suite's path as run.json's ``suites[].path`` writes it; ``id``, ``expected`` and
  ``predicted`` are the values as read and answered: text, numbers, booleans, or lists of numbers
  when the target answers a sequence per row; ``score`` is the positive-class score, or null when
  the target gives none. A missing value (NaN, infinity) is null.

Text is kept whole. Secret values read from the environment are redacted (``***``). Control
characters stay JSON escapes (``\\u001b``), never raw bytes, so printing the file cannot drive a
terminal. Readers check ``format`` and ``version`` (a new version is an incompatible change) and
ignore keys they do not know (new keys may be added within a version).

Under pytest-xdist each process writes the suites it predicted to its own part file (under
``.rows-parts/`` in the report folder); the process that writes the reports merges the parts
atomically into ``rows.jsonl`` and removes them.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evalharness.atomic import replacing
from evalharness.report.json_columns import encode_value, json_column

if TYPE_CHECKING:
    from evalharness.predictions import Predictions

ROWS_FILE = "rows.jsonl"
ROWS_FORMAT = "evalharness-rows"
ROWS_VERSION = 1
FIELDS = ("suite", "id", "expected", "predicted", "score")
OPTIONAL_FIELDS = ("raw", "outcome")
"""Kept for endpoint targets: the answer's whole text, and ok, unparsed, cut_off or a failure."""
PARTS_DIR = ".rows-parts"

CHUNK_ROWS = 65_536
"""Rows encoded and written at a time: bounds the memory the text of a large suite takes."""

# json.dumps(ensure_ascii=False) escapes C0 controls itself; these it would write raw.
_RAW = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escaped(text: str) -> str:
    """``text`` with the characters JSON may leave raw written as ``\\uXXXX`` escapes."""
    if text.isascii():  # a flag every str keeps: no scan
        return text
    return _RAW.sub(lambda match: f"\\u{ord(match.group()):04x}", text) if _RAW.search(text) else text


def _line(row: dict[str, Any]) -> str:
    return _escaped(json.dumps(row, ensure_ascii=False, allow_nan=False)) + "\n"


def _expected_values(predictions: Predictions, rows: slice) -> np.ndarray:
    """The expected answers as the dataset holds them: a list of acceptable answers stays a list."""
    expected, raw = predictions.expected[rows], predictions.raw_expected[rows]
    if predictions.is_sequence or raw.dtype != object:
        return expected
    lists = [position for position, value in enumerate(raw.tolist()) if isinstance(value, (list, tuple))]
    if not lists:
        return expected
    mixed = expected.astype(object)
    for position in lists:
        mixed[position] = list(raw[position])
    return mixed


def _chunk(suite: str, predictions: Predictions, rows: slice) -> str:
    """The JSON lines of ``rows``, encoded column by column (see :mod:`evalharness.report.json_columns`)."""
    count = len(range(*rows.indices(len(predictions))))
    name = encode_value(suite)
    scores = ["null"] * count if predictions.score is None else json_column(predictions.score[rows])
    columns = [
        json_column(predictions.ids[rows]),
        json_column(_expected_values(predictions, rows)),
        json_column(predictions.predicted[rows], missing=~predictions.answered[rows]),
        scores,
    ]
    lines = [f'{{"suite": {name}, "id": {i}, "expected": {e}, "predicted": {p}, "score": {c}'
             for i, e, p, c in zip(*columns)]  # fmt: skip
    if predictions.raw is not None:
        lines = [f'{line}, "raw": {raw}' for line, raw in zip(lines, json_column(predictions.raw[rows]))]
    if predictions.outcome is not None:
        outcomes = json_column([str(value) for value in predictions.outcome[rows]])
        lines = [f'{line}, "outcome": {outcome}' for line, outcome in zip(lines, outcomes)]
    return _escaped("}\n".join(lines) + "}\n") if lines else ""


def row_lines(suite: str, predictions: Predictions, chunk_rows: int = CHUNK_ROWS) -> Iterator[str]:
    """The JSON lines of every row of ``predictions``, ``chunk_rows`` rows to a string; an
    endpoint's rows also keep the answer's whole text (``raw``) and how the request ended (``outcome``)."""
    for start in range(0, len(predictions), chunk_rows):
        yield _chunk(suite, predictions, slice(start, start + chunk_rows))


def write_part(suite: str, predictions: Predictions, report_dir: Path) -> Path:
    """Write one suite's rows to a new part file in ``report_dir``; returns its absolute path."""
    folder = (report_dir / PARTS_DIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.jsonl"
    with replacing(path) as out:
        out.writelines(row_lines(suite, predictions))
    return path


def merge_parts(path: Path, started_at: str, parts: list[tuple[str, str]]) -> Path:
    """Write ``path`` atomically: the header, then each ``(suite, part file)`` in order; parts are removed.

    A part that is gone (its process could not write it) leaves its suite out of the header too.
    """
    present = [(suite, Path(part)) for suite, part in parts if Path(part).is_file()]
    header = {"format": ROWS_FORMAT, "version": ROWS_VERSION, "run_started_at": started_at,
              "suites": [suite for suite, _ in present], "fields": list(FIELDS),
              "optional_fields": list(OPTIONAL_FIELDS)}  # fmt: skip
    with replacing(path, "wb") as out:
        out.write(_line(header).encode("utf-8"))
        for _, part in present:
            with part.open("rb") as source:
                shutil.copyfileobj(source, out)
    for _, part in present:
        part.unlink(missing_ok=True)
        try:
            part.parent.rmdir()  # once the last part is gone
        except OSError:
            pass
    return path


def read_rows(path: Path) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The header of a rows file and an iterator over its rows; refuses another format or a newer version."""
    source = path.open(encoding="utf-8")
    try:
        header = json.loads(source.readline() or "{}")
    except ValueError:
        source.close()
        raise
    if not isinstance(header, dict) or header.get("format") != ROWS_FORMAT:
        source.close()
        raise ValueError(f"{path} is not an evalharness rows file (its first line has no format {ROWS_FORMAT!r})")
    if not isinstance(header.get("version"), int) or header["version"] > ROWS_VERSION:
        source.close()
        raise ValueError(f"{path} is rows format version {header.get('version')}; this evalharness reads "
                         f"{ROWS_VERSION} and older: upgrade")  # fmt: skip

    def rows() -> Iterator[dict[str, Any]]:
        with source:
            for line in source:
                if line.strip():
                    yield json.loads(line)

    return header, rows()
