"""The aiohttp application behind ``evalharness serve``, and the loop that runs it until a signal.

The port opens first and the models load afterwards, so liveness (``/health``) and readiness
(``/ready``, ``/v2/health/ready``) differ the way they do on a real server and cold start can be
measured in phases.
"""

from __future__ import annotations

import asyncio
import signal
import sys
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


def build_app(state: ServerState) -> web.Application:
    """Every route of the reference server over ``state``."""
    app = web.Application(middlewares=[errors_as_json], client_max_size=64 * 1024**2)
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
    if state.load_error is not None:
        print(f"evalharness serve: cannot load the models: {state.load_error}", file=sys.stderr, flush=True)
        await runner.cleanup()
        return 1
    print(f"evalharness serve: ready in {state.ready_after_s:.2f} s; models: {', '.join(state.models)}",
          file=out, flush=True)  # fmt: skip
    await stop.wait()
    await runner.cleanup()
    return 0
