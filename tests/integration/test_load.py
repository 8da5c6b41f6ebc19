"""Load runs end to end: Locust in a child process against real loopback servers.

The servers here have known behaviour (tests/ping_server.py: a fixed service time, stalls), so the
numbers can be checked against what they must be. Precise fidelity figures (500 req/s against a
200 ms stall every 2 s) are measured in benchmarks/bench_load_fidelity.py, away from the parallel
test run's CPU contention; the tests use wide, still falsifiable bounds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from evalharness.load.server import free_port
from evalharness.processes import stop_process
from tests.builders import two_feature_frame
from tests.servers import REPO_ROOT, SECRET, fault_server_process, serve_process
from tests.servers import ping_server_process as ping_server

pytest.importorskip("hdrh")
if not __import__("importlib.util").util.find_spec("locust"):
    pytest.skip("locust is not installed (pip install 'evalharness[load]')", allow_module_level=True)


def load_suite_file(folder: Path, target: str, load: str, server: str = "") -> Path:
    two_feature_frame(60).to_csv(folder / "data.csv", index=False)
    text = textwrap.dedent(f"""
        schema: 1
        name: load-test
        seed: 11
        {server}
        target: {target}
        dataset: {{path: data.csv, id: row_id, expected: y, inputs: [x1, x2]}}
        load:
    """) + textwrap.indent(textwrap.dedent(load).strip("\n") + "\n", "  ")
    path = folder / "suite.yaml"
    path.write_text(text)
    return path


def run_load(path: Path) -> tuple[Any, dict[str, Any]]:
    """The suite's load run, in this process; (the suite run, the result)."""
    from evalharness.session import EvalSession

    state = EvalSession.load([str(path)], path.parent / "reports")
    run = state.run_for(path)
    try:
        return run, run.load().result()
    finally:
        state.close()


PING = "{kind: http, url: '%s/ping', body: '{}', label: ok}"


def ping_load(folder: Path, server_arguments: tuple[str, ...], load: str) -> tuple[Any, dict[str, Any]]:
    """The load run of a suite that pings tests/ping_server.py, started with ``server_arguments``."""
    with ping_server(*server_arguments) as url:
        return run_load(load_suite_file(folder, PING % url, load))


def test_open_loop_times_from_the_schedule_and_keeps_locust_out_of_this_process(tmp_path: Path) -> None:
    _, result = ping_load(
        tmp_path,
        ("--stall-ms", "200", "--stall-every-s", "1"),
        """
            model: open
            rate: 200
            arrival: constant
            duration_s: 4
            warmup_s: 0.5
            gates: {p95_ms: {max: 1000}}
        """,
    )
    assert "locust" not in sys.modules and "gevent" not in sys.modules
    requests = result["requests"]
    assert requests["scheduled"] == 800 and requests["sent"] == requests["ok"] == 800
    # 20 % of arrivals land in a stall and wait 0-200 ms (uniformly): P90 must be near 100 ms, and the
    # median untouched. A generator timing from the actual send in a closed loop would report ~1 ms.
    assert 70 <= result["latency_ms"]["p90"] <= 160
    assert result["latency_ms"]["p50"] < 20
    assert result["latency_ms"]["max"] >= 150
    assert result["values"]["rps_achieved_ratio"] == 1.0
    assert sum(second["completed"] for second in result["timeline"]) == 800
    assert_over_time_is_consistent(result)
    # a stall every second: each whole second's p99 waits in one; its median does not
    whole = [entry for entry in result["timeline"] if 1 <= entry["second"] <= 3]
    assert len(whole) == 3 and all(entry["p99_ms"] >= 100 and entry["p50_ms"] < 20 for entry in whole)
    assert all(entry["rps"] == entry["completed"] for entry in result["timeline"])  # one-second slices


