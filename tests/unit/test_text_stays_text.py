"""Text stays text: ``None``, ``NA``, ``null`` and empty cells of a text column are answers, not missing.

Regression: a CSV ``file`` target answering ``None``, ``NA`` and "" had its gates error with
"3 dataset rows have no answer". Files are read back with Python's own csv and json modules as
the independent reading.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.errors import TargetError
from evalharness.session import EvalSession
from evalharness.suite.dataset import read_table
from tests.builders import write_suite

LITERALS = ["None", "NA", "null", "", "NaN", "n/a", "#N/A", "nan"]


def test_csv_text_columns_keep_every_literal(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    rows = [{"id": i, "text": text, "number": "" if i % 3 == 0 else str(i)} for i, text in enumerate(LITERALS)]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "text", "number"])
        writer.writeheader()
        writer.writerows(rows)
    frame = read_table(path, "csv")
    assert frame["text"].tolist() == LITERALS  # as Python's csv module reads them
    assert frame["text"].notna().all()
    assert frame["number"].dtype == np.float64  # numbers stay numbers...
    assert frame["number"].isna().tolist() == [i % 3 == 0 for i in range(len(LITERALS))]  # ...empty cells missing


def test_csv_numeric_column_with_a_word_is_text(tmp_path: Path) -> None:
    """Only an empty cell is a missing number; a column holding ``NA`` is a text column, as written."""
    path = tmp_path / "t.csv"
    path.write_text("id,amount\n1,10.5\n2,NA\n3,\n")
    frame = read_table(path, "csv")
    assert frame["amount"].tolist() == ["10.5", "NA", ""]


def test_csv_booleans_and_missing_stay_as_pandas_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,flag\n1,True\n2,False\n3,\n")
    frame = read_table(path, "csv")
    assert frame["flag"].tolist()[:2] == [True, False] and pd.isna(frame["flag"].iloc[2])


def test_jsonl_keeps_json_types(tmp_path: Path) -> None:
    records = [
        {"id": 1, "text": "None", "code": "1", "when": "2020-01-01", "x": 1.5},
        {"id": 2, "text": "NA", "code": "02", "when": "2020-01-02", "x": None},
        {"id": 3, "text": "", "code": "3", "when": "2020-01-03", "x": 2},
    ]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    frame = read_table(path, "jsonl")
    independent = [json.loads(line) for line in path.read_text().splitlines()]
    for column in ("text", "code", "when"):
        assert frame[column].tolist() == [record[column] for record in independent]
    assert frame["x"].iloc[0] == 1.5 and pd.isna(frame["x"].iloc[1])


def _answers_project(tmp_path: Path, answers: list[str], expected: list[str]) -> Path:
    ids = [f"r{i}" for i in range(len(answers))]
    pd.DataFrame({"row_id": ids, "question": [f"q{i}" for i in ids], "y": expected}).to_csv(
        tmp_path / "data.csv", index=False
    )
    with (tmp_path / "out.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row_id", "answer"])
        writer.writerows(zip(ids, answers))
    return write_suite(
        tmp_path, "accuracy: {min: 0.5}",
        target="{kind: file, path: out.csv, label: answer}",
        dataset="{path: data.csv, id: row_id, expected: y, inputs: [question]}",
    )  # fmt: skip


def test_file_target_answers_that_look_missing_are_scored(tmp_path: Path) -> None:
    expected = ["None", "NA", "", "null", "yes", "no"]
    answers = ["None", "NA", "", "nil", "yes", "NA"]
    suite = _answers_project(tmp_path, answers, expected)
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    try:
        gate = state.run_for(suite).evaluate_gate("accuracy", "suite.yaml::accuracy")
    finally:
        state.close()
    assert gate.status == "passed" and gate.n == 6
    assert gate.value == pytest.approx(np.mean([a == e for a, e in zip(answers, expected)]))  # 4 of 6


def test_a_missing_number_is_still_no_answer(tmp_path: Path) -> None:
    pd.DataFrame({"row_id": ["a", "b"], "x": [1.0, 2.0], "y": [0, 1]}).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "out.csv").write_text("row_id,answer\na,1\nb,\n")
    suite = write_suite(
        tmp_path, "accuracy: {min: 0.5}",
        target="{kind: file, path: out.csv, label: answer}",
        dataset="{path: data.csv, id: row_id, expected: y, inputs: [x]}",
    )  # fmt: skip
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    try:
        with pytest.raises(TargetError, match=r"1 dataset rows have no answer in out.csv \(ids b\)"):
            state.run_for(suite).predictions()
    finally:
        state.close()
