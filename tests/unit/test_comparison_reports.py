"""Candidate vs baseline in every report: the terminal table, failure text, JUnit and HTML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import pytest

from evalharness.record import GateRecord, RunRecord, SuiteRecord, summarise
from evalharness.report.failure import format_gate_failure
from evalharness.report.render import render_html, render_junit, templates_dir
from evalharness.report.terminal import gate_table, write_summary
from evalharness.report.text import format_delta, format_interval, format_p_value, format_ratio
from tests.builders import logistic_onnx, two_feature_frame, write_suite

HOSTILE = "::error::x <script>alert(1)</script>\n\x1b[31m"
TARGET = {"kind": "onnx", "path": "model.onnx", "sha256": "63b3a55deeac7447" + "0" * 48, "engine": "onnxruntime 1.2"}
BASELINE = {"kind": "onnx", "path": "base.onnx", "sha256": "5942e49aa5bc29ed" + "1" * 48, "engine": "onnxruntime 1.2",
            "providers": ["CPUExecutionProvider"]}  # fmt: skip


def _flip(row_id: str, flip: str, predicted: Any, before: Any) -> dict[str, Any]:
    return {"id": row_id, "expected": before if flip == "right_to_wrong" else predicted, "predicted": predicted,
            "baseline_predicted": before, "score": 0.9, "baseline_score": 0.2, "loss": 0.9, "flip": flip,
            "inputs": {"x1": 1.0}}  # fmt: skip


def _comparison(**changes: Any) -> dict[str, Any]:
    """An accuracy comparison where the baseline is much better: max_drop fails."""
    comparison = {
        "baseline": {"value": 0.8883, "interval": [0.8606, 0.9111], "n": 600, "method": "wilson"},
        "delta": -0.2483, "delta_interval": [-0.2903, -0.2056], "delta_method": "newcombe paired (method 10)",
        "ratio": 0.72, "ratio_interval": [0.678, 0.764], "better": "higher",
        "mcnemar": {"table": {"both": 356, "only_candidate": 28, "only_baseline": 177, "neither": 39},
                    "right_to_wrong": 177, "wrong_to_right": 28, "p_value": 1.2e-27},
        "gates": [{"name": "max_drop", "limit": 0.01, "compared": -0.2056, "verdict": "failed", "rows_needed": None,
                   "reason": "drop against the baseline (at most 0.01): interval [-0.2903, -0.2056] is wholly past "
                             "-0.01"}],
        "verdict": "failed", "on_inconclusive": "fail",
        "flips": {"right_to_wrong": 177, "wrong_to_right": 28, "rows": [
            _flip("fixed-1", "wrong_to_right", 1, 0),  # listed first here; reports put regressions first
            _flip(HOSTILE, "right_to_wrong", HOSTILE, "benign"),
            _flip("r00247", "right_to_wrong", 1, 0),
        ]},
    }  # fmt: skip
    comparison.update(changes)
    return comparison


def _retention() -> dict[str, Any]:
    """An f1 comparison gated on the ratio, inconclusive, without McNemar or flips."""
    gate = {"name": "min_retention", "limit": 0.99, "compared": 0.97, "verdict": "inconclusive", "rows_needed": 12000,
            "reason": "candidate / baseline (at least 0.99): interval [+0.9700, +1.0100] straddles +0.99"}  # fmt: skip
    return _comparison(ratio=0.99, ratio_interval=[0.97, 1.01], delta_method="paired bootstrap", mcnemar=None,
                       gates=[gate], verdict="inconclusive", flips=None)  # fmt: skip


def _undefined() -> dict[str, Any]:
    """A comparison reported only (no delta gates), every number undefined."""
    return {"baseline": {"value": None, "interval": None, "n": 0, "method": "wilson"}, "delta": None,
            "delta_interval": None, "delta_method": "none (a side cannot be resampled)", "ratio": None,
            "ratio_interval": None, "better": "higher", "mcnemar": None, "gates": [], "verdict": None}  # fmt: skip


def _gates() -> list[GateRecord]:
    common = {"n": 600, "method": "wilson", "confidence": 0.95}
    return [
        GateRecord(name="accuracy", nodeid="s.yaml::accuracy", metric="accuracy", status="failed", value=0.64,
                   interval=(0.6008, 0.6774), min=0.5, gate_on="bound", comparison=_comparison(),
                   message="failed: drop against the baseline", **common),
        GateRecord(name="f1", nodeid="s.yaml::f1", metric="f1", status="failed", value=0.67, interval=(0.63, 0.71),
                   comparison=_retention(), message="inconclusive", **common),
        GateRecord(name="agreement", nodeid="s.yaml::agreement", metric="agreement", status="passed", value=0.98,
                   min=0.9, **common),
        GateRecord(name="precision", nodeid="s.yaml::precision", metric="precision", status="info",
                   comparison=_undefined(), **common),
    ]  # fmt: skip


def _record(baseline: bool = True) -> RunRecord:
    gates = _gates() if baseline else [gate.model_copy(update={"comparison": None}) for gate in _gates()]
    suite = SuiteRecord(name="demo", path="s.yaml", sha256="0" * 64, target=TARGET, gates=gates,
                        baseline=BASELINE if baseline else None)  # fmt: skip
    summary, status = summarise([suite])
    return RunRecord(evalharness_version="0", status=status, started_at="t", finished_at="t", duration_s=1.0,
                     summary=summary, suites=[suite])  # fmt: skip


def _ours(tag: str, attrs: dict[str, str | None]) -> bool:
    """The report's own scripts: its sibling plotly.min.js and report.js, and inert JSON data blocks."""
    own = attrs.get("src") in ("plotly.min.js", "report.js") or attrs.get("type") == "application/json"
    return tag == "script" and own


