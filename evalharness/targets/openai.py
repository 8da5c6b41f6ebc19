"""Target ``openai``: chat completions or completions against any OpenAI-compatible base URL.

The user message is a sandboxed Jinja template over the row. With ``stream: true`` the answer is
read as server-sent events, and each row records its time to first token (from the send, as in
load runs), the gaps between tokens and the number of tokens. The answer text can be cut with a
regex and mapped to labels, so a chat model can be scored by the classification metrics.

Each row ends as one outcome. ``ok``: the whole answer. ``unparsed``: the whole answer, which
``extract`` or ``labels`` could not read; it is scored as a wrong answer and kept. ``cut_off``:
the answer is not whole (``finish_reason: length``, a stream aborted, empty or broken); like a
transport failure it is never scored and counts toward ``max_error_rate``. Every row keeps its
answer text (``raw``) beside the extracted value.
"""

from __future__ import annotations

import html
import json
import re
import time
from typing import Any

import numpy as np

from evalharness.suite.schema import OpenAITargetSpec
from evalharness.targets.base import TargetContext
from evalharness.targets.endpoint import EndpointTarget, Outcome
from evalharness.targets.secrets import clip, expand
from evalharness.targets.sse import StreamReading, content_of, cut_off_reason
from evalharness.targets.templates import compile_template, render


class OpenAITarget(EndpointTarget):
    """One request per row, concurrent, with the shared retries and accounting."""

    kind = "openai"

    def __init__(self, spec: OpenAITargetSpec, context: TargetContext) -> None:
        super().__init__(spec, context)
        route = "chat/completions" if spec.api == "chat" else "completions"
        self.url = f"{expand(spec.base_url).rstrip('/')}/{route}"
        if spec.api_key:
            self.headers["Authorization"] = f"Bearer {expand(spec.api_key)}"
        self.prompt = compile_template(spec.prompt)
        self.pattern = re.compile(spec.extract) if spec.extract else None
        self.labels = {str(k).strip().lower(): v for k, v in (spec.labels or {}).items()}
        self.timings: list[dict[str, float]] = []
        self.keeps_raw = True

    def _payload(self, rows: list[dict[str, Any]]) -> Any:
        spec = self.spec
        # Autoescaped like every template; a prompt is plain text for the model (aiohttp JSON-encodes
        # the body), so the entities are turned back into the characters the row holds.
        text = html.unescape(render(self.prompt, **rows[0], row=rows[0]))
        body: dict[str, Any] = {"model": spec.model, "temperature": spec.temperature, "stream": spec.stream}
        if spec.api == "chat":
            system = [{"role": "system", "content": spec.system}] if spec.system else []
            body["messages"] = [*system, {"role": "user", "content": text}]
        else:
            body["prompt"] = text
        optional = {"top_p": spec.top_p, "max_tokens": spec.max_tokens, "seed": spec.seed, "stop": spec.stop}
        body.update({key: value for key, value in optional.items() if value is not None})
        return body

    def _label(self, text: str) -> Any:
        """The answer text, cut by the regex and mapped to a label when the suite says so; ValueError
        (an unparsed answer) when it does not match."""
        if self.pattern is not None:
            match = self.pattern.search(text)
            if match is None:
                raise ValueError(f"the answer {clip(text, 80)!r} does not match extract {self.pattern.pattern!r}")
            text = match.group(1) if match.groups() else match.group(0)
        if self.labels:
            key = text.strip().lower()
            if key not in self.labels:
                raise ValueError(f"the answer {clip(text, 80)!r} is none of the labels {sorted(self.labels)}")
            return self.labels[key]
        return text.strip()

    def _outcome(self, text: str, cut: str | None, timings: list[dict[str, float]] | None = None) -> Outcome:
        """One row's outcome from its whole text: cut off, unparsed (scored wrong) or ok."""
        if cut is not None:
            return Outcome("cut_off", [None], [None], cut, timings=timings, raw=[text])
        try:
            label = self._label(text)
        except ValueError as error:
            return Outcome("unparsed", [None], [None], str(error), timings=timings, raw=[text])
        return Outcome("ok", [label], [None], timings=timings, raw=[text])

    async def _answer(self, reply: Any, count: int, sent: float) -> Outcome:
        if self.spec.stream:
            return await self._streamed(reply, sent)
        answer = json.loads(await reply.text())
        choice = (answer.get("choices") or [None])[0] if isinstance(answer, dict) else None
        if not isinstance(choice, dict):
            raise ValueError(f"the answer has no choices[0] ({type(answer).__name__})")
        return self._outcome(content_of(choice, self.spec.api), cut_off_reason(choice.get("finish_reason") or "stop"))

    async def _streamed(self, reply: Any, sent: float) -> Outcome:
        """A streamed answer, its token timings measured from the send (as the load generator does)."""
        import aiohttp

        reading, broke = StreamReading(), ""
        try:
            async for data in reply.content.iter_any():
                reading.feed(data, time.perf_counter(), self.spec.api)
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as error:
            # A server that aborts a stream (llama.cpp when a new request interrupts it) may also break
            # the chunked body; what arrived is kept, and the answer is whole only if it said so.
            broke = f"; then the connection broke ({type(error).__name__})"
        reading.finish(time.perf_counter(), self.spec.api)
        cut = reading.cut_off()
        timings = [token_timings(reading.arrivals, sent)]
        return self._outcome(reading.text, None if cut is None else cut + broke, timings)

    def describe(self) -> dict[str, Any]:
        """Endpoint, model, decoding settings and, when streamed, the token timings (TTFT from the send)."""
        facts = {**super().describe(), "model": self.spec.model, "api": self.spec.api, "stream": self.spec.stream}
        timed = [t for t in self.timings if t.get("tokens")]
        if timed:
            ttft = np.array([t["ttft_s"] for t in timed])
            facts["ttft_s"] = {"p50": float(np.nanpercentile(ttft, 50)), "p95": float(np.nanpercentile(ttft, 95))}
            gaps = [t["itl_mean_s"] for t in timed if t["itl_mean_s"] == t["itl_mean_s"]]
            facts["itl_mean_s"] = float(np.mean(gaps)) if gaps else None
            facts["output_tokens"] = int(sum(t["tokens"] for t in timed))
            facts["ttft_from"] = "send"
        return facts


def token_timings(arrivals: list[float], sent: float) -> dict[str, float]:
    """One streamed answer's TTFT (from the send), mean and largest gap between tokens, and token count."""
    gaps = np.diff(arrivals) if len(arrivals) > 1 else np.empty(0)
    return {
        "ttft_s": arrivals[0] - sent if arrivals else float("nan"),
        "itl_mean_s": float(gaps.mean()) if gaps.size else float("nan"),
        "itl_max_s": float(gaps.max()) if gaps.size else float("nan"),
        "tokens": float(len(arrivals)),
    }
