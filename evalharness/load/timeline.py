"""A load run over time, for the report's charts: per-slice throughput, errors and latency percentiles,
a latency heatmap, the HDR percentile curve, and the resource samples on the same time axis.

Time zero is the first request sent (the start of the warm-up), on the earliest load process's
clock; the resource sampler's own clock is moved onto it through both processes' wall clocks.
"""

from __future__ import annotations

import math
from typing import Any

from evalharness.load.recorder import Recorder

HEATMAP_BUCKETS_PER_DECADE = 8
"""Latency buckets of the heatmap: 8 per factor of ten (each about 1.33 times the one below)."""
CURVE_PERCENTILES = (0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 97.5, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995,
                     99.999, 100.0)  # fmt: skip
"""Where the HDR percentile curve is read: dense towards the tail, as HdrHistogram's own plots are."""


def _ms(microseconds: float) -> float:
    return round(microseconds / 1000, 4)


def slices(recorder: Recorder, slice_s: int) -> list[dict[str, Any]]:
    """One entry per time slice: requests finished, errors, requests per second, error rate, slowest,
    and p50/p95/p99 of the slice's successful requests (None where none succeeded)."""
    entries = []
    for second, (completed, errors, worst) in sorted(recorder.timeline.items()):
        histogram = recorder.slices.get(second)
        entry: dict[str, Any] = {
            "second": second, "width_s": slice_s, "completed": completed, "errors": errors, "max_ms": worst / 1000,
            "rps": round(completed / slice_s, 4), "error_rate": round(errors / completed, 6) if completed else None,
        }  # fmt: skip
        for name, q in (("p50_ms", 50.0), ("p95_ms", 95.0), ("p99_ms", 99.0)):
            entry[name] = _ms(histogram.get_value_at_percentile(q)) if histogram is not None else None
        entries.append(entry)
    return entries


def heatmap_edges_ms(low_ms: float, high_ms: float) -> list[float]:
    """Log-spaced bucket edges covering ``low_ms`` to ``high_ms``, on a grid of
    :data:`HEATMAP_BUCKETS_PER_DECADE` per decade, so runs of similar speed share edges."""
    low, high = max(low_ms, 0.001), max(high_ms, low_ms, 0.001)
    first = math.floor(math.log10(low) * HEATMAP_BUCKETS_PER_DECADE)
    last = math.floor(math.log10(high) * HEATMAP_BUCKETS_PER_DECADE) + 1
    return [float(f"{10 ** (step / HEATMAP_BUCKETS_PER_DECADE):.4g}") for step in range(first, last + 1)]


def heatmap(recorder: Recorder) -> dict[str, Any] | None:
    """Successful requests per (time slice, latency bucket): ``counts[i][j]`` is slice ``seconds[i]``'s
    count in ``[edges_ms[j], edges_ms[j + 1])``; None when no request succeeded."""
    overall = recorder.histograms["latency"]
    if not recorder.slices or overall.get_total_count() == 0:
        return None
    edges = heatmap_edges_ms(overall.get_min_value() / 1000, overall.get_max_value() / 1000)
    seconds = sorted(recorder.slices)
    counts = [_bucket_counts(recorder.slices[second], edges) for second in seconds]
    return {"seconds": seconds, "edges_ms": edges, "counts": counts}


def _bucket_counts(histogram: Any, edges_ms: list[float]) -> list[int]:
    """The histogram's counts per bucket, each recorded value placed by the middle of the range of values
    HdrHistogram counts as equal to it."""
    import bisect

    counts = [0] * (len(edges_ms) - 1)
    for item in histogram.get_recorded_iterator():
        high = item.value_iterated_to
        value_ms = (histogram.get_lowest_equivalent_value(high) + high) / 2000
        index = min(max(bisect.bisect_right(edges_ms, value_ms) - 1, 0), len(counts) - 1)
        counts[index] += item.count_at_value_iterated_to
    return counts


def percentile_curve(histogram: Any) -> list[dict[str, float]]:
    """The HDR percentile curve (latency at each of :data:`CURVE_PERCENTILES`, up to the run's own
    tail); empty when nothing was recorded."""
    total = histogram.get_total_count()
    if total == 0:
        return []
    reachable = 100.0 * (1 - 1 / total)  # beyond the last-but-one request every percentile is the maximum
    chosen = [q for q in CURVE_PERCENTILES if q <= reachable or q == 100.0]
    return [{"percentile": q, "ms": _ms(histogram.get_value_at_percentile(q))} for q in chosen]


def resource_times(resources: dict[str, Any], start_epoch: float | None) -> list[float] | None:
    """The resource samples' times on the run's axis (seconds since the first request), or None when
    either clock is unknown (a record from before both were kept)."""
    series = resources.get("series") or {}
    started = resources.get("started_epoch")
    if start_epoch is None or started is None:
        return None
    offset = float(started) - float(start_epoch)
    return [round(float(t) + offset, 3) for t in series.get("t_s") or []]


def over_time(recorder: Recorder, resources: dict[str, Any], slice_s: int) -> dict[str, Any]:
    """Everything the report draws against time or percentile, as plain JSON for the record."""
    return {
        "slice_s": slice_s,
        "slices": slices(recorder, slice_s),
        "latency_heatmap": heatmap(recorder),
        "latency_curve": percentile_curve(recorder.histograms["latency"]),
        "resource_t_s": resource_times(resources, recorder.start_epoch),
    }
