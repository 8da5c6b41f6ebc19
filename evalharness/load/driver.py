"""Run Locust in a child process with a plan, sample resources beside it, and merge what it measured.

The pytest process never imports locust or gevent: Locust runs as ``python -m locust`` with the
plan in a private folder, each of its processes writes its own histograms, and this side merges
them exactly with HdrHistogram.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalharness.errors import EvalHarnessError
from evalharness.load.recorder import Recorder
from evalharness.processes import stop_process
from evalharness.targets.secrets import redact, references

if TYPE_CHECKING:
    from evalharness.load.progress import LoadProgress
    from evalharness.monitoring.live import LiveOptions

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
EXTRA_WAIT_S = 60.0


def locust_command(plan: dict[str, Any]) -> list[str]:
    """``python -m locust`` headless, with one user per process (open loop) or N users (closed); for
    ``launch: master_worker``, evalharness.load.cluster with these as the master's arguments."""
    users = plan["generators"] if plan["model"] == "open" else plan["users"]
    run_time = math.ceil(plan["warmup_s"] + plan["duration_s"] + plan["drain_s"] + 1)
    arguments = [
        "-f", str(LOCUSTFILE), "--headless", "--users", str(users), "--spawn-rate", str(max(users, 1)),
        "--run-time", f"{run_time}s", "--host", plan["host"], "--only-summary", "--loglevel", "WARNING",
        "--exit-code-on-error", "0", "--stop-timeout", "1",
    ]  # fmt: skip
    if plan.get("launch") == "master_worker":
        cluster = [sys.executable, "-m", "evalharness.load.cluster", "--workers", str(plan["processes"])]
        if plan.get("remote_workers"):
            cluster += ["--remote-workers", str(plan["remote_workers"]), "--bind", plan["master_host"],
                        "--port", str(plan["master_port"]), "--wait-s", str(plan["remote_wait_s"])]  # fmt: skip
        return [*cluster, "--", *arguments, "LoadUser"]
    if plan["processes"] > 1:
        arguments += ["--processes", str(plan["processes"])]
    return [sys.executable, "-m", "locust", *arguments, "LoadUser"]


def _start_sampler(folder: Path, interval: float, pids: dict[str, int], live: bool) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "evalharness.load.sampler", "--out", str(folder / "resources.json"),
               "--interval", str(interval), *[f"--pid={name}={pid}" for name, pid in pids.items()]]  # fmt: skip
    command += ["--live", str(folder / "live-resources.json")] if live else []
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_plan(
    plan: dict[str, Any],
    sample_pids: dict[str, int],
    interval: float,
    live: LiveOptions | None = None,
    progress: LoadProgress | None = None,
) -> dict[str, Any]:
    """Run Locust with ``plan`` (its ``out_dir`` is filled in here); the merged record and resources.
    With ``live``, /metrics serves the run's counters while it goes on (see :mod:`evalharness.monitoring.live`);
    with ``progress``, the run's phase and request count are shown as it goes."""
    folder = Path(tempfile.mkdtemp(prefix="evalharness-load-"))  # private (0700): the plan holds secrets
    endpoint = None
    try:
        if live is not None:
            from evalharness.monitoring.live import LiveEndpoint

            endpoint = LiveEndpoint(folder, live)
        # the processes write live counters for /metrics and for the progress line
        plan = {**plan, "out_dir": str(folder), "live_metrics": endpoint is not None or progress is not None}
        if plan.get("launch") == "master_worker":  # workers get ${env:NAME} in place of each secret
            plan["secret_references"] = references()
        (folder / "plan.json").write_text(json.dumps(plan))
        env = {**os.environ, "EVALHARNESS_LOAD_PLAN": str(folder / "plan.json"), "PYTHONUNBUFFERED": "1"}
        log = (folder / "locust.log").open("wb")
        locust = subprocess.Popen(locust_command(plan), env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)  # fmt: skip
        sampler = _start_sampler(folder, interval, {**sample_pids, "generator": locust.pid}, endpoint is not None)
        limit = plan["warmup_s"] + plan["duration_s"] + plan["drain_s"] + EXTRA_WAIT_S
        limit += plan.get("remote_wait_s", 0) if plan.get("remote_workers") else 0
        try:
            _wait(locust, limit, folder, plan, progress)
        finally:
            stop_process(locust, group=True)
            stop_process(sampler)
            log.close()
        collected = _collect(folder, plan, locust.returncode)
        collected["live_metrics_url"] = endpoint.url if endpoint else None
        return collected
    finally:
        if endpoint is not None:
            endpoint.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _wait(
    locust: subprocess.Popen[bytes], limit: float, folder: Path, plan: dict[str, Any], progress: LoadProgress | None
) -> None:
    """Until Locust exits or ``limit`` seconds pass, showing its progress (if asked) as it goes."""
    if progress is None:
        try:
            locust.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            pass
        return
    from evalharness.load.progress import POLL_S

    deadline = time.monotonic() + limit
    while locust.poll() is None and time.monotonic() < deadline:
        progress.watch(folder, plan)
        time.sleep(POLL_S)


def _collect(folder: Path, plan: dict[str, Any], exit_code: int | None) -> dict[str, Any]:
    parts = [json.loads(path.read_text()) for path in sorted(folder.glob("worker-*.json"))]
    failures = [f"worker (pid {part.get('pid')}): {part['error']}" for part in parts if "error" in part]
    if failures:
        raise EvalHarnessError("a load-generator worker could not run: " + redact("; ".join(failures)))
    expected = plan["generators"]
    if len(parts) < expected:
        log = redact((folder / "locust.log").read_text(errors="replace")[-2000:])
        raise EvalHarnessError(
            f"the load generator wrote {len(parts)} of {expected} results (locust exit {exit_code}); "
            f"its log ends:\n{log}"
        )
    resources_path = folder / "resources.json"
    resources = json.loads(resources_path.read_text()) if resources_path.is_file() else {}
    recorder = Recorder.merged(parts, int(plan.get("timeline_slice_s", 1)))
    return {"recorder": recorder, "workers": [_worker_facts(part) for part in parts],
            "resources": resources}  # fmt: skip


def _worker_facts(part: dict[str, Any]) -> dict[str, Any]:
    wall = max(float(part["wall_s"]), 1e-9)
    return {"worker_index": part["worker_index"], "pid": part["pid"], "wall_s": round(wall, 3),
            "cpu_s": round(part["cpu_s"], 3), "cpu_share": round(part["cpu_s"] / wall, 4)}  # fmt: skip
