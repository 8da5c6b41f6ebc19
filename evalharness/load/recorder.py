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
SLICE_DIGITS = 2
"""Per-second latency histograms keep 2 significant digits (26 KiB each instead of 184 KiB): enough for a
heatmap and for p50/p95/p99 over time within 1 %; the run's own percentiles use the 3-digit histogram."""


def new_histogram(digits: int = DIGITS) -> Any:
    """1 µs to 1 h at ``digits`` significant digits."""
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(LOWEST_US, HIGHEST_US, digits)


def _clamped(microseconds: float) -> int:
    return min(max(int(microseconds), LOWEST_US), HIGHEST_US)


@dataclass
class Recorder:
    """Histograms, outcome counters and a timeline for one process.

    The timeline is keyed by the start of each time slice (whole seconds since ``start_epoch``, the
    process's first send): finished requests, errors and the slowest, plus a latency histogram of the
    slice's successful requests (``slices``), from which the report draws its heatmap and percentiles
    over time.
    """

    histograms: dict[str, Any] = field(default_factory=lambda: {name: new_histogram() for name in HISTOGRAMS})
    counts: Counter[str] = field(default_factory=Counter)
    timeline: dict[int, list[int]] = field(default_factory=dict)  # second -> [completed, errors, max µs]
    slices: dict[int, Any] = field(default_factory=dict)  # second -> latency histogram of its ok requests
    start_epoch: float | None = None  # the wall clock at time zero (the first send), to align processes

    def record_us(self, name: str, microseconds: float) -> None:
        """Record one value (clamped into the histogram's range)."""
        self.histograms[name].record_value(_clamped(microseconds))

    def outcome(self, second: int, kind: str, latency_us: float) -> None:
        """Count one finished request in its kind and in its time slice (``second``, the slice's start)."""
        self.counts[kind] += 1
        slot = self.timeline.setdefault(second, [0, 0, 0])
        slot[0] += 1
        slot[1] += kind != "ok"
        slot[2] = max(slot[2], int(latency_us))
        if kind == "ok":
            if second not in self.slices:
                self.slices[second] = new_histogram(SLICE_DIGITS)
            self.slices[second].record_value(_clamped(latency_us))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: encoded histograms, counters, timeline and its slices, time zero."""
        return {
            "histograms": {name: h.encode().decode("ascii") for name, h in self.histograms.items()},
            "counts": dict(self.counts),
            "timeline": {str(second): slot for second, slot in sorted(self.timeline.items())},
            "slices": {str(second): h.encode().decode("ascii") for second, h in sorted(self.slices.items())},
            "start_epoch": self.start_epoch,
        }

    @classmethod
    def merged(cls, parts: list[dict[str, Any]], slice_s: int = 1) -> Recorder:
        """Exact merge of several processes' records (histograms added bucket by bucket). Each process's
        timeline moves onto the earliest process's clock by whole slices of ``slice_s`` seconds (the
        slices' width), so that slices line up: a shift of part of a slice would split each slice in two."""
        merged = cls()
        epochs = [part["start_epoch"] for part in parts if part.get("start_epoch") is not None]
        merged.start_epoch = min(epochs) if epochs else None
        for part in parts:
            for name, encoded in part["histograms"].items():
                merged.histograms[name].decode_and_add(encoded.encode("ascii"))
            merged.counts.update(part["counts"])
            late = part["start_epoch"] - merged.start_epoch if part.get("start_epoch") is not None else 0.0
            merged._add_timeline(part, round(late / slice_s) * slice_s)
        return merged

    def _add_timeline(self, part: dict[str, Any], shift: int) -> None:
        for second, (completed, errors, worst) in part["timeline"].items():
            slot = self.timeline.setdefault(int(second) + shift, [0, 0, 0])
            slot[0] += completed
            slot[1] += errors
            slot[2] = max(slot[2], worst)
        for second, encoded in (part.get("slices") or {}).items():
            key = int(second) + shift
            if key not in self.slices:
                self.slices[key] = new_histogram(SLICE_DIGITS)
            self.slices[key].decode_and_add(encoded.encode("ascii"))
