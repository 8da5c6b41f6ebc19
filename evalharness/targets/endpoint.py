"""The endpoint targets' shared request loop (http, kserve, openai): concurrent requests, retries,
an answer cache, and exactly one outcome per request, accounted for.

Requests run on one asyncio loop with at most ``concurrency`` in flight. Connection errors, 408,
429 and 5xx are retried with capped exponential back-off and jitter (429/503 honour
``Retry-After``). Each row ends as exactly one outcome: ok, unparsed (a whole answer that could not
be read, scored wrong), cut_off, http_error, timeout or parse_error; more failures than
``max_error_rate`` allows fail the suite as an error, never as a pass.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalharness._optional import require
from evalharness.errors import TargetError
from evalharness.progress import progress_bar
from evalharness.targets.base import TargetContext, TargetOutput
from evalharness.targets.secrets import clip, expand, redact, redact_value
from evalharness.untrusted import untrusted

log = logging.getLogger(__name__)
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
ANSWERED = frozenset({"ok", "unparsed"})
"""Outcomes with the model's whole answer: scored (an unparsed one as wrong), never counted as failures."""
MAX_BACKOFF_S = 10.0


@dataclass
class Outcome:
    """How one request ended, and what it answered."""

    kind: str  # ok | unparsed | cut_off | http_error | timeout | parse_error
    labels: list[Any]
    scores: list[Any]
    detail: str = ""
    attempts: int = 1
    timings: list[dict[str, float]] | None = None  # per row, for streamed answers
    raw: list[Any] | None = None  # per row, the answer's text as it came (openai)


def _backoff(attempt: int, retry_after: str | None) -> float:
    """Seconds to wait before the next attempt: Retry-After when given, else capped jittered doubling."""
    if retry_after is not None:
        try:
            return min(float(retry_after), MAX_BACKOFF_S)
        except ValueError:
            pass
    return min(MAX_BACKOFF_S, 0.05 * 2**attempt) * (0.5 + random.random() / 2)


