"""The plan a load run hands to Locust: what to send (built here, from the suite's target) and how.

Request bodies are rendered by the target itself from a seeded sample of the dataset's rows, so
a load run sends exactly what the evaluation sends. The plan holds expanded secrets (headers), so
it is written only into a private temporary folder and deleted after the run.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalharness.errors import EvalHarnessError
from evalharness.suite.load_schema import LoadSpec

DRAIN_CAP_S = 5.0
TIMELINE_SLICES = 300
"""The most slices a load run's timeline keeps: one per second up to 300 s, wider slices beyond."""


def timeline_slice_s(warmup_s: float, duration_s: float) -> int:
    """Whole seconds per timeline slice, so that the warm-up and measured window fit in
    :data:`TIMELINE_SLICES` slices."""
    return max(1, math.ceil((warmup_s + duration_s) / TIMELINE_SLICES))


def request_mix(target: Any, frame: pd.DataFrame, rows: int, seed: int) -> list[dict[str, Any]]:
    """One request per row (or per ``batch_size`` rows) drawn from ``frame`` with a seeded generator."""
    if not hasattr(target, "request_rows"):
        raise EvalHarnessError(
            f"load runs drive endpoint targets (http, kserve, openai); target kind '{target.kind}' is not one: "
            "serve the model (evalharness serve) and point an http target at it"
        )
    chosen = np.random.default_rng(seed).permutation(len(frame))[: min(rows, len(frame))]
    headers = {"Content-Type": "application/json", **target.headers}
    stream = bool(getattr(target.spec, "stream", False))
    return [
        {"method": target.method, "url": target.url, "headers": headers, "stream": stream, "name": target.kind,
         "body": json.dumps(target.payload(chunk))}
        for chunk in target.request_rows(frame.iloc[chosen])
    ]  # fmt: skip


def engine_requests(frame: pd.DataFrame, columns: list[str], rows: int, seed: int) -> list[dict[str, Any]]:
    """For a local engine driven in the load worker: one row (its input columns) per request."""
    chosen = np.random.default_rng(seed).permutation(len(frame))[: min(rows, len(frame))]
    subset = frame.iloc[chosen][columns]
    records = subset.astype(object).where(subset.notna(), None).to_dict(orient="records")
    return [{"row": record, "name": "engine", "stream": False} for record in records]


def build_plan(
    spec: LoadSpec,
    requests: list[dict[str, Any]],
    seed: int,
    engine_suite: Path | None = None,
    engine_side: str = "target",
) -> dict[str, Any]:
    """Everything the Locust process needs, as plain JSON (the driver adds its output folder). With
    ``engine_suite``, the requests are rows for that suite's local engine, created in each worker."""
    if not requests:
        raise EvalHarnessError("the load run has no requests: the dataset has no rows")
    host = "http://engine.invalid" if engine_suite else "/".join(requests[0]["url"].split("/", 3)[:3])
    for request in requests if engine_suite is None else []:
        request["path"] = request["url"][len(host) :] or "/"
    return {
        "host": host,
        "engine_suite": str(engine_suite) if engine_suite else None,
        "engine_side": engine_side,
        "requests": requests,
        "model": spec.model,
        "rate": spec.rate,
        "arrival": spec.arrival,
        "users": spec.users,
        "think_time_s": spec.think_time_s,
        "duration_s": spec.duration_s,
        "warmup_s": spec.warmup_s,
        "timeline_slice_s": timeline_slice_s(spec.warmup_s, spec.duration_s),
        "processes": spec.processes,
        "generators": spec.processes + spec.remote_workers,
        "launch": spec.launch,
        "remote_workers": spec.remote_workers,
        "master_host": spec.master_host,
        "master_port": spec.master_port,
        "remote_wait_s": spec.remote_wait_s,
        "max_in_flight": spec.max_in_flight,
        "connections": min(spec.max_in_flight, 1000) if spec.model == "open" else spec.users,
        "timeout_s": spec.timeout_s,
        "late_ms": spec.late_ms,
        "drain_s": min(spec.timeout_s, DRAIN_CAP_S),
        "seed": seed,
        "slo": spec.slo.model_dump(),
    }
