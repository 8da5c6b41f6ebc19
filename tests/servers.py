"""Real HTTP servers on 127.0.0.1 for target tests: a model endpoint and fault-injecting routes.

The server runs on its own event loop in a background thread and is stopped by the fixture that
started it; it only ever listens on the loopback interface.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evalharness.processes import stop_process

REPO_ROOT = Path(__file__).resolve().parents[1]
SECRET = "sk-test-planted-secret-4242"


def answer(row: dict[str, Any]) -> tuple[int, float]:
    """The endpoint's model: P(positive) = sigmoid(x1 + x2)."""
    p = 1.0 / (1.0 + math.exp(-(float(row["x1"]) + float(row["x2"]))))
    return int(p > 0.5), p


class ServerState:
    """What the server saw: requests per route, attempts per row, the most requests in flight."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.ready = True


def _app(state: ServerState) -> Any:
    from aiohttp import web

    async def predict(request: web.Request) -> web.Response:
        state.requests["predict"] += 1
        state.in_flight += 1
        state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            await asyncio.sleep(0.005)
            label, score = answer(await request.json())
            return web.json_response({"output": {"label": label, "probability": score}})
        finally:
            state.in_flight -= 1

    async def batch(request: web.Request) -> web.Response:
        rows = (await request.json())["rows"]
        answers = [answer(row) for row in rows]
        return web.json_response({"labels": [a[0] for a in answers], "scores": [a[1] for a in answers]})

    async def flaky(request: web.Request) -> web.Response:
        row = await request.json()
        state.attempts[row["row_id"]] += 1
        if state.attempts[row["row_id"]] == 1:
            return web.json_response({"error": "busy"}, status=503, headers={"Retry-After": "0"})
        label, score = answer(row)
        return web.json_response({"output": {"label": label, "probability": score}})

    async def dropping(request: web.Request) -> web.Response:
        """Drops the connection without an answer on each row's first attempt (and always for row_id 'never')."""
        row = await request.json()
        state.attempts[f"drop:{row['row_id']}"] += 1
        if state.attempts[f"drop:{row['row_id']}"] == 1 or row["row_id"] == "never":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=200)
        label, score = answer(row)
        return web.json_response({"output": {"label": label, "probability": score}})

    async def broken(request: web.Request) -> web.Response:
        state.requests["broken"] += 1
        return web.Response(status=500, text="internal error")

    async def malformed(request: web.Request) -> web.Response:
        return web.Response(status=200, text="{not json", content_type="application/json")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2.0)
        return web.json_response({"output": {"label": 0}})

    async def secured(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SECRET}":
            return web.json_response({"error": "unauthorised"}, status=401)
        label, score = answer(await request.json())
        return web.json_response({"output": {"label": label, "probability": score}})

    async def v2_ready(request: web.Request) -> web.Response:
        return web.json_response({"ready": True}) if state.ready else web.Response(status=503)

    async def v2_model_ready(request: web.Request) -> web.Response:
        if request.match_info["model"] != "demo":
            return web.json_response({"error": "unknown model"}, status=404)
        return web.json_response({"name": "demo", "ready": True})

    async def v2_infer(request: web.Request) -> web.Response:
        state.requests["v2"] += 1
        body = await request.json()
        tensor = body["inputs"][0]
        rows, width = tensor["shape"]
        values = [tensor["data"][i * width : (i + 1) * width] for i in range(rows)]
        answers = [answer({"x1": v[0], "x2": v[1]}) for v in values]
        return web.json_response({"model_name": "demo", "outputs": [
            {"name": "label", "shape": [rows], "datatype": "INT64", "data": [a[0] for a in answers]},
            {"name": "probabilities", "shape": [rows, 2], "datatype": "FP32",
             "data": [x for a in answers for x in (1 - a[1], a[1])]},
        ]})  # fmt: skip

    def _reply_text(prompt: str) -> str:
        numbers = dict(re.findall(r"(x[12])=(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)", prompt))
        label, _ = answer(numbers)
        return f"Answer: {'fraud' if label else 'legit'}"

    async def chat(request: web.Request) -> web.Response | web.StreamResponse:
        body = await request.json()
        state.requests["openai"] += 1
        key = request.headers.get("Authorization")
        if key is not None and key != f"Bearer {SECRET}":
            return web.json_response({"error": "bad key"}, status=401)
        prompt = body["messages"][-1]["content"] if "messages" in body else body["prompt"]
        text = _reply_text(prompt)
        # A prompt holding "cut=KIND" is answered the way a server cuts an answer off: KIND length
        # (finish_reason length), abort (the stream stops, no finish_reason, no [DONE]), empty (no
        # event at all) or broken (an event that is not JSON).
        cut = (re.findall(r"cut=(length|abort|empty|broken)", prompt) or [""])[0]
        finish = "length" if cut == "length" else "stop"
        if not body.get("stream"):
            choice = {"message": {"role": "assistant", "content": text}} if "messages" in body else {"text": text}
            return web.json_response({"choices": [{**choice, "finish_reason": finish}]})
        reply = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await reply.prepare(request)
        pieces = [] if cut == "empty" else re.findall(r"\S+\s*", text)
        for position, piece in enumerate(pieces):
            await asyncio.sleep(0.002)
            delta = {"delta": {"content": piece}} if "messages" in body else {"text": piece}
            await reply.write(f"data: {json.dumps({'choices': [delta]})}\n\n".encode())
            if cut == "broken" and position == 0:
                await reply.write(b"data: {not json\n\n")
            if cut == "abort":
                break
        if cut not in ("abort", "empty"):
            last = {"delta": {}} if "messages" in body else {"text": ""}
            last["finish_reason"] = finish
            await reply.write(f"data: {json.dumps({'choices': [last]})}\n\n".encode())
            await reply.write(b"data: [DONE]\n\n")
        await reply.write_eof()
        return reply

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"requests": dict(state.requests), "max_in_flight": state.max_in_flight})

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/completions", chat)
    app.router.add_get("/v2/health/ready", v2_ready)
    app.router.add_get("/v2/models/{model}/ready", v2_model_ready)
    app.router.add_post("/v2/models/{model}/infer", v2_infer)
    routes = {"/predict": predict, "/batch": batch, "/flaky": flaky, "/broken": broken, "/malformed": malformed,
              "/slow": slow, "/secured": secured, "/drop": dropping}  # fmt: skip
    for path, handler in routes.items():
        app.router.add_post(path, handler)
    return app


