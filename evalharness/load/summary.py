"""Numbers from a merged load record: latency percentiles, throughput, errors, tokens, validity.

Token metrics follow vLLM's benchmark: TTFT from the send to the first content token; ITL each
gap between content tokens; TPOT the per-request mean gap after the first token; output tokens/s
over the measured window.
"""

from __future__ import annotations

import os
from typing import Any

from evalharness.load.recorder import Recorder
from evalharness.load.timeline import over_time

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p999": 99.9}
ERROR_KINDS = ("http_error", "timeout", "parse_error", "cut_off", "engine_error")
GENERATOR_CPU_LIMIT = 0.9


def _ms(histogram: Any) -> dict[str, float | int] | None:
    """Percentiles, mean and max of a µs histogram, in ms (None when it is empty)."""
    if histogram.get_total_count() == 0:
        return None
    facts = {name: histogram.get_value_at_percentile(q) / 1000 for name, q in PERCENTILES.items()}
    facts.update(mean=histogram.get_mean_value() / 1000, max=histogram.get_max_value() / 1000)
    return {**{key: round(value, 4) for key, value in facts.items()}, "count": int(histogram.get_total_count())}


def _gpus(declared: int | None, resources: dict[str, Any]) -> tuple[int | None, str | None]:
    if declared is not None:
        return (declared, None) if declared > 0 else (None, "the suite says no GPU serves the model (load.gpus: 0)")
    found = int(resources.get("gpu_count") or 0)
    if found:
        return found, None
    return None, "no GPU: NVML found none on this machine (set load.gpus when the model's GPUs are elsewhere)"


def summarise(run: dict[str, Any], plan: dict[str, Any], declared_gpus: int | None) -> dict[str, Any]:
    """The load result: plain JSON for the record, with every gate's value under ``values``."""
    recorder: Recorder = run["recorder"]
    counts = recorder.counts
    duration = plan["duration_s"]
    errors = {kind: int(counts.get(kind, 0)) for kind in ERROR_KINDS}
    finished = int(counts.get("ok", 0)) + sum(errors.values())
    sent = finished + int(counts.get("unfinished", 0))
    qps = counts.get("ok", 0) / duration
    cores = os.cpu_count() or 1
    gpus, gpu_reason = _gpus(declared_gpus, run["resources"])
    latency = _ms(recorder.histograms["latency"])
    lag = _ms(recorder.histograms["send_lag"])
    tokens = _token_facts(recorder, duration)
    result: dict[str, Any] = {
        **_loop(plan),
        "processes": plan["processes"], "launch": plan.get("launch", "fork"),
        "remote_workers": plan.get("remote_workers", 0), "duration_s": duration,
        "warmup_s": plan["warmup_s"],
        "requests": {"sent": sent, "ok": int(counts.get("ok", 0)), **errors,
                     "scheduled": int(counts.get("scheduled", 0)), "late": int(counts.get("late", 0)),
                     "dropped": int(counts.get("dropped", 0)), "unfinished": int(counts.get("unfinished", 0)),
                     "warmup": int(counts.get("warmup_requests", 0))},
        "latency_ms": latency, "service_ms": _ms(recorder.histograms["service"]), "send_lag_ms": lag,
        "warmup_latency_ms": _ms(recorder.histograms["warmup"]),
        "qps": round(qps, 3), "qps_per_core": round(qps / cores, 3), "cpu_cores": cores,
        "gpus": gpus, "qps_per_gpu": round(qps / gpus, 3) if gpus else None, "qps_per_gpu_reason": gpu_reason,
        "error_rate": round(sum(errors.values()) / sent, 6) if sent else None,
        "goodput": round(counts.get("good", 0) / sent, 6) if sent else None,
        "tokens": tokens,
        "generator": run["workers"],
        "resources": run["resources"],
    }  # fmt: skip
    result.update(_over_time(recorder, run["resources"], plan))
    result["invalid_reasons"] = invalid_reasons(result, plan)
    result["valid"] = not result["invalid_reasons"]
    result["values"] = gate_values(result)
    return result


def _loop(plan: dict[str, Any]) -> dict[str, Any]:
    """The loop's own settings: rate and arrivals for an open loop, users and think time for a closed one."""
    if plan["model"] == "open":
        return {"model": "open", "rate": plan["rate"], "arrival": plan["arrival"]}
    return {"model": "closed", "users": plan["users"], "think_time_s": plan.get("think_time_s", 0.0)}


