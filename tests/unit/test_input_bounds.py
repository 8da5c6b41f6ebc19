"""Hostile or mistaken suites stop at a located problem (exit 4), never a hang, a memory blow-up or a
traceback: YAML size limits, undecodable files, load settings past their maxima, thresholds outside
the range of the value they gate."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from evalharness.errors import SuiteError
from evalharness.metrics.registry import BUILTIN_METRICS, get_metric
from evalharness.suite.fields import GateOptions
from evalharness.suite.load_schema import LoadSpec
from evalharness.suite.loader import load_suite
from evalharness.suite.schema import suite_model
from evalharness.suite.yamlsource import MAX_FILE_BYTES, parse_yaml
from tests.builders import demo_project

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO_ROOT / "schemas" / "suite-v1.json").read_text(encoding="utf-8"))
SCRIPT = str(Path(sys.executable).with_name("evalharness"))
HANG_GUARD_S = 60
"""Subprocesses are killed past this: a guard against hangs, not a measure of speed."""

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]" for prev, name in zip("abcdefgh", "bcdefghi")),
    ]
)
"""About 400 bytes that expand to 9**9 (387 million) strings."""


def _problems(text: str) -> list[str]:
    return [str(problem) for problem in parse_yaml(text, "f.yaml").problems]


def _suite_errors(path: Path) -> list[str]:
    with pytest.raises(SuiteError) as raised:
        load_suite(path)
    return [str(problem) for problem in raised.value.problems]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], cwd=cwd, capture_output=True, text=True, timeout=HANG_GUARD_S)


def test_an_alias_bomb_stops_at_the_node_limit_before_anything_expands() -> None:
    tracemalloc.start()
    try:
        document = parse_yaml(BILLION_LAUGHS, "f.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert document.data is None
    assert [str(p) for p in document.problems] == [
        "f.yaml:5:8: e[0]: more than 10,000 keys, values and items (an alias *name counts as all it repeats); "
        "a suite is far smaller: remove repeated aliases, or keep long lists in the dataset"
    ]
    assert peak < 5 * 1024 * 1024  # the expansion would take gigabytes


def test_aliases_within_the_limit_still_work() -> None:
    document = parse_yaml("base: &b {min: 0.9}\naccuracy: *b\nf1: {<<: *b, max: 1.0}\n", "f.yaml")
    assert document.problems == []
    assert document.data == {"base": {"min": 0.9}, "accuracy": {"min": 0.9}, "f1": {"min": 0.9, "max": 1.0}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &a [1, *a]\n", "f.yaml:1:11: a[1]: the alias *a names a value that contains it"),
        ("a: &a {b: *a}\n", "f.yaml:1:11: a.b: the alias *a names a value that contains it"),
    ],
)
def test_a_recursive_alias_is_refused(text: str, expected: str) -> None:
    assert [problem.split(" (")[0] for problem in _problems(text)] == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 5000 + "]" * 5000,
        "a: " + "{b: " * 5000 + "1" + "}" * 5000,
        "".join("  " * depth + f"k{depth}:\n" for depth in range(100)) + "  " * 100 + "leaf",
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings"],
)
def test_deep_nesting_is_refused_before_python_recurses(text: str) -> None:
    problems = _problems(text)
    assert len(problems) == 1
    assert "values nest deeper than 64 levels" in problems[0]
    assert problems[0].startswith(("f.yaml:1:", "f.yaml:65:"))


def test_64_levels_are_allowed() -> None:
    assert _problems("a: " + "[" * 63 + "]" * 63) == []


@pytest.mark.parametrize(
    ("text", "where"),
    [("seed: " + "9" * 5000 + "\n", "f.yaml:1:7: seed"), ("? " + "9" * 5000 + "\n: 1\n", "f.yaml:1:3: (document)")],
    ids=["value", "key"],
)
def test_integers_with_too_many_digits_are_refused_before_int_reads_them(text: str, where: str) -> None:
    assert _problems(text) == [
        f"{where}: an integer written with 5,000 characters; at most 100 are read (quote it to mean text)"
    ]


def test_a_control_character_is_located() -> None:
    assert _problems("a: b\nc: d\x07e\n") == [
        "f.yaml:2:5: (document): the character U+0007 is not allowed in YAML (a control character); remove it"
    ]


def test_a_suite_over_1_mib_is_refused_without_parsing(tmp_path: Path) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text("# " + "x" * (4 * MAX_FILE_BYTES) + "\n")
    assert _suite_errors(suite) == [
        f"{suite}:1:1: (document): the file is over 1,048,576 bytes (1 MiB), the most a suite may be"
    ]


UNDECODABLE = [
    ("schema: 1\n".encode("utf-16"), "1:1", "a UTF-16 byte-order mark at byte offset 0"),
    ("schema: 1\n".encode("utf-16-le"), "1:2", "a NUL byte, as in UTF-16, at byte offset 1"),
    ("schema: 1\nname: caf\xe9\n".encode("latin-1"), "2:10", "byte 0xe9 at byte offset 19"),
]


@pytest.mark.parametrize(("raw", "where", "why"), UNDECODABLE, ids=["utf-16", "utf-16-no-bom", "latin-1"])
def test_undecodable_suites_name_the_byte_offset(tmp_path: Path, raw: bytes, where: str, why: str) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_bytes(raw)
    assert _suite_errors(suite) == [
        f"{suite}:{where}: (document): the file is not UTF-8 text ({why}); save it as UTF-8"
    ]


@pytest.mark.integration
def test_validate_and_pytest_exit_4_on_an_undecodable_suite(tmp_path: Path, pytester: pytest.Pytester) -> None:
    (tmp_path / "suite.yaml").write_bytes("schema: 1\nname: x\n".encode("utf-16"))
    validate = _cli("validate", "suite.yaml", cwd=tmp_path)
    assert validate.returncode == 4 and "Traceback" not in validate.stderr
    assert validate.stderr.strip() == (
        "suite.yaml:1:1: (document): the file is not UTF-8 text "
        "(a UTF-16 byte-order mark at byte offset 0); save it as UTF-8"
    )
    (pytester.path / "suite.yaml").write_bytes((tmp_path / "suite.yaml").read_bytes())
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--evalharness", "suite.yaml", timeout=HANG_GUARD_S
    )
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "INTERNALERROR" not in output and "Traceback" not in output
    assert "byte-order mark at byte offset 0" in output


@pytest.mark.integration
@pytest.mark.parametrize(
    "text", [BILLION_LAUGHS, "a: " + "[" * 5000 + "]" * 5000, "seed: " + "9" * 5000], ids=["bomb", "nesting", "digits"]
)
def test_validate_answers_hostile_yaml_with_exit_4(tmp_path: Path, text: str) -> None:
    (tmp_path / "suite.yaml").write_text(text + "\n")
    result = _cli("validate", "suite.yaml", cwd=tmp_path)  # a hang would hit the guard
    assert result.returncode == 4
    assert result.stderr.startswith("suite.yaml:") and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr


# --- load settings ---------------------------------------------------------------------------------

LOAD_PAST_MAXIMA = [
    ("rate", 1.0e9, "expected a number at most 100,000, got 1000000000.0"),
    ("duration_s", 1.0e9, "expected a number at most 86,400, got 1000000000.0"),
    ("users", 1_000_000, "expected a number at most 10,000, got 1000000"),
    ("rows", 1_000_000_000, "expected a number at most 100,000, got 1000000000"),
    ("gpus", 1_000_000, "expected a number at most 1,024, got 1000000"),
    ("pid", 1, "expected a number at least 2, got 1"),
    ("remote_workers", 1000, "expected a number at most 256, got 1000"),
    ("remote_wait_s", 1.0e9, "expected a number at most 3,600, got 1000000000.0"),
    ("processes", 65, "expected a number at most 64, got 65"),
    ("max_in_flight", 10**6, "expected a number at most 100,000, got 1000000"),
]


def _base(**sections: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "name": "bounds",
        "target": {"kind": "onnx", "path": "model.onnx"},
        "dataset": {"path": "data.csv", "id": "row_id", "expected": "y"},
        **sections,
    }


@pytest.mark.parametrize(("key", "value", "message"), LOAD_PAST_MAXIMA, ids=[case[0] for case in LOAD_PAST_MAXIMA])
def test_load_settings_past_their_maxima_are_located(tmp_path: Path, key: str, value: float, message: str) -> None:
    suite = demo_project(tmp_path)
    settings = {"rate": 10, **({"launch": "master_worker"} if key == "remote_workers" else {}), key: value}
    text = suite.read_text() + "load:\n" + "".join(f"  {name}: {setting!r}\n" for name, setting in settings.items())
    suite.write_text(text)
    where = f"{suite}:{len(text.splitlines())}:{len(key) + 5}"
    assert _suite_errors(suite) == [f"{where}: load.{key}: {message}"]


@pytest.mark.parametrize("key", [case[0] for case in LOAD_PAST_MAXIMA])
def test_the_json_schema_states_each_maximum(key: str) -> None:
    field = SCHEMA["$defs"]["LoadSpec"]["properties"][key]
    bounds = [branch for branch in [field, *field.get("anyOf", [])] if "maximum" in branch or "minimum" in branch]
    assert bounds, f"load.{key} has no bound in the JSON Schema"


def test_an_open_loop_that_schedules_too_many_requests_is_refused() -> None:
    with pytest.raises(ValidationError, match="schedules 8,640,200 requests; one run schedules at most 5,000,000"):
        LoadSpec.model_validate({"rate": 100, "duration_s": 86_400})


def _float_fields(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Key paths of every field of ``model`` and the models inside it that takes a float."""
    found: list[tuple[str, ...]] = []
    for name, field in model.model_fields.items():
        for part in [field.annotation, *typing.get_args(field.annotation)]:
            if isinstance(part, type) and issubclass(part, BaseModel):
                found += _float_fields(part, (*prefix, name))
            elif part is float or typing.get_origin(part) is typing.Annotated and typing.get_args(part)[0] is float:
                found.append((*prefix, name))
    return sorted(set(found))


