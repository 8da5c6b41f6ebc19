"""The pytest plugin driven through real pytest runs (pytester)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import demo_project

pytest_plugins = ["pytester"]

TWO_FAILING = "accuracy: {min: 0.8}\nf1: {min: 0.99}\nauc: {min: 0.9}\nrecall: {min: 0.999}\nprecision: {}"


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Path:
    return demo_project(pytester.path, TWO_FAILING)


def _record(pytester: pytest.Pytester, folder: str = "reports") -> dict:  # type: ignore[type-arg]
    return json.loads((pytester.path / folder / "run.json").read_text())


def test_help_lists_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*evalharness: gate a model on quality and speed*", "*--evalharness=PATH*"])
    for text in (
        "--evalharness-report-dir=DIR",
        "--evalharness-no-reports",
        "--evalharness-cache=DIR",
        "--evalharness-resume",
        ".evalharness-cache",
        "evalharness_suites",
        "evalharness_report_dir",
    ):
        assert text in result.stdout.str()


def test_one_item_per_gate_not_per_row(pytester: pytest.Pytester, suite: Path) -> None:
    pytester.makepyfile(test_other="def test_other(): pass")
    result = pytester.runpytest("--evalharness", "suite.yaml", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "suite.yaml::accuracy",
            "suite.yaml::f1",
            "suite.yaml::auc",
            "suite.yaml::recall",
            "suite.yaml::precision",
            "5 tests collected*",
        ]
    )
    assert "test_other" not in result.stdout.str()


def test_explicit_test_paths_run_beside_suites(pytester: pytest.Pytester, suite: Path) -> None:
    pytester.makepyfile(test_other="def test_other(): pass")
    result = pytester.runpytest("test_other.py", "--evalharness", "suite.yaml", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["test_other.py::test_other", "suite.yaml::accuracy", "6 tests collected*"])


def test_exit_code_0_when_every_gate_passes(pytester: pytest.Pytester) -> None:
    demo_project(pytester.path, "accuracy: {min: 0.8}\nauc: {min: 0.9}")
    result = pytester.runpytest("--evalharness", "suite.yaml")
    assert result.ret == 0
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*evalharness gates*", "suite*gate*value*threshold*CI*n*result*", "demo*accuracy*0.8900*>= 0.8*PASSED"]
    )


def test_exit_code_1_and_failure_details(pytester: pytest.Pytester, suite: Path) -> None:
    result = pytester.runpytest("--evalharness", "suite.yaml")
    assert result.ret == 1
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "gate f1 failed: f1 0.8894 is below min 0.99",
            "  metric     f1",
            "  value      0.8894",
            "  threshold  >= 0.99 (gated on the estimate)",
            "  95% CI     [[]0.*, 0.*[]] (bootstrap)",
            "  n          400",
            "  worst 5 rows:",
            "    id*expected*predicted*score*loss*inputs",
            "    r00274*0*1*0.727*0.727*x1=0.862246, x2=0.116061",
        ]
    )
    table = [line for line in result.stdout.lines if line.startswith("demo ")]
    assert [line.split()[1] for line in table] == ["accuracy", "f1", "auc", "recall", "precision"]
    assert [line.split()[-1] for line in table] == ["PASSED", "FAILED", "PASSED", "FAILED", "INFO"]


def test_exit_code_4_for_a_broken_suite_without_traceback(pytester: pytest.Pytester, suite: Path) -> None:
    suite.write_text(suite.read_text().replace("accuracy:", "acuracy:").replace("seed: 3", "seed: 3\nseed: 4"))
    result = pytester.runpytest("--evalharness", "suite.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: evalharness: invalid suite", "*suite.yaml:4:1: seed: duplicate key 'seed'*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_exit_code_4_lists_problems_of_every_suite(pytester: pytest.Pytester) -> None:
    (pytester.path / "a").mkdir()
    (pytester.path / "b").mkdir()
    demo_project(pytester.path / "a", "acuracy: {min: 0.8}")
    demo_project(pytester.path / "b", "recall: {min: yes}")
    result = pytester.runpytest("--evalharness", "a", "--evalharness", "b/suite.yaml")
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        [
            "*a/suite.yaml:7:3: metrics.acuracy: unknown metric*",
            "*b/suite.yaml:7:17: metrics.recall.min: YAML read this as the boolean true*",
        ]
    )


def test_missing_suite_file_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--evalharness", "nope.yaml")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*nope.yaml:1:1: (document): suite file or folder not found"])


def test_k_selects_gates_and_x_stops_at_the_first_failure(pytester: pytest.Pytester, suite: Path) -> None:
    selected = pytester.runpytest("--evalharness", "suite.yaml", "-k", "auc or accuracy")
    selected.assert_outcomes(passed=2, deselected=3)
    assert [g["name"] for g in _record(pytester)["suites"][0]["gates"]] == ["accuracy", "auc"]
    stopped = pytester.runpytest("--evalharness", "suite.yaml", "-x")
    stopped.assert_outcomes(passed=1, failed=1)
    record = _record(pytester)
    assert [g["name"] for g in record["suites"][0]["gates"]] == ["accuracy", "f1"]
    assert record["status"] == "failed"


def test_predictions_are_computed_once_per_suite(
    pytester: pytest.Pytester, suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalharness.targets.onnx import OnnxTarget

    calls: list[int] = []
    original = OnnxTarget.predict

    def counting(self, frame):  # type: ignore[no-untyped-def]
        calls.append(len(frame))
        return original(self, frame)

    monkeypatch.setattr(OnnxTarget, "predict", counting)
    result = pytester.runpytest_inprocess("--evalharness", "suite.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=2)
    assert calls == [400]


def test_xdist_gives_the_same_verdicts(pytester: pytest.Pytester, suite: Path) -> None:
    pytest.importorskip("xdist")
    serial = pytester.runpytest_subprocess("--evalharness", "suite.yaml", "--evalharness-report-dir", "serial")
    parallel = pytester.runpytest_subprocess(
        "--evalharness", "suite.yaml", "-n", "2", "--evalharness-report-dir", "par"
    )
    assert serial.ret == parallel.ret == 1
    parallel.assert_outcomes(passed=3, failed=2)

    def verdicts(folder: str) -> list[tuple[str, str, float, list[float]]]:
        gates = _record(pytester, folder)["suites"][0]["gates"]
        return [(g["name"], g["status"], g["value"], g["interval"]) for g in gates]

    assert verdicts("serial") == verdicts("par")


def test_ini_option_names_default_suites(pytester: pytest.Pytester, suite: Path) -> None:
    pytester.makeini("[pytest]\nevalharness_suites = suite.yaml\nevalharness_report_dir = out\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=3, failed=2)
    assert (pytester.path / "out" / "junit.xml").is_file()


def test_junit_files_validate_against_the_schema(pytester: pytest.Pytester, suite: Path, junit_schema) -> None:  # type: ignore[no-untyped-def]
    pytester.runpytest("--evalharness", "suite.yaml", "--junitxml", "pytest-junit.xml")
    junit_schema.validate(str(pytester.path / "pytest-junit.xml"))
    junit_schema.validate(str(pytester.path / "reports" / "junit.xml"))


def test_runtime_target_failure_errors_every_gate_and_still_writes_reports(
    pytester: pytest.Pytester, suite: Path
) -> None:
    data = (pytester.path / "data.csv").read_text().splitlines()
    data[5] = ",".join([*data[5].split(",")[:2], "twelve", data[5].split(",")[3]])  # text in a float input
    (pytester.path / "data.csv").write_text("\n".join(data) + "\n")
    result = pytester.runpytest("--evalharness", "suite.yaml")
    assert result.ret == 6  # no gate failed; every one could not be evaluated (evalharness.exitcodes)
    result.assert_outcomes(failed=5)
    result.stdout.fnmatch_lines(["gate accuracy could not be evaluated: model input 'features': columns*"])
    record = _record(pytester)
    assert record["status"] == "error"
    assert {g["status"] for g in record["suites"][0]["gates"]} == {"error"}
    assert "could not convert string to float: 'twelve'" in record["suites"][0]["error"]
    assert "Traceback" not in result.stdout.str()


def test_an_unreadable_model_is_a_located_suite_error(pytester: pytest.Pytester, suite: Path) -> None:
    (pytester.path / "model.onnx").write_bytes(b"\x08garbage")
    result = pytester.runpytest("--evalharness", "suite.yaml")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["suite.yaml:4:*: target.path: ONNX Runtime cannot load*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_missing_optional_dependency_names_the_install_command(
    pytester: pytest.Pytester, suite: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    result = pytester.runpytest_inprocess("--evalharness", "suite.yaml")
    assert result.ret == 4
    assert "pip install 'evalharness[onnx]'" in result.stderr.str()


def test_drift_runs_without_scipy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drift's KS test is our own: a suite with a drift gate runs where scipy cannot be imported."""
    demo_project(pytester.path, "drift: {reference: data.csv, max: 0.2}")
    monkeypatch.setitem(sys.modules, "scipy", None)
    result = pytester.runpytest_inprocess("--evalharness", "suite.yaml")
    assert "scipy" not in result.stderr.str()
    assert result.ret == 0
    assert "drift" in result.stdout.str()


