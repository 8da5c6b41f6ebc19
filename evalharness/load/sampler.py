"""Resource sampler: a separate, unpatched process that samples CPU, memory and GPUs until stopped.

    python -m evalharness.load.sampler --out resources.json --interval 0.5 --pid target=1234 --pid generator=5678

Every ``interval`` seconds it records system CPU and memory, the CPU and RSS of each named process
*tree* (the process and all its descendants, found afresh each tick), and through NVML, when a GPU
is present, each GPU's utilisation, memory, power and energy counter. SIGTERM ends it; the series
are written as JSON. With ``--live FILE`` the latest sample is also written to FILE after each tick,
for the harness's live ``/metrics``.
"""

from __future__ import annotations

import argparse
import json
import signal
import time
from pathlib import Path
from typing import Any


class TreeSampler:
    """CPU percent (of one core) and RSS of a process and its descendants."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.known: dict[int, Any] = {}

    def sample(self) -> tuple[float | None, float | None]:
        """(CPU %, RSS MiB) now; (None, None) once the process is gone."""
        psutil = self.psutil
        try:
            members = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return None, None
        cpu = rss = 0.0
        for process in members:
            known = self.known.setdefault(process.pid, process)
            try:
                cpu += known.cpu_percent(None)
                rss += known.memory_info().rss / 2**20
            except psutil.Error:
                continue
        return cpu, rss


def _gpus() -> tuple[Any, list[Any]]:
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml, [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:  # no NVML library, no driver or no GPU: sampled as none
        return None, []


def _gpu_sample(pynvml: Any, handle: Any) -> dict[str, float | None]:
    def read(call: Any) -> Any:
        try:
            return call(handle)
        except Exception:  # a counter this GPU does not support
            return None

    utilisation, memory = read(pynvml.nvmlDeviceGetUtilizationRates), read(pynvml.nvmlDeviceGetMemoryInfo)
    power, energy = read(pynvml.nvmlDeviceGetPowerUsage), read(pynvml.nvmlDeviceGetTotalEnergyConsumption)
    return {
        "util_percent": None if utilisation is None else float(utilisation.gpu),
        "memory_mib": None if memory is None else memory.used / 2**20,
        "power_w": None if power is None else power / 1000,
        "energy_j": None if energy is None else energy / 1000,
    }


def _write_live(path: Path, series: dict[str, list[Any]], names: list[str]) -> None:
    """The latest sample alone, replaced atomically, for the harness's live /metrics."""
    latest = {"system_cpu_percent": series["system_cpu_percent"][-1], "gpus": series["gpus"][-1],
              "processes": {name: {"cpu_percent": series[f"{name}_cpu_percent"][-1],
                                   "rss_mib": series[f"{name}_rss_mib"][-1]} for name in names}}  # fmt: skip
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(latest))
    partial.replace(path)


def sample_until_stopped(out: Path, interval: float, pids: dict[str, int], live: Path | None = None) -> None:
    """Sample every ``interval`` s until SIGTERM or SIGINT, then write the series to ``out`` (and after
    each sample, with ``live``, the latest one there)."""
    import psutil

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    trees = {name: TreeSampler(pid) for name, pid in pids.items() if psutil.pid_exists(pid)}
    pynvml, handles = _gpus()
    series: dict[str, list[Any]] = {"t_s": [], "system_cpu_percent": [], "system_memory_percent": []}
    for name in trees:
        series[f"{name}_cpu_percent"], series[f"{name}_rss_mib"] = [], []
    series["gpus"] = []
    psutil.cpu_percent(None)
    started, started_epoch = time.monotonic(), time.time()
    while not stop["now"]:
        time.sleep(interval)
        series["t_s"].append(round(time.monotonic() - started, 3))
        series["system_cpu_percent"].append(psutil.cpu_percent(None))
        series["system_memory_percent"].append(psutil.virtual_memory().percent)
        for name, tree in trees.items():
            cpu, rss = tree.sample()
            series[f"{name}_cpu_percent"].append(cpu)
            series[f"{name}_rss_mib"].append(rss)
        series["gpus"].append([_gpu_sample(pynvml, handle) for handle in handles])
        if live is not None:
            _write_live(live, series, list(trees))
    facts = {"interval_s": interval, "cpu_count": psutil.cpu_count(), "gpu_count": len(handles),
             "started_epoch": started_epoch, "series": series}  # fmt: skip
    out.write_text(json.dumps(facts))


def main() -> None:
    """Command-line entry point (run by the load driver)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--pid", action="append", default=[], help="name=pid of a process tree to sample")
    parser.add_argument("--live", type=Path, default=None, help="also write the latest sample here, each time")
    args = parser.parse_args()
    pids = {name: int(pid) for name, _, pid in (item.partition("=") for item in args.pid)}
    sample_until_stopped(args.out, args.interval, pids, args.live)


if __name__ == "__main__":
    main()
