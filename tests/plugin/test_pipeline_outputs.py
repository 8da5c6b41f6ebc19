"""What a pipeline reads: exit codes and fail-on, summary.md, and `evalharness github`'s step summary,
annotations and outputs, for a passing run, a failing one and one that checked nothing."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from evalharness import exitcodes
from evalharness.cli import main
from evalharness.report import load_record
from evalharness.report.markdown import render_markdown
from tests.builders import demo_project, logistic_onnx, write_suite
from tests.pipelines import parse_outputs

pytest_plugins = ["pytester"]

HOSTILE = ["<img src=x onerror=alert(1)>", "a|b|c", "**bold** [link](http://x) `tick`", "it's #1 ~~x~~", "\\"]
ANNOTATION = re.compile(
    r"^::(error|warning) file=(?P<file>[^,:\n]+)(,line=(?P<line>\d+))?,title=(?P<title>[^:\n]*)::(?P<message>.*)$"
)


def _hostile_project(folder: Path) -> Path:
    """A file target whose answers carry HTML and Markdown, all wrong, so they land in worst rows."""
    ids = [f"r{i}" for i in range(len(HOSTILE))]
    with (folder / "data.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["row_id", "question", "y"], *([i, f"q {i}", "yes"] for i in ids)])
    with (folder / "out.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([["row_id", "answer"], *zip(ids, HOSTILE)])
    return write_suite(
        folder, "accuracy: {min: 0.5}\nrecall: {max: 1.0}",
        target="{kind: file, path: out.csv, label: answer}",
        dataset="{path: data.csv, id: row_id, expected: y, inputs: [question], positive_label: 'yes'}",
    )  # fmt: skip


def _env_files(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    files = {name: folder / name.lower() for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")}
    for name, path in files.items():
        path.write_text("")
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(folder))
    return files


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of the gate table, split on unescaped pipes as GitHub does."""
    rows = [line for line in markdown.splitlines() if line.startswith("| ") and "---" not in line]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


@pytest.mark.parametrize(
    ("code", "policy", "errors", "expected"),
    [
        (0, "failed", 0, 0), (1, "failed", 0, 1), (6, "failed", 2, 6), (1, "error", 0, 0), (1, "error", 1, 6),
        (6, "error", 1, 6), (1, "never", 3, 0), (6, "never", 1, 0), (4, "never", 0, 4), (2, "never", 0, 2),
        (5, "error", 0, 5), (3, "never", 0, 3),
    ],
)  # fmt: skip
def test_fail_on_keeps_the_codes_of_runs_that_checked_nothing(
    code: int, policy: str, errors: int, expected: int
) -> None:  # noqa: E501
    assert exitcodes.apply_fail_on(code, policy, errors) == expected  # type: ignore[arg-type]


