"""A chat target's answers as a QA lead reads them: unparsed answers scored wrong and kept, cut-off answers
counted against max_error_rate, rows with no answer null (never a class 'None'), and the model's whole
answer beside the extracted label in the terminal, run.json, rows.jsonl, report.html and summary.md."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.builders import two_feature_frame
from tests.servers import answer, loopback_server

pytest.importorskip("aiohttp")
ROWS = 40
# Rows whose id ends in 3 are cut off by the server (finish_reason length); only "fraud" is a label, so
# every "Answer: legit" is a whole answer that labels cannot read: unparsed.
PROMPT = 'x1={{ x1 }} x2={{ x2 }}{% if row_id[-1] == "3" %} cut=length{% endif %}'
SUITE = """\
schema: 1
name: chat answers
target: {{kind: openai, base_url: '{url}/v1', model: demo, prompt: '{prompt}', extract: 'Answer:\\s*(\\w+)',
         labels: {{fraud: 1}}, max_error_rate: 0.2, retries: 0}}
dataset: {{path: data.csv, id: row_id, expected: y}}
metrics:
  accuracy: {{min: 0.99}}
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("chat")
    frame = two_feature_frame(ROWS)
    frame.to_csv(folder / "data.csv", index=False)
    with loopback_server() as (url, _):
        (folder / "suite.yaml").write_text(SUITE.format(url=url, prompt=PROMPT))
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness",
                               "suite.yaml", "--evalharness-report-dir=reports"],
                              cwd=folder, capture_output=True, text=True, timeout=300)  # fmt: skip
    reports = folder / "reports"
    yield {
        "frame": frame,
        "done": done,
        "record": json.loads((reports / "run.json").read_text()),
        "rows": [json.loads(line) for line in (reports / "rows.jsonl").read_text().splitlines()[1:]],
        "html": (reports / "report.html").read_text(),
        "markdown": (reports / "summary.md").read_text(),
    }


def _truth(frame: Any) -> list[tuple[str, int, str]]:
    """(id, expected, what the server says) per row, from the server's own rule."""
    said = [answer({"x1": f"{r['x1']}", "x2": f"{r['x2']}"})[0] for r in frame.to_dict(orient="records")]
    return [(row_id, int(y), "fraud" if s else "legit") for row_id, y, s in zip(frame["row_id"], frame["y"], said)]


def test_unparsed_is_wrong_cut_off_is_a_failure_and_the_gate_fails_not_errors(run: dict[str, Any]) -> None:
    truth = _truth(run["frame"])
    cut = [row_id[-1] == "3" for row_id, _, _ in truth]
    unparsed = [not c and said == "legit" for c, (_, _, said) in zip(cut, truth)]
    right = sum(not c and said == "fraud" and y == 1 for c, (_, y, said) in zip(cut, truth))
    assert run["done"].returncode == 1, run["done"].stdout[-3000:]  # failed on accuracy, not an error
    suite = run["record"]["suites"][0]
    assert suite["target"]["outcomes"] == {"ok": ROWS - sum(cut) - sum(unparsed), "unparsed": sum(unparsed),
                                           "cut_off": sum(cut)}  # fmt: skip
    assert suite["target"]["unparsed_rate"] == pytest.approx(sum(unparsed) / ROWS)
    assert "finish_reason length" in suite["target"]["first_error"]
    gate = suite["gates"][0]
    assert gate["n"] == ROWS and gate["value"] == pytest.approx(right / ROWS)
    matrix = suite["confusion_matrix"]
    assert matrix["labels"] == [0, 1] and None not in matrix["labels"] and "None" not in matrix["labels"]
    no_answer = [sum(c or u for c, u, (_, y, _) in zip(cut, unparsed, truth) if y == label) for label in (0, 1)]
    assert matrix["no_answer"] == no_answer


def test_every_row_keeps_the_models_answer_beside_the_label(run: dict[str, Any]) -> None:
    rows = {row["id"]: row for row in run["rows"]}
    for row_id, _, said in _truth(run["frame"]):
        row = rows[row_id]
        if row_id[-1] == "3":
            assert row["outcome"] == "cut_off" and row["predicted"] is None
        elif said == "legit":
            assert row["outcome"] == "unparsed" and row["predicted"] is None and row["raw"] == "Answer: legit"
        else:
            assert row["outcome"] == "ok" and row["predicted"] == 1 and row["raw"] == "Answer: fraud"
    failing = run["record"]["suites"][0]["failing_rows"]
    assert failing and all(row["predicted"] is None and "raw" in row for row in failing)


def test_the_terminal_html_and_markdown_show_the_raw_answer(run: dict[str, Any]) -> None:
    out = run["done"].stdout
    assert "answer (unparsed): 'Answer: legit'" in out and "(no answer)" in out
    assert "'None'" not in out
    assert "answer (unparsed): Answer: legit" in run["html"] and "(no answer)</th>" in run["html"]
    assert "| answer |" in run["markdown"] and "Answer: legit" in run["markdown"]
