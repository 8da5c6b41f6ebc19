"""Live load metrics scraped by a real Prometheus (Debian's, on 127.0.0.1) during a real Locust run
with a master and two worker processes against tests/ping_server.py, stalling 150 ms every second:
``histogram_quantile(0.95, ...)`` over the scraped buckets agrees with the run's HdrHistogram P95
within a bucket's width, the outcome counts equal the record's, and the resource series are there."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from evalharness.load.live import BUCKETS_PER_DECADE
from evalharness.load.server import free_port
from tests import prometheus_servers as servers
from tests.servers import ping_server_process

pytestmark = pytest.mark.integration
if not importlib.util.find_spec("locust") or not importlib.util.find_spec("hdrh"):
    pytest.skip("locust is not installed (pip install 'evalharness[load]')", allow_module_level=True)

BUCKET_RATIO = 10 ** (1 / BUCKETS_PER_DECADE)


def test_prometheus_scrapes_a_master_worker_load_run(tmp_path: Path) -> None:
    from tests.integration.test_load import PING, load_suite_file

    servers.require("prometheus")
    port = free_port()
    load = f"""
        model: open
        rate: 150
        late_ms: 100
        arrival: constant
        duration_s: 4
        warmup_s: 0.5
        processes: 2
        launch: master_worker
        metrics: {{port: {port}, linger_s: 3}}
        gates: {{p95_ms: {{max: 1000}}}}
    """
    (tmp_path / "prometheus").mkdir()
    with servers.prometheus(tmp_path / "prometheus", [f"127.0.0.1:{port}"]) as prometheus:
        with ping_server_process("--stall-ms", "150", "--stall-every-s", "1") as url:
            load_suite_file(tmp_path, PING % url, load)
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--evalharness", "suite.yaml",
                       "--evalharness-report-dir=reports", "--evalharness-fail-on=never"]  # fmt: skip
            done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert f"evalharness: live load metrics at http://127.0.0.1:{port}/metrics" in done.stderr
        window = "[5m]"  # the endpoint is gone once the run ends: read the last values scraped
        selector = 'suite="load-test",side="target"'
        p95 = servers.query_until(
            prometheus,
            f"histogram_quantile(0.95, sum by (le) (max_over_time("
            f"evalharness_request_latency_seconds_bucket{{{selector}}}{window})))",
        )
        ok = servers.query(prometheus, f'max_over_time(evalharness_requests_total{{{selector},outcome="ok"}}{window})')
        reporting = servers.query(prometheus, f"max_over_time(evalharness_load_processes_reporting{window})")
        cpu = servers.query(
            prometheus, f'max_over_time(evalharness_process_cpu_percent{{process="generator"}}{window})'
        )
    record = json.loads((tmp_path / "reports" / "run.json").read_text())["suites"][0]["load"]
    hdr_p95_s = record["latency_ms"]["p95"] / 1000
    live_p95_s = float(p95[0]["value"][1])
    assert abs(live_p95_s - hdr_p95_s) <= (BUCKET_RATIO - 1) * hdr_p95_s, (live_p95_s, hdr_p95_s)
    assert float(ok[0]["value"][1]) == record["requests"]["ok"]  # every process's counts, merged by the master
    assert float(reporting[0]["value"][1]) == 2  # both workers
    assert cpu and float(cpu[0]["value"][1]) > 0
    assert record["live_metrics_url"] == f"http://127.0.0.1:{port}/metrics"