class EndpointTarget:
    """Concurrent JSON requests; one outcome per request, counted toward the suite's error budget.

    Subclasses say how rows become a request body (:meth:`_payload`) and how an answer becomes
    labels and scores (:meth:`_extract`); the request loop, retries and accounting are shared.
    """

    kind = "endpoint"
    method = "POST"
    url = ""

    def __init__(self, spec: Any, context: TargetContext | None = None) -> None:
        require("aiohttp", extra="http", needed_for=f"target kind '{spec.kind}'")
        self.spec = spec
        self.resume = bool(context and context.resume)
        self.progress = context.progress if context else None
        self.label = f"{context.name}: {spec.kind}" if context and context.name else spec.kind
        self.cache = None
        if context is not None and context.cache_dir is not None:
            from evalharness.targets.cache import AnswerCache

            self.cache = AnswerCache(context.cache_dir, self._cache_identity(spec), context.name)
            if self.resume:  # the interrupted run's half-written answers are of no use now
                self.cache.remove_abandoned()
        self.headers = {name: expand(value) for name, value in spec.headers.items()}
        # Only the id and the input columns reach the endpoint: never the expected answer.
        self.fields = list(dict.fromkeys([context.id_column, *context.input_columns])) if context else None
        self.outcomes: Counter[str] = Counter()
        self.first_error: str | None = None
        self.first_unparsed: str | None = None
        self.has_score = False
        self.keeps_raw = False  # whether answers have a text of their own beside the label (openai)

    def _cache_identity(self, spec: Any) -> dict[str, Any]:
        """What identifies this endpoint's answers in the cache: the spec as the suite writes it."""
        return dict(spec.model_dump(mode="json"))

    def _payload(self, rows: list[dict[str, Any]]) -> Any:
        raise NotImplementedError

    def _body(self, rows: list[dict[str, Any]]) -> tuple[Any, bytes | None]:
        """The request's JSON value (what the cache keys on) and, where the target has them already, the
        exact bytes to send; None lets aiohttp serialise the value."""
        return self._payload(rows), None

    def _extract(self, answer: Any, count: int) -> tuple[list[Any], list[Any]]:
        raise NotImplementedError

    async def _answer(self, reply: Any, count: int, sent: float) -> Outcome:
        """A successful reply as an outcome; JSON by default (streaming targets override this).
        ``sent`` is when the request was sent (``time.perf_counter``), where token timings start."""
        body = await reply.read()
        try:  # JSON is UTF-8 (RFC 8259): parsed from the bytes, without decoding them to text first
            answer = json.loads(body)
        except UnicodeDecodeError:  # another encoding: the charset the reply declares
            answer = json.loads(await reply.text())
        labels, scores = self._extract(answer, count)
        return Outcome("ok", labels, scores)

    async def _request(self, session: Any, rows: list[dict[str, Any]]) -> Outcome:
        """One request's outcome: from the cache when resuming, else asked (and cached when ok).

        The answer is redacted before anything else sees it, so what is scored, cached, logged and
        reported is the same text, whether it was asked now or read back from the cache.
        """
        try:
            payload, encoded = self._body(rows)
        except (ValueError, TypeError) as error:
            detail = clip(f"body template: {error}", 200)
            return Outcome("parse_error", [None] * len(rows), [None] * len(rows), detail)
        cached = self._cached(payload, len(rows))
        if cached is not None:
            return cached
        answered = _redacted(await self._attempts(session, payload, encoded, rows))
        if answered.kind in ANSWERED and self.cache is not None:  # failures are never cached
            self.cache.put(payload, {"labels": answered.labels, "scores": answered.scores,
                                     "timings": answered.timings, "raw": answered.raw,
                                     "kind": answered.kind, "detail": answered.detail})  # fmt: skip
        return answered

    def _cached(self, payload: Any, rows: int) -> Outcome | None:
        """The cached answer when resuming; None when there is none or it has the wrong shape (asked again)."""
        if self.cache is None or not self.resume:
            return None
        cached = self.cache.get(payload, rows)
        if cached is None:
            return None
        # Redacted again: a cache written by an older version may hold a secret.
        kind = str(cached["kind"]) if cached.get("kind") in ANSWERED else "ok"
        detail = str(cached.get("detail") or "from cache")
        return _redacted(Outcome(kind, cached["labels"], cached["scores"], detail, 0, cached.get("timings"),
                                 cached.get("raw")))  # fmt: skip

    async def _attempts(self, session: Any, payload: Any, encoded: bytes | None, rows: list[dict[str, Any]]) -> Outcome:
        """The request, retried as the spec allows; exactly one outcome. ``encoded``, where given, is sent
        as it is (``payload`` is then only what it says, for the cache)."""
        import aiohttp

        headers = self.headers or None  # none to merge per request when the suite sets none
        outcome = Outcome("http_error", [None] * len(rows), [None] * len(rows))
        for attempt in range(self.spec.retries + 1):
            outcome.attempts = attempt + 1
            retry_after = None
            try:
                sent = time.perf_counter()
                # bytes go out as they are, typed JSON unless the suite's headers say otherwise
                body = {"json": payload} if encoded is None else {
                    "data": aiohttp.payload.BytesPayload(encoded, content_type="application/json")}  # fmt: skip
                async with session.request(self.method, self.url, headers=headers, **body) as reply:
                    if reply.status < 400:
                        answered = await self._answer(reply, len(rows), sent)
                        answered.attempts = attempt + 1
                        return answered
                    text = await reply.text()
                    outcome.detail = f"HTTP {reply.status}: {untrusted(redact(text), 120)}"
                    if reply.status not in RETRIED_STATUSES:
                        return outcome
                    retry_after = reply.headers.get("Retry-After")
            except asyncio.TimeoutError:
                outcome.kind, outcome.detail = "timeout", f"no answer within {self.spec.timeout_s} s"
            except (aiohttp.ClientError, ConnectionError) as error:
                outcome.kind, outcome.detail = "http_error", redact(f"{type(error).__name__}: {error}")
            except (ValueError, TypeError, KeyError) as error:
                return Outcome("parse_error", outcome.labels, outcome.scores, clip(str(error), 200), attempt + 1)
            log.debug("%s %s attempt %d: %s %s", self.method, redact(self.url), attempt + 1, outcome.kind,
                      outcome.detail)  # fmt: skip
            if attempt < self.spec.retries:
                await asyncio.sleep(_backoff(attempt, retry_after))
        return outcome

    async def _run(self, chunks: list[list[dict[str, Any]]]) -> list[Outcome]:
        """Every chunk's outcome, in order. ``concurrency`` workers take the chunks in order, one request at a
        time each: at most ``concurrency`` in flight, with as many tasks, however many rows (a task and a
        semaphore wait per request cost a tenth of the client's time at thousands of requests a second)."""
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self.spec.timeout_s)
        connector = aiohttp.TCPConnector(limit=self.spec.concurrency)
        bar = progress_bar(self.progress, len(chunks), self.label)
        results: list[Outcome | Exception | None] = [None] * len(chunks)
        next_chunks = iter(range(len(chunks)))  # shared by the workers: each takes the next chunk

        async def worker(session: Any) -> None:
            for index in next_chunks:
                try:
                    results[index] = await self._request(session, chunks[index])
                except Exception as error:  # a bug of ours: raised below, once every other chunk has ended
                    results[index] = error
                    continue
                bar.update(1)

        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            workers = [asyncio.ensure_future(worker(session)) for _ in range(min(self.spec.concurrency, len(chunks)))]
            deadline = getattr(self.spec, "deadline_s", None)
            _, pending = await asyncio.wait(workers, timeout=deadline) if workers else (set(), set())
            for task in pending:
                task.cancel()
            bar.close()
        late = f"the suite deadline of {deadline} s passed before an answer"
        outcomes = []
        for result, chunk in zip(results, chunks):
            if isinstance(result, Exception):
                raise result
            outcomes.append(result or Outcome("timeout", [None] * len(chunk), [None] * len(chunk), late))
        return outcomes

    def request_rows(self, frame: pd.DataFrame) -> list[list[dict[str, Any]]]:
        """The rows of each request, ``batch_size`` at a time: the id and input columns only (never the
        expected answer), missing values as None. The load driver builds its requests from these too."""
        names = list(frame.columns) if self.fields is None else [c for c in self.fields if c in frame.columns]
        positions = frame.columns.get_indexer_for(pd.Index(names)).tolist()  # a repeated name: each of its columns
        records = _records(frame, positions)
        size = self.spec.batch_size
        return [records[start : start + size] for start in range(0, len(records), size)]

    def payload(self, rows: list[dict[str, Any]]) -> Any:
        """The JSON body of one request for ``rows``."""
        return self._payload(rows)

    def predict(self, frame: pd.DataFrame) -> TargetOutput:
        """Answers for every row; raises when errors exceed ``max_error_rate``."""
        chunks = self.request_rows(frame)
        started = time.perf_counter()
        outcomes = asyncio.run(self._run(chunks))
        self.seconds = time.perf_counter() - started
        return self._collect(outcomes, len(frame))

    def _collect(self, outcomes: list[Outcome], rows: int) -> TargetOutput:
        self.outcomes = Counter()
        labels: list[Any] = []
        scores: list[Any] = []
        raw: list[Any] = []
        kinds: list[str] = []
        self.timings = [t for outcome in outcomes for t in (outcome.timings or [])]
        for outcome in outcomes:
            self.outcomes[outcome.kind] += 1
            if outcome.kind == "unparsed" and self.first_unparsed is None:
                self.first_unparsed = redact(outcome.detail)
            elif outcome.kind not in ANSWERED and self.first_error is None:
                self.first_error = redact(f"{outcome.kind}: {outcome.detail}")
            labels.extend(outcome.labels)
            scores.extend(outcome.scores)
            raw.extend(outcome.raw if outcome.raw is not None else [None] * len(outcome.labels))
            kinds.extend([outcome.kind] * len(outcome.labels))
        if self.outcomes["unparsed"]:
            log.warning("%s %s: %d of %d answers could not be parsed (scored wrong); first: %s", self.method,
                        redact(self.url), self.outcomes["unparsed"], len(outcomes), self.first_unparsed)  # fmt: skip
        failed = sum(count for kind, count in self.outcomes.items() if kind not in ANSWERED)
        if failed:
            log.warning("%s %s: %d of %d requests failed; first: %s", self.method, redact(self.url), failed,
                        len(outcomes), self.first_error)  # fmt: skip
        if failed / max(len(outcomes), 1) > self.spec.max_error_rate:
            counts = ", ".join(f"{kind} {count}" for kind, count in sorted(self.outcomes.items()))
            raise TargetError(
                f"{failed} of {len(outcomes)} requests failed ({counts}); max_error_rate is "
                f"{self.spec.max_error_rate:g}. First: {self.first_error}"
            )
        score = np.asarray([np.nan if s is None else float(s) for s in scores]) if self.has_score else None
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in labels)
        text = np.empty(len(raw), dtype=object)
        text[:] = raw
        return TargetOutput(label=np.asarray(labels) if numeric else _objects(labels), score=score,
                            raw=text if self.keeps_raw else None, outcome=np.asarray(kinds, dtype=object))  # fmt: skip

    def describe(self) -> dict[str, Any]:
        """Endpoint (secrets redacted), settings, how every request ended, and why the answer cache
        was not written, when it could not be."""
        facts = {
            "kind": self.kind,
            "url": redact(self.url),
            "method": self.method,
            "concurrency": self.spec.concurrency,
            "batch_size": self.spec.batch_size,
            "outcomes": dict(self.outcomes),
            "first_error": self.first_error,
        }
        if self.outcomes["unparsed"]:
            facts["unparsed_rate"] = self.outcomes["unparsed"] / max(sum(self.outcomes.values()), 1)
            facts["first_unparsed"] = self.first_unparsed
        if self.cache is not None and self.cache.problem is not None:
            facts["cache_warning"] = self.cache.problem
        return facts

    def close(self) -> None:
        """Nothing is kept open between predictions."""


