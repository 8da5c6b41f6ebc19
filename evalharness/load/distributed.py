"""What travels between a Locust master and its workers in ``launch: master_worker`` runs.

Workers on other machines have neither the plan file nor the harness's folder, so such a worker
asks the master for the plan (``evalharness_plan_request``, answered by ``evalharness_plan``) and
every worker sends its record back (``evalharness_record``) and, for live metrics, its counters
every second (``evalharness_live``); the master writes both where the harness reads them. Secrets
never travel: the values the suite read from the environment are sent as ``${env:NAME}`` and each
worker expands them from its own environment. Imports neither locust nor gevent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from evalharness.targets.secrets import as_references, expand

PLAN_REQUEST, PLAN_MESSAGE, RECORD_MESSAGE = "evalharness_plan_request", "evalharness_plan", "evalharness_record"
LIVE_MESSAGE = "evalharness_live"
"""A worker's live counters, every second, when the plan asks for live metrics."""
LOCAL_KEYS = ("out_dir", "secret_references")
"""Plan entries that stay with the master: its folder and the secret values."""


def plan_for_workers(plan: dict[str, Any]) -> str:
    """The plan as JSON for a worker: no local folder, every secret as ``${env:NAME}``."""
    shared = {key: value for key, value in plan.items() if key not in LOCAL_KEYS}
    return as_references(json.dumps(shared), plan.get("secret_references") or {})


def plan_from_master(text: str) -> dict[str, Any]:
    """The plan a worker received, its ``${env:NAME}`` references expanded from this machine's
    environment (a missing variable raises TargetError, naming it)."""
    plan: dict[str, Any] = json.loads(expand(text))
    return plan


def save_record(folder: Path, record: dict[str, Any]) -> Path:
    """Write one process's record into ``folder`` atomically (``worker-<index>-<pid>.json``)."""
    name = f"worker-{record.get('worker_index', 'x')}-{record.get('pid', os.getpid())}"
    out = folder / f"{name}{'-error' if 'error' in record else ''}.json"
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps(record))
    partial.replace(out)
    return out


def save_live(folder: Path, snapshot: dict[str, Any]) -> Path:
    """Write one process's live counters into ``folder`` atomically (``live-w-<worker>.json``)."""
    out = folder / f"live-w-{snapshot['worker']}.json"
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps(snapshot))
    partial.replace(out)
    return out