class _State:
    """The slice of the session state the terminal table reads."""

    def __init__(self, record: RunRecord) -> None:
        self.suite_records = {suite.path: {"name": suite.name, "target": suite.target} for suite in record.suites}
        self.gate_records = {suite.path: suite.gates for suite in record.suites}

    def ordered_gates(self, path: str) -> list[GateRecord]:
        return self.gate_records[path]


class _Terminal:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_sep(self, sep: str, title: str) -> None:
        self.lines.append(title)

    def write_line(self, line: str, **markup: bool) -> None:
        self.lines.append(line)


def test_terminal_table_shows_baseline_delta_and_verdict() -> None:
    header, rows = gate_table(_State(_record()))
    assert header[-3:] == ("baseline", "delta [interval]", "verdict")
    cells = {row[0][1]: dict(zip(header, row[0])) for row in rows}
    assert cells["accuracy"]["baseline"] == "0.8883"
    assert cells["accuracy"]["delta [interval]"] == "-0.2483 [-0.2903, -0.2056]"
    assert cells["accuracy"]["verdict"] == "FAILED"
    assert cells["f1"]["delta [interval]"] == "x0.990 [0.970, 1.010]"  # a ratio gate shows the ratio
    assert cells["f1"]["verdict"] == "INCONCLUSIVE"
    assert [cells["agreement"][key] for key in header[-3:]] == ["-", "-", "-"]  # not compared
    assert [cells["precision"][key] for key in header[-3:]] == ["-", "-", "-"]  # compared, all undefined
    terminal = _Terminal()
    write_summary(terminal, _State(_record()), {})
    assert "delta [interval]" in terminal.lines[1] and "-0.2483 [-0.2903, -0.2056]" in terminal.lines[2]


def test_terminal_table_stays_narrow_without_a_baseline() -> None:
    header, rows = gate_table(_State(_record(baseline=False)))
    assert header == ("suite", "gate", "value", "threshold", "CI", "n", "result")
    assert all(len(cells) == len(header) for cells, _ in rows)


def test_failure_text_explains_the_comparison() -> None:
    text = format_gate_failure(_record().suites[0].gates[0])
    assert "against the baseline (higher is better): FAILED" in text
    assert "baseline   0.8883  95% CI [0.8606, 0.9111] (wilson, n=600)" in text
    assert "delta      -0.2483 [-0.2903, -0.2056] (newcombe paired (method 10))" in text
    assert "ratio      x0.720 [0.678, 0.764]" in text
    assert "356 both right, 28 only the candidate right, 177 only the baseline right, 39 both wrong" in text
    assert "exact p = 1.2e-27" in text
    assert "max_drop       FAILED: drop against the baseline (at most 0.01)" in text
    assert "flips: 177 right to wrong, 28 wrong to right; the first 3:" in text
    flips = [line for line in text.splitlines() if line.endswith(("right to wrong", "wrong to right"))]
    assert [line.endswith("right to wrong") for line in flips] == [True, True, False]  # regressions first
    assert "r00247       0         1          0" in flips[1]


def test_failure_text_says_how_many_rows_would_decide_an_inconclusive_gate() -> None:
    text = format_gate_failure(_record().suites[0].gates[1])
    assert "against the baseline (higher is better): INCONCLUSIVE (on_inconclusive: fail)" in text
    assert "min_retention  INCONCLUSIVE: candidate / baseline (at least 0.99)" in text
    assert "about 12,000 rows would decide it" in text
    assert "McNemar" not in text and "flips" not in text


