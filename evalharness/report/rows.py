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
import math
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalharness.targets.secrets import redact

if TYPE_CHECKING:
    from evalharness.predictions import Predictions

ROWS_FILE = "rows.jsonl"
ROWS_FORMAT = "evalharness-rows"
ROWS_VERSION = 1
FIELDS = ("suite", "id", "expected", "predicted", "score")
OPTIONAL_FIELDS = ("raw", "outcome")
"""Kept for endpoint targets: the answer's whole text, and ok, unparsed, cut_off or a failure."""
PARTS_DIR = ".rows-parts"

# json.dumps(ensure_ascii=False) escapes C0 controls itself; these it would write raw.
_RAW = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _plain(value: Any) -> Any:
    """A value as JSON: numpy scalars and arrays as Python ones, NaN and infinities as null, text redacted."""
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        value = value.tolist()
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, (bool, int)):
        return value
    return redact(str(value))


def _line(row: dict[str, Any]) -> str:
    text = json.dumps(row, ensure_ascii=False, allow_nan=False)
    return _RAW.sub(lambda match: f"\\u{ord(match.group()):04x}", text) + "\n"


def row_lines(suite: str, predictions: Predictions) -> Iterator[str]:
    """One JSON line per row of ``predictions``; an endpoint's rows also keep the answer's whole
    text (``raw``) and how the request ended (``outcome``)."""
    scores, raw, outcome = predictions.score, predictions.raw, predictions.outcome
    for position in range(len(predictions)):
        row = {
            "suite": suite,
            "id": _plain(predictions.ids[position]),
            "expected": _plain(predictions.expected_value(position)),
            "predicted": _plain(predictions.predicted_value(position)),
            "score": None if scores is None else _plain(scores[position]),
        }
        if raw is not None:
            row["raw"] = _plain(raw[position])
        if outcome is not None:
            row["outcome"] = str(outcome[position])
        yield _line(row)


def write_part(suite: str, predictions: Predictions, report_dir: Path) -> Path:
    """Write one suite's rows to a new part file in ``report_dir``; returns its absolute path."""
    folder = (report_dir / PARTS_DIR).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.jsonl"
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="\n") as out:
        out.writelines(row_lines(suite, predictions))
    partial.replace(path)
    return path


def merge_parts(path: Path, started_at: str, parts: list[tuple[str, str]]) -> Path:
    """Write ``path`` atomically: the header, then each ``(suite, part file)`` in order; parts are removed.

    A part that is gone (its process could not write it) leaves its suite out of the header too.
    """
    present = [(suite, Path(part)) for suite, part in parts if Path(part).is_file()]
    header = {"format": ROWS_FORMAT, "version": ROWS_VERSION, "run_started_at": started_at,
              "suites": [suite for suite, _ in present], "fields": list(FIELDS),
              "optional_fields": list(OPTIONAL_FIELDS)}  # fmt: skip
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        out.write(_line(header).encode("utf-8"))
        for _, part in present:
            with part.open("rb") as source:
                shutil.copyfileobj(source, out)
    partial.replace(path)
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
