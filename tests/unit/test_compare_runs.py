"""Across runs: ``--evalharness-baseline RUN_JSON`` and ``evalharness compare BASE.json CANDIDATE.json``.

A stored run's answers (rows.jsonl) pair with today's rows by id, so its comparison must equal the
one a suite with the same model as ``baseline:`` computes in one run; without answers the
comparison falls back to the two recorded intervals, checked here against the formula.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from evalharness.cli import main
from evalharness.errors import SuiteError
from evalharness.session import EvalSession
from tests.builders import logistic_onnx, two_feature_frame, write_suite

METRICS = "accuracy: {min: 0.8, max_drop: 0.01, gate_on: bound}\nf1: {min_retention: 0.95}\nauc: {max_drop: 0.02}"
PLAIN = "accuracy: {min: 0.8, gate_on: bound}\nf1: {}\nauc: {}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Candidate model.onnx, production base.onnx, 2,000 rows; a stored production run in main/."""
    monkeypatch.chdir(tmp_path)
    logistic_onnx(tmp_path / "model.onnx", [1.0, 0.8], 0.05)
    logistic_onnx(tmp_path / "base.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(2000, seed=6).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "main").mkdir()
    (tmp_path / "main" / "data.csv").write_bytes((tmp_path / "data.csv").read_bytes())
    (tmp_path / "main" / "model.onnx").write_bytes((tmp_path / "base.onnx").read_bytes())
    _run(write_suite(tmp_path / "main", PLAIN), tmp_path / "main" / "reports")
    return tmp_path


def _run(suite: Path, reports: Path, *options: str) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(["run", str(suite), "--report-dir", str(reports), "--", "-q", "-p", "no:cacheprovider", *options])


def _gates(record: Path) -> dict[str, Any]:
    suite = json.loads(record.read_text())["suites"][0]
    return {gate["name"]: gate for gate in suite["gates"]}


def _in_one_run(project: Path) -> tuple[int, dict[str, Any]]:
    """The same comparison with base.onnx as the suite's baseline:, for reference (exit code, gates)."""
    suite = write_suite(project, METRICS)
    suite.write_text(suite.read_text().replace("dataset:", "baseline: {kind: onnx, path: base.onnx}\ndataset:"))
    code = _run(suite, project / "one-run")
    return code, _gates(project / "one-run" / "run.json")


def _gates_suite(project: Path, metrics: str = METRICS) -> Path:
    """A suite file declaring the delta gates, for ``compare --gates`` (beside the candidate's suite)."""
    text = write_suite(project, metrics).read_text()
    path = project / "gates.yaml"
    path.write_text(text)
    return path


KEYS = ("delta", "delta_interval", "ratio", "ratio_interval", "mcnemar", "verdict")


def test_a_stored_run_as_baseline_compares_as_a_baseline_section_does(project: Path) -> None:
    expected_code, reference = _in_one_run(project)
    suite = write_suite(project, METRICS)
    code = _run(suite, project / "stored", "--evalharness-baseline", str(project / "main/reports/run.json"))
    assert code == expected_code
    gates = _gates(project / "stored" / "run.json")
    for name in ("accuracy", "f1", "auc"):
        for key in KEYS:
            assert gates[name]["comparison"][key] == reference[name]["comparison"][key], (name, key)
    flips = gates["accuracy"]["comparison"]["flips"]
    assert (flips["right_to_wrong"], flips["wrong_to_right"]) == (
        reference["accuracy"]["comparison"]["flips"]["right_to_wrong"],
        reference["accuracy"]["comparison"]["flips"]["wrong_to_right"],
    )


def _compare(*arguments: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["compare", *arguments])
    return code, out.getvalue(), err.getvalue()


def test_compare_two_stored_runs_pairs_their_rows(project: Path) -> None:
    expected_code, reference = _in_one_run(project)
    gates_suite = _gates_suite(project)
    _run(write_suite(project, PLAIN), project / "candidate")
    code, out, _ = _compare("main/reports/run.json", "candidate/run.json", "--gates", str(gates_suite), "--out", "cmp")
    assert code == expected_code and "compared on rows" in out and "delta [interval]" in out
    gates = _gates(project / "cmp" / "run.json")
    for name in ("accuracy", "f1", "auc"):
        assert gates[name]["comparison"]["pairing"] == "rows"
        for key in KEYS:
            assert gates[name]["comparison"][key] == reference[name]["comparison"][key], (name, key)


def test_without_answers_the_runs_are_compared_from_their_intervals(project: Path) -> None:
    _run(write_suite(project, PLAIN), project / "candidate")
    (project / "candidate" / "rows.jsonl").unlink()
    code, out, _ = _compare("main/reports/run.json", "candidate/run.json", "--out", "cmp")
    assert code == 0 and "compared on intervals" in out
    gates, base, candidate = (_gates(project / folder / "run.json") for folder in ("cmp", "main/reports", "candidate"))
    for name in ("accuracy", "f1", "auc"):
        comparison = gates[name]["comparison"]
        assert comparison["pairing"] == "intervals"
        assert comparison["delta_method"] == "unpaired (from the two intervals)"
        z = 1.959963984540054  # the 97.5 % normal quantile
        spreads = [(g[name]["interval"][1] - g[name]["interval"][0]) / (2 * z) for g in (candidate, base)]
        delta = candidate[name]["value"] - base[name]["value"]
        half = z * math.sqrt(spreads[0] ** 2 + spreads[1] ** 2)
        assert comparison["delta_interval"] == pytest.approx([delta - half, delta + half], abs=1e-9)


def test_a_failing_delta_gate_makes_compare_exit_1(project: Path) -> None:
    strict = _gates_suite(project, "accuracy: {min: 0.8, min_gain: 0.05, gate_on: bound}")
    _run(write_suite(project, PLAIN), project / "candidate")
    code, out, _ = _compare("main/reports/run.json", "candidate/run.json", "--gates", str(strict), "--out", "cmp")
    assert code == 1 and "FAILED" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("name", "has no suite 'other'"),
        ("dataset", "evaluated different datasets in the two runs"),
        ("metric", "the baseline run has no gate 'recall'"),
    ],
)
def test_runs_that_cannot_be_compared_exit_4_with_the_reason(project: Path, change: str, message: str) -> None:
    metrics = PLAIN + ("\nrecall: {}" if change == "metric" else "")
    suite = write_suite(project, metrics)
    if change == "name":
        suite.write_text(suite.read_text().replace("name: demo", "name: other"))
    if change == "dataset":
        two_feature_frame(2000, seed=99).to_csv(project / "data.csv", index=False)
    _run(suite, project / "candidate")
    code, out, err = _compare("main/reports/run.json", "candidate/run.json")
    assert code == 4 and message in err and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_stored_baseline_of_another_dataset_is_a_suite_error(project: Path) -> None:
    two_feature_frame(2000, seed=99).to_csv(project / "data.csv", index=False)
    suite = write_suite(project, METRICS)
    with pytest.raises(SuiteError, match="evaluated another dataset"):
        EvalSession.load([str(suite)], project / "reports", baseline_run=project / "main/reports/run.json")


