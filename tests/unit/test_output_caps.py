"""Output stays small whatever the model answers: 1 MB answers from a ``file`` target give a short
terminal, small reports and run.json, and rows.jsonl keeps every answer whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from evalharness.predictions import Predictions
from evalharness.record import GateRecord
from evalharness.report.failure import format_gate_failure
from evalharness.report.rows import read_rows
from evalharness.untrusted import DEFAULT_MAX_CELL_CHARS, max_cell_chars, untrusted

MEGABYTE = 1_000_000
ROWS = 12


def padded(head: str, length: int) -> str:
    return head + "x" * (length - len(head))


def answers_project(folder: Path, name: str = "suite", rows: int = ROWS, size: int = MEGABYTE) -> list[str]:
    """A dataset of ``rows`` rows and a file of answers, each ``size`` characters (the first 100,047);
    every answer is wrong. Returns the answers."""
    ids = [f"{name}-{i}" for i in range(rows)]
    answers = [padded(f"row {i} says ", 100_047 if i == 0 else size) for i in range(rows)]
    pd.DataFrame({"row_id": ids, "predicted": answers}).to_json(folder / f"{name}-answers.jsonl", orient="records",
                                                                lines=True)  # fmt: skip
    cells = ["c" * size] + ["short"] * (rows - 1)  # one dataset cell of 1 MB too
    pd.DataFrame({"row_id": ids, "note": cells, "y": ["yes"] * rows}).to_csv(folder / f"{name}.csv", index=False)
    (folder / f"{name}.yaml").write_text(
        f"schema: 1\nname: {name}\ntarget: {{kind: file, path: {name}-answers.jsonl}}\n"
        f"dataset: {{path: {name}.csv, id: row_id, expected: y, inputs: [note]}}\n"
        "metrics:\n  accuracy: {min: 0.9}\n"
    )
    return answers


def run_pytest(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness-report-dir=reports", "-rA",
               "-vv", *options]  # fmt: skip
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PY_COLORS": "0"})  # fmt: skip


def test_megabyte_answers_give_small_outputs_and_whole_rows(tmp_path: Path) -> None:
    answers = answers_project(tmp_path)
    result = run_pytest(tmp_path, "--evalharness", "suite.yaml")
    assert result.returncode == 1, result.stdout[-3000:]
    reports = tmp_path / "reports"
    assert len(result.stdout) + len(result.stderr) < 30_000
    assert max(len(line) for line in result.stdout.splitlines()) < 400
    assert "row 0 says xxx" in result.stdout and "…(100,047 chars)" in result.stdout
    assert "…(1,000,000 chars)" in result.stdout
    assert (reports / "report.html").stat().st_size < 150_000
    assert (reports / "junit.xml").stat().st_size < 30_000
    assert (reports / "run.json").stat().st_size < 150_000
    record = json.loads((reports / "run.json").read_text())
    (suite,) = record["suites"]
    kept = [row["predicted"] for row in suite["failing_rows"] + suite["gates"][0]["worst_rows"]]
    kept += [label for label in suite["confusion_matrix"]["labels"]]
    assert kept and all(len(text) <= DEFAULT_MAX_CELL_CHARS for text in kept)
    assert suite["failing_rows"][0]["inputs"]["note"].endswith("…(1,000,000 chars)")
    header, rows = read_rows(reports / "rows.jsonl")
    assert header["suites"] == ["suite.yaml"] and [row["predicted"] for row in rows] == answers


def test_rows_of_every_suite_are_merged_under_xdist(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    first = answers_project(tmp_path, "first", rows=4, size=2000)
    second = answers_project(tmp_path, "second", rows=3, size=3000)
    result = run_pytest(tmp_path, "--evalharness", "first.yaml", "--evalharness", "second.yaml", "-n", "2")
    assert result.returncode == 1, result.stdout[-3000:]
    header, rows = read_rows(tmp_path / "reports" / "rows.jsonl")
    order = [suite["path"] for suite in json.loads((tmp_path / "reports" / "run.json").read_text())["suites"]]
    assert header["version"] == 1 and header["suites"] == order and sorted(order) == ["first.yaml", "second.yaml"]
    answers = {"first.yaml": first, "second.yaml": second}
    assert [(row["suite"], row["predicted"]) for row in rows] == [(s, a) for s in order for a in answers[s]]
    assert not (tmp_path / "reports" / ".rows-parts").exists()  # the parts were merged and removed
    assert "reports/rows.jsonl" in result.stdout


def test_failure_text_cells_are_capped_with_their_full_length() -> None:
    row: dict[str, Any] = {"id": "i" * 5000, "expected": "yes", "predicted": "p" * 100_047, "loss": 1.0,
                           "inputs": {"note": "n" * 300}}  # fmt: skip
    gate = GateRecord(name="accuracy", nodeid="s::accuracy", metric="accuracy", status="failed", value=0.0, n=1,
                      min=0.9, message="m" * 10_000, worst_rows=[row]).bounded(DEFAULT_MAX_CELL_CHARS)  # fmt: skip
    assert len(gate.message) <= 4000 and gate.worst_rows[0]["predicted"].endswith("…(100,047 chars)")
    text = format_gate_failure(gate)
    assert len(text) < 2000 and "…(100,047 chars)" in text and "…(5,000 chars)" in text


def test_a_case_row_and_its_message_are_capped() -> None:
    row = {"id": "case", "expected": "yes", "predicted": "p" * MEGABYTE, "inputs": {"text": "t" * MEGABYTE}}
    gate = GateRecord(name="cases::c", nodeid="s::cases::c", metric="case", status="failed",
                      message=f"expected 'yes', the target answered {row['predicted']!r}",
                      details={"case": row}, worst_rows=[row]).bounded(50)  # fmt: skip
    assert len(gate.model_dump_json()) < 6000
    assert gate.details["case"]["predicted"] == untrusted("p" * MEGABYTE, 50)
    assert len(format_gate_failure(gate)) < 1000


def test_rows_and_worst_cap_text_only_when_asked() -> None:
    predictions = Predictions(ids=np.array(["a", "b"], dtype=object), expected=np.array(["x", "y"], dtype=object),
                              predicted=np.array(["z" * 1000, "y"], dtype=object), score=None,
                              inputs=pd.DataFrame({"q": ["w" * 1000, "v"]}))  # fmt: skip
    assert predictions.rows(np.array([0]))[0]["predicted"] == "z" * 1000
    (capped,) = predictions.rows(np.array([0]), limit=40)
    assert len(capped["predicted"]) == 40 and capped["predicted"].endswith("…(1,000 chars)")
    assert len(capped["inputs"]["q"]) == 40
    assert predictions.worst(count=1, limit=40)[0]["predicted"] == capped["predicted"]


def test_the_cap_is_read_from_the_suite_report_section() -> None:
    assert max_cell_chars(SimpleNamespace(report=SimpleNamespace(max_cell_chars=50))) == 50
    assert max_cell_chars(SimpleNamespace(report=SimpleNamespace(worst_rows=5))) == DEFAULT_MAX_CELL_CHARS
    assert max_cell_chars(None) == DEFAULT_MAX_CELL_CHARS
