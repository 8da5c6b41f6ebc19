"""What one load-generator process measured: HdrHistograms at microsecond resolution and counters.

Used inside the Locust process (to record) and in the harness (to merge); it imports neither
locust nor gevent. Histograms travel as HdrHistogram's own compressed encoding and merge exactly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

HISTOGRAMS = ("latency", "service", "send_lag", "warmup", "ttft", "itl", "tpot")
"""latency: from the scheduled send (open loop) or the send (closed); service: from the actual send;
send_lag: actual minus scheduled send; warmup: latency in the warm-up window; ttft/itl/tpot: tokens."""
LOWEST_US, HIGHEST_US, DIGITS = 1, 3_600_000_000, 3


def new_histogram() -> Any:
    """1 µs to 1 h at 3 significant digits."""
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


@dataclass
class Recorder:
    """Histograms, outcome counters and a per-second timeline for one process."""

    histograms: dict[str, Any] = field(default_factory=lambda: {name: new_histogram() for name in HISTOGRAMS})
    counts: Counter[str] = field(default_factory=Counter)
    timeline: dict[int, list[int]] = field(default_factory=dict)  # second -> [completed, errors, max µs]

    def record_us(self, name: str, microseconds: float) -> None:
        """Record one value (clamped into the histogram's range)."""
        self.histograms[name].record_value(min(max(int(microseconds), LOWEST_US), HIGHEST_US))

    def outcome(self, second: int, kind: str, latency_us: float) -> None:
        """Count one finished request in its kind and in the timeline."""
        self.counts[kind] += 1
        slot = self.timeline.setdefault(second, [0, 0, 0])
        slot[0] += 1
        slot[1] += kind != "ok"
        slot[2] = max(slot[2], int(latency_us))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: encoded histograms, counters, timeline."""
        return {
            "histograms": {name: h.encode().decode("ascii") for name, h in self.histograms.items()},
            "counts": dict(self.counts),
            "timeline": {str(second): slot for second, slot in sorted(self.timeline.items())},
        }

    @classmethod
    def merged(cls, parts: list[dict[str, Any]]) -> Recorder:
        """Exact merge of several processes' records (histograms added bucket by bucket)."""
        merged = cls()
        for part in parts:
            for name, encoded in part["histograms"].items():
                merged.histograms[name].decode_and_add(encoded.encode("ascii"))
            merged.counts.update(part["counts"])
            for second, (completed, errors, worst) in part["timeline"].items():
                slot = merged.timeline.setdefault(int(second), [0, 0, 0])
                slot[0] += completed
                slot[1] += errors
                slot[2] = max(slot[2], worst)
        return merged
