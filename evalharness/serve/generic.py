"""Health, readiness and the generic JSON route of the reference server.

``POST /predict/{model}`` takes one row (``{"amount": 12.5, ...}``) and answers
``{"label": ..., "score": ...}``, or takes ``{"instances": [row, ...]}`` and answers
``{"predictions": [{"label": ..., "score": ...}, ...]}`` in the same order.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from evalharness.serve.state import ServeError, ServerState

STATE_KEY: web.AppKey[ServerState] = web.AppKey("state", ServerState)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 400 saying why it is not."""
    try:
        return await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ServeError(400, f"the body is not JSON: {error}") from None


async def health(request: web.Request) -> web.Response:
    """Liveness: the process is up and the port open (models may still be loading)."""
    return web.json_response({"status": "alive"})


async def ready(request: web.Request) -> web.Response:
    """Readiness: 200 once every model is loaded, 503 before (with the load error, if any); each model's
    sha256 and file, so a deploy can check which build answers."""
    state = request.app[STATE_KEY]
    body = {
        "ready": state.ready, "models": sorted(state.models), "error": state.load_error,
        "sha256": {name: model.sha256 for name, model in sorted(state.models.items())},
        "files": {name: model.file for name, model in sorted(state.models.items())},
    }  # fmt: skip
    return web.json_response(body, status=200 if state.ready else 503)


async def predict(request: web.Request) -> web.Response:
    """One row or ``{"instances": [...]}`` answered by the named model."""
    state = request.app[STATE_KEY]
    model = state.model(request.match_info["model"])
    body = await read_json(request)
    if isinstance(body, dict) and "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise ServeError(400, "'instances' must be a list of objects, one per row")
        return web.json_response({"predictions": state.answer(model, rows)})
    if not isinstance(body, dict):
        raise ServeError(400, 'the body must be a JSON object: one row, or {"instances": [rows]}')
    return web.json_response(state.answer(model, [body])[0])


def add_routes(app: web.Application) -> None:
    """Register health, readiness and ``/predict/{model}``."""
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_post("/predict/{model}", predict)