LOAD_FLOATS = _float_fields(LoadSpec)


def test_the_float_walk_reaches_nested_load_settings() -> None:
    assert {("rate",), ("slo", "latency_ms"), ("cold_start", "poll_ms"), ("gates", "p95_ms", "max")} <= set(LOAD_FLOATS)


@pytest.mark.parametrize("path", LOAD_FLOATS, ids=[".".join(path) for path in LOAD_FLOATS])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")], ids=["inf", "-inf", "nan"])
def test_every_float_in_load_refuses_infinity_and_nan(path: tuple[str, ...], value: float) -> None:
    load: dict[str, Any] = {"rate": 10}
    where = load
    for part in path[:-1]:
        where = where.setdefault(part, {})
    where[path[-1]] = value
    with pytest.raises(ValidationError) as raised:
        suite_model().model_validate(_base(load=load))
    assert [error["type"] for error in raised.value.errors()] == ["finite_number"]


# --- thresholds outside a metric's range ---------------------------------------------------------------

OUT_OF_RANGE = [
    ("accuracy: {min: 1.5}", "metrics.accuracy.min", "min 1.5 is above 1, the most this value can be, so the gate "
     "could never pass; write a min in [0, 1]"),
    ("precision: {min: -0.2}", "metrics.precision.min", "min -0.2 is below 0, the least this value can be, so the "
     "gate could never fail; write a min in [0, 1]"),
    ("recall: {max: 1.1}", "metrics.recall.max", "max 1.1 is above 1"),
    ("f1: {min: 2}", "metrics.f1.min", "min 2 is above 1"),
    ("auc: {min: -1}", "metrics.auc.min", "min -1 is below 0"),
    ("dtw: {max: 1.5}", "metrics.dtw.max", "max 1.5 is above 1, the most this value (with gate: consistency) can be"),
    ("dtw: {gate: distance, max: -0.1}", "metrics.dtw.max", "max -0.1 is below 0, the least this value (with gate: "
     "distance) can be, so the gate could never pass; write a max of 0 or more"),
    ("drift: {reference: r.csv, statistic: ks, max: 2}", "metrics.drift.max", "max 2 is above 1, the most this value "
     "(with statistic: ks) can be"),
    ("drift: {reference: r.csv, max: -0.5}", "metrics.drift.max", "max -0.5 is below 0"),
    ("bertscore: {min: 1.2}", "metrics.bertscore.min", "min 1.2 is above 1"),
    ("bertscore: {min: -0.2}", "metrics.bertscore.min", "min -0.2 is below 0, the least this value (with "
     "rescale_with_baseline: false) can be"),
    ("robustness: {perturb: [{recipe: noise, columns: [x1], scale: 0.1}], min: 1.2}", "metrics.robustness.min",
     "min 1.2 is above 1"),
    ("consistency: {rules: [{name: r, rule: predicted == 1}], min: 1.01}", "metrics.consistency.min",
     "min 1.01 is above 1"),
]  # fmt: skip
IN_RANGE = [
    "accuracy: {min: 0}",
    "accuracy: {min: 1}",
    "dtw: {gate: distance, max: 3.5}",
    "drift: {reference: r.csv, statistic: psi, max: 2}",
    "bertscore: {rescale_with_baseline: true, baseline_path: b.csv, min: -0.3}",
]
LOAD_GATES_OUT_OF_RANGE = [
    ("error_rate: {max: 5}", "load.gates.error_rate.max", "max 5 is above 1"),
    ("goodput: {min: 1.1}", "load.gates.goodput.min", "min 1.1 is above 1"),
    ("rps_achieved_ratio: {min: -0.5}", "load.gates.rps_achieved_ratio.min", "min -0.5 is below 0"),
    ("p95_ms: {max: -1}", "load.gates.p95_ms.max", "max -1 is below 0, the least this value can be, so the gate "
     "could never pass; write a max of 0 or more"),
    ("qps: {min: -10}", "load.gates.qps.min", "min -10 is below 0"),
]  # fmt: skip


