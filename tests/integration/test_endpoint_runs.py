"""Whole pytest runs against an endpoint in another process: the progress bar, a planted secret in
no output at all, and resuming after ``kill -9``. The fault-injecting server runs in its own process
and every process is stopped by its pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.builders import two_feature_frame, write_suite
from tests.servers import SECRET, answer, fault_server_process, stop_process

pytest.importorskip("aiohttp")

BODY = '{"x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with fault_server_process() as url:
        yield url


def requests_seen(url: str, route: str) -> int:
    with urllib.request.urlopen(f"{url}/stats", timeout=10) as reply:
        return int(json.loads(reply.read())["requests"].get(route, 0))


def http_project(folder: Path, url: str, rows: int, target_extra: str = "", route: str = "predict") -> Path:
    frame = two_feature_frame(rows)
    frame.to_csv(folder / "data.csv", index=False)
    target = (f"{{kind: http, url: '{url}/{route}', body: '{BODY}', label: output.label, "
              f"score: output.probability{target_extra}}}")  # fmt: skip
    return write_suite(folder, "accuracy: {min: 0.8}", target=target)


def run_pytest(folder: Path, *options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness", "suite.yaml",
               "--evalharness-report-dir=reports", *options]  # fmt: skip
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})  # fmt: skip


def truth_accuracy(rows: int) -> float:
    frame = two_feature_frame(rows)
    predicted = [answer(row)[0] for row in frame.to_dict(orient="records")]
    return float(np.mean(np.asarray(predicted) == frame["y"].to_numpy()))


def test_a_long_endpoint_run_draws_a_progress_bar_and_a_short_one_does_not(server: str, tmp_path: Path) -> None:
    long_run = tmp_path / "long"
    long_run.mkdir()
    http_project(long_run, server, rows=500, target_extra=", concurrency: 1")  # ~5 ms a request: about 3 s
    result = run_pytest(long_run)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "suite.yaml: http: 100%" in result.stderr and "500/500" in result.stderr
    quiet = run_pytest(long_run, "--evalharness-no-progress")
    assert quiet.returncode == 0 and "500/500" not in quiet.stderr
    short_run = tmp_path / "short"
    short_run.mkdir()
    http_project(short_run, server, rows=40)
    result = run_pytest(short_run)
    assert result.returncode == 0 and "req" not in result.stderr  # under 2 s: no bar at all


def test_a_planted_key_appears_in_no_output(server: str, tmp_path: Path) -> None:
    """The key is in the URL and a header; the server refuses the request, so it shows up in failure
    text, warnings, debug logs and reports, which must all carry *** instead."""
    extra = ", retries: 1, headers: {Authorization: 'Bearer ${env:EVALHARNESS_PLANTED}-wrong'}"
    http_project(tmp_path, server, rows=30, target_extra=extra, route="secured?key=${env:EVALHARNESS_PLANTED}")
    result = run_pytest(tmp_path, "-rA", "-vv", "--log-level=DEBUG", "--log-file=run.log",
                        "--log-file-level=DEBUG", "--evalharness-cache=cache", "--junitxml=pytest-junit.xml",
                        env={"EVALHARNESS_PLANTED": SECRET})  # fmt: skip
    assert result.returncode == 6  # every request is refused (401): the gate is not evaluated, it never passes
    outputs = {"stdout": result.stdout, "stderr": result.stderr}
    outputs.update({str(path.relative_to(tmp_path)): path.read_text(errors="replace")
                    for path in tmp_path.rglob("*") if path.is_file() and path.suffix != ".csv"})  # fmt: skip
    assert {"run.log", "reports/run.json", "reports/junit.xml", "reports/report.html", "pytest-junit.xml"} <= set(
        outputs
    )
    assert "secured?key=***" in outputs["run.log"] and "401" in outputs["run.log"]
    assert "401" in result.stdout
    for name, text in outputs.items():
        assert SECRET not in text, name


def test_resume_after_kill_9_asks_only_for_the_missing_rows(server: str, tmp_path: Path) -> None:
    rows = 600
    http_project(tmp_path, server, rows=rows, target_extra=", concurrency: 2")  # ~5 ms a request: about 2 s
    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness", "suite.yaml",
               "--evalharness-report-dir=reports", f"--evalharness-cache={cache}"]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(cache.rglob("*.json"))) < rows // 4:
            assert process.poll() is None and time.monotonic() < deadline, "the run ended before it was killed"
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        stop_process(process)
    cached = len(list(cache.rglob("*.json")))
    assert rows // 4 <= cached < rows and not (tmp_path / "reports" / "run.json").exists()
    before = requests_seen(server, "predict")
    result = run_pytest(tmp_path, f"--evalharness-cache={cache}", "--evalharness-resume")
    assert result.returncode == 0, result.stdout[-2000:]
    assert requests_seen(server, "predict") - before == rows - cached
    record = json.loads((tmp_path / "reports" / "run.json").read_text())
    (gate,) = record["suites"][0]["gates"]
    assert gate["value"] == pytest.approx(truth_accuracy(rows), abs=1e-12)
    assert len(list(cache.rglob("*.json"))) == rows and not list(cache.rglob("*.partial"))
