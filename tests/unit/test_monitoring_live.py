"""Live load metrics without a load run: the counters' buckets against numpy, the sum over processes,
the exposition read back by prometheus_client and checked by ``promtool check metrics``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("prometheus_client")
from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from evalharness.load.distributed import save_live  # noqa: E402
from evalharness.load.live import LATENCY_BOUNDS_S, LiveCounters  # noqa: E402
from evalharness.monitoring.live import LiveCollector  # noqa: E402
from tests import prometheus_servers as servers  # noqa: E402

LABELS = {"suite": "fraud", "target": "http://127.0.0.1:8000/predict", "run_id": "42", "side": "target"}


def _folder(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """Two processes' snapshots of lognormal latencies (a few failures each) and a resource sample."""
    rng = np.random.default_rng(3)
    everything = []
    for worker in ("0-101", "1-102"):
        counters = LiveCounters()
        latencies = rng.lognormal(np.log(0.004), 0.7, 3000)
        for latency in latencies:
            counters.observe("ok", float(latency), 0.0002)
        for _ in range(7):
            counters.observe("timeout", 30.0, None)
        save_live(tmp_path, counters.snapshot(worker))
        everything.append(latencies)
    resources = {"system_cpu_percent": 55.0, "gpus": [{"util_percent": 40.0, "memory_mib": 512.0}],
                 "processes": {"target": {"cpu_percent": 80.0, "rss_mib": 100.0},
                               "generator": {"cpu_percent": 20.0, "rss_mib": None}}}  # fmt: skip
    (tmp_path / "live-resources.json").write_text(json.dumps(resources))
    return tmp_path, np.concatenate(everything)


def _exposition(folder: Path) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LiveCollector(folder, LABELS))
    return generate_latest(registry).decode()


def test_the_live_histogram_sums_every_process_bucket_by_bucket(tmp_path: Path) -> None:
    folder, latencies = _folder(tmp_path)
    families = {family.name: family for family in text_string_to_metric_families(_exposition(folder))}
    samples = families["evalharness_request_latency_seconds"].samples
    buckets = {s.labels["le"]: s.value for s in samples if s.name.endswith("_bucket")}
    bounds = np.array(LATENCY_BOUNDS_S)
    expected = np.searchsorted(np.sort(latencies), bounds, side="right")  # values <= each bound
    assert [buckets[repr(float(bound))] for bound in bounds] == expected.tolist()
    assert buckets["+Inf"] == len(latencies) == 6000
    total = next(s.value for s in samples if s.name.endswith("_sum"))
    assert total == pytest.approx(latencies.sum(), rel=1e-9)
    assert all(s.labels["suite"] == "fraud" and s.labels["side"] == "target" for s in samples)
    outcomes = {s.labels["outcome"]: s.value for s in families["evalharness_requests"].samples}
    assert outcomes == {"ok": 6000.0, "timeout": 14.0, "http_error": 0.0, "parse_error": 0.0, "cut_off": 0.0,
                        "engine_error": 0.0}  # fmt: skip
    assert families["evalharness_load_processes_reporting"].samples[0].value == 2


def test_quantiles_read_from_the_buckets_stay_within_five_percent(tmp_path: Path) -> None:
    folder, latencies = _folder(tmp_path)
    family = next(f for f in text_string_to_metric_families(_exposition(folder))
                  if f.name == "evalharness_request_latency_seconds")  # fmt: skip
    pairs = sorted((float(s.labels["le"]), s.value) for s in family.samples if s.name.endswith("_bucket"))
    for q in (0.5, 0.95, 0.99):  # PromQL's histogram_quantile: linear within the bucket the rank falls in
        rank = q * pairs[-1][1]
        index = next(i for i, (_, count) in enumerate(pairs) if count >= rank)
        low, below = pairs[index - 1] if index else (0.0, 0.0)
        high, count = pairs[index]
        estimate = low + (high - low) * (rank - below) / (count - below)
        exact = float(np.quantile(latencies, q, method="inverted_cdf"))
        assert abs(estimate - exact) <= 0.05 * exact, (q, estimate, exact)


def test_resources_are_gauges_and_promtool_accepts_the_exposition(tmp_path: Path) -> None:
    folder, _ = _folder(tmp_path)
    text = _exposition(folder)
    families = {family.name: family for family in text_string_to_metric_families(text)}
    rss = {s.labels["process"]: s.value for s in families["evalharness_process_resident_memory_bytes"].samples}
    assert rss == {"target": 100 * 2**20}  # the generator's missing sample is left out, not a zero
    assert families["evalharness_gpu_memory_used_bytes"].samples[0].value == 512 * 2**20
    assert families["evalharness_system_cpu_percent"].samples[0].value == 55.0
    servers.require("promtool")
    checked = servers.promtool("check", "metrics", stdin=text)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_an_empty_folder_serves_zeros_not_an_error(tmp_path: Path) -> None:
    families = {family.name: family for family in text_string_to_metric_families(_exposition(tmp_path))}
    inf = next(s for s in families["evalharness_request_latency_seconds"].samples if s.labels.get("le") == "+Inf")
    assert inf.value == 0 and families["evalharness_load_processes_reporting"].samples[0].value == 0
    assert "evalharness_process_cpu_percent" not in families  # the sampler has not written yet


def test_every_live_metric_the_readme_names_is_served(tmp_path: Path) -> None:
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Live, during a load run.**") : readme.index("**After every run.**")]
    named = {name.removesuffix("_total") for row in re.findall(r"^\| (`evalharness_.*?) \|", section, re.MULTILINE)
             for name in re.findall(r"`(evalharness_[a-z_]+)`", row)}  # fmt: skip
    folder, _ = _folder(tmp_path)
    served = {family.name for family in text_string_to_metric_families(_exposition(folder))}
    assert len(named) == 9 and named <= served, named - served