def test_no_reports_option(pytester: pytest.Pytester, suite: Path) -> None:
    pytester.runpytest("--evalharness", "suite.yaml", "--evalharness-no-reports")
    assert not (pytester.path / "reports").exists()


def test_plugin_module_imports_nothing_heavy() -> None:
    heavy = ["numpy", "pandas", "pydantic", "onnxruntime", "torch", "jinja2", "yaml", "locust", "gevent", "plotly"]
    code = f"import sys, evalharness.plugin; print([m for m in {heavy!r} if m in sys.modules])"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_gate_on_bound_from_the_command_line(pytester: pytest.Pytester) -> None:
    demo_project(pytester.path, "accuracy: {min: 0.87}")  # estimate 0.89, lower bound 0.8555
    assert pytester.runpytest("--evalharness", "suite.yaml").ret == 0
    strict = pytester.runpytest("--evalharness", "suite.yaml", "--evalharness-gate-on", "bound")
    assert strict.ret == 1
    strict.stdout.fnmatch_lines(["gate accuracy failed: accuracy lower bound 0.8555 is below min 0.87"])


def test_bad_option_values_and_combinations_are_usage_errors(pytester: pytest.Pytester, suite: Path) -> None:
    bad_value = pytester.runpytest("--evalharness", "suite.yaml", "--evalharness-gate-on", "lower")
    assert bad_value.ret == 4
    bad_value.stderr.fnmatch_lines(["*'lower' is not estimate or bound*"])
    options = ["--evalharness-no-reports", "--evalharness-report-dir", "x"]
    both = pytester.runpytest("--evalharness", "suite.yaml", *options)
    assert both.ret == 4
    both.stderr.fnmatch_lines(["*contradict each other; keep one*"])