_NATIVE = frozenset({float, int, bool, str, type(None)})


def _records(frame: pd.DataFrame, positions: list[int] | None = None) -> list[dict[str, Any]]:
    """The rows of ``frame``'s columns at ``positions`` (all by default) as dicts: what
    ``astype(object).where(notna(), None).to_dict(orient="records")`` gives, read a column at a time
    without copying the frame: missing values as None, and only a column holding numpy or pandas scalars
    boxed value by value, with pandas' own boxing."""
    positions = list(range(frame.shape[1])) if positions is None else positions
    try:  # to_dict's own boxing; a private name, so a pandas without it takes to_dict itself
        from pandas.core.dtypes.cast import maybe_box_native  # type: ignore[attr-defined]
    except ImportError:
        chosen = frame.iloc[:, positions]
        objects = chosen.astype(object).where(chosen.notna(), None)
        return [{str(key): value for key, value in row.items()} for row in objects.to_dict(orient="records")]
    names, columns = [frame.columns[position] for position in positions], []
    for position in positions:
        column = frame.iloc[:, position]
        values = column.tolist()
        missing = column.isna().to_numpy()
        if missing.any():
            values = [None if gone else value for value, gone in zip(values, missing.tolist())]
        if not set(map(type, values)) <= _NATIVE:
            values = [value if type(value) in _NATIVE else maybe_box_native(value) for value in values]
        columns.append(values)
    return [dict(zip(names, row)) for row in zip(*columns)] if names else [{} for _ in range(len(frame))]


def _objects(values: list[Any]) -> np.ndarray:
    """An object array of one element per value (a list answer stays one element)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _redacted(outcome: Outcome) -> Outcome:
    """``outcome`` with every string in its answer and its detail redacted."""
    outcome.labels = redact_value(outcome.labels)
    outcome.raw = None if outcome.raw is None else redact_value(outcome.raw)
    outcome.scores = redact_value(outcome.scores)
    outcome.detail = redact(outcome.detail)
    if outcome.timings is not None:
        outcome.timings = redact_value(outcome.timings)
    return outcome
