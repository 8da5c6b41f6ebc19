"""ci/grafana/evalharness.json and ci/prometheus/rules.yml against real servers on 127.0.0.1: a real
Prometheus, loaded with the rules, scrapes a suite's live load metrics and the Pushgateway the same
run pushes to; every PromQL expression of the dashboard then returns data through Prometheus' HTTP
API. promtool checks the rules and runs their unit tests (ci/prometheus/rules.test.yml)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from evalharness.load.server import free_port
from tests import prometheus_servers as servers
from tests.builders import logistic_onnx, two_feature_frame

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = REPO_ROOT / "ci" / "grafana" / "evalharness.json"
RULES = REPO_ROOT / "ci" / "prometheus" / "rules.yml"
REQUIRED_PANELS = ("Request latency heatmap", "Latency p50 / p95 / p99", "Throughput (QPS)", "Error rate",
                   "CPU (100 % is one core)", "Resident memory", "GPU utilisation", "GPU memory used",
                   "Quality gates by build", "Drift PSI by column", "Cold start")  # fmt: skip


def _expressions() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every target of the dashboard."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def _concrete(expression: str) -> str:
    """A dashboard expression as Grafana would send it: every suite, a 5 s rate window."""
    return expression.replace('"$suite"', '".*"').replace("$__rate_interval", "5s")


def test_the_dashboard_has_every_panel_and_a_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert all(title in titles for title in REQUIRED_PANELS)
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert all(target["datasource"]["uid"] == "${datasource}" for target in panel["targets"])
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_promtool_checks_the_rules_and_runs_their_unit_tests() -> None:
    servers.require("promtool")
    checked = servers.promtool("check", "rules", str(RULES))
    assert checked.returncode == 0 and "SUCCESS" in checked.stdout, checked.stdout + checked.stderr
    tested = subprocess.run([str(servers.PROMTOOL), "test", "rules", "rules.test.yml"], cwd=RULES.parent,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr
    alerts = set(re.findall(r"- alert: (\w+)", RULES.read_text()))
    assert alerts and alerts <= set(re.findall(r"alertname: (\w+)", (RULES.parent / "rules.test.yml").read_text()))


def _suite(folder: Path, port: int) -> None:
    """A local ONNX model with accuracy, drift and load gates (live metrics on ``port``, cold starts)."""
    logistic_onnx(folder / "model.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(300).to_csv(folder / "data.csv", index=False)
    shifted = two_feature_frame(300, seed=9)
    shifted["x1"] = shifted["x1"] + 0.5
    shifted.to_csv(folder / "reference.csv", index=False)
    (folder / "suite.yaml").write_text(
        textwrap.dedent(f"""
        schema: 1
        name: dashboard
        seed: 3
        target: {{kind: onnx, path: model.onnx}}
        dataset: {{path: data.csv, id: row_id, expected: y, inputs: [x1, x2]}}
        metrics:
          accuracy: {{min: 0.5}}
          drift: {{reference: reference.csv, max: 5}}
        load:
          model: open
          rate: 40
          late_ms: 100
          duration_s: 4
          warmup_s: 0.5
          cold_start: {{repeats: 1}}
          metrics: {{port: {port}, linger_s: 3}}
          gates: {{p95_ms: {{max: 5000}}, cold_start_s: {{max: 120}}}}
    """)
    )


def _push_previous_build(run_json: Path, gateway: str) -> None:
    """The same run pushed again as an earlier build (another commit, finished an hour before), so the
    "previous build" rules have one to find."""
    from datetime import datetime, timedelta

    from evalharness.monitoring.publish import push
    from evalharness.report import load_record

    record = load_record(run_json)
    record.environment["git_commit"] = "previous-build"
    record.finished_at = (datetime.fromisoformat(record.finished_at) - timedelta(hours=1)).isoformat()
    assert push(record, gateway) == []


def _gpus() -> int:
    try:
        import pynvml

        pynvml.nvmlInit()
        return int(pynvml.nvmlDeviceGetCount())
    except Exception:  # no NVML library, no driver or no GPU
        return 0


def _range(prometheus: str, expression: str, start: float, end: float) -> list[dict[str, Any]]:
    import urllib.parse

    query = urllib.parse.urlencode({"query": expression, "start": start, "end": end, "step": 1})  # end: a step ahead
    body = json.loads(servers.get(f"{prometheus}/api/v1/query_range?{query}"))
    assert body["status"] == "success", (expression, body)
    return list(body["data"]["result"])


def test_every_dashboard_expression_returns_data_from_a_real_run(tmp_path: Path) -> None:
    servers.require("prometheus", "pushgateway")
    port = free_port()
    _suite(tmp_path, port)
    (tmp_path / "gateway").mkdir()
    (tmp_path / "prometheus").mkdir()
    with servers.pushgateway(tmp_path / "gateway") as gateway:
        targets = [f"127.0.0.1:{port}", gateway.removeprefix("http://")]
        with servers.prometheus(tmp_path / "prometheus", targets, rule_files=[RULES]) as prometheus:
            started = time.time()
            command = [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--evalharness",
                "suite.yaml",
                "--evalharness-report-dir=reports",
                f"--evalharness-pushgateway={gateway}",
                "--evalharness-fail-on=never",
            ]  # fmt: skip  (the gates' verdicts do not matter here)
            done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            _push_previous_build(tmp_path / "reports" / "run.json", gateway)
            servers.query_until(prometheus, "evalharness:gate_value:previous_build")  # pushed, scraped, recorded
            empty = [(title, expression) for title, expression in _expressions()
                     if not _range(prometheus, _concrete(expression), started, time.time() + 1)]  # fmt: skip
    gpu_only = all("gpu" in expression for _, expression in empty)
    assert not empty or (gpu_only and _gpus() == 0), empty  # GPU panels are empty only on a machine without one