@contextmanager
def loopback_server() -> Iterator[tuple[str, ServerState]]:
    """Serve the routes on 127.0.0.1 (a free port) until the block ends; yields (base URL, state)."""
    state = ServerState()
    with serve_app(_app(state)) as url:
        yield url, state


def serve_until_stopped() -> None:
    """Run the routes in this process on a free 127.0.0.1 port; print the base URL, serve until killed."""
    from aiohttp import web

    async def start() -> None:
        runner = web.AppRunner(_app(ServerState()), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(start())


def _read_line(process: subprocess.Popen[str], marker: str, timeout_s: float) -> str:
    """The first stdout line holding ``marker``; fails when the process exits or the time runs out."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.05)
        if ready:
            line = process.stdout.readline()
            if marker in line:
                return line.strip()
            if not line and process.poll() is not None:
                break
    raise AssertionError(f"no '{marker}' line from the server (exit {process.poll()})")


@contextmanager
def serve_process(*arguments: str, wait_ready: bool = True) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``evalharness serve --port 0`` in its own process from the repo root; yields (base URL, process).

    The process is stopped by its pid when the block ends.
    """
    command = [sys.executable, "-m", "evalharness", "serve", "--port", "0", *arguments]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = _read_line(process, "listening on", 60).rsplit(" ", 1)[-1]
        if wait_ready:
            _read_line(process, "ready in", 120)
        yield url, process
    finally:
        stop_process(process)


@contextmanager
def module_server(module: str, *arguments: str) -> Iterator[str]:
    """``python -m <module> ...`` from the repo root, a server that prints its URL first; yields the URL and
    stops the process by its pid when the block ends."""
    process = subprocess.Popen([sys.executable, "-m", module, *arguments], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               text=True)  # fmt: skip
    try:
        yield _read_line(process, "http://", 60)
    finally:
        stop_process(process)


def fault_server_process() -> Any:
    """These routes in their own process (``python -m tests.servers``); a context manager yielding the URL."""
    return module_server("tests.servers")


def ping_server_process(*arguments: str) -> Any:
    """tests/ping_server.py in its own process (``--service-ms``, ``--stall-ms``, ``--stall-every-s``);
    a context manager yielding the URL."""
    return module_server("tests.ping_server", *arguments)


INJECTED = "\n::error::INJECTED\n\x1b[31m"
"""What a hostile model server puts in answers and error bodies: a workflow command on a line of
its own, then an ANSI escape (red)."""


def _hostile_app() -> Any:
    """``/hostile/answer`` answers every row with :data:`INJECTED` inside its label;
    ``/hostile/error`` fails every request with HTTP 500 and :data:`INJECTED` in the body."""
    from aiohttp import web

    async def answer_hostile(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"output": {"label": f"legit{INJECTED}red", "probability": 0.5}})

    async def fail_hostile(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=500, text=f"internal error{INJECTED}red")

    app = web.Application()
    app.router.add_post("/hostile/answer", answer_hostile)
    app.router.add_post("/hostile/error", fail_hostile)
    return app


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an aiohttp ``app`` on 127.0.0.1 (a free port) in a background thread until the block
    ends; yields the base URL."""
    from aiohttp import web

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def hostile_server() -> Any:
    """:func:`_hostile_app` on 127.0.0.1; a context manager yielding the base URL."""
    return serve_app(_hostile_app())


if __name__ == "__main__":
    serve_until_stopped()


ERROR_PADDING = "E" * 90
"""A 500 body is this padding, then the Authorization header it was sent: cut at 120 characters
before redaction, the key would be cut too short to be recognised."""


def _row_index(row: dict[str, Any]) -> int:
    return int(str(row["row_id"]).lstrip("r"))


def _echo_app() -> Any:
    """Routes that give the Authorization header back: as the answer of every row whose index ends
    in 5, in a 500 body (after :data:`ERROR_PADDING`) for index 3 (a batch: its first row's index
    ends in 0), and for http batches starting at a multiple of 20 plus 8, as a label text that is
    the list of headers written out, which a label path rejects with a message quoting it."""
    from aiohttp import web

    def refused(auth: str) -> web.Response:
        return web.Response(status=500, text=f"{ERROR_PADDING} {auth}")

    async def predict(request: web.Request) -> web.Response:
        row, auth = await request.json(), request.headers.get("Authorization", "")
        if _row_index(row) % 10 == 3:
            return refused(auth)
        label, score = answer(row)
        return web.json_response({"output": {"label": auth if _row_index(row) % 10 == 5 else label,
                                             "probability": score}})  # fmt: skip

    async def batch(request: web.Request) -> web.Response:
        rows, auth = (await request.json())["rows"], request.headers.get("Authorization", "")
        first = _row_index(rows[0])
        if first % 20 == 0:
            return refused(auth)
        labels = [auth if _row_index(row) % 10 == 5 else answer(row)[0] for row in rows]
        if first % 20 == 8:
            return web.json_response({"labels": str([auth] * len(rows)), "scores": [0.5] * len(rows)})
        return web.json_response({"labels": labels, "scores": [answer(row)[1] for row in rows]})

    async def chat(request: web.Request) -> web.StreamResponse:
        body, auth = await request.json(), request.headers.get("Authorization", "")
        prompt = body["messages"][-1]["content"]
        index = int(re.findall(r"row=r?([0-9]+)", prompt)[0])
        if index % 10 == 3:
            return refused(auth)
        numbers = dict(re.findall(r"(x[12])=(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)", prompt))
        text = auth if index % 10 == 5 else ("fraud" if answer(numbers)[0] else "legit")
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            return web.json_response({"choices": [{"message": message, "finish_reason": "stop"}]})
        reply = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await reply.prepare(request)
        for piece in re.findall(r"\S+\s*", text):
            await reply.write(f"data: {json.dumps({'choices': [{'delta': {'content': piece}}]})}\n\n".encode())
        await reply.write(f"data: {json.dumps({'choices': [{'delta': {}, 'finish_reason': 'stop'}]})}\n\n".encode())
        await reply.write(b"data: [DONE]\n\n")
        await reply.write_eof()
        return reply

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"ready": True})

    async def infer(request: web.Request) -> web.Response:
        tensor, auth = (await request.json())["inputs"][0], request.headers.get("Authorization", "")
        rows, width = tensor["shape"]
        values = [tensor["data"][i * width : (i + 1) * width] for i in range(rows)]
        if int(values[0][0]) % 20 == 0:
            return refused(auth)
        answers = [answer({"x1": v[1], "x2": v[2]}) for v in values]
        labels = [auth if int(v[0]) % 10 == 5 else str(a[0]) for v, a in zip(values, answers)]
        return web.json_response({"model_name": "demo", "outputs": [
            {"name": "label", "shape": [rows], "datatype": "BYTES", "data": labels},
            {"name": "probabilities", "shape": [rows, 2], "datatype": "FP32",
             "data": [x for a in answers for x in (1 - a[1], a[1])]},
        ]})  # fmt: skip

    app = web.Application()
    app.router.add_post("/echo/predict", predict)
    app.router.add_post("/echo/batch", batch)
    app.router.add_post("/echo/v1/chat/completions", chat)
    app.router.add_get("/echo/v2/health/ready", ready)
    app.router.add_get("/echo/v2/models/{model}/ready", ready)
    app.router.add_post("/echo/v2/models/{model}/infer", infer)
    return app


@contextmanager
def echo_server() -> Iterator[str]:
    """Serve routes that echo the Authorization header into answers and error bodies (see
    :func:`_echo_app`) on 127.0.0.1 until the block ends; yields the base URL (``.../echo``)."""
    with serve_app(_echo_app()) as url:
        yield f"{url}/echo"
