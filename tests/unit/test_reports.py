"""Reports render from the RunRecord alone, escape untrusted text, and validate against the XSD."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalharness.cli import main as cli_main
from evalharness.record import GateRecord, RunRecord, SuiteRecord, summarise
from evalharness.report import load_record, write_reports
from evalharness.report.render import render_html, render_junit
from evalharness.report.text import terminal_safe, xml_safe

HOSTILE = "evil <script>alert(\"x\")</script> & \x1b[31mred\x00\x07 ]]> 'q'"


def _record(message: str = HOSTILE) -> RunRecord:
    row = {"id": "r<1>", "expected": 1, "predicted": 0, "score": 0.1, "loss": 0.9, "inputs": {"text": HOSTILE}}
    gates = [
        GateRecord(name="accuracy", nodeid="s.yaml::accuracy", metric="accuracy", status="failed", value=0.5, n=10,
                   interval=(0.2, 0.8), method="wilson", min=0.9, message=message, worst_rows=[row]),
        GateRecord(name="auc", nodeid="s.yaml::auc", metric="auc", status="error", message=message),
        GateRecord(name="f1", nodeid="s.yaml::f1", metric="f1", status="passed", value=float("nan"), n=10),
    ]  # fmt: skip
    suite = SuiteRecord(name=f"suite {HOSTILE}", path="s.yaml", sha256="0" * 64, gates=gates, target={"kind": "onnx"},
                        confusion_matrix={"labels": [0, 1], "matrix": [[5, 1], [4, 0]]},
                        failing_rows=[row])  # fmt: skip
    summary, status = summarise([suite])
    return RunRecord(evalharness_version="0", status=status, started_at="t", finished_at="t", duration_s=1.23456,
                     summary=summary, suites=[suite], environment={"python": "3"})  # fmt: skip


def test_junit_is_valid_and_keeps_hostile_text_visible(junit_schema) -> None:  # type: ignore[no-untyped-def]
    text = render_junit(_record())
    junit_schema.validate(text)
    root = ET.fromstring(text)
    suite = root.find("testsuite")
    assert (
        suite is not None and suite.get("failures") == "1" and suite.get("errors") == "1" and suite.get("tests") == "3"
    )
    failure = root.find(".//testcase[@name='accuracy']/failure")
    assert failure is not None
    assert failure.get("message", "").startswith('evil <script>alert("x")</script> & \\x1b[31mred\\x00\\x07 ]]>')
    assert "value=0.5000 threshold >= 0.9 CI=[0.2000, 0.8000] n=10" in failure.get("message", "")
    assert "r<1>" in (failure.text or "")
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["accuracy.value"] == "0.5"  # exact: repr of the float
    assert properties["accuracy.interval"] == "[0.2000, 0.8000]"
    assert "f1.value" not in properties  # no value: no property (a trend plots nothing rather than a 0)


def test_html_escapes_model_output() -> None:
    html = render_html(_record())
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\x00" not in html


def test_reports_rerender_identically_from_run_json(tmp_path: Path) -> None:
    record = _record()
    written = write_reports(record, tmp_path / "a")
    data = json.loads(written["json"].read_text())
    assert data["record_version"] == 1
    assert data["suites"][0]["gates"][2]["value"] is None  # NaN is stored as null
    reloaded = load_record(written["json"])
    assert render_junit(reloaded) == written["junit"].read_text()
    assert render_html(reloaded) == written["html"].read_text()


def test_cli_report_rerenders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = write_reports(_record(), tmp_path / "a")
    assert cli_main(["report", str(written["json"]), "--out", str(tmp_path / "b")]) == 1  # the record failed
    assert (tmp_path / "b" / "junit.xml").read_text() == written["junit"].read_text()
    assert "wrote" in capsys.readouterr().out


def test_cli_report_refuses_a_newer_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.json"
    data = _record().model_dump(mode="json")
    data["record_version"] = 99
    path.write_text(json.dumps(data))
    assert cli_main(["report", str(path)]) == 4
    assert "newer than this evalharness reads" in capsys.readouterr().err


def test_text_escapes() -> None:
    assert xml_safe("a\x00b\x1bc\td") == "a\\x00b\\x1bc\td"
    assert terminal_safe("\x1b[2Jx\n") == "\\x1b[2Jx\\x0a"
