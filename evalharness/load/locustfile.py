"""The Locust side of a load run. Locust imports this file in its own process (never in pytest's).

The plan (``EVALHARNESS_LOAD_PLAN``, a JSON file the harness wrote) says what to send and how:

- open loop: one user per process walks a seeded arrival schedule (constant or Poisson), waits
  for each arrival on a kernel timer (evalharness.load.timer), writes the request at once and
  reads its answer in a greenlet of its own; latency is timed from the *scheduled* send, so a
  server stall shows up in every request that waited for it (no coordinated omission);
- closed loop: N users, each sending its next request when the previous one answered.

Requests go to an HTTP endpoint through evalharness.load.wire (answers timed by the kernel's
receive timestamps), or, for a suite whose target is a local engine (ONNX Runtime, torch), to
that engine created in each load process.

Each process writes its histograms and counters to ``worker-<index>-<pid>.json`` in the plan's
output folder when its work is done (or when Locust stops it); in a master/worker run, workers
send them to the master, which writes them (evalharness.load.distributed). The harness merges
them exactly.
"""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import gevent
from gevent.pool import Group
from locust import User, events, task

from evalharness.load.distributed import (
    LIVE_MESSAGE,
    PLAN_MESSAGE,
    PLAN_REQUEST,
    RECORD_MESSAGE,
    plan_for_workers,
    plan_from_master,
    save_live,
    save_record,
)
from evalharness.load.live import LiveCounters
from evalharness.load.recorder import Recorder
from evalharness.load.timer import PreciseTimer, spin_for_rate
from evalharness.load.wire import ConnectionPool, InFlight, request_bytes
from evalharness.targets.sse import StreamReading

PLAN: dict[str, Any] = (
    json.loads(Path(os.environ["EVALHARNESS_LOAD_PLAN"]).read_text()) if "EVALHARNESS_LOAD_PLAN" in os.environ else {}
)  # empty on a worker started elsewhere (evalharness load-worker): the master sends it
_REQUESTS: list[dict[str, Any]] = []
RECORDER = Recorder()
LIVE = LiveCounters()
LIVE_EVERY_S = 1.0
STATE: dict[str, Any] = {"start": None, "written": False, "cpu0": None, "in_flight": 0}


def requests() -> list[dict[str, Any]]:
    """The plan's requests, each HTTP one with its bytes built once."""
    if not _REQUESTS:
        _REQUESTS.extend(
            {**request, "wire": request_bytes(request["method"], request["url"], request["headers"], request["body"])}
            if "url" in request else request
            for request in PLAN["requests"]
        )  # fmt: skip
    return _REQUESTS


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _start() -> float:
    """This process's time zero (its first send), shared by all its users."""
    if STATE["start"] is None:
        STATE["start"], STATE["cpu0"] = time.perf_counter(), _cpu_seconds()
        RECORDER.start_epoch = time.time()
    return float(STATE["start"])