@pytest.mark.parametrize(("metric", "where", "message"), OUT_OF_RANGE, ids=[case[1] for case in OUT_OF_RANGE])
def test_a_threshold_outside_the_metrics_range_is_located(
    tmp_path: Path, metric: str, where: str, message: str
) -> None:
    errors = _suite_errors(demo_project(tmp_path, metric))
    key = where.rsplit(".", 1)[1]
    column = metric.index(f"{key}: ") + len(f"{key}: ") + 3  # "  " indent, 1-based
    assert len(errors) == 1 and errors[0].startswith(f"{tmp_path / 'suite.yaml'}:7:{column}: {where}: {message}")


@pytest.mark.parametrize("metric", IN_RANGE)
def test_thresholds_at_and_inside_the_range_are_accepted(metric: str) -> None:
    suite = _base(metrics=parse_yaml(metric, "m").data)
    suite_model().model_validate(suite)


@pytest.mark.parametrize(
    ("gate", "where", "message"), LOAD_GATES_OUT_OF_RANGE, ids=[c[1] for c in LOAD_GATES_OUT_OF_RANGE]
)
def test_a_load_threshold_outside_its_range_is_located(tmp_path: Path, gate: str, where: str, message: str) -> None:
    suite = demo_project(tmp_path)
    line = f"load: {{rate: 10, gates: {{{gate}}}}}"
    suite.write_text(suite.read_text() + line + "\n")
    column = line.index(": ", line.index(where.rsplit(".", 1)[1])) + 3
    errors = _suite_errors(suite)
    assert len(errors) == 1 and errors[0].startswith(f"{suite}:8:{column}: {where}: {message}")


def test_every_built_in_metric_declares_its_range() -> None:
    undeclared = [
        name
        for name in BUILTIN_METRICS
        if get_metric(name).options.value_range == GateOptions.value_range
        and get_metric(name).options.value_range_by is None
    ]
    assert undeclared == []


jsonschema = pytest.importorskip("jsonschema")
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@pytest.mark.parametrize(
    ("section", "accepted"),
    [
        *((parse_yaml(metric, "m").data, False) for metric, _, _ in OUT_OF_RANGE),
        *((parse_yaml(metric, "m").data, True) for metric in IN_RANGE),
    ],
)
def test_the_json_schema_agrees_on_metric_ranges(section: dict[str, Any], accepted: bool) -> None:
    suite = _base(metrics=section)
    assert VALIDATOR.is_valid(suite) is accepted
    try:
        suite_model().model_validate(suite)
    except ValidationError:
        assert not accepted
    else:
        assert accepted


@pytest.mark.parametrize("gate", [case[0] for case in LOAD_GATES_OUT_OF_RANGE])
def test_the_json_schema_agrees_on_load_gate_ranges(gate: str) -> None:
    assert not VALIDATOR.is_valid(_base(load={"rate": 10, "gates": parse_yaml(f"{{{gate}}}", "g").data}))
