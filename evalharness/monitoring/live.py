"""Live ``/metrics`` while a load run goes on: the harness sums every load process's counters (written
each second into the run's private folder, by the processes themselves or by the Locust master for
its workers) and the resource sampler's latest sample, at each scrape.

Series (each labelled ``suite``, ``target``, ``run_id`` and ``side``):

- ``evalharness_request_latency_seconds`` (histogram, 48 buckets a decade from 0.1 ms to 100 s, so
  ``histogram_quantile`` lands within 5 % of the HdrHistogram percentile);
- ``evalharness_requests_total{outcome}``; ``evalharness_send_lag_seconds`` (histogram);
- ``evalharness_process_cpu_percent{process}``, ``evalharness_process_resident_memory_bytes{process}``
  (the server's and the load generator's process trees), ``evalharness_system_cpu_percent``,
  ``evalharness_gpu_utilization_percent{gpu}``, ``evalharness_gpu_memory_used_bytes{gpu}``;
- ``evalharness_load_processes_reporting``: how many load processes the sums cover.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalharness.load.live import LAG_BOUNDS_S, LATENCY_BOUNDS_S, merged

LABELS = ("suite", "target", "run_id", "side")
OUTCOMES = ("ok", "http_error", "timeout", "parse_error", "cut_off", "engine_error")
RESOURCES_FILE = "live-resources.json"


@dataclass(frozen=True)
class LiveOptions:
    """Where to serve, for how long after the run, and the labels every series carries."""

    host: str
    port: int
    linger_s: float
    labels: dict[str, str]
    announce: Callable[[str], None] = field(default=lambda text: None)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):  # replaced or removed between the listing and the read
        return None
    return data if isinstance(data, dict) else None


def _buckets(counts: list[int], bounds: tuple[float, ...]) -> list[tuple[str, float]]:
    """Cumulative (upper bound, count) pairs, ending with +Inf."""
    running, pairs = 0, []
    for bound, count in zip(bounds, counts):
        running += count
        pairs.append((repr(bound), float(running)))
    pairs.append(("+Inf", float(running + counts[-1])))
    return pairs


class LiveCollector:
    """A prometheus_client collector over one run folder's live files."""

    def __init__(self, folder: Path, labels: dict[str, str]) -> None:
        self.folder = folder
        self.values = [labels.get(name, "") for name in LABELS]

    def collect(self) -> Iterator[Any]:
        """Every series, summed over the load processes that have reported so far."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        snapshots = [data for path in sorted(self.folder.glob("live-w-*.json")) if (data := _read(path))]
        total = merged(snapshots)
        latency = HistogramMetricFamily("evalharness_request_latency_seconds", "Latency of successful requests "
                                        "in the measured window.", labels=LABELS)  # fmt: skip
        latency.add_metric(self.values, _buckets(total.latency, LATENCY_BOUNDS_S), total.latency_sum_s)
        lag = HistogramMetricFamily("evalharness_send_lag_seconds", "Actual minus scheduled send.", labels=LABELS)
        lag.add_metric(self.values, _buckets(total.lag, LAG_BOUNDS_S), total.lag_sum_s)
        outcomes = CounterMetricFamily("evalharness_requests", "Finished requests of the measured window by outcome.",
                                       labels=[*LABELS, "outcome"])  # fmt: skip
        for outcome in sorted({*OUTCOMES, *total.outcomes}):  # every kind from the start: rate() needs a zero
            outcomes.add_metric([*self.values, outcome], float(total.outcomes.get(outcome, 0)))
        reporting = GaugeMetricFamily("evalharness_load_processes_reporting", "Load processes in the sums.",
                                      labels=LABELS)  # fmt: skip
        reporting.add_metric(self.values, float(len(snapshots)))
        yield from (latency, lag, outcomes, reporting)
        yield from self._resources()

    def _resources(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        latest = _read(self.folder / RESOURCES_FILE)
        if latest is None:
            return
        cpu = GaugeMetricFamily("evalharness_process_cpu_percent", "CPU of a process tree (100 is one core).",
                                labels=[*LABELS, "process"])  # fmt: skip
        rss = GaugeMetricFamily("evalharness_process_resident_memory_bytes", "Resident memory of a process tree.",
                                labels=[*LABELS, "process"])  # fmt: skip
        for name, sample in sorted((latest.get("processes") or {}).items()):
            if sample.get("cpu_percent") is not None:
                cpu.add_metric([*self.values, name], float(sample["cpu_percent"]))
            if sample.get("rss_mib") is not None:
                rss.add_metric([*self.values, name], float(sample["rss_mib"]) * 2**20)
        system = GaugeMetricFamily("evalharness_system_cpu_percent", "CPU of the whole machine.", labels=LABELS)
        if latest.get("system_cpu_percent") is not None:
            system.add_metric(self.values, float(latest["system_cpu_percent"]))
        util = GaugeMetricFamily("evalharness_gpu_utilization_percent", "GPU utilisation (NVML).",
                                 labels=[*LABELS, "gpu"])  # fmt: skip
        memory = GaugeMetricFamily("evalharness_gpu_memory_used_bytes", "GPU memory used (NVML).",
                                   labels=[*LABELS, "gpu"])  # fmt: skip
        for index, gpu in enumerate(latest.get("gpus") or []):
            if gpu.get("util_percent") is not None:
                util.add_metric([*self.values, str(index)], float(gpu["util_percent"]))
            if gpu.get("memory_mib") is not None:
                memory.add_metric([*self.values, str(index)], float(gpu["memory_mib"]) * 2**20)
        yield from (cpu, rss, system, util, memory)


class LiveEndpoint:
    """``/metrics`` over one run folder, from start until :meth:`stop` (after ``linger_s``)."""

    def __init__(self, folder: Path, options: LiveOptions) -> None:
        from prometheus_client import CollectorRegistry, start_http_server

        self.options = options
        registry = CollectorRegistry(auto_describe=False)
        registry.register(LiveCollector(folder, options.labels))
        self.server, self.thread = start_http_server(options.port, addr=options.host, registry=registry)
        port = int(self.server.server_address[1])
        self.url = f"http://{options.host}:{port}/metrics"
        options.announce(f"evalharness: live load metrics at {self.url} while the load runs\n")

    def stop(self) -> None:
        """Serve the final numbers ``linger_s`` longer (for a last scrape), then stop."""
        time.sleep(self.options.linger_s)
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
