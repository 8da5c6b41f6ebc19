"""A planted key that the server echoes back, in answers and in long error bodies, reaches no output
of any endpoint kind: not the answer cache, the reports, the terminal or a log file, neither whole
nor cut to its first 8 characters, on a first run or a resumed one. Runs are whole pytest
processes against a real server on 127.0.0.1 (tests/servers.py ``echo_server``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builders import two_feature_frame, write_suite

pytest.importorskip("aiohttp")

KEY = "sk-RED-planted-7f3a9c2e41d8b6"
AUTH = "headers: {Authorization: 'Bearer ${env:EVALHARNESS_PLANTED}'}"
COMMON = "retries: 0, max_error_rate: 0.5, concurrency: 4"
ROW_BODY = '{"row_id": {{ row_id | tojson }}, "x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'
PROMPT = "row={{ row_id }} x1={{ x1 }} x2={{ x2 }}"
TARGETS = {
    "http": f"url: '{{url}}/predict', body: '{ROW_BODY}', label: output.label, score: output.probability, {AUTH}",
    "http-batch": "url: '{url}/batch', body: '{\"rows\": {{ rows | tojson }}}', label: labels, score: scores, "
    f"batch_size: 4, {AUTH}",
    "openai": f"base_url: '{{url}}/v1', model: demo, api_key: '${{env:EVALHARNESS_PLANTED}}', prompt: '{PROMPT}'",
    "openai-stream": f"base_url: '{{url}}/v1', model: demo, api_key: '${{env:EVALHARNESS_PLANTED}}', "
    f"prompt: '{PROMPT}', stream: true",
    "kserve": "url: '{url}', model: demo, inputs: [{name: features, datatype: FP64, columns: [n, x1, x2]}], "
    f"label: label, score: {{name: probabilities, column: 1}}, batch_size: 4, {AUTH}",
}


@pytest.fixture(scope="module")
def echo_url() -> Iterator[str]:
    from tests.servers import echo_server

    with echo_server() as url:
        yield url


def project(folder: Path, url: str, name: str) -> None:
    frame = two_feature_frame(40)
    frame.insert(1, "n", range(len(frame)))
    frame.to_csv(folder / "data.csv", index=False)
    kind = name.split("-")[0]
    target = f"{{kind: {kind}, {TARGETS[name].replace('{url}', url)}, {COMMON}}}"
    dataset = "{path: data.csv, id: row_id, expected: y, inputs: [n, x1, x2]}"
    write_suite(folder, "accuracy: {min: 0.8}", target=target, dataset=dataset)


def run_pytest(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness", "suite.yaml",
               "--evalharness-report-dir=reports", "--evalharness-cache=cache", "-rA", "-vv", "--log-level=DEBUG",
               "--log-file-level=DEBUG", *options]  # fmt: skip
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "EVALHARNESS_PLANTED": KEY})  # fmt: skip


def leaks(name: str, data: bytes) -> list[str]:
    """Where the key, or its first 8 characters, is in ``data``."""
    return [f"{name}: {piece!r}" for piece in (KEY.encode(), KEY[:8].encode()) if piece in data]


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_an_echoed_key_reaches_no_output_and_no_cache_file(echo_url: str, tmp_path: Path, name: str) -> None:
    project(tmp_path, echo_url, name)
    first = run_pytest(tmp_path, "--log-file=run.log", "--junitxml=pytest-junit.xml")
    resumed = run_pytest(tmp_path, "--log-file=resumed.log", "--junitxml=resumed-junit.xml", "--evalharness-resume")
    assert first.returncode == resumed.returncode == 1, first.stdout[-3000:]  # echoed labels fail the gate
    files = {str(path.relative_to(tmp_path)): path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    assert {"run.log", "resumed.log", "reports/run.json", "reports/junit.xml", "reports/report.html"} <= set(files)
    cached = {path: data for path, data in files.items() if path.startswith("cache/")}
    assert any(b"Bearer ***" in data for data in cached.values())  # the echo was cached, redacted
    assert f"{'E' * 90} Bearer ***" in files["run.log"].decode()  # the long error body, redacted then cut
    found = [leak for path, data in files.items() for leak in leaks(path, data)]
    for run, result in (("first", first), ("resumed", resumed)):
        found += leaks(f"{run} stdout", result.stdout.encode()) + leaks(f"{run} stderr", result.stderr.encode())
    assert found == []