def test_failure_text_keeps_hostile_flips_on_one_safe_line() -> None:
    text = format_gate_failure(_record().suites[0].gates[0])
    assert "\x1b" not in text and "<script>" in text  # plain text: escaping is the renderer's job
    assert not any(line.lstrip().startswith("::") for line in text.splitlines())
    assert "\\x3a:error::x" in text and "\\x0a\\x1b[31m" in text


def test_junit_carries_the_comparison_as_properties_and_stays_valid(junit_schema) -> None:  # type: ignore[no-untyped-def]
    text = render_junit(_record())
    junit_schema.validate(text)
    root = ET.fromstring(text)
    names = [p.get("name") for p in root.iter("property")]
    assert len(names) == len(set(names))  # one value per name: readers keep either the first or the last
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["baseline.kind"] == "onnx" and properties["baseline.sha256"] == BASELINE["sha256"]
    expected = {"baseline_value": "0.8883", "delta": "-0.2483", "delta_low": "-0.2903", "delta_high": "-0.2056",
                "ratio": "0.72", "mcnemar_p": "1.2e-27", "comparison_verdict": "failed",
                "max_drop.verdict": "failed", "delta_method": "newcombe paired (method 10)"}  # fmt: skip
    assert {key: properties[f"accuracy.{key}"] for key in expected} == expected
    assert properties["f1.min_retention.verdict"] == "inconclusive" and properties["f1.mcnemar_p"] == "-"
    assert properties["precision.delta_low"] == "-" and properties["precision.comparison_verdict"] == "-"
    assert "agreement.delta" not in properties
    out = root.find(".//testcase[@name='accuracy']/system-out")
    assert out is not None and "delta -0.2483 [-0.2903, -0.2056], ratio x0.720 [0.678, 0.764], verdict failed" in (
        out.text or ""
    )
    failure = root.find(".//testcase[@name='accuracy']/failure")
    assert failure is not None and "exact p = 1.2e-27" in (failure.text or "")


def test_junit_without_a_baseline_has_no_comparison_properties(junit_schema) -> None:  # type: ignore[no-untyped-def]
    text = render_junit(_record(baseline=False))
    junit_schema.validate(text)
    names = [p.get("name", "") for p in ET.fromstring(text).iter("property")]
    assert not [name for name in names if "baseline" in name or "delta" in name or "ratio" in name]
    assert "ratio x" not in text