def assert_over_time_is_consistent(result: dict[str, Any]) -> None:
    """The heatmap holds every successful request once, slices sit in the measured window on the run's
    clock, the percentile curve rises to the maximum, and the resource samples share the time axis."""
    heatmap = result["latency_heatmap"]
    assert sum(map(sum, heatmap["counts"])) == result["requests"]["ok"]
    edges = heatmap["edges_ms"]
    assert edges == sorted(edges) and len(heatmap["counts"][0]) == len(edges) - 1
    assert heatmap["edges_ms"][0] <= result["latency_ms"]["p50"] <= heatmap["edges_ms"][-1]
    seconds = [entry["second"] for entry in result["timeline"]]
    end = result["warmup_s"] + result["duration_s"]
    assert seconds == sorted(seconds) and int(result["warmup_s"]) <= seconds[0] and seconds[-1] <= end
    curve = [point["ms"] for point in result["latency_curve"]]
    assert curve == sorted(curve) and abs(curve[-1] - result["latency_ms"]["max"]) <= 0.01 * curve[-1]
    times = result["resources"]["t_run_s"]
    assert len(times) == len(result["resources"]["series"]["t_s"]) >= 2
    # the sampler starts before Locust sends anything and stops after it has finished
    assert times[0] < 1.0 and times[-1] >= end - 1.0


def test_closed_loop_on_two_processes_merges_exactly(tmp_path: Path) -> None:
    _, result = ping_load(
        tmp_path,
        ("--service-ms", "5"),
        """
            model: closed
            users: 4
            processes: 2
            duration_s: 3
            warmup_s: 0.5
            gates: {p50_ms: {max: 1000}, qps: {min: 1}}
        """,
    )
    assert len(result["generator"]) == 2 and {w["worker_index"] for w in result["generator"]} == {0, 1}
    latency = result["latency_ms"]
    assert latency["count"] == result["requests"]["ok"] == sum(s["completed"] for s in result["timeline"])
    assert_over_time_is_consistent(result)  # two processes' slices merged onto one clock
    assert 5.0 <= latency["p50"] <= 8.0  # the fixed 5 ms service time plus the loopback round trip
    # 4 users, each waiting about 5 ms per request, for 3 s: about 4 / 0.0055 = 727 requests/s at most
    assert 300 <= result["qps"] <= 800


def test_master_worker_launch_splits_the_schedule_and_merges_exactly(tmp_path: Path) -> None:
    _, result = ping_load(
        tmp_path,
        ("--service-ms", "2"),
        """
            model: open
            rate: 200
            arrival: constant
            processes: 2
            launch: master_worker
            duration_s: 2
            warmup_s: 0.5
            gates: {p50_ms: {max: 1000}}
        """,
    )
    assert "locust" not in sys.modules and "gevent" not in sys.modules
    workers = result["generator"]
    assert sorted(w["worker_index"] for w in workers) == [0, 1] and len({w["pid"] for w in workers}) == 2
    # Each worker walks every second arrival of one constant 200/s schedule: 400 in the 2 s window.
    requests = result["requests"]
    assert requests["scheduled"] == 400 and requests["sent"] == requests["ok"] == 400
    assert result["latency_ms"]["count"] == 400 and 2.0 <= result["latency_ms"]["p50"] <= 5.0
    generator_rss = [value for value in result["resources"]["series"]["generator_rss_mib"] if value]
    assert generator_rss and max(generator_rss) > 3 * 30  # master, two workers and the launcher, ~40+ MB each


