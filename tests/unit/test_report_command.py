"""``evalharness report RUN_JSON`` checks the record first: what is wrong, in one line, exit 4."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalharness.cli import main as cli_main
from evalharness.record import GateRecord, RunRecord, SuiteRecord, summarise


def _record() -> dict[str, Any]:
    gates = [
        GateRecord(name="accuracy", nodeid="s.yaml::accuracy", metric="accuracy", status="passed", value=0.93, n=400,
                   interval=(0.9, 0.95), method="wilson", min=0.9),
        GateRecord(name="f1", nodeid="s.yaml::f1", metric="f1", status="failed", value=0.7, n=400, min=0.8),
    ]  # fmt: skip
    suite = SuiteRecord(name="demo", path="s.yaml", sha256="0" * 64, gates=gates, dataset={"sha256": "1" * 64})
    summary, status = summarise([suite])
    record = RunRecord(evalharness_version="0", status=status, started_at="t", finished_at="t", duration_s=1.0,
                       summary=summary, suites=[suite])  # fmt: skip
    return record.model_dump(mode="json")


def _report(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes) -> tuple[int, list[str]]:
    path = tmp_path / "run.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    code = cli_main(["report", str(path), "--out", str(tmp_path / "out")])  # a traceback fails the test
    return code, capsys.readouterr().err.splitlines()


def _edited(change: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(_record())
    change(data)
    return json.dumps(data)


def test_a_sound_record_renders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, errors = _report(tmp_path, capsys, json.dumps(_record()))
    assert (code, errors) == (1, [])  # f1 failed
    assert (tmp_path / "out" / "report.html").is_file()


def _gate(data: dict[str, Any]) -> dict[str, Any]:
    gate: dict[str, Any] = data["suites"][0]["gates"][0]
    return gate


BROKEN: list[tuple[str, str | bytes, str]] = [
    ("invalid JSON", '{"record_version": 1,\n "status": ', "run.json:2:12: invalid JSON: Expecting value"),
    ("not an object", "[1, 2]", "run.json: a run.json is a JSON object, not a list"),
    ("a string where a number belongs", _edited(lambda d: _gate(d).update(value="high")),
     "run.json: suites[0].gates[0].value: expected a number, got the text 'high'"),
    ("a number as text", _edited(lambda d: _gate(d).update(min="0.9")),
     "run.json: suites[0].gates[0].min: expected a number, got the text '0.9'"),
    ("a fraction where a count belongs", _edited(lambda d: _gate(d).update(n=2.5)),
     "run.json: suites[0].gates[0].n: expected a whole number, got the number 2.5"),
    ("an unknown status", _edited(lambda d: _gate(d).update(status="great")),
     "run.json: suites[0].gates[0].status: expected one of 'passed', 'failed', 'error', 'info', got the text 'great'"),
    ("an interval of three", _edited(lambda d: _gate(d).update(interval=[0.1, 0.2, 0.3])),
     "run.json: suites[0].gates[0].interval: expected a list of 2, got a list"),
    ("JSON Infinity", json.dumps(_record()).replace('"value": 0.93', '"value": Infinity'),
     "run.json: suites[0].gates[0].value: Infinity is not a JSON number (evalharness writes null)"),
    ("JSON NaN", json.dumps(_record()).replace('"duration_s": 1.0', '"duration_s": NaN'),
     "run.json: duration_s: NaN is not a JSON number (evalharness writes null)"),
    ("a number too large for a float", json.dumps(_record()).replace('"min": 0.9,', '"min": -1e999,', 1),
     "run.json: suites[0].gates[0].min: -Infinity is not a JSON number (evalharness writes null)"),
    ("a missing field", _edited(lambda d: d["suites"][0].pop("sha256")),
     "run.json: suites[0].sha256: missing; a run.json written by evalharness has it"),
    ("no record_version", _edited(lambda d: d.pop("record_version")),
     "run.json: missing record_version: not a run.json written by evalharness"),
    ("a newer record_version", _edited(lambda d: d.update(record_version=99)),
     "run.json: record_version: 99 is newer than this evalharness reads; upgrade evalharness (this one reads 1 to 1)"),
    ("record_version 0", _edited(lambda d: d.update(record_version=0)),
     "run.json: record_version: 0 is not one evalharness writes (this one reads 1 to 1)"),
    ("record_version as text", _edited(lambda d: d.update(record_version="1")),
     "run.json: record_version: '1' is not one evalharness writes (this one reads 1 to 1)"),
    ("no suites", _edited(lambda d: d.update(suites=[], status="passed")),
     "run.json: the record holds no suites (no gate ran), so there is nothing to report"),
    ("a status its gates contradict", _edited(lambda d: d.update(status="passed")),
     "run.json: status: the record says 'passed', but its gates make it 'failed'"),
    ("counts its gates contradict", _edited(lambda d: d["summary"].update(failed=0, passed=2)),
     "run.json: summary: the counts do not match the gates in the record"),
    ("not UTF-8", "{}".encode("utf-16"), "run.json: not UTF-8 text (byte offset 0); not a run.json evalharness wrote"),
    ("JSON nested past the parser's limit", "[" * 100_000 + "]" * 100_000,
     "run.json: invalid record: its JSON nests too deep"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_record_is_one_line_and_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, message: str
) -> None:
    code, errors = _report(tmp_path, capsys, text)
    assert code == 4
    assert errors == [f"evalharness report: {tmp_path / message}"]
    assert not (tmp_path / "out").exists()


def test_a_free_form_section_of_the_wrong_shape_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, errors = _report(tmp_path, capsys, _edited(lambda d: d["suites"][0].update(dataset={"sha256": 5})))
    assert code == 4 and len(errors) == 1
    assert errors[0].startswith(f"evalharness report: {tmp_path / 'run.json'}: a section is not shaped as")


def test_a_missing_record_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["report", str(tmp_path / "absent.json")]) == 4
    assert capsys.readouterr().err.splitlines() == [
        f"evalharness report: {tmp_path / 'absent.json'}: cannot read the record: No such file or directory"
    ]


def test_an_integer_past_a_float_s_range_is_one_line_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # found by test_fuzz_inputs: math.isfinite overflowed on the int before the type check saw it
    code, errors = _report(tmp_path, capsys, _edited(lambda d: _gate(d).update(value=10**400)))
    assert code == 4
    assert errors == [f"evalharness report: {tmp_path / 'run.json'}: suites[0].gates[0].value: a 401-digit integer "
                      "is beyond any number in a record"]  # fmt: skip
