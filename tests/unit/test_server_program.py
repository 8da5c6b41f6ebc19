"""A suite's ``server:`` program that is not installed: `validate` warns (lint jobs run without the servers),
a run stops with exit 4 before anything starts, located at the command; never a traceback per gate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evalharness.errors import EvalHarnessError
from evalharness.load.server import spawn
from tests.builders import demo_project

SERVER = "server: {command: [%s, --port, '{port}'], ready: /ready}\n"


def _suite(tmp_path: Path, program: str) -> Path:
    suite = demo_project(tmp_path)
    http = "target: {kind: http, url: 'http://127.0.0.1:{port}/p', body: '{}', label: l}"
    text = suite.read_text().replace("target: {kind: onnx, path: model.onnx, batch_size: 64}", http)
    suite.write_text(SERVER % program + text)
    return suite


@pytest.mark.parametrize(
    ("program", "says"),
    [
        ("../venv-missing/bin/python", "../venv-missing/bin/python is not an executable file (from the suite's folder"),
        ("no-such-model-server-xyz", "no-such-model-server-xyz is not on PATH"),
        ("./data.csv", "./data.csv is not an executable file"),
    ],
)
def test_a_missing_server_program_warns_in_validate_and_stops_a_run(tmp_path: Path, program: str, says: str) -> None:
    suite = _suite(tmp_path, program)
    validate = subprocess.run([sys.executable, "-m", "evalharness", "validate", str(suite)],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert validate.returncode == 0 and f"warning: {suite}:1:20: server.command[0]: the server cannot start: " in (
        validate.stdout + validate.stderr
    ), validate.stdout + validate.stderr
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness", str(suite),
                          "--evalharness-report-dir", str(tmp_path / "reports")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 4 and says in run.stdout + run.stderr and "Traceback" not in run.stdout + run.stderr


def test_spawning_a_program_that_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EvalHarnessError, match="the server command 'missing-xyz' cannot start: No such file"):
        spawn(["missing-xyz"], tmp_path)
    with pytest.raises(EvalHarnessError, match="cannot start: Permission denied"):
        (tmp_path / "plain.txt").write_text("x")
        spawn(["./plain.txt"], tmp_path)
