"""Every bad input gets a located, actionable message; all problems are reported at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalharness.errors import SuiteError
from evalharness.suite.loader import expand_suite_paths, load_suite
from evalharness.suite.schema import json_schema
from tests.builders import demo_project

REPO_ROOT = Path(__file__).resolve().parents[2]


def _errors(suite: Path, text: str) -> list[str]:
    suite.write_text(text)
    with pytest.raises(SuiteError) as raised:
        load_suite(suite)
    return [str(problem) for problem in raised.value.problems]


def _suite_text(metrics: str = "accuracy: {min: 0.8}", extra: str = "") -> str:
    return (
        "schema: 1\nname: demo\n"
        "target: {kind: onnx, path: model.onnx}\n"
        "dataset: {path: data.csv, id: row_id, expected: y}\n"
        f"metrics:\n  {metrics}\n{extra}"
    )


@pytest.fixture
def suite_path(tmp_path: Path) -> Path:
    return demo_project(tmp_path)


def test_valid_suite_loads(suite_path: Path) -> None:
    suite = load_suite(suite_path)
    assert suite.spec.name == "demo"
    assert suite.metric_order == ["accuracy"]
    assert len(suite.sha256) == 64


def test_unknown_key_gets_did_you_mean(suite_path: Path) -> None:
    errors = _errors(suite_path, _suite_text(extra="sead: 3\n"))
    assert errors == [f"{suite_path}:7:1: sead: unknown key 'sead'; did you mean 'seed'?"]


def test_unknown_metric_and_kind_get_did_you_mean(suite_path: Path) -> None:
    text = _suite_text("acuracy: {min: 0.9}").replace("kind: onnx", "kind: onx")
    errors = _errors(suite_path, text)
    assert f"{suite_path}:3:16: target.kind: unknown target kind 'onx'; did you mean 'onnx'?" in errors
    assert f"{suite_path}:6:3: metrics.acuracy: unknown metric 'acuracy'; did you mean 'accuracy'?" in errors


def test_planned_metric_is_named_as_planned(suite_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evalharness.metrics import registry

    monkeypatch.setattr(registry, "PLANNED_METRICS", ("toxicity",))
    errors = _errors(suite_path, _suite_text("toxicity: {max: 0.1}"))
    assert errors == [
        f"{suite_path}:6:3: metrics.toxicity: metric 'toxicity' is planned but not available "
        "in this version of evalharness; remove it for now"
    ]


def test_threshold_read_as_string_has_a_hint(suite_path: Path) -> None:
    errors = _errors(suite_path, _suite_text("accuracy: {min: 1e-3}"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{suite_path}:6:19: metrics.accuracy.min: YAML read '1e-3' as text")
    assert errors[0].endswith("write 0.001")


def test_threshold_read_as_boolean_has_a_hint(suite_path: Path) -> None:
    errors = _errors(suite_path, _suite_text("accuracy: {max: no}"))
    assert errors == [
        f"{suite_path}:6:19: metrics.accuracy.max: YAML read this as the boolean false "
        "(yes/no/on/off are booleans in YAML); write a number such as 0.9"
    ]


def test_all_problems_are_reported_at_once(suite_path: Path) -> None:
    text = _suite_text("accuracy: {min: yes}\n  f1: {average: micro}", extra="sead: 1\nreport: {worst_rows: -1}\n")
    errors = _errors(suite_path, text)
    assert len(errors) == 4
    assert [e.split(": ")[1] for e in errors] == [
        "metrics.accuracy.min",
        "metrics.f1.average",
        "sead",
        "report.worst_rows",
    ]


def test_duplicate_key_in_suite(suite_path: Path) -> None:
    errors = _errors(suite_path, _suite_text() + "name: again\n")
    assert errors == [f"{suite_path}:7:1: name: duplicate key 'name' (first written on line 2); keep one"]


def test_missing_keys_point_at_their_section(suite_path: Path) -> None:
    text = (
        "schema: 1\nname: demo\ntarget: {kind: onnx}\n"
        "dataset: {path: data.csv, id: row_id, expected: y}\nmetrics: {accuracy: {}}\n"
    )
    errors = _errors(suite_path, text)
    assert errors == [f"{suite_path}:3:9: target: missing required key 'path'"]


def test_unsupported_schema_version(suite_path: Path) -> None:
    errors = _errors(suite_path, _suite_text().replace("schema: 1", "schema: 2"))
    assert errors == [f"{suite_path}:1:9: schema: unsupported schema version 2; this evalharness reads schema: 1"]


def test_min_above_max_is_refused(suite_path: Path) -> None:
    errors = _errors(suite_path, _suite_text("accuracy: {min: 0.9, max: 0.5}"))
    assert errors == [f"{suite_path}:6:13: metrics.accuracy: min (0.9) is above max (0.5); no value could pass"]


def test_missing_files_are_named_with_the_resolved_path(suite_path: Path) -> None:
    errors = _errors(suite_path, _suite_text().replace("model.onnx", "nope.onnx"))
    assert len(errors) == 1
    assert errors[0].startswith(f"{suite_path}:3:28: target.path: file not found: {suite_path.parent / 'nope.onnx'}")


def test_a_suite_must_declare_a_metric(suite_path: Path) -> None:
    errors = _errors(suite_path, _suite_text("{}").replace("metrics:\n  {}", "metrics: {}"))
    assert errors == [
        f"{suite_path}:5:10: metrics: declare at least one metric, e.g. accuracy: {{min: 0.92}} (or a load section)"
    ]


def test_folders_expand_to_their_suites(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    found = expand_suite_paths([str(tmp_path), str(tmp_path / "a.yaml")])
    assert [p.name for p in found] == ["a.yaml", "b.yml"]


def test_committed_json_schema_is_current() -> None:
    committed = json.loads((REPO_ROOT / "schemas" / "suite-v1.json").read_text())
    assert committed == json_schema(), "run `make schema` to refresh schemas/suite-v1.json"


def test_json_schema_is_closed() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]["metrics"]["$ref"].split("/")[-1:]) == {"Metrics"}
    metrics = schema["$defs"]["Metrics"]
    assert metrics["additionalProperties"] is False
    assert {"accuracy", "precision", "recall", "f1", "auc"} <= set(metrics["properties"])