def test_exit_codes_tell_a_failed_gate_from_one_not_evaluated(pytester: pytest.Pytester) -> None:
    demo_project(pytester.path, "accuracy: {min: 0.99}")
    dataset = "{path: data.csv, id: row_id, expected: y, inputs: [x1, x2], positive_label: 7}"
    write_suite(pytester.path, "accuracy: {min: 0.99}", dataset=dataset)
    assert pytester.runpytest("--evalharness", "suite.yaml").ret == exitcodes.USAGE_ERROR  # 7 is no label: invalid
    write_suite(pytester.path, "accuracy: {min: 0.99}")
    failed = pytester.runpytest("--evalharness", "suite.yaml")
    assert failed.ret == exitcodes.GATES_FAILED
    assert pytester.runpytest("--evalharness", "suite.yaml", "--evalharness-fail-on", "never").ret == exitcodes.OK
    lenient = pytester.runpytest("--evalharness", "suite.yaml", "--evalharness-fail-on=error")
    assert lenient.ret == exitcodes.OK
    lenient.stdout.fnmatch_lines(["evalharness: exit 0: the gates failed, and --fail-on error lets that pass"])
    logistic_onnx(pytester.path / "model.onnx", [1.0, 1.0], -100.0)  # never predicts 1: precision is undefined
    write_suite(pytester.path, "accuracy: {min: 0.3}\nprecision: {min: 0.5}",
                dataset="{path: data.csv, id: row_id, expected: y, inputs: [x1, x2], positive_label: 1}")  # fmt: skip
    errored = pytester.runpytest("--evalharness", "suite.yaml")
    record = json.loads((pytester.path / "reports/run.json").read_text())
    statuses = [gate["status"] for gate in record["suites"][0]["gates"]]
    assert statuses == ["passed", "error"] and errored.ret == exitcodes.GATES_ERROR
    errored.stdout.fnmatch_lines(["evalharness: exit 6: no gate failed, but some could not be evaluated"])
    assert pytester.runpytest("--evalharness", "suite.yaml", "--evalharness-fail-on=error").ret == 6
    assert pytester.runpytest("--evalharness", "suite.yaml", "--evalharness-fail-on=never").ret == 0
    write_suite(pytester.path, "accuracy: {min: 0.99}\nprecision: {min: 0.5}",
                dataset="{path: data.csv, id: row_id, expected: y, inputs: [x1, x2], positive_label: 1}")  # fmt: skip
    both = pytester.runpytest("--evalharness", "suite.yaml")
    assert both.ret == 1  # a failed gate wins over one not evaluated: the build is known bad
    under_error = pytester.runpytest("--evalharness", "suite.yaml", "--evalharness-fail-on=error")
    assert under_error.ret == 6
    under_error.stdout.fnmatch_lines(["evalharness: exit 6: --fail-on error lets failed gates pass, but 1 could not*"])


def test_a_users_own_failing_test_keeps_exit_1(pytester: pytest.Pytester) -> None:
    demo_project(pytester.path, "accuracy: {min: 0.5}")
    pytester.makepyfile(test_mine="def test_mine():\n    assert False\n")
    result = pytester.runpytest("--evalharness", "suite.yaml", "test_mine.py", "--evalharness-fail-on=never")
    assert result.ret == 1  # not a gate: the policy is not ours to apply


def test_run_usage_errors_name_the_flag_and_exit_4(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["run", str(tmp_path / "suite.yaml"), "--bogus"])
    err = capsys.readouterr().err
    assert stopped.value.code == exitcodes.USAGE_ERROR
    assert "unrecognized arguments: --bogus" in err and "pytest.main" not in err and "after --" in err
    with pytest.raises(SystemExit) as stopped:
        main(["run", "suite.yaml", "--fail-on", "sometimes"])
    assert stopped.value.code == 4 and "'sometimes' is not one of failed, error, never" in capsys.readouterr().err


