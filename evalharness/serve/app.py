"""The aiohttp application behind ``evalharness serve``, and the loop that runs it until a signal.

The port opens first and the models load afterwards, so liveness (``/health``) and readiness
(``/ready``, ``/v2/health/ready``) differ the way they do on a real server and cold start can be
measured in phases.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TextIO

from aiohttp import web

from evalharness.serve import generic, openai_api, v2
from evalharness.serve.generic import STATE_KEY
from evalharness.serve.state import ServeError, ServerState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refusals as ``{"error": {"message": ...}}`` with their status (the OpenAI error shape)."""
    try:
        return await handler(request)
    except ServeError as error:
        body = {"error": {"message": error.message, "code": error.status}}
        return web.json_response(body, status=error.status)


@web.middleware
async def service_time(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every inference request (POST) takes at least ``--service-time-ms`` longer."""
    delay = request.app[STATE_KEY].settings.service_time_s
    if delay and request.method == "POST":
        await asyncio.sleep(delay)
    return await handler(request)


async def _stall_forever(every_s: float, stall_s: float) -> None:
    """Freeze the event loop for ``stall_s`` every ``every_s``: nothing is accepted or answered meanwhile."""
    while True:
        await asyncio.sleep(max(every_s - stall_s, 0.0))
        time.sleep(stall_s)  # blocking on purpose: a stop-the-world pause


def build_app(state: ServerState) -> web.Application:
    """Every route of the reference server over ``state``."""
    app = web.Application(middlewares=[errors_as_json, service_time], client_max_size=64 * 1024**2)
    app[STATE_KEY] = state
    generic.add_routes(app)
    v2.add_routes(app)
    openai_api.add_routes(app)
    return app


async def serve(state: ServerState, host: str, port: int, out: TextIO = sys.stdout) -> int:
    """Listen, load the models, and serve until SIGINT or SIGTERM; 1 when a model fails to load."""
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    print(f"evalharness serve: listening on http://{bound_host}:{bound_port}", file=out, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await loop.run_in_executor(None, state.load)
    settings = state.settings
    stalls = (
        asyncio.ensure_future(_stall_forever(settings.stall_every_s, settings.stall_s)) if settings.stall_s else None
    )
    if state.load_error is not None:
        print(f"evalharness serve: cannot load the models: {state.load_error}", file=sys.stderr, flush=True)
        await runner.cleanup()
        return 1
    print(f"evalharness serve: ready in {state.ready_after_s:.2f} s; models: {', '.join(state.models)}",
          file=out, flush=True)  # fmt: skip
    await stop.wait()
    if stalls is not None:
        stalls.cancel()
    await runner.cleanup()
    return 0