def _over_time(recorder: Recorder, resources: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    """The timeline (one entry per slice), the latency heatmap and percentile curve, and the resource
    samples' times on the same axis (seconds since the first request)."""
    facts = over_time(recorder, resources, int(plan.get("timeline_slice_s", 1)))
    resources_on_axis = {**resources, "t_run_s": facts["resource_t_s"]} if resources else resources
    return {"timeline": facts["slices"], "timeline_slice_s": facts["slice_s"],
            "latency_heatmap": facts["latency_heatmap"], "latency_curve": facts["latency_curve"],
            "resources": resources_on_axis}  # fmt: skip


def _token_facts(recorder: Recorder, duration: float) -> dict[str, Any] | None:
    output = int(recorder.counts.get("output_tokens", 0))
    if not output:
        return None
    return {"ttft_ms": _ms(recorder.histograms["ttft"]), "itl_ms": _ms(recorder.histograms["itl"]),
            "tpot_ms": _ms(recorder.histograms["tpot"]), "output_tokens": output,
            "output_tokens_per_s": round(output / duration, 3)}  # fmt: skip


def invalid_reasons(result: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """Why the generator's numbers cannot be trusted, if it fell behind (empty when they can)."""
    reasons = []
    for worker in result["generator"]:
        if worker["cpu_share"] >= GENERATOR_CPU_LIMIT:
            reasons.append(f"load generator process {worker['worker_index']} was CPU-bound "
                           f"({worker['cpu_share']:.0%} of a core); add load.processes")  # fmt: skip
    requests = result["requests"]
    if plan["model"] == "open":
        lag = result["send_lag_ms"]
        if lag is not None and lag["p99"] > plan["late_ms"]:
            reasons.append(f"send lag p99 {lag['p99']:.2f} ms is above late_ms {plan['late_ms']:g} ms")
        if requests["scheduled"] and requests["dropped"]:
            reasons.append(f"{requests['dropped']} of {requests['scheduled']} scheduled sends were dropped "
                           f"(more than max_in_flight {plan['max_in_flight']} in flight)")  # fmt: skip
    if requests["sent"] == 0:
        reasons.append("no request was sent in the measured window")
    return reasons


def gate_values(result: dict[str, Any]) -> dict[str, float | None]:
    """Every load gate's value (None where it does not apply)."""
    latency = result["latency_ms"] or {}
    tokens = result["tokens"] or {}
    requests = result["requests"]
    cold = result.get("cold_start") or {}
    lag = result["send_lag_ms"] or {}
    return {
        "p50_ms": latency.get("p50"), "p95_ms": latency.get("p95"), "p99_ms": latency.get("p99"),
        "p999_ms": latency.get("p999"), "mean_ms": latency.get("mean"), "max_ms": latency.get("max"),
        "qps": result["qps"], "qps_per_gpu": result["qps_per_gpu"], "qps_per_core": result["qps_per_core"],
        "error_rate": result["error_rate"], "send_lag_p99_ms": lag.get("p99"),
        "cold_start_s": cold.get("median_s"), "cold_start_max_s": cold.get("max_s"),
        "cold_path_p50_ms": (cold.get("cold_path_ms") or {}).get("p50"),
        "ttft_p95_ms": (tokens.get("ttft_ms") or {}).get("p95"), "tpot_ms": (tokens.get("tpot_ms") or {}).get("mean"),
        "itl_p95_ms": (tokens.get("itl_ms") or {}).get("p95"), "output_tokens_per_s": tokens.get("output_tokens_per_s"),
        "goodput": result["goodput"],
        "rps_achieved_ratio": round(requests["sent"] / requests["scheduled"], 4) if requests["scheduled"] else None,
        **serving_resources(result),
    }  # fmt: skip


def serving_resources(result: dict[str, Any]) -> dict[str, float | None]:
    """CPU per request and peak RSS of the processes that serve: the server's tree when the suite
    starts one (or names its pid), else the load processes, where a local engine answers."""
    resources = result.get("resources") or {}
    series, interval = resources.get("series") or {}, resources.get("interval_s")
    tree = "target" if series.get("target_cpu_percent") else "generator"
    cpu = [value for value in series.get(f"{tree}_cpu_percent") or [] if value is not None]
    rss = [value for value in series.get(f"{tree}_rss_mib") or [] if value is not None]
    answered = result["requests"]["ok"] + result["requests"]["warmup"]
    cpu_ms = sum(cpu) / 100 * interval * 1000 / answered if cpu and interval and answered else None
    return {"cpu_ms_per_request": None if cpu_ms is None else round(cpu_ms, 4),
            "rss_mib": round(max(rss), 2) if rss else None}  # fmt: skip
