"""Text from outside never becomes a GitHub workflow command or a raw terminal escape.

A whole pytest run against a hostile model server on 127.0.0.1: its answers and its 500 error
bodies carry ``\\n::error::INJECTED\\n\\x1b[31m``, and the dataset's ids and cells start with
``::error::``. Every output is then read as the Actions runner reads a job's log, line by line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.builders import demo_project
from tests.servers import INJECTED, hostile_server

pytest_plugins = ["pytester"]

COMMAND = re.compile(r"^\s*::[A-Za-z0-9_-]+( [^:]*)?::")
"""A line GitHub's runner takes for a workflow command (leading whitespace allowed)."""
BODY = '{"x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'
HOSTILE_IDS = ["::error::x", "  ::warning title=t::y", "\t::add-mask::z"]


def problems(name: str, text: str) -> list[str]:
    """Lines of ``text`` that are workflow commands, and raw ESC bytes, as the runner would see them."""
    found = [f"{name}: {line!r}" for line in text.splitlines() if COMMAND.match(line)]
    return found + ([f"{name}: raw ESC byte"] if "\x1b" in text else [])


def strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)


def hostile_project(folder: Path, url: str) -> None:
    rows = len(HOSTILE_IDS) + 5
    pd.DataFrame({
        "row_id": HOSTILE_IDS + [f"r{i}" for i in range(rows - len(HOSTILE_IDS))],
        "x1": [0.5] * rows,
        "x2": [-0.25] * rows,
        "note": [f"::notice::cell{INJECTED}", "plain"] + ["n"] * (rows - 2),
        "y": ["legit", "fraud"] * (rows // 2) + ["legit"] * (rows % 2),
    }).to_csv(folder / "data.csv", index=False)  # fmt: skip
    for name, route in (("answers", "hostile/answer"), ("errors", "hostile/error")):
        (folder / f"{name}.yaml").write_text(
            f"schema: 1\nname: {name}\n"
            f"target: {{kind: http, url: '{url}/{route}', body: '{BODY}', label: output.label, retries: 0}}\n"
            "dataset: {path: data.csv, id: row_id, expected: y, inputs: [x1, x2, note]}\n"
            "metrics:\n  accuracy: {min: 0.9}\n"
        )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    pytest.importorskip("aiohttp")
    folder = tmp_path_factory.mktemp("hostile")
    with hostile_server() as url:
        hostile_project(folder, url)
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness", "answers.yaml",
                   "--evalharness", "errors.yaml", "--evalharness-report-dir=reports", "-rA", "-vv",
                   "--log-level=DEBUG", "--log-cli-level=DEBUG", "--log-file=run.log", "--log-file-level=DEBUG",
                   "--junitxml=pytest-junit.xml"]  # fmt: skip
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300,
                                env={**os.environ, "PY_COLORS": "0"})  # fmt: skip
    return folder, result


def test_no_output_carries_a_workflow_command_or_an_escape(run: tuple[Path, Any]) -> None:
    folder, result = run
    assert result.returncode == 1, result.stdout[-3000:]  # one gate failed, one could not be evaluated
    outputs = {"stdout": result.stdout, "stderr": result.stderr}
    for name in ("run.log", "pytest-junit.xml", "reports/junit.xml", "reports/report.html", "reports/rows.jsonl"):
        outputs[name] = (folder / name).read_text(encoding="utf-8")
    record = json.loads((folder / "reports/run.json").read_text(encoding="utf-8"))
    found = [problem for name, text in outputs.items() for problem in problems(name, text)]
    found += [problem for text in strings(record) for problem in problems("reports/run.json", text)]
    assert found == []


def test_the_hostile_text_is_shown_escaped_not_dropped(run: tuple[Path, Any]) -> None:
    folder, result = run
    assert "\\x3a:error::x" in result.stdout  # the id, in the worst rows of the failed gate
    assert "legit\\x0a::error::INJECTED\\x0a\\x1b[31mred" in result.stdout  # the answer, on one line
    assert "internal error\\x0a::error::INJECTED\\x0a\\x1b[31mred" in result.stdout  # the error body, one line
    logged = [line for line in (folder / "run.log").read_text().splitlines() if "HTTP 500" in line]
    assert logged and all("internal error\\x0a::error::INJECTED\\x0a\\x1b[31mred" in line for line in logged)
    record = json.loads((folder / "reports/run.json").read_text())
    answers, errors = record["suites"]
    assert answers["gates"][0]["status"] == "failed" and errors["gates"][0]["status"] == "error"
    assert answers["gates"][0]["worst_rows"][0]["id"] == "\\x3a:error::x"


def test_rows_jsonl_keeps_the_answers_whole_as_json_escapes(run: tuple[Path, Any]) -> None:
    folder, _ = run
    text = (folder / "reports/rows.jsonl").read_text(encoding="utf-8")
    header, *rows = (json.loads(line) for line in text.splitlines())
    assert header["format"] == "evalharness-rows" and header["suites"] == ["answers.yaml"]
    assert [row["id"] for row in rows[: len(HOSTILE_IDS)]] == HOSTILE_IDS
    assert {row["predicted"] for row in rows} == {f"legit{INJECTED}red"}
    assert "\\u001b[31m" in text and len(text.splitlines()) == len(rows) + 1


def test_the_last_guard_catches_what_no_source_escaped(pytester: pytest.Pytester) -> None:
    """A gate's captured output and a bug's traceback are not ours to escape at the source; the
    report hook still leaves no command line and no raw escape in them."""
    demo_project(pytester.path)
    pytester.makeconftest(f"""
        import sys
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_call(item):
            print({INJECTED!r} + "FROM-STDOUT")
            sys.stderr.write("  ::warning::FROM-STDERR\\x1b[2J\\n")
            raise RuntimeError("bug" + {INJECTED!r})
    """)
    result = pytester.runpytest("--evalharness", "suite.yaml", "-rA", "--color=no")
    text = result.stdout.str()
    assert result.ret == 1 and "FROM-STDOUT" in text and "FROM-STDERR" in text
    assert problems("stdout", text) == []


def test_the_step_summary_and_annotations_carry_no_injected_command(run: tuple[Path, Any], tmp_path: Path) -> None:
    """`evalharness github` on the hostile run: its only workflow commands are its own annotations,
    one line each, with the hostile text escaped inside; the summary file holds no raw escape."""
    folder, result = run
    files = {name: tmp_path / name.lower() for name in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")}
    env = {**os.environ, **{name: str(path) for name, path in files.items()}, "GITHUB_WORKSPACE": str(folder)}
    published = subprocess.run([sys.executable, "-m", "evalharness", "github", "reports", "--exit-code",
                                str(result.returncode)], cwd=folder, capture_output=True, text=True, env=env,
                               timeout=60)  # fmt: skip
    assert published.returncode == 1, published.stderr
    ours = re.compile(r"^::error file=(answers|errors)\.yaml,line=6,title=[^:\n]*::[^\n]*$")
    commands = [line for line in published.stdout.splitlines() if COMMAND.match(line)]
    assert len(commands) == 2 and all(ours.match(line) for line in commands), commands
    assert "\\x0a::error::INJECTED\\x0a\\x1b[31mred" in commands[1]  # kept, escaped inside one line
    summary = files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
    assert problems("summary", summary) == [] and "INJECTED" in summary
    assert problems("summary.md", (folder / "reports" / "summary.md").read_text(encoding="utf-8")) == []
