"""OpenAI-style server-sent event streams, read honestly: a stream is whole only when it says so.

A streamed completion is a series of ``data: {json}`` lines, each with a delta of text, and ends
with a chunk whose ``finish_reason`` is set (``stop``, ``length``...) and then ``data: [DONE]``.
A stream that stops without a finish reason (the server aborted it, or dropped the connection),
one with no event at all, one whose event is not JSON, or one that ended because it hit
``max_tokens`` (``length``) is cut off: its answer is not the model's whole answer and is never
scored as one. The quality target and the load generator read streams with the same code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

FINISHED = frozenset({"stop", "eos", "tool_calls", "function_call", "content_filter", "end_turn"})
"""Finish reasons of a whole answer; ``length`` and anything else (``abort``, ``cancelled``) cut it off."""


@dataclass
class StreamReading:
    """What a stream said so far: its text pieces with arrival times, and how it ended."""

    pieces: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    finish_reason: str | None = None
    done: bool = False
    events: int = 0
    broken: str | None = None
    _pending: bytes = b""

    @property
    def text(self) -> str:
        """The answer's text, every piece joined."""
        return "".join(self.pieces)

    def feed(self, data: bytes, arrived: float, api: str = "chat") -> None:
        """Read one chunk of the response body, which may hold parts of lines, received at ``arrived``."""
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            self._line(line.strip(), arrived, api)

    def _line(self, line: bytes, arrived: float, api: str) -> None:
        if self.broken is not None or self.done or not line.startswith(b"data:"):
            return
        payload = line[5:].strip()
        if payload == b"[DONE]":
            self.done = True
            return
        self.events += 1
        try:
            event = json.loads(payload)
            choice = (event.get("choices") or [{}])[0]
        except (ValueError, AttributeError, TypeError, IndexError) as error:
            self.broken = f"event {self.events} is not a completion chunk ({type(error).__name__})"
            return
        piece = content_of(choice, api)
        if piece:
            self.pieces.append(piece)
            self.arrivals.append(arrived)
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])

    def finish(self, arrived: float, api: str = "chat") -> None:
        """The body ended: read a last line that had no newline."""
        if self._pending:
            self._line(self._pending.strip(), arrived, api)
            self._pending = b""

    def cut_off(self) -> str | None:
        """Why the answer is not whole, in words; None when the stream ended as a whole answer does."""
        return cut_off_reason(self.finish_reason, broken=self.broken, events=self.events, done=self.done)


def content_of(choice: dict[str, Any], api: str = "chat") -> str:
    """A choice's text: a chat message or delta's content, or a completion's text."""
    if not isinstance(choice, dict):
        return ""
    if api == "chat" or "delta" in choice or "message" in choice:
        return str((choice.get("message") or choice.get("delta") or {}).get("content") or choice.get("text") or "")
    return str(choice.get("text") or "")


def cut_off_reason(
    finish_reason: str | None, *, broken: str | None = None, events: int = 1, done: bool = True
) -> str | None:
    """Why an answer with this ``finish_reason`` is cut off (None when it is whole)."""
    if broken is not None:
        return f"broken stream: {broken}"
    if events == 0:
        return "empty stream: no event before the stream ended" + ("" if done else " (no [DONE])")
    if finish_reason is None:
        return "the stream ended without a finish_reason" + (" (no [DONE]): aborted or dropped" if not done else "")
    if finish_reason == "length":
        return "finish_reason length: the answer hit max_tokens before the model finished"
    if finish_reason not in FINISHED:
        return f"finish_reason {finish_reason}: the server stopped the answer"
    return None