def test_a_suite_named_twice_is_collected_once(pytester: pytest.Pytester, suite: Path) -> None:
    result = pytester.runpytest("suite.yaml", "--evalharness", "suite.yaml", "--collect-only", "-q")
    result.stdout.fnmatch_lines(["5 tests collected*"])


def test_an_undefined_gate_errors_and_never_passes(pytester: pytest.Pytester) -> None:
    """Regression: ``precision: {min: 0.0}`` PASSED with n = 0 (a model that never predicts the class)."""
    from tests.builders import logistic_onnx

    demo_project(pytester.path, "precision: {min: 0.0}\nf1: {max: 0.99}\nauc: {}")
    logistic_onnx(pytester.path / "model.onnx", [0.0, 0.0], -20.0)  # answers 0 for every row
    result = pytester.runpytest("--evalharness", "suite.yaml", "-p", "no:cacheprovider")
    assert result.ret == 6  # could not be evaluated: not a failed gate, and never a pass
    result.stdout.fnmatch_lines(
        ["*gate precision could not be evaluated: precision is undefined: the target never predicted the class (1)*"]
    )
    gates = {gate["name"]: gate for gate in _record(pytester)["suites"][0]["gates"]}
    assert gates["precision"]["status"] == "error" and gates["precision"]["n"] == 0
    assert gates["f1"]["status"] == "passed" and gates["f1"]["value"] == 0.0
    assert gates["auc"]["status"] == "info"  # every score ties: AUC 0.5, reported only
