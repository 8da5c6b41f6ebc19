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
        if not body.get("stream"):
            choice = {"message": {"role": "assistant", "content": text}} if "messages" in body else {"text": text}
            return web.json_response({"choices": [choice]})
        reply = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await reply.prepare(request)
        for piece in re.findall(r"\S+\s*", text):
            await asyncio.sleep(0.002)
            delta = {"delta": {"content": piece}} if "messages" in body else {"text": piece}
            await reply.write(f"data: {json.dumps({'choices': [delta]})}\n\n".encode())
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
    from aiohttp import web

    state, loop = ServerState(), asyncio.new_event_loop()
    runner = web.AppRunner(_app(state))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


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


if __name__ == "__main__":
    serve_until_stopped()
