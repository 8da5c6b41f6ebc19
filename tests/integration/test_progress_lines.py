"""Progress of endpoint and load runs as a user sees it: whole pytest runs under a pseudo-terminal (the
raw bytes replayed on a small screen model) and with stderr piped, as in a CI log.

In a terminal, the progress row is drawn below pytest's line and cleared when done, so pytest's own
line (``suite.yaml ...  [100%]``) ends up exactly as it would without it. In a log, a few whole
lines: no carriage returns, no escape sequences."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import demo_project
from tests.integration.test_endpoint_runs import http_project
from tests.servers import fault_server_process

pytestmark = pytest.mark.integration
pytest.importorskip("onnxruntime")

PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness", "suite.yaml",
          "--evalharness-report-dir=reports"]  # fmt: skip
LOAD = """
load:
  model: open
  rate: 100
  arrival: constant
  duration_s: 2
  warmup_s: 1
  cold_start: {repeats: 2, warm_requests: 5}
  gates: {p95_ms: {max: 1000}, cold_start_s: {max: 60}}
"""
ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[78DM])")


def in_pty(folder: Path, timeout_s: float = 240) -> bytes:
    """pytest's whole output under a pseudo-terminal (stdout and stderr both), as raw bytes."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: pytest on the terminal's side
        os.chdir(folder)
        os.environ["COLUMNS"] = "100"
        os.execv(PYTEST[0], PYTEST)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")[-3000:]
    return out


def screen(raw: bytes) -> list[str]:
    """The rows a VT100 shows after ``raw`` (an unbounded screen: no scrolling needed); colours dropped."""
    rows: list[list[str]] = [[]]
    row = column = 0
    saved = (0, 0)
    for index, token in enumerate(ESCAPE.split(raw.decode("utf-8"))):  # text and escape codes in turn
        if index % 2:
            saved = (row, column) if token == "7" else saved
            row, column = saved if token == "8" else (row + (token == "D") - (token == "M"), column)
            if token == "[K":
                del rows[row][column:]
            continue
        for char in token:
            if char == "\r":
                column = 0
            elif char == "\n":
                row += 1
            else:
                rows[row][len(rows[row]) :] = " " * max(column - len(rows[row]), 0)
                rows[row][column : column + 1] = [char]
                column += 1
            rows.extend([] for _ in range(row + 1 - len(rows)))
    return ["".join(cells).rstrip() for cells in rows]


def pytest_rows(rows: list[str]) -> list[str]:
    return [row for row in rows if row.startswith("suite.yaml")]


def test_the_endpoint_bar_in_a_terminal_leaves_pytests_line_whole(tmp_path: Path) -> None:
    with fault_server_process() as url:
        http_project(tmp_path, url, rows=500, target_extra=", concurrency: 1")  # ~5 ms a request: about 3 s
        raw = in_pty(tmp_path)
    assert b"suite.yaml: http:" in raw and b"req/s" in raw  # the bar was drawn, redrawn in place
    rows = screen(raw)
    assert len(pytest_rows(rows)) == 1 and re.fullmatch(r"suite\.yaml \. +\[100%\]", pytest_rows(rows)[0])
    assert not [row for row in rows if "http:" in row]  # cleared when done


def load_project(folder: Path) -> None:
    suite = demo_project(folder)
    suite.write_text(suite.read_text() + LOAD)


def test_a_load_run_in_a_terminal_shows_its_phases_on_one_row_then_clears_it(tmp_path: Path) -> None:
    load_project(tmp_path)
    raw = in_pty(tmp_path)
    drawn = [frame.decode() for frame in re.findall(rb"\rsuite\.yaml: load: ([^\r\x1b]*)\x1b\[K", raw)]
    phases = [frame.split(",")[0] for frame in drawn]
    expected = ["cold start 1 of 2", "cold start 2 of 2", "starting Locust", "warm-up", "measuring", "finishing"]
    assert [phase for index, phase in enumerate(phases) if phase not in phases[:index]] == expected
    counts = [int(frame.split(", ")[1].split()[0]) for frame in drawn if frame.startswith("measuring")]
    assert counts == sorted(counts) and counts[-1] > 0  # a live count of the measured requests
    assert 0 < counts[-1] <= 200  # 100 a second for 2 s
    rows = screen(raw)
    assert len(pytest_rows(rows)) == 1 and re.fullmatch(r"suite\.yaml \.\.\. +\[100%\]", pytest_rows(rows)[0])
    assert not [row for row in rows if "suite.yaml: load" in row]


def test_a_load_run_in_a_log_writes_a_few_whole_lines(tmp_path: Path) -> None:
    load_project(tmp_path)
    result = subprocess.run(PYTEST, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == ""  # pytest's "suite.yaml ." is ended first, so both stay whole in a merged log
    assert lines[1:4] == [f"suite.yaml: load: {phase}" for phase in ("cold start 1 of 2", "cold start 2 of 2",
                          "starting Locust")]  # fmt: skip
    assert re.fullmatch(r"suite\.yaml: load: warm-up, [01] s left", lines[4])
    assert re.fullmatch(r"suite\.yaml: load: measuring, \d+ requests", lines[5])
    assert re.fullmatch(r"suite\.yaml: load: done, 200 requests measured \(\d+ s\)", lines[-1])
    assert len(lines) <= 9  # one a phase, and the last
