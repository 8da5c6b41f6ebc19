"""Real Prometheus and Pushgateway servers from Debian (``make test`` installs them through
scripts/install-prometheus.sh), on free ports of 127.0.0.1, each stopped by its process id.

Tests that need them call :func:`require` first: it skips with the reason where they are missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from evalharness.load.server import free_port
from evalharness.processes import stop_process

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
PUSHGATEWAY = shutil.which("prometheus-pushgateway")
READY_TIMEOUT_S = 30.0


def require(*tools: str) -> None:
    """Skip the calling test unless every named tool (prometheus, promtool, pushgateway) is installed."""
    found = {"prometheus": PROMETHEUS, "promtool": PROMTOOL, "pushgateway": PUSHGATEWAY}
    missing = [tool for tool in tools if not found[tool]]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (make test installs Debian's prometheus and "
                    "prometheus-pushgateway through scripts/install-prometheus.sh)")  # fmt: skip


def get(url: str, timeout: float = 5.0) -> str:
    """The body of a GET on 127.0.0.1."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback only)
        return str(response.read().decode("utf-8"))


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            get(url, timeout=1.0)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} was not ready in {READY_TIMEOUT_S} s: {log.read_text()[-2000:]}")


@contextmanager
def _server(command: list[str], ready_url: str, folder: Path) -> Iterator[None]:
    log = folder / "server.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            _wait_ready(ready_url, process, log)
            yield
        finally:
            stop_process(process)


@contextmanager
def pushgateway(folder: Path) -> Iterator[str]:
    """A Pushgateway; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Debian's build persists to /var/lib/prometheus by default: each test's gateway keeps its own file
    command = [str(PUSHGATEWAY), f"--web.listen-address=127.0.0.1:{port}",
               f"--persistence.file={folder / 'pushgateway.data'}"]  # fmt: skip
    with _server(command, f"{url}/-/ready", folder):
        yield url


@contextmanager
def prometheus(folder: Path, targets: list[str], honor_labels: bool = True,
               rule_files: list[Path] | None = None) -> Iterator[str]:  # fmt: skip
    """A Prometheus scraping ``targets`` (host:port) every second, evaluating ``rule_files`` every second;
    yields its URL."""
    port = free_port()
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "rule_files": [str(path) for path in rule_files or []],
              "scrape_configs": [{"job_name": "under-test", "honor_labels": honor_labels,
                                  "static_configs": [{"targets": targets}]}]}  # fmt: skip
    (folder / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    command = [str(PROMETHEUS), f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
               f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with _server(command, f"{url}/-/ready", folder):
        yield url


def query(prometheus_url: str, expression: str) -> list[dict[str, Any]]:
    """An instant PromQL query through Prometheus' HTTP API: the result vector."""
    body = json.loads(get(f"{prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': expression})}"))
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def query_until(prometheus_url: str, expression: str, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    """Query until the result is not empty (the first scrapes take a few seconds)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = query(prometheus_url, expression)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def promtool(*arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``promtool ARGUMENTS``, its output kept."""
    return subprocess.run([str(PROMTOOL), *arguments], input=stdin, capture_output=True, text=True, timeout=60)
