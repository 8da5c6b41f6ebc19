"""Live counters of one load process, for Prometheus while the run goes on: cumulative latency and
send-lag bucket counts on a fixed layout, outcomes, written (or sent to the master) every second.

Runs inside the Locust process; imports neither locust nor gevent nor prometheus_client. The harness
reads the snapshots of every process and serves their sum (see :mod:`evalharness.monitoring.live`).
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

BUCKETS_PER_DECADE = 48
"""Latency bucket upper bounds: 48 a decade, each 4.9 % above the one below, so that
``histogram_quantile`` (linear within a bucket) lands within 5 % of the exact percentile."""
LATENCY_BOUNDS_S = tuple(float(f"{10 ** (step / BUCKETS_PER_DECADE):.6g}") for step in range(-192, 97))
"""0.1 ms to 100 s (289 bounds; +Inf beyond)."""
LAG_BOUNDS_S = tuple(float(f"{10 ** (step / 8):.6g}") for step in range(-40, 9))
"""Send lag: 8 a decade from 10 µs to 10 s."""


@dataclass
class LiveCounters:
    """Counts since the process started measuring: per bucket (not cumulative; the last is +Inf)."""

    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_S) + 1))
    latency_sum_s: float = 0.0
    lag: list[int] = field(default_factory=lambda: [0] * (len(LAG_BOUNDS_S) + 1))
    lag_sum_s: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)

    def observe(self, kind: str, latency_s: float, lag_s: float | None) -> None:
        """One finished request of the measured window: its outcome, and for a success its latency and
        (open loop) how late it was sent."""
        self.outcomes[kind] += 1
        if kind != "ok":
            return
        self.latency[bisect.bisect_left(LATENCY_BOUNDS_S, latency_s)] += 1
        self.latency_sum_s += latency_s
        if lag_s is not None:
            self.lag[bisect.bisect_left(LAG_BOUNDS_S, max(lag_s, 0.0))] += 1
            self.lag_sum_s += max(lag_s, 0.0)

    def snapshot(self, worker: str, started_at: float | None = None) -> dict[str, Any]:
        """Plain JSON for the harness: this process's counts, under its ``worker`` name, and when it sent
        its first request (``started_at``, wall clock; None before), for the run's progress line."""
        return {"worker": worker, "latency": list(self.latency), "latency_sum_s": self.latency_sum_s,
                "lag": list(self.lag), "lag_sum_s": self.lag_sum_s, "outcomes": dict(self.outcomes),
                "started_at": started_at}  # fmt: skip


def merged(snapshots: list[dict[str, Any]]) -> LiveCounters:
    """The sum of several processes' snapshots."""
    total = LiveCounters()
    for part in snapshots:
        total.latency = [a + b for a, b in zip(total.latency, part["latency"])]
        total.lag = [a + b for a, b in zip(total.lag, part["lag"])]
        total.latency_sum_s += float(part["latency_sum_s"])
        total.lag_sum_s += float(part["lag_sum_s"])
        total.outcomes.update(part["outcomes"])
    return total
