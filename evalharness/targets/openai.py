"""Target ``openai``: chat completions or completions against any OpenAI-compatible base URL.

The user message is a sandboxed Jinja template over the row. With ``stream: true`` the answer is
read as server-sent events, and each row records its time to first token, the gaps between
tokens and the number of tokens. The answer text can be cut with a regex and mapped to labels,
so a chat model can be scored by the classification metrics.
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
from evalharness.targets.http import EndpointTarget, Outcome
from evalharness.targets.secrets import clip, expand
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
        optional = {"top_p": spec.top_p, "max_tokens": spec.max_tokens, "seed": spec.seed}
        body.update({key: value for key, value in optional.items() if value is not None})
        return body

    def _text(self, choice: dict[str, Any]) -> str:
        if self.spec.api == "chat":
            return str((choice.get("message") or choice.get("delta") or {}).get("content") or "")
        return str(choice.get("text") or "")

    def _label(self, text: str) -> Any:
        """The answer text, cut by the regex and mapped to a label when the suite says so."""
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

    def _extract(self, answer: Any, count: int) -> tuple[list[Any], list[Any]]:
        return [self._label(self._text(answer["choices"][0]))], [None]

    async def _answer(self, reply: Any, count: int) -> Outcome:
        if not self.spec.stream:
            return await super()._answer(reply, count)
        started, arrivals, pieces = time.perf_counter(), [], []
        async for raw in reply.content:
            line = raw.decode("utf-8").strip()
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            choices = json.loads(data).get("choices") or [{}]
            piece = self._text(choices[0])
            if piece:
                arrivals.append(time.perf_counter() - started)
                pieces.append(piece)
        gaps = np.diff(arrivals) if len(arrivals) > 1 else np.empty(0)
        timing = {
            "ttft_s": arrivals[0] if arrivals else float("nan"),
            "itl_mean_s": float(gaps.mean()) if gaps.size else float("nan"),
            "itl_max_s": float(gaps.max()) if gaps.size else float("nan"),
            "tokens": float(len(pieces)),
        }
        return Outcome("ok", [self._label("".join(pieces))], [None], timings=[timing])

    def describe(self) -> dict[str, Any]:
        """Endpoint, model, decoding settings and, when streamed, the token timings."""
        facts = {**super().describe(), "model": self.spec.model, "api": self.spec.api, "stream": self.spec.stream}
        if self.timings:
            ttft = np.array([t["ttft_s"] for t in self.timings])
            facts["ttft_s"] = {"p50": float(np.nanpercentile(ttft, 50)), "p95": float(np.nanpercentile(ttft, 95))}
            facts["itl_mean_s"] = float(np.nanmean([t["itl_mean_s"] for t in self.timings]))
            facts["output_tokens"] = int(sum(t["tokens"] for t in self.timings))
        return facts
