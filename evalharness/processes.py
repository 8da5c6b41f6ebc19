"""Stopping the processes evalharness starts (servers, Locust, the resource sampler), by pid."""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

GRACE_S = 10.0


def stop_process(process: subprocess.Popen[Any] | None, *, group: bool = False, grace_s: float = GRACE_S) -> None:
    """SIGTERM, then SIGKILL after ``grace_s``; with ``group``, to the whole process group (a process
    started with ``start_new_session=True`` and everything it started)."""
    if process is None or process.poll() is not None:
        return

    def send(signum: int) -> None:
        try:
            os.killpg(process.pid, signum) if group else process.send_signal(signum)
        except ProcessLookupError:  # it exited in between
            pass

    send(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait(timeout=grace_s)