def test_evalharness_run_passes_its_flags_and_what_follows_the_double_dash(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    (project / "suite.yaml").write_text((project / "suite.yaml").read_text().replace("min: 0.8", "min: 0.99"))
    assert main(["run", "suite.yaml", "--report-dir", "out", "--fail-on", "never", "--", "-q"]) == 0
    record = json.loads((project / "out" / "run.json").read_text())
    assert record["status"] == "failed" and (project / "out" / "summary.md").is_file()


def test_summary_md_escapes_answers_and_puts_failed_gates_first(pytester: pytest.Pytester) -> None:
    _hostile_project(pytester.path)
    result = pytester.runpytest("--evalharness", "suite.yaml")
    assert result.ret == 1
    markdown = (pytester.path / "reports/summary.md").read_text()
    assert "<img" not in markdown and "&lt;img src=x onerror=alert\\(1\\)&gt;" in markdown
    rows = table_rows(markdown)
    header, gates, worst_header, worst = rows[0], rows[1:3], rows[3], rows[4:]
    assert len(header) == 9 and all(len(row) == 9 for row in gates)  # no answer split a row
    assert [row[0] for row in gates] == ["❌ failed", "✅ passed"] and gates[0][2] == "accuracy"
    assert worst_header[:3] == ["id", "expected", "predicted"] and all(len(row) == 5 for row in worst)
    assert sorted(row[2] for row in worst) == sorted([
        "&lt;img src=x onerror=alert\\(1\\)&gt;", "a\\|b\\|c", "\\*\\*bold\\*\\* \\[link\\]\\(http://x\\) \\`tick\\`",
        "it&#x27;s \\#1 \\~\\~x\\~\\~", "\\\\",
    ])  # fmt: skip


def test_summary_is_capped_below_githubs_limit_with_a_note(pytester: pytest.Pytester) -> None:
    _hostile_project(pytester.path)
    pytester.runpytest("--evalharness", "suite.yaml")
    record = load_record(pytester.path / "reports/run.json")
    whole = render_markdown(record)
    assert "Note:" not in whole
    small = render_markdown(record, limit=len(whole.encode()) - 200)
    assert len(small.encode()) <= len(whole.encode()) - 200 and "worst rows of each gate were left out" in small
    tiny = render_markdown(record, limit=len(small.encode()) - 1)
    assert len(tiny.encode()) < len(small.encode()) and "of 2 gates were left out of the table" in tiny
    many = record.model_copy(update={"suites": record.suites * 4000})
    capped = render_markdown(many)
    assert 900_000 < len(capped.encode()) <= 1_000_000 and "of 8000 gates were left out" in capped


def test_github_publishes_summary_annotations_and_outputs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = _hostile_project(pytester.path)
    files = _env_files(pytester.path, monkeypatch)
    code = pytester.runpytest("--evalharness", "suite.yaml").ret
    capsys.readouterr()
    assert main(["github", "reports", "--exit-code", str(int(code)), "--fail-on", "failed"]) == 1
    lines = capsys.readouterr().out.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) == 1, lines
    found = ANNOTATION.match(commands[0])
    assert found and found["file"] == "suite.yaml" and found["title"].replace("%3A", ":") == "demo: accuracy"
    lines_of_suite = suite.read_text().splitlines()
    declared = next(i for i, line in enumerate(lines_of_suite, 1) if line.strip().startswith("accuracy"))
    assert int(found["line"]) == declared
    outputs = parse_outputs(files["GITHUB_OUTPUT"].read_text())
    assert {key: outputs[key] for key in ("status", "exit-code", "step-exit-code", "gates", "passed", "failed")} == {
        "status": "failed", "exit-code": "1", "step-exit-code": "1", "gates": "2", "passed": "1", "failed": "1"
    }  # fmt: skip
    assert outputs["junit"] == "reports/junit.xml" and outputs["json"] == "reports/run.json"
    assert outputs["markdown"] == "reports/summary.md" and outputs["html"] == "reports/report.html"
    summary = files["GITHUB_STEP_SUMMARY"].read_text()
    assert summary.startswith("## ❌ evalharness: failed") and "Exit code 1 under fail-on failed." in summary
    assert main(["github", "reports", "--exit-code", "1", "--fail-on", "error"]) == 0


def test_github_never_reads_a_stale_record_after_an_invalid_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_project(pytester.path)
    files = _env_files(pytester.path, monkeypatch)
    assert pytester.runpytest("--evalharness", "suite.yaml").ret == 0  # leaves a passing run.json
    suite = pytester.path / "suite.yaml"
    suite.write_text(suite.read_text().replace("min: 0.8", "min: 8"))
    result = pytester.runpytest("--evalharness", "suite.yaml")
    assert result.ret == 4
    log = pytester.path / "run.log"
    log.write_text(result.stdout.str() + result.stderr.str())
    capsys.readouterr()
    assert main(["github", "reports", "--exit-code", "4", "--fail-on", "never", "--log", str(log)]) == 4
    out = capsys.readouterr().out
    commands = [line for line in out.splitlines() if line.startswith("::")]
    problem = re.compile(r"^::error file=suite\.yaml,line=7,col=\d+,title=invalid suite::metrics\.accuracy\.min: .+$")
    assert len(commands) == 1 and problem.match(commands[0]), commands
    outputs = parse_outputs(files["GITHUB_OUTPUT"].read_text())
    assert outputs["status"] == "invalid" and outputs["passed"] == "0" and outputs["json"] == ""
    summary = files["GITHUB_STEP_SUMMARY"].read_text()
    assert "Nothing was evaluated" in summary and "metrics.accuracy.min" in summary and "✅" not in summary
