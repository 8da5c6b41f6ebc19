"""Servers the harness starts itself: the suite's ``server`` for the run, and fresh ones for cold starts.

A cold start is timed in phases from the spawn: the process started, its port accepting TCP
connections, the liveness route answering 200, the readiness route answering 200, and the first
valid answer to a real request; each phase is polled every ``poll_ms`` (20 ms or finer). The
first requests after ready are the cold path. Every process is started in its own session and
stopped by its pid (its process group), whatever happens.
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.errors import EvalHarnessError
from evalharness.processes import stop_process
from evalharness.suite.load_schema import ColdStartSpec, ServerSpec

PHASES = ("process_started_s", "port_open_s", "healthy_s", "ready_s", "first_answer_s")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_argv(spec: ServerSpec, port: int) -> list[str]:
    """The command with ``{port}`` filled in; ``evalharness`` runs as this Python's module."""
    argv = [part.replace("{port}", str(port)) for part in spec.command]
    if argv[0] == "evalharness":
        argv = [sys.executable, "-m", "evalharness", *argv[1:]]
    return argv


def _status(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def _until(condition: Callable[[], bool], poll_s: float, deadline: float, process: subprocess.Popen[bytes]) -> float:
    """Poll ``condition`` every ``poll_s`` until true; the time it became true."""
    while True:
        try:
            if condition():
                return time.perf_counter()
        except OSError:
            pass
        if process.poll() is not None:
            raise EvalHarnessError(f"the server exited with code {process.returncode} before it was ready")
        if time.perf_counter() > deadline:
            raise EvalHarnessError("the server did not become ready in time (server.startup_timeout_s)")
        time.sleep(poll_s)


@dataclass
class ManagedServer:
    """A server process started from a suite's ``server`` section."""

    spec: ServerSpec
    port: int
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, spec: ServerSpec, cwd: Path) -> ManagedServer:
        """Spawn it in ``cwd`` (the suite's folder) and wait until it is ready."""
        server = cls(spec, spec.port or free_port())
        server.process = spawn(server_argv(spec, server.port), cwd)
        deadline = time.perf_counter() + spec.startup_timeout_s
        try:
            _until(lambda: _status(server.port, "GET", spec.ready)[0] == 200, 0.01, deadline, server.process)
        except EvalHarnessError:
            server.stop()
            raise
        return server

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def stop(self) -> None:
        """SIGTERM to its process group, SIGKILL after 10 s."""
        stop_process(self.process, group=True)


def spawn(argv: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    """The server's process, in its own session (stopped as a group); EvalHarnessError when the
    program cannot be run at all (not installed, not executable)."""
    try:
        return subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)  # fmt: skip
    except OSError as error:
        raise EvalHarnessError(f"the server command {argv[0]!r} cannot start: {error.strerror}") from None


def _port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def _valid_answer(port: int, request: dict[str, Any]) -> bool:
    status, body = _status(port, request["method"], request["path"], request["body"].encode(), request["headers"])
    if status >= 400:
        return False
    if request["stream"]:
        return b"data:" in body
    json.loads(body)
    return True


def cold_start_once(spec: ServerSpec, options: ColdStartSpec, request: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """One cold start in a fresh process: its phases (s from the spawn) and the cold-path latencies."""
    port = free_port()
    poll = options.poll_ms / 1000
    spawned = time.perf_counter()
    process = spawn(server_argv(spec, port), cwd)
    started = time.perf_counter()
    deadline = spawned + spec.startup_timeout_s
    try:
        port_open = _until(lambda: _port_open(port), poll, deadline, process)
        healthy = _until(lambda: _status(port, "GET", spec.health)[0] == 200, poll, deadline, process)
        ready = _until(lambda: _status(port, "GET", spec.ready)[0] == 200, poll, deadline, process)
        first = _until(lambda: _valid_answer(port, request), poll, deadline, process)
        cold_path = []
        for _ in range(options.warm_requests):
            sent = time.perf_counter()
            _valid_answer(port, request)
            cold_path.append((time.perf_counter() - sent) * 1000)
    finally:
        stop_process(process, group=True)
    moments = (started, port_open, healthy, ready, first)
    phases = {name: round(moment - spawned, 4) for name, moment in zip(PHASES, moments)}
    return {**phases, "cold_path_ms": cold_path}


def engine_cold_start_once(
    suite: Path, options: ColdStartSpec, rows: list[dict[str, Any]], side: str = "target"
) -> dict[str, Any]:
    """One cold start of a local engine (the suite's target, or its baseline) in a fresh process:
    interpreter up, engine created, first answer."""
    with tempfile.TemporaryDirectory() as folder:
        rows_file = Path(folder) / "rows.json"
        rows_file.write_text(json.dumps(rows))
        command = [sys.executable, "-m", "evalharness.load.engine_start", str(suite), str(rows_file),
                   "--warm-requests", str(options.warm_requests), "--side", side]  # fmt: skip
        spawned = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=suite.parent)
    if done.returncode != 0:
        raise EvalHarnessError(f"the engine's cold start failed (exit {done.returncode}): {done.stderr[-1000:]}")
    times = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "process_started_s": round(times["started"] - spawned, 4),
        "engine_created_s": round(times["engine"] - spawned, 4),
        "first_answer_s": round(times["first"] - spawned, 4),
        "cold_path_ms": times["cold_path_ms"],
    }


def summarise_cold_starts(runs: list[dict[str, Any]], options: ColdStartSpec) -> dict[str, Any]:
    """The median and worst time to first answer, each phase's median, and the cold path's latency."""
    totals = [run["first_answer_s"] for run in runs]
    cold_path = sorted(ms for run in runs for ms in run.pop("cold_path_ms"))
    phases = [name for name in runs[0] if name.endswith("_s")]
    return {
        "repeats": runs,
        "median_s": round(statistics.median(totals), 4),
        "max_s": round(max(totals), 4),
        "phases_median_s": {name: round(statistics.median(run[name] for run in runs), 4) for name in phases},
        "cold_path_ms": {
            "p50": round(statistics.median(cold_path), 4),
            "p95": round(cold_path[int(0.95 * (len(cold_path) - 1))], 4),
            "count": len(cold_path),
        },  # fmt: skip
        "poll_ms": options.poll_ms,
    }


def _repeated(options: ColdStartSpec, once: Callable[[], dict[str, Any]], progress: Any) -> dict[str, Any]:
    """``options.repeats`` cold starts by ``once``, each announced on ``progress`` (a LoadProgress) if given."""
    runs = []
    for number in range(1, options.repeats + 1):
        if progress is not None:
            progress.cold_start(number, options.repeats)
        runs.append(once())
    return summarise_cold_starts(runs, options)


def cold_starts(
    spec: ServerSpec, options: ColdStartSpec, request: dict[str, Any], cwd: Path, progress: Any = None
) -> dict[str, Any]:
    """``repeats`` cold starts of the suite's server (each shown on ``progress``, a LoadProgress, if given)."""
    return _repeated(options, lambda: cold_start_once(spec, options, request, cwd), progress)


def engine_cold_starts(
    suite: Path, options: ColdStartSpec, rows: list[dict[str, Any]], side: str = "target", progress: Any = None
) -> dict[str, Any]:
    """``repeats`` cold starts of the suite's local engine (or its baseline's), each in a fresh process."""
    return _repeated(options, lambda: engine_cold_start_once(suite, options, rows, side), progress)
