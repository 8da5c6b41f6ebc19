"""What a load gate's n counts, and which loop settings the load record keeps."""

from __future__ import annotations

from evalharness.load.run import gate_n
from evalharness.load.summary import _loop


def test_cold_start_gates_count_cold_starts_not_requests() -> None:
    result = {"requests": {"sent": 55}, "cold_start": {"repeats": [{}, {}, {}], "cold_path_ms": {"count": 60}}}
    assert gate_n("cold_start_s", result) == 3 and gate_n("cold_start_max_s", result) == 3
    assert gate_n("cold_path_p50_ms", result) == 60  # the requests right after ready
    assert gate_n("p95_ms", result) == 55
    assert gate_n("cold_start_s", {"requests": {"sent": 55}}) == 0  # no cold start was run


def test_the_load_record_keeps_only_its_loops_settings() -> None:
    plan = {"model": "open", "rate": 200, "arrival": "poisson", "users": 8, "think_time_s": 0.0}
    assert _loop(plan) == {"model": "open", "rate": 200, "arrival": "poisson"}
    plan.update(model="closed", think_time_s=0.5)
    assert _loop(plan) == {"model": "closed", "users": 8, "think_time_s": 0.5}
