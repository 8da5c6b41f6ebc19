"""What a load run shows while it goes on: its phase (cold start k of n, starting Locust, warm-up,
measuring with the count of requests finished so far), on the same progress line as endpoint runs.

The counts come from the live counters every load process writes each second into the run's folder
(see :mod:`evalharness.load.live`); the phase from when the first process sent its first request
(``started_at`` in those counters) and the plan's warm-up and duration.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from evalharness.progress import TextSink
from evalharness.progress_line import PhaseLine

POLL_S = 0.25
"""How often the driver looks at the counters while Locust runs."""


class LoadProgress:
    """One load run's phase line on ``sink`` (a :class:`evalharness.progress.TerminalStream`)."""

    def __init__(self, sink: TextSink, label: str) -> None:
        self.line = PhaseLine(sink, f"{label}: load")
        self.requests = 0
        self.started = time.monotonic()

    def cold_start(self, number: int, repeats: int) -> None:
        """Cold start ``number`` (from 1) of ``repeats`` begins."""
        self.line.show(f"cold start {number} of {repeats}")

    def watch(self, folder: Path, plan: dict[str, Any]) -> None:
        """Show the phase the Locust run in ``folder`` is in, read from its live counters."""
        snapshots = [data for path in sorted(folder.glob("live-w-*.json")) if (data := _read(path))]
        starts = [float(part["started_at"]) for part in snapshots if part.get("started_at")]
        if not starts:
            self.line.show("starting Locust")
            return
        self.requests = sum(sum(part.get("outcomes", {}).values()) for part in snapshots)
        elapsed = time.time() - min(starts)
        if elapsed < plan["warmup_s"]:
            self.line.show("warm-up", f"{plan['warmup_s'] - elapsed:.0f} s left")
        elif elapsed < plan["warmup_s"] + plan["duration_s"]:
            self.line.show("measuring", f"{self.requests:,} requests")
        else:
            self.line.show("finishing", f"{self.requests:,} requests measured")

    def note(self, text: str) -> None:
        """A message to keep (the live /metrics URL), on a line of its own."""
        self.line.note(text)

    def close(self, summary: str = "") -> None:
        """The run is over: a terminal's line is cleared; a log gets a last line, ``summary`` and the
        time the whole load step took (cold starts included)."""
        self.line.close(f"{summary} ({time.monotonic() - self.started:.0f} s)" if summary else "")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):  # replaced between the listing and the read
        return None
    return data if isinstance(data, dict) else None
