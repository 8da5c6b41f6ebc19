"""A run's metrics through real Debian servers on 127.0.0.1: metrics.prom passes ``promtool check
metrics``; ``--evalharness-pushgateway`` reaches a Pushgateway and Prometheus scrapes the run's
numbers from there; an unreachable Pushgateway is a warning, never a lost run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evalharness.load.server import free_port
from tests import prometheus_servers as servers
from tests.builders import demo_project

pytestmark = pytest.mark.integration
GATES = "accuracy: {min: 0.7}\nf1: {min: 0.7}"


def _run(folder: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], dict]:  # type: ignore[type-arg]
    folder.mkdir(parents=True, exist_ok=True)
    demo_project(folder, GATES)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--evalharness", "suite.yaml",
               "--evalharness-report-dir=reports", *options]  # fmt: skip
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=180)
    return done, json.loads((folder / "reports" / "run.json").read_text())


def test_metrics_prom_passes_promtool(tmp_path: Path) -> None:
    servers.require("promtool")
    done, record = _run(tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    text = (tmp_path / "reports" / "metrics.prom").read_text()
    checked = servers.promtool("check", "metrics", stdin=text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    accuracy = next(gate for gate in record["suites"][0]["gates"] if gate["name"] == "accuracy")
    assert 'gate="accuracy"' in text and repr(accuracy["value"]) in text


def test_a_push_reaches_the_pushgateway_and_prometheus_scrapes_it_from_there(tmp_path: Path) -> None:
    servers.require("pushgateway", "prometheus")
    with servers.pushgateway(tmp_path) as gateway:
        done, record = _run(tmp_path / "run", f"--evalharness-pushgateway={gateway}")
        assert done.returncode == 0 and record["warnings"] == [], done.stdout[-2000:]
        pushed = servers.get(f"{gateway}/metrics")
        assert "evalharness_gate_value{" in pushed and 'job="evalharness"' in pushed
        host = gateway.removeprefix("http://")
        (tmp_path / "prometheus").mkdir()
        with servers.prometheus(tmp_path / "prometheus", [host]) as prometheus:
            result = servers.query_until(prometheus, 'evalharness_gate_value{job="evalharness",gate="accuracy"}')
    suite = record["suites"][0]
    accuracy = next(gate for gate in suite["gates"] if gate["name"] == "accuracy")
    assert len(result) == 1
    labels, value = result[0]["metric"], float(result[0]["value"][1])
    assert value == pytest.approx(accuracy["value"], rel=1e-12)
    assert labels["suite"] == "demo" and labels["model_sha256"] == suite["target"]["sha256"]
    assert labels["git_commit"] == (record["environment"]["git_commit"] or "unknown")


def test_an_unreachable_pushgateway_is_a_warning_and_the_run_is_kept(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    done, record = _run(tmp_path, f"--evalharness-pushgateway={closed}")
    assert done.returncode == 0, done.stdout[-2000:]  # the gates passed: the exit code is theirs
    assert len(record["warnings"]) == 1 and closed in record["warnings"][0]
    assert "evalharness: warning: could not push suite 'demo' to the Pushgateway" in done.stdout
    assert (tmp_path / "reports" / "report.html").is_file() and (tmp_path / "reports" / "metrics.prom").is_file()