def test_a_stored_baseline_without_answers_is_a_suite_error(project: Path) -> None:
    (project / "main/reports/rows.jsonl").unlink()
    suite = write_suite(project, METRICS)
    with pytest.raises(SuiteError, match="kept no answers for this suite"):
        EvalSession.load([str(suite)], project / "reports", baseline_run=project / "main/reports/run.json")


def test_a_baseline_section_and_a_stored_baseline_are_not_both_allowed(project: Path) -> None:
    suite = write_suite(project, METRICS)
    suite.write_text(suite.read_text().replace("dataset:", "baseline: {kind: onnx, path: base.onnx}\ndataset:"))
    with pytest.raises(SuiteError, match="use one of them"):
        EvalSession.load([str(suite)], project / "reports", baseline_run=project / "main/reports/run.json")


def test_a_metric_only_the_live_model_can_score_must_be_in_the_stored_run(project: Path) -> None:
    suite = write_suite(project, "accuracy: {min: 0.5}\nrobustness: {perturb: [{recipe: noise, columns: [x1]}]}")
    with pytest.raises(SuiteError, match="has no 'robustness' gate, and robustness needs the live model"):
        EvalSession.load([str(suite)], project / "reports", baseline_run=project / "main/reports/run.json")


def _spoil_rows(rows: Path, how: str) -> None:
    lines = rows.read_text().splitlines(keepends=True)
    if how == "header":
        lines[0] = '{"format": "something-else"}\n'
    elif how == "row":
        lines[4] = '{"suite": "demo.yaml", "id": \n'  # a row cut short, as by an interrupted upload
    else:  # another run's answers beside this run.json
        header = json.loads(lines[0])
        lines[0] = json.dumps({**header, "run_started_at": "2020-01-01T00:00:00+00:00"}) + "\n"
    rows.write_text("".join(lines))


@pytest.mark.parametrize(
    ("how", "where", "message"),
    [
        ("header", ":1: ", "is not an evalharness rows file"),
        ("row", ":5: ", "cannot use the stored answers: Expecting value"),
        ("other run", ":1: ", "these answers are from the run started at 2020-01-01T00:00:00+00:00"),
    ],
)
def test_unusable_stored_answers_are_a_located_error_not_a_traceback(
    project: Path, how: str, where: str, message: str
) -> None:
    _spoil_rows(project / "main/reports/rows.jsonl", how)
    _run(write_suite(project, PLAIN), project / "candidate")
    code, out, err = _compare("main/reports/run.json", "candidate/run.json", "--gates", str(_gates_suite(project)),
                              "--out", "cmp")  # fmt: skip
    assert code == 4 and out == "" and not (project / "cmp").exists()
    assert f"rows.jsonl{where}" in err and message in err and len(err.strip().splitlines()) == 1
    suite = write_suite(project, METRICS)
    with pytest.raises(SuiteError, match=f"rows.jsonl{where}.*{re.escape(message)}"):
        EvalSession.load([str(suite)], project / "reports", baseline_run=project / "main/reports/run.json")
