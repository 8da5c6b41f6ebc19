"""A load run over time: per-slice latency histograms merged across processes onto one clock, and the
heatmap, percentiles and HDR curve read from them, checked against numpy on the raw latencies."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("hdrh")

from evalharness.load.plan import timeline_slice_s  # noqa: E402
from evalharness.load.recorder import Recorder  # noqa: E402
from evalharness.load.timeline import heatmap, heatmap_edges_ms, over_time, percentile_curve, resource_times  # noqa: E402


def _process(start_epoch: float, latencies_ms: dict[int, np.ndarray], errors: dict[int, int]) -> Recorder:
    """One load process's record: each second's latencies (all successful) and failed requests."""
    recorder = Recorder(start_epoch=start_epoch)
    for second, values in latencies_ms.items():
        for value in values:
            recorder.outcome(second, "ok", value * 1000)
            recorder.record_us("latency", value * 1000)
        for _ in range(errors.get(second, 0)):
            recorder.outcome(second, "http_error", 5000.0)
    return recorder


def _two_processes() -> tuple[Recorder, dict[int, np.ndarray]]:
    """Two processes, the second started 1.2 s after the first: its second 0 is the first's second 1."""
    rng = np.random.default_rng(7)
    first = {second: rng.lognormal(1.0 + 0.3 * second, 0.5, 400) for second in range(4)}
    second = {second: rng.lognormal(1.3 + 0.3 * second, 0.5, 300) for second in range(3)}
    parts = [_process(1000.0, first, {2: 5}).to_json(), _process(1001.2, second, {0: 3}).to_json()]
    merged = Recorder.merged(parts)
    truth = {0: first[0], **{s: np.concatenate([first[s], second[s - 1]]) for s in (1, 2, 3)}}
    return merged, truth


def test_processes_merge_onto_the_earliest_clock() -> None:
    merged, truth = _two_processes()
    assert merged.start_epoch == 1000.0
    assert sorted(merged.timeline) == [0, 1, 2, 3]
    assert [merged.timeline[s][0] for s in range(4)] == [400, 703, 705, 700]  # the second process shifted by 1 s
    assert [merged.timeline[s][1] for s in range(4)] == [0, 3, 5, 0]
    assert [merged.slices[s].get_total_count() for s in range(4)] == [len(truth[s]) for s in range(4)]


def test_wide_slices_shift_by_whole_slices() -> None:
    """Regression: with 2 s slices a process 2.9 s late was shifted by 3 s, so its slices (0, 2, 4) landed
    on odd keys (3, 5, 7) between the first process's, and each slice was split in two."""
    first = _process(1000.0, {0: np.full(10, 1.0), 2: np.full(10, 1.0), 4: np.full(10, 1.0)}, {})
    late = _process(1002.9, {0: np.full(5, 2.0), 2: np.full(5, 2.0)}, {})
    merged = Recorder.merged([first.to_json(), late.to_json()], slice_s=2)
    assert sorted(merged.timeline) == [0, 2, 4] and sorted(merged.slices) == [0, 2, 4]
    assert [merged.timeline[s][0] for s in (0, 2, 4)] == [10, 15, 15]  # 2.9 s late: one slice (2 s) later


def test_each_slice_reads_its_percentiles_within_hdr_precision() -> None:
    merged, truth = _two_processes()
    facts = over_time(merged, {}, 1)
    for entry in facts["slices"]:
        values = truth[entry["second"]]
        for name, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
            expected = float(np.percentile(values, q, method="inverted_cdf"))
            assert entry[name] == pytest.approx(expected, rel=0.011), (entry["second"], name)
        assert entry["max_ms"] == pytest.approx(values.max(), abs=0.002)
    assert [entry["error_rate"] for entry in facts["slices"]] == [0.0, round(3 / 703, 6), round(5 / 705, 6), 0.0]


def test_the_heatmap_counts_match_numpy_histogram_on_the_same_edges() -> None:
    merged, truth = _two_processes()
    facts = heatmap(merged)
    assert facts is not None and facts["seconds"] == [0, 1, 2, 3]
    edges = np.array(facts["edges_ms"])
    assert edges[0] <= min(v.min() for v in truth.values()) and edges[-1] >= max(v.max() for v in truth.values())
    assert np.allclose(np.diff(np.log10(edges)), 1 / 8, atol=3e-4)  # 8 buckets a decade (edges kept to 4 digits)
    for second, counts in zip(facts["seconds"], facts["counts"]):
        values = truth[second]
        expected, _ = np.histogram(values, bins=edges)
        # HdrHistogram keeps 2 significant digits per slice: a value within 1 % of an edge may fall either side
        near = sum(int(np.sum(np.abs(values / edge - 1) < 0.011)) for edge in edges)
        assert sum(counts) == len(values)
        assert np.abs(np.array(counts) - expected).sum() <= 2 * near


def test_heatmap_edges_sit_on_a_shared_grid() -> None:
    assert heatmap_edges_ms(1.0, 10.0) == [1.0, 1.334, 1.778, 2.371, 3.162, 4.217, 5.623, 7.499, 10.0, 13.34]
    assert heatmap_edges_ms(0.0, 0.0)[0] == 0.001


def test_the_percentile_curve_matches_numpy_up_to_the_maximum() -> None:
    merged, truth = _two_processes()
    everything = np.concatenate(list(truth.values()))
    curve = percentile_curve(merged.histograms["latency"])
    assert curve[-1]["percentile"] == 100.0 and curve[-1]["ms"] == pytest.approx(everything.max(), rel=1e-3)
    for point in curve[1:-1]:
        expected = float(np.percentile(everything, point["percentile"], method="inverted_cdf"))
        assert point["ms"] == pytest.approx(expected, rel=1e-3, abs=0.002), point
    assert max(p["percentile"] for p in curve[:-1]) <= 100 * (1 - 1 / len(everything))  # no tail it cannot read
    assert percentile_curve(Recorder().histograms["latency"]) == []


def test_resource_samples_move_onto_the_runs_clock() -> None:
    resources = {"started_epoch": 999.5, "series": {"t_s": [0.5, 1.0, 1.5]}}
    assert resource_times(resources, 1000.0) == [0.0, 0.5, 1.0]
    assert resource_times({"series": {"t_s": [0.5]}}, 1000.0) is None  # a record from before the clocks were kept
    assert resource_times(resources, None) is None


def test_long_runs_use_wider_slices() -> None:
    assert [timeline_slice_s(w, d) for w, d in ((5, 60), (0, 300), (0, 301), (30, 1200))] == [1, 1, 2, 5]
    merged, _ = _two_processes()
    assert over_time(merged, {}, 2)["slices"][1]["rps"] == 703 / 2