@contextmanager
def remote_worker(folder: Path, token: str | None) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    """The fault server, and ``evalharness load-worker`` as on another machine (its own folder, no
    plan file, its own environment, with ``token`` or without it) waiting for a master on a free port;
    yields (server URL, master port, worker process) and stops both."""
    port, elsewhere = free_port(), folder / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALHARNESS_", "PYTEST_"))}
    env.update({"EVALHARNESS_TEST_TOKEN": token} if token else {})
    command = [sys.executable, "-m", "evalharness", "load-worker", f"127.0.0.1:{port}"]
    log = (folder / "remote-worker.log").open("wb")
    with fault_server_process() as url:
        worker = subprocess.Popen(command, cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield url, port, worker
        finally:
            stop_process(worker)
            log.close()


def _remote_suite(folder: Path, url: str, port: int) -> Path:
    body = '{"x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'
    target = (f"{{kind: http, url: '{url}/secured', label: output.label, body: '{body}', "
              "headers: {Authorization: 'Bearer ${env:EVALHARNESS_TEST_TOKEN}'}}")  # fmt: skip
    load = f"""
        model: open
        rate: 100
        arrival: constant
        processes: 1
        launch: master_worker
        remote_workers: 1
        master_port: {port}
        remote_wait_s: 30
        duration_s: 2
        warmup_s: 0.5
        gates: {{error_rate: {{max: 0}}}}
    """
    return load_suite_file(folder, target, load)


def test_a_remote_worker_gets_the_plan_and_expands_secrets_from_its_own_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALHARNESS_TEST_TOKEN", SECRET)
    with remote_worker(tmp_path, SECRET) as (url, port, worker):
        _, result = run_load(_remote_suite(tmp_path, url, port))
    workers = result["generator"]
    assert sorted(w["worker_index"] for w in workers) == [0, 1] and worker.pid in {w["pid"] for w in workers}
    # Both halves of the 100/s schedule were sent with the right key: the server refuses any other (401).
    requests = result["requests"]
    assert requests["scheduled"] == 200 and requests["ok"] == 200 and requests["http_error"] == 0
    assert not list((tmp_path / "elsewhere").iterdir())  # the remote worker wrote nothing where it ran


def test_a_remote_worker_without_the_secret_says_which_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalharness.errors import EvalHarnessError

    monkeypatch.setenv("EVALHARNESS_TEST_TOKEN", SECRET)
    with remote_worker(tmp_path, None) as (url, port, _):
        with pytest.raises(EvalHarnessError, match="EVALHARNESS_TEST_TOKEN is not set") as raised:
            run_load(_remote_suite(tmp_path, url, port))
    assert SECRET not in str(raised.value)


def test_a_generator_that_falls_behind_makes_the_gates_error(tmp_path: Path) -> None:
    run, result = ping_load(
        tmp_path,
        ("--service-ms", "50"),
        """
            model: open
            rate: 100
            duration_s: 2
            warmup_s: 0
            max_in_flight: 2
            gates: {p95_ms: {max: 1000}}
        """,
    )
    assert not result["valid"]
    assert any("dropped" in reason for reason in result["invalid_reasons"]), result["invalid_reasons"]
    gate = run.load().gate("p95_ms", "suite.yaml::load::p95_ms")
    assert gate.status == "error" and "the load run is invalid" in gate.message


def test_kserve_target_under_load_sends_exactly_what_the_server_counts(tmp_path: Path) -> None:
    import json
    import urllib.request

    with fault_server_process() as url:
        target = (f"{{kind: kserve, url: '{url}', model: demo, label: {{name: label}}, batch_size: 4,"
                  " inputs: [{name: x, columns: [x1, x2], datatype: FP32}]}")  # fmt: skip
        suite = load_suite_file(
            tmp_path,
            target,
            """
            model: open
            rate: 100
            arrival: constant
            duration_s: 2
            warmup_s: 0.5
            gates: {error_rate: {max: 0}}
        """,
        )
        _, result = run_load(suite)
        with urllib.request.urlopen(f"{url}/stats", timeout=10) as reply:
            counted = json.loads(reply.read())["requests"]["v2"]
    requests = result["requests"]
    assert requests["scheduled"] == 200 and requests["ok"] == 200 and requests["http_error"] == 0
    # Every request the generator sent, warm-up included, reached the server once (no retries, no extras).
    assert counted == requests["sent"] + requests["warmup"] == 250
    assert result["values"]["error_rate"] == 0.0


def test_streamed_tokens_are_timed_like_vllm_benchmarks(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    with serve_process("--token-delay-ms", "10") as (url, _):
        target = (f"{{kind: openai, base_url: '{url}/v1', model: customer_service, prompt: 'where is my refund',"
                  " stream: true}")  # fmt: skip
        suite = load_suite_file(
            tmp_path,
            target,
            """
            model: closed
            users: 2
            duration_s: 2
            warmup_s: 0.5
            slo: {ttft_ms: 1000}
            gates: {ttft_p95_ms: {max: 1000}, itl_p95_ms: {max: 1000}}
        """,
        )
        _, result = run_load(suite)
    tokens = result["tokens"]
    assert 9.0 <= tokens["itl_ms"]["p50"] <= 14.0  # the server spaces tokens 10 ms apart
    # TTFT ends at the first content token, not the last: the 14-word answer takes 13 gaps of ~10 ms more.
    # (Its own size, the server's inference and the round trip, grows under CPU contention: no tighter bound.)
    assert tokens["ttft_ms"]["p50"] < 4 * tokens["itl_ms"]["p50"]
    assert 9.0 <= tokens["tpot_ms"]["mean"] <= 14.0
    assert tokens["output_tokens"] >= 14 * result["requests"]["ok"]  # the answer has 14 words
    assert result["goodput"] == 1.0


def test_cold_starts_are_timed_in_phases(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    server = (f"server: {{command: [evalharness, serve, --port, '{{port}}', --load-delay-s, '0.5', "
              f"'{REPO_ROOT}/suites/finance.yaml']}}")  # fmt: skip
    target = "{kind: http, url: 'http://127.0.0.1:{port}/ready', method: GET, body: '{}', label: ready}"
    suite = load_suite_file(
        tmp_path,
        target,
        """
        model: closed
        users: 1
        duration_s: 1
        warmup_s: 0
        cold_start: {repeats: 2, warm_requests: 5, poll_ms: 10}
        gates: {cold_start_s: {max: 60}, cold_path_p50_ms: {max: 1000}}
    """,
        server=server,
    )
    _, result = run_load(suite)
    cold = result["cold_start"]
    assert len(cold["repeats"]) == 2 and cold["cold_path_ms"]["count"] == 10
    for run in cold["repeats"]:
        phases = [run[name] for name in ("process_started_s", "port_open_s", "healthy_s", "ready_s", "first_answer_s")]
        assert phases == sorted(phases)
        assert run["ready_s"] - run["healthy_s"] >= 0.5  # the model loads after the port opens
    assert result["values"]["cold_start_s"] == cold["median_s"] >= 0.5


def test_load_section_mistakes_are_located(tmp_path: Path) -> None:
    from evalharness.errors import SuiteError
    from evalharness.session import EvalSession

    def problems(load: str) -> str:
        suite = load_suite_file(tmp_path, PING % "http://127.0.0.1:9", load)
        with pytest.raises(SuiteError) as error:
            EvalSession.load([str(suite)], tmp_path)
        return str(error.value)

    typo = problems("model: closed\ngates: {p95: {max: 5}}")
    assert typo.endswith("suite.yaml:10:11: load.gates.p95: unknown key 'p95'; did you mean 'p95_ms'?")
    assert "declare at least one metric" not in typo
    no_rate = problems("model: open\ngates: {p95_ms: {max: 5}}")
    assert no_rate.endswith("suite.yaml:9:3: load: an open-loop load needs rate (requests per second), e.g. rate: 200")


def test_a_local_engine_is_driven_in_the_load_worker(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from tests.builders import demo_project

    suite = demo_project(tmp_path)
    suite.write_text(
        suite.read_text()
        + textwrap.dedent("""
        load:
          model: open
          rate: 200
          arrival: constant
          duration_s: 2
          warmup_s: 0.5
          cold_start: {repeats: 2, warm_requests: 5}
          gates: {p95_ms: {max: 1000}, cold_start_s: {max: 60}}
    """)
    )
    _, result = run_load(suite)
    assert "locust" not in sys.modules and "gevent" not in sys.modules
    requests = result["requests"]
    assert requests["scheduled"] == 400 and requests["ok"] == 400 and requests["engine_error"] == 0
    assert 0 < result["latency_ms"]["p50"] < 50  # one row through ONNX Runtime in the worker process
    cold = result["cold_start"]
    for run in cold["repeats"]:
        assert 0 < run["process_started_s"] < run["engine_created_s"] < run["first_answer_s"]
    assert cold["cold_path_ms"]["count"] == 10 and result["values"]["cold_start_s"] == cold["median_s"]