class _Tables(HTMLParser):
    """Rows of cell texts per table class, and the class of each status span, as the page has them."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.statuses: dict[str, list[str]] = {}
        self.tags: list[str] = []
        self._table = ""
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append("script:ours" if _ours(tag, dict(attrs)) else tag)
        classes = dict(attrs).get("class") or ""
        if tag == "table":
            self._table = classes
            self.tables[classes] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = self.tables[self._table][-1]
            self._cell.append("")
        elif tag == "span" and classes.startswith("status ") and self._table:
            self.statuses.setdefault(self._table, []).append(classes.removeprefix("status "))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = ""
        elif tag in ("td", "th"):
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[-1] += data


def _tables(html: str) -> _Tables:
    tables = _Tables()
    tables.feed(html)
    return tables


def test_html_compares_the_candidate_with_the_baseline_side_by_side() -> None:
    html = render_html(_record())
    tables = _tables(html)
    targets = {row[0]: row[1:] for row in tables.tables["targets"]}
    assert targets["kind"] == ["onnx", "onnx"] and targets["path"] == ["model.onnx", "base.onnx"]
    assert targets["sha256"] == ["63b3a55deeac7447", "5942e49aa5bc29ed"]
    assert targets["engine"][1].split() == ["onnxruntime", "1.2", "CPUExecutionProvider"]
    header, *rows = tables.tables["delta-gates"]
    assert header == ["gate", "candidate [CI]", "baseline [CI]", "delta [interval]", "ratio [interval]", "McNemar p",
                      "verdict", "delta gates"]  # fmt: skip
    by_gate = {row[0]: row for row in rows}
    assert set(by_gate) == {"accuracy", "f1", "precision"}
    assert by_gate["accuracy"][1:3] == ["0.6400 [0.6008, 0.6774]", "0.8883 [0.8606, 0.9111]"]
    assert by_gate["accuracy"][3].startswith("-0.2483 [-0.2903, -0.2056]")
    assert by_gate["accuracy"][4:6] == ["x0.720 [0.678, 0.764]", "1.2e-27"]
    assert by_gate["f1"][6].startswith("inconclusive") and by_gate["precision"][6] == "-"
    assert tables.statuses["delta-gates"] == ["failed", "failed", "inconclusive", "inconclusive"]
    css = (templates_dir() / "report.css").read_text()
    assert ".inconclusive" in css  # the verdict has a style, in the sibling stylesheet


def test_html_lists_flips_regressions_first_and_escaped() -> None:
    html = render_html(_record())
    header, *rows = _tables(html).tables["flips"]
    assert header[:4] == ["id", "expected", "candidate answer", "baseline answer"]
    assert [row[-1] for row in rows] == ["right → wrong", "right → wrong", "wrong → right"]
    assert rows[0][0] == rows[0][2] == "\\x3a:error::x <script>alert(1)</script>\\x0a\\x1b[31m"
    assert rows[0][3] == "benign" and rows[2][0] == "fixed-1"
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x1b" not in html and "script" not in _tables(html).tags


def test_html_without_a_baseline_has_no_comparison_section() -> None:
    tables = _tables(render_html(_record(baseline=False)))
    assert "targets" not in tables.tables and "delta-gates" not in tables.tables and "flips" not in tables.tables


def test_comparison_numbers_format_and_absent_ones_show_a_dash() -> None:
    assert format_delta(0.0027, (-0.0021, 0.0075)) == "+0.0027 [-0.0021, +0.0075]"
    assert format_ratio(1.003, [0.9978, 1.0083]) == "x1.003 [0.998, 1.008]"
    assert format_delta(0.0027) == "+0.0027" and format_ratio(None) == format_delta(float("nan")) == "-"
    assert format_p_value(0.33175) == "0.3317" and format_p_value(1.2e-7) == "1.2e-07" and format_p_value(None) == "-"
    read: Any = [None, 0.5]  # as an edited record may hold it
    assert format_interval(read) == format_interval([float("inf"), 1.0]) == "-"


def test_a_pytest_run_against_a_better_baseline_reports_the_regression(
    pytester: pytest.Pytester, junit_schema: Any
) -> None:
    pytest.importorskip("onnxruntime")  # imported before pytester snapshots the modules
    folder = pytester.path  # a candidate that half ignores an input, against a baseline that uses both
    logistic_onnx(folder / "model.onnx", [1.0, -0.3], 0.4)
    logistic_onnx(folder / "base.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(600).to_csv(folder / "data.csv", index=False)
    suite = write_suite(folder, "accuracy: {min: 0.5, max_drop: 0.01, gate_on: bound}\nf1: {min_retention: 0.99}")
    suite.write_text(suite.read_text().replace("\ndataset:", "\nbaseline: {kind: onnx, path: base.onnx}\ndataset:"))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--evalharness", "suite.yaml",
                                          "--evalharness-report-dir=reports")  # fmt: skip
    assert result.ret == 1
    lines = result.stdout.str().splitlines()
    header = next(line for line in lines if line.startswith("suite "))
    assert header.split()[-4:] == ["baseline", "delta", "[interval]", "verdict"]
    accuracy = next(line for line in lines if line.startswith("demo ") and " accuracy " in line)
    assert accuracy.split()[-1] == "FAILED" and "-0.2483 [-0.2903, -0.2056]" in accuracy
    f1 = next(line for line in lines if line.startswith("demo ") and " f1 " in line)
    assert f1.split()[-4:-1] == ["x0.762", "[0.715,", "0.805]"]  # seeded: the same on every machine
    assert any(line.startswith("    max_drop       FAILED") for line in lines)
    failures = lines[: next(i for i, line in enumerate(lines) if "short test summary info" in line)]
    # pytest repeats the whole message in its summary when CI is set; count the failure section only
    assert sum(line.endswith("right to wrong") for line in failures) == 5  # the suite keeps 5 flipped rows
    reports = folder / "reports"
    junit_schema.validate((reports / "junit.xml").read_text())
    assert "Candidate vs baseline" in (reports / "report.html").read_text()


def test_a_long_suite_name_is_shown_whole_up_to_64_characters() -> None:
    record = _record(baseline=False)
    record.suites[0].name = "fraud-scoring-distilled-candidate-eu-west-nightly"  # 49 characters
    _, rows = gate_table(_State(record))
    assert rows[0][0][0] == "fraud-scoring-distilled-candidate-eu-west-nightly"
    record.suites[0].name = "x" * 200
    _, rows = gate_table(_State(record))
    assert len(rows[0][0][0]) == 64 and rows[0][0][0].endswith("…")
