"""What the load timeline costs: recording in the load generator, merging and reading in the harness,
and its size in run.json.

- Recording, per request, in one process (as the Locust worker calls it): ``Recorder.outcome`` (the
  timeline slot and the slice's 2-digit HdrHistogram) plus the run histogram's ``record_value``,
  against the reference, the run histogram's ``record_value`` alone (what every HdrHistogram-based
  generator pays).
- Reading: ``Recorder.merged`` of ``--processes`` records of a ``--seconds`` run, then ``over_time``
  (slice percentiles, heatmap, HDR curve), in seconds.
- Size: the timeline, heatmap and curve as JSON, in bytes.
- Live counters (``load.metrics``), per request, against the same reference.

Each measurement and its reference alternate on every repeat; the ratio of each repeat pair is
reported as min, median and max.

Usage: ``python benchmarks/bench_load_timeline.py [--requests N] [--seconds S] [--processes P]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import RatioStats, alternate  # noqa: E402

from evalharness.load.plan import timeline_slice_s  # noqa: E402
from evalharness.load.recorder import Recorder, new_histogram  # noqa: E402
from evalharness.load.timeline import over_time  # noqa: E402


def _latencies_us(count: int, seed: int) -> np.ndarray:
    """Lognormal latencies around 2 ms with a tail, in µs."""
    return np.random.default_rng(seed).lognormal(np.log(2000), 0.6, count).astype(int) + 1


def _reference(values: list[int]) -> float:
    """µs per request of the reference: the run histogram's ``record_value`` alone."""
    histogram = new_histogram()
    started = time.perf_counter()
    for value in values:
        histogram.record_value(value)
    return (time.perf_counter() - started) / len(values) * 1e6


def record_per_request_us(requests: int, seconds: int, repeats: int) -> RatioStats:
    """µs per request with the timeline against the reference, alternating (A: ours, B: the reference)."""
    values = _latencies_us(requests, 1).tolist()
    width = timeline_slice_s(0, seconds)
    slots = [int(i * seconds / requests) // width * width for i in range(requests)]

    def ours() -> float:
        recorder = Recorder()
        started = time.perf_counter()
        for slot, value in zip(slots, values):
            recorder.outcome(slot, "ok", value)
            recorder.record_us("latency", value)
        return (time.perf_counter() - started) / requests * 1e6

    return alternate(ours, lambda: _reference(values), repeats, measure=lambda call: call())


def live_per_request_us(requests: int, repeats: int) -> RatioStats:
    """µs per request of the live counters (``load.metrics``: a bucket found by bisection among 289
    bounds, the outcome counted) against the reference, alternating."""
    from evalharness.load.live import LiveCounters

    latencies = _latencies_us(requests, 2)
    seconds, values = (latencies / 1e6).tolist(), latencies.tolist()

    def live() -> float:
        counters = LiveCounters()
        started = time.perf_counter()
        for value in seconds:
            counters.observe("ok", value, 0.0001)
        return (time.perf_counter() - started) / requests * 1e6

    return alternate(live, lambda: _reference(values), repeats, measure=lambda call: call())


def merge_and_read(processes: int, seconds: int, per_second: int) -> tuple[float, int, int]:
    """(seconds to merge and read, slices, bytes of JSON) for ``processes`` records of a run."""
    width = timeline_slice_s(0, seconds)
    parts = []
    for index in range(processes):
        recorder = Recorder(start_epoch=1000.0 + index * 0.01)
        values = _latencies_us(per_second * seconds, index)
        for i, value in enumerate(values.tolist()):
            slot = int(i / per_second) // width * width
            recorder.outcome(slot, "ok", value)
            recorder.record_us("latency", value)
        parts.append(recorder.to_json())
    started = time.perf_counter()
    facts = over_time(Recorder.merged(parts), {}, width)
    elapsed = time.perf_counter() - started
    size = len(json.dumps({key: facts[key] for key in ("slices", "latency_heatmap", "latency_curve")}))
    return elapsed, len(facts["slices"]), size


def main() -> None:
    """Print the measurements as Markdown rows for docs/performance.md (ratios as min / median / max)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--per-second", type=int, default=250, help="requests per second per process")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    recording = record_per_request_us(args.requests, args.seconds, args.repeats)
    print(f"| recording, µs per request | {recording.a_median_s:.2f} | {recording.b_median_s:.2f} (record_value "
          f"alone) | {recording} |")  # fmt: skip
    live = live_per_request_us(args.requests, args.repeats)
    print(f"| live counters (load.metrics), µs per request | {live.a_median_s:.2f} | {live.b_median_s:.2f} "
          f"(record_value alone) | {live} |")  # fmt: skip
    elapsed, slices, size = merge_and_read(args.processes, args.seconds, args.per_second)
    print(f"| merge {args.processes} processes and read {slices} slices of a {args.seconds} s run | {elapsed:.3f} s | "
          f"| |")  # fmt: skip
    print(f"| timeline, heatmap and curve in run.json | {size:,} bytes | | |")


if __name__ == "__main__":
    main()
