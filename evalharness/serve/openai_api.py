"""OpenAI-compatible routes of the reference server: models, chat completions and completions.

The last user message (or the prompt) is the row: for a text model it is the text input itself;
for a tabular model it must hold the row as a JSON object. The answer text is the model's label,
split into word tokens; with ``stream: true`` the tokens arrive as server-sent events, ``--token-delay-ms``
apart, so clients can measure time to first token and inter-token gaps against a known truth.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from typing import Any

from aiohttp import web

from evalharness.serve.generic import STATE_KEY, read_json
from evalharness.serve.models import ServedModel
from evalharness.serve.state import ServeError

TOKEN = re.compile(r"\S+\s*|\s+")
_IDS = itertools.count(1)


def _row(model: ServedModel, text: str) -> dict[str, Any]:
    if model.text_column is not None:
        return {model.text_column: text}
    start, end = text.find("{"), text.rfind("}")
    try:
        row = json.loads(text[start : end + 1]) if start >= 0 else None
    except json.JSONDecodeError:
        row = None
    if not isinstance(row, dict):
        raise ServeError(
            400, f"model '{model.name}' reads {model.columns}; put the row in the message as a JSON object"
        )
    return row


def _prompt_text(body: dict[str, Any], chat: bool) -> str:
    if not chat:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise ServeError(400, "'prompt' must be a string")
        return prompt
    messages = body.get("messages")
    users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
    if not users or not isinstance(users[-1].get("content"), str):
        raise ServeError(400, "'messages' must hold a user message with text content")
    return str(users[-1]["content"])


def _tokens(text: str, limit: Any) -> tuple[list[str], str]:
    tokens = TOKEN.findall(text)
    if isinstance(limit, int) and 0 < limit < len(tokens):
        return tokens[:limit], "length"
    return tokens, "stop"


def _choice(chat: bool, text: str, finish: str | None, delta: bool = False) -> dict[str, Any]:
    if not chat:
        return {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
    content = {"role": "assistant", "content": text} if not delta else ({"content": text} if text else {})
    return {"index": 0, "delta" if delta else "message": content, "finish_reason": finish}


async def _stream(request: web.Request, head: dict[str, Any], tokens: list[str], finish: str,
                  chat: bool, usage: dict[str, int] | None) -> web.StreamResponse:  # fmt: skip
    reply = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await reply.prepare(request)
    delay = request.app[STATE_KEY].settings.token_delay_s

    async def send(payload: Any) -> None:
        await reply.write(f"data: {json.dumps(payload)}\n\n".encode())

    if chat:
        await send({**head, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]})
    for position, token in enumerate(tokens):
        if delay and position:
            await asyncio.sleep(delay)
        await send({**head, "choices": [_choice(chat, token, None, delta=True)]})
    await send({**head, "choices": [_choice(chat, "", finish, delta=True)]})
    if usage is not None:
        await send({**head, "choices": [], "usage": usage})
    await reply.write(b"data: [DONE]\n\n")
    await reply.write_eof()
    return reply


async def _complete(request: web.Request, chat: bool) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise ServeError(400, "the body must be a JSON object with a 'model'")
    model = state.model(body["model"])
    prompt = _prompt_text(body, chat)
    answer = state.answer(model, [_row(model, prompt)])[0]
    tokens, finish = _tokens(str(answer["label"]), body.get("max_tokens"))
    usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(tokens)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    head = {
        "id": f"{'chatcmpl' if chat else 'cmpl'}-{next(_IDS)}", "created": int(time.time()), "model": model.name,
        "object": ("chat.completion" if chat else "text_completion") + (".chunk" if body.get("stream") else ""),
    }  # fmt: skip
    if body.get("stream"):
        wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return await _stream(request, head, tokens, finish, chat, usage if wants_usage else None)
    return web.json_response({**head, "choices": [_choice(chat, "".join(tokens), finish)], "usage": usage})


async def chat_completions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/chat/completions`` (plain or streamed)."""
    return await _complete(request, chat=True)


async def completions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/completions`` (plain or streamed)."""
    return await _complete(request, chat=False)


async def models(request: web.Request) -> web.Response:
    """``GET /v1/models``: the served models."""
    state = request.app[STATE_KEY]
    data = [{"id": name, "object": "model", "owned_by": "evalharness"} for name in sorted(state.models)]
    return web.json_response({"object": "list", "data": data})


def add_routes(app: web.Application) -> None:
    """Register ``/v1/models``, ``/v1/chat/completions`` and ``/v1/completions``."""
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