def _slice(scheduled: float) -> int:
    """The start (whole seconds from time zero) of the timeline slice a request scheduled then falls in."""
    width = int(PLAN.get("timeline_slice_s", 1))
    return int((scheduled - _start()) // width * width)


def _window(sent_at: float) -> str:
    """warmup, measured, or after (sent after the measured window: not counted)."""
    offset = sent_at - _start()
    if offset < PLAN["warmup_s"]:
        return "warmup"
    return "measured" if offset < PLAN["warmup_s"] + PLAN["duration_s"] else "after"


def _worker_index(environment: Any) -> int:
    return int(getattr(environment.runner, "worker_index", 0) or 0)


def _write(environment: Any) -> None:
    """Write this process's record once (a master/worker run's worker sends it to the master)."""
    if STATE["written"] or STATE["start"] is None:
        return
    STATE["written"] = True
    wall = time.perf_counter() - STATE["start"]
    if PLAN.get("live_metrics"):
        _deliver_live(environment)  # the final counts, before the record that ends the run
    record = RECORDER.to_json()
    record.update(worker_index=_worker_index(environment), pid=os.getpid(), wall_s=wall,
                  cpu_s=_cpu_seconds() - STATE["cpu0"])  # fmt: skip
    _deliver(environment, record)


def _deliver(environment: Any, record: dict[str, Any]) -> None:
    if PLAN.get("launch") == "master_worker" and _runner_kind(environment) == "WorkerRunner":
        environment.runner.send_message(RECORD_MESSAGE, record)
    else:
        save_record(Path(PLAN["out_dir"]), record)


def _deliver_live(environment: Any) -> None:
    """This process's live counters, for the harness's /metrics and progress line (sent to the master
    from a worker)."""
    snapshot = LIVE.snapshot(f"{_worker_index(environment)}-{os.getpid()}", RECORDER.start_epoch)
    if PLAN.get("launch") == "master_worker" and _runner_kind(environment) == "WorkerRunner":
        environment.runner.send_message(LIVE_MESSAGE, snapshot)
    else:
        save_live(Path(PLAN["out_dir"]), snapshot)


def _live_loop(environment: Any) -> None:
    """Deliver the live counters as soon as the first request is sent (so the harness knows when the
    warm-up began), then every :data:`LIVE_EVERY_S` until the record is written."""
    while STATE["start"] is None and not STATE["written"]:
        gevent.sleep(0.05)
    while not STATE["written"]:
        _deliver_live(environment)
        gevent.sleep(LIVE_EVERY_S)


def _runner_kind(environment: Any) -> str:
    return type(getattr(environment, "runner", None)).__name__


@events.init.add_listener  # type: ignore[untyped-decorator]
def _on_init(environment: Any, **_: Any) -> None:
    """A master answers workers' plan requests and writes the records they send back; a worker
    without the plan file asks for it (once its handler is registered, so no answer is lost)."""
    runner = environment.runner
    if _runner_kind(environment) == "MasterRunner":
        runner.register_message(RECORD_MESSAGE, lambda msg, **__: save_record(Path(PLAN["out_dir"]), msg.data))
        runner.register_message(LIVE_MESSAGE, lambda msg, **__: save_live(Path(PLAN["out_dir"]), msg.data))
        runner.register_message(
            PLAN_REQUEST, lambda msg, **__: runner.send_message(PLAN_MESSAGE, plan_for_workers(PLAN), msg.node_id)
        )
    elif _runner_kind(environment) == "WorkerRunner" and not PLAN:
        runner.register_message(PLAN_MESSAGE, _take_plan)
        runner.send_message(PLAN_REQUEST)


def _take_plan(environment: Any, msg: Any, **_: Any) -> None:
    """A worker without the plan file takes the master's; a secret it cannot expand is reported."""
    if PLAN:
        return
    try:
        PLAN.update(plan_from_master(msg.data))
    except Exception as error:  # a missing environment variable, above all
        environment.runner.send_message(RECORD_MESSAGE, {"error": str(error), "pid": os.getpid()})


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def _on_stop(environment: Any, **_: Any) -> None:
    _write(environment)


def read_stream(chunks: list[tuple[float, bytes]]) -> StreamReading:
    """Server-sent events as the quality target reads them: each content delta's arrival (its data's
    kernel receive time) and whether the stream ended as a whole answer does."""
    reading = StreamReading()
    for arrived, chunk in chunks:
        reading.feed(chunk, arrived)
    reading.finish(chunks[-1][0] if chunks else 0.0)
    return reading


def stream_arrivals(chunks: list[tuple[float, bytes]]) -> list[float]:
    """When each content delta of a stream arrived."""
    return read_stream(chunks).arrivals


_CLIENT: dict[str, Any] = {}


def connection_pool() -> ConnectionPool:
    """This process's connection pool (created on first use, in the process that uses it)."""
    if "pool" not in _CLIENT:
        _CLIENT["pool"] = ConnectionPool(PLAN["host"], PLAN["connections"], PLAN["timeout_s"])
    pool: ConnectionPool = _CLIENT["pool"]
    return pool


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def _create_engine(environment: Any, **_: Any) -> None:
    """A local engine is created in each load process before its users start (never before a fork)."""
    if _runner_kind(environment) == "MasterRunner":  # a master runs no users
        return
    if PLAN.get("live_metrics") and "live" not in _CLIENT:
        _CLIENT["live"] = gevent.spawn(_live_loop, environment)
    if PLAN.get("engine_suite") and "engine" not in _CLIENT:
        from evalharness.serve.models import load_served_model

        _CLIENT["engine"] = load_served_model(Path(PLAN["engine_suite"]), side=PLAN.get("engine_side", "target"))


def _engine_exchange(request: dict[str, Any]) -> str:
    """One inference by the local engine in this process (it blocks the process: requests queue)."""
    if "engine" not in _CLIENT:
        _create_engine(None)
    try:
        _CLIENT["engine"].answer([request["row"]])
        return "ok"
    except Exception:  # the engine's own failures (bad row, shape or type)
        return "engine_error"


def _exchange(request: dict[str, Any], in_flight: InFlight | None) -> tuple[str, float, float, list[float]]:
    """One request (or the answer to one already written): its outcome kind, when it was sent and
    answered, and a stream's token arrival times."""
    if "row" in request:
        sent = time.perf_counter()
        kind = _engine_exchange(request)
        return kind, sent, time.perf_counter(), []
    sent = time.perf_counter()
    try:
        answer = in_flight.finish() if in_flight else connection_pool().exchange(request["wire"])
        sent = answer.sent
        if answer.status >= 400:
            return "http_error", sent, answer.done, []
        if request["stream"]:
            reading = read_stream(answer.chunks)
            if reading.cut_off() is not None:  # counted as its own outcome, as in quality runs
                return "cut_off", sent, answer.done, []
            return "ok", sent, answer.done, reading.arrivals
        json.loads(answer.body or b"")
        return "ok", sent, answer.done, []
    except (ValueError, UnicodeDecodeError):
        return "parse_error", sent, time.perf_counter(), []
    except Exception as error:  # socket errors, timeouts and malformed HTTP of any kind
        timed_out = "timeout" in type(error).__name__.lower() or "timed out" in str(error)
        return ("timeout" if timed_out else "http_error"), sent, time.perf_counter(), []


def send(request: dict[str, Any], scheduled: float, in_flight: InFlight | None = None) -> None:
    """Send one request (or finish ``in_flight``, the same request already written) and record it in
    its window: latency from ``scheduled``, service from the send."""
    window = _window(scheduled)
    kind, sent, done, arrivals = _exchange(request, in_flight)
    latency_us = (done - scheduled) * 1e6
    if window == "after":
        return
    if window == "warmup":
        RECORDER.counts["warmup_requests"] += 1
        RECORDER.record_us("warmup", latency_us)
        return
    RECORDER.outcome(_slice(scheduled), kind, latency_us)
    LIVE.observe(kind, latency_us / 1e6, sent - scheduled)
    if kind != "ok":
        return
    RECORDER.record_us("latency", latency_us)
    RECORDER.record_us("service", (done - sent) * 1e6)
    RECORDER.record_us("send_lag", (sent - scheduled) * 1e6)
    _record_tokens(arrivals, sent, done, latency_us)


def _send_now(request: dict[str, Any]) -> InFlight | None:
    """Write an HTTP request right now, in the scheduling greenlet, when a connection is free; None
    otherwise (the request's own greenlet then waits for one) or when writing failed (it retries)."""
    if "wire" not in request:
        return None
    try:
        return connection_pool().send_now(request["wire"])
    except Exception:
        return None


def _record_tokens(arrivals: list[float], sent: float, done: float, latency_us: float) -> None:
    """TTFT, ITL and TPOT as vLLM's benchmark defines them; and whether the request met the SLOs."""
    slo = PLAN["slo"]
    good = slo.get("latency_ms") is None or latency_us <= slo["latency_ms"] * 1000
    if arrivals:
        ttft_us = (arrivals[0] - sent) * 1e6
        RECORDER.record_us("ttft", ttft_us)
        for before, after in zip(arrivals, arrivals[1:]):
            RECORDER.record_us("itl", (after - before) * 1e6)
        RECORDER.counts["output_tokens"] += len(arrivals)
        tpot_us = (done - arrivals[0]) * 1e6 / (len(arrivals) - 1) if len(arrivals) > 1 else None
        if tpot_us is not None:
            RECORDER.record_us("tpot", tpot_us)
        good = good and (slo.get("ttft_ms") is None or ttft_us <= slo["ttft_ms"] * 1000)
        good = good and (slo.get("tpot_ms") is None or tpot_us is None or tpot_us <= slo["tpot_ms"] * 1000)
    RECORDER.counts["good"] += int(good)


def arrival_offsets(index: int) -> list[float]:
    """This process's share of the seeded schedule, in seconds from its start."""
    import numpy as np

    processes, rate, seed = PLAN["generators"], PLAN["rate"], PLAN["seed"]
    horizon = PLAN["warmup_s"] + PLAN["duration_s"]
    if PLAN["arrival"] == "constant":
        return [float(x) for x in np.arange(index / rate, horizon, processes / rate)]
    rng = np.random.default_rng([seed, index])
    expected = int(horizon * rate / processes * 1.2) + 100
    offsets = np.cumsum(rng.exponential(processes / rate, size=expected))
    return [float(x) for x in offsets[offsets < horizon]]


class LoadUser(User):
    """The HTTP user: walks the open-loop schedule, or loops closed; requests come from the plan.

    Requests go through one keep-alive pool per process (evalharness.load.wire) without Locust's
    per-request event bookkeeping: the HdrHistograms here are the record, and the generator stays lean.
    """

    host = PLAN.get("host")

    def wait_time(self) -> float:
        """The closed loop's think time."""
        return float(PLAN.get("think_time_s", 1.0))

    @task
    def work(self) -> None:
        """One closed-loop request, or the whole open-loop schedule."""
        if not PLAN:  # a worker whose plan has not arrived (or could not be expanded)
            gevent.sleep(0.2)
            return
        if PLAN["model"] == "open":
            self._open_loop()
        else:
            self._closed_loop_request()

    def _closed_loop_request(self) -> None:
        start = _start()
        if time.perf_counter() - start >= PLAN["warmup_s"] + PLAN["duration_s"]:
            if not STATE["in_flight"]:  # every user of this process is done: the record is complete
                _write(self.environment)
            gevent.sleep(0.05)
            return
        count = RECORDER.counts["sequence"]
        RECORDER.counts["sequence"] += 1
        request = requests()[(count * PLAN["generators"] + _worker_index(self.environment)) % len(requests())]
        STATE["in_flight"] += 1
        try:
            send(request, time.perf_counter())
        finally:
            STATE["in_flight"] -= 1

    def _open_loop(self) -> None:
        if STATE.get("schedule_started"):  # one schedule per process, even if Locust calls the task again
            gevent.sleep(3600)
            return
        STATE["schedule_started"] = True
        index = _worker_index(self.environment)
        offsets = arrival_offsets(index)
        start, group = _start(), Group()
        timer = PreciseTimer(spin_for_rate(PLAN["rate"] / PLAN["generators"]))
        horizon = PLAN["warmup_s"] + PLAN["duration_s"]
        for position, offset in enumerate(offsets):
            due = start + offset
            timer.sleep_until(due)
            measured = PLAN["warmup_s"] <= offset < horizon
            RECORDER.counts["scheduled"] += int(measured)
            if len(group) >= PLAN["max_in_flight"]:
                RECORDER.counts["dropped"] += int(measured)
                continue
            RECORDER.counts["late"] += int(measured and time.perf_counter() - due > PLAN["late_ms"] / 1000)
            request = requests()[(position * PLAN["generators"] + index) % len(requests())]
            if "row" in request:  # a local engine blocks this process anyway: infer now, without a greenlet
                send(request, due)
            else:
                group.spawn(send, request, due, _send_now(request))
        timer.close()
        group.join(timeout=PLAN["drain_s"])
        RECORDER.counts["unfinished"] += len(group)
        group.kill(block=False)
        _write(self.environment)
        gevent.sleep(3600)  # Locust's run time ends this user
