"""A suite's load run, done once per process on the first ``load::`` item, and its gates."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, cast

from evalharness.compare.gate import delta_message, merged_status
from evalharness.gates import judge
from evalharness.metrics.base import MetricValue
from evalharness.once import Once
from evalharness.record import GateRecord, GateStatus

if TYPE_CHECKING:
    from evalharness.runner import SuiteRun

COLD_START_GATES = frozenset({"cold_start_s", "cold_start_max_s", "cold_path_p50_ms"})
LOCAL_ENGINES = frozenset({"onnx", "torch"})
TOKEN_GATES = frozenset({"ttft_p95_ms", "tpot_ms", "itl_p95_ms", "output_tokens_per_s"})


class LoadRun:
    """Cold starts (when the suite has a server), then the Locust run; the result is kept."""

    def __init__(self, suite_run: SuiteRun) -> None:
        self.suite_run = suite_run
        self.spec = suite_run.spec.load
        self._result: Once[dict[str, Any]] = Once(self._run)
        self._progress: Any = None  # the run's phase line (a LoadProgress) while it goes on

    def result(self) -> dict[str, Any]:
        """The load result (computed on first use; a failure is remembered)."""
        return self._result.get()

    def finished(self) -> dict[str, Any] | None:
        """The result if the run has happened and succeeded, without running it."""
        return self._result.value

    def _run(self) -> dict[str, Any]:
        from evalharness._optional import is_installed
        from evalharness.errors import MissingDependencyError

        for module in ("locust", "hdrh", "psutil"):  # checked without importing: locust must stay out of pytest
            if not is_installed(module):
                raise MissingDependencyError(module, "load", "load runs (load: section)")
        if self._versus():
            return self._run_versus()
        if self.suite_run.progress is None:
            return self._run_once()
        from evalharness.load.progress import LoadProgress

        self._progress = LoadProgress(self.suite_run.progress, self.suite_run.suite.display_name)
        summary = "stopped"
        try:
            result = self._run_once()
            summary = f"done, {result['requests']['sent']:,} requests measured"
            return result
        finally:
            self._progress.close(summary)
            self._progress = None

    def _run_once(self) -> dict[str, Any]:
        """Cold starts (if any), then the Locust run, summarised."""
        from evalharness.load.driver import run_plan
        from evalharness.load.plan import build_plan, engine_requests, request_mix
        from evalharness.load.summary import gate_values, summarise
        from evalharness.load.versus import model_size_mib
        from evalharness.suite.dataset import input_columns

        run, spec = self.suite_run, self.spec
        if run.spec.target.kind in LOCAL_ENGINES:
            columns = input_columns(run.suite, run.frame())
            requests = engine_requests(run.frame(), columns, spec.rows, run.spec.seed)
            plan = build_plan(spec, requests, run.spec.seed, engine_suite=run.suite.path)
        else:
            requests = request_mix(run.target(), run.frame(), spec.rows, run.spec.seed)
            plan = build_plan(spec, requests, run.spec.seed)
        cold = self._cold_starts(plan["requests"])
        pid = run.server.pid if run.server is not None else spec.pid
        started = time.perf_counter()
        measured = run_plan(plan, {"target": pid} if pid else {}, spec.sample_interval_s, self.live_options("target"),
                            self._progress)  # fmt: skip
        result = summarise(measured, plan, spec.gpus)
        result["live_metrics_url"] = measured.get("live_metrics_url")
        result["wall_s"] = round(time.perf_counter() - started, 3)
        if cold is not None:
            result["cold_start"] = cold
            result["values"] = gate_values(result)
        result["values"]["model_size_mib"] = model_size_mib(run, "target")
        return result

    def live_options(self, side: str) -> Any:
        """How to serve live /metrics for one side's runs (None unless the suite's load section asks)."""
        if self.spec.metrics is None:
            return None
        from datetime import datetime, timezone

        from evalharness.monitoring.labels import label, run_id, target_label
        from evalharness.monitoring.live import LiveOptions

        run = self.suite_run
        target = run.target_info if side == "target" else getattr(run.baseline, "target_info", None) or {}
        labels = {"suite": label(run.spec.name), "target": target_label(target),
                  "run_id": run_id(datetime.now(timezone.utc).isoformat(timespec="seconds")), "side": side}  # fmt: skip
        sink = run.progress if run.progress is not None else sys.stderr

        def announce(text: str) -> None:
            if self._progress is not None:
                self._progress.note(text)
            else:
                sink.write(text)

        metrics = self.spec.metrics
        return LiveOptions(metrics.host, metrics.port, metrics.linger_s, labels, announce)

    def _versus(self) -> bool:
        """Whether to load the baseline too: a live baseline, and a ratio gate that asks for it."""
        from evalharness.compare.baseline import BaselineSide

        asked = any(getattr(options, "ratio_gates", None) for options in self.spec.gates.declared().values())
        return asked and isinstance(self.suite_run.baseline, BaselineSide)

    def _run_versus(self) -> dict[str, Any]:
        """Target and baseline in alternating rounds; the target's result, with the ratios beside."""
        from evalharness.load import versus
        from evalharness.load.summary import gate_values

        run, spec = self.suite_run, self.spec
        versus.raise_if_unsupported(run)
        started = time.perf_counter()
        plans = versus.side_plans(run, spec)  # endpoints: builds the targets (and starts a server: section)
        pid = run.server.pid if run.server is not None else spec.pid
        both = versus.run_rounds(plans, spec, {"target": pid} if pid else {}, self.live_options)
        sides = both["sides"]
        rows = [request["row"] for request in plans["target"]["requests"] if "row" in request]
        if rows and COLD_START_GATES & set(spec.gates.declared()):
            for side, cold in versus.side_cold_starts(run, spec, rows).items():
                sides[side]["cold_start"] = cold
        for side in versus.SIDES:
            sides[side]["values"] = {**gate_values(sides[side]), **{k: sides[side]["values"].get(k)
                                     for k in ("cpu_ms_per_request", "rss_mib")}}  # fmt: skip
            sides[side]["values"]["model_size_mib"] = versus.model_size_mib(run, side)
        result = sides["target"]
        result["wall_s"] = round(time.perf_counter() - started, 3)
        baseline = sides["baseline"]
        result["versus"] = {
            "rounds": spec.rounds, "order": "ABBA", "baseline_values": baseline["values"],
            "baseline_invalid_reasons": baseline["invalid_reasons"],
            "baseline_latency_curve": baseline["latency_curve"],
            "ratios": versus.ratios(spec, both, run.settings.confidence),
            "round_values": {side: [{name: values.get(name) for name in spec.gates.declared()}
                                    for values in both["rounds"][side]] for side in versus.SIDES},
        }  # fmt: skip
        return result

    def _cold_starts(self, requests: list[dict[str, Any]]) -> dict[str, Any] | None:
        """The suite's server spawned afresh, or its local engine created in fresh processes (the latter
        only when a cold-start gate asks for it)."""
        from evalharness.load.server import cold_starts, engine_cold_starts

        run = self.suite_run
        if run.spec.server is not None:
            return cold_starts(run.spec.server, self.spec.cold_start, requests[0], run.suite.base_dir, self._progress)
        if "row" in requests[0] and COLD_START_GATES & set(self.spec.gates.declared()):
            rows = [request["row"] for request in requests]
            return engine_cold_starts(run.suite.path, self.spec.cold_start, rows, progress=self._progress)
        return None

    def _why_missing(self, name: str, result: dict[str, Any]) -> str:
        if name == "qps_per_gpu":
            return str(result["qps_per_gpu_reason"])
        if name in COLD_START_GATES:
            return "cold starts need a server: section (the command the harness spawns) or a local engine"
        if name in TOKEN_GATES:
            return "token timings need a streaming openai target (stream: true)"
        if name == "send_lag_p99_ms" or name == "rps_achieved_ratio":
            return "send lag and achieved rate apply to open-loop runs (model: open)"
        return "no request succeeded in the measured window"

    def gate(self, name: str, nodeid: str) -> GateRecord:
        """Judge one load gate; an invalid run or a value that does not apply is an error, never a pass."""
        started = time.perf_counter()
        options = self.spec.gates.declared()[name]
        result = self.result()
        value = result["values"].get(name)
        base = {"name": f"load::{name}", "nodeid": nodeid, "metric": name, "min": options.min, "max": options.max,
                "n": gate_n(name, result), "details": {"load": _headline(result)}}  # fmt: skip
        if not result["valid"]:
            reasons = "; ".join(result["invalid_reasons"])
            return GateRecord(**base, status="error", value=value, message=f"the load run is invalid: {reasons}")
        if value is None:
            return GateRecord(**base, status="error", message=self._why_missing(name, result))
        verdict = judge(name, MetricValue(float(value), base["n"], None, "load"), options, "estimate")
        status, message, against = verdict.status, verdict.reason, self._compared(name, options, result)
        if against is not None and against["verdict"] is not None:
            status = merged_status(status, against["verdict"], self.suite_run.on_inconclusive)
            own = message if options.is_gate or status == "error" else ""
            message = "; ".join(part for part in (own, delta_message(against)) if part)
        return GateRecord(**base, status=cast(GateStatus, status), value=float(value), method="load",
                          compared_value=verdict.compared, message=message, comparison=against,
                          delta_gates=getattr(options, "ratio_gates", {}),
                          duration_s=time.perf_counter() - started)  # fmt: skip

    def _compared(self, name: str, options: Any, result: dict[str, Any]) -> dict[str, Any] | None:
        """The gate's ratio to the baseline, when both sides were loaded."""
        from evalharness.load.versus import load_comparison

        gate_on = options.gate_on or self.suite_run.spec.statistics.gate_on
        return load_comparison(name, options, result, gate_on)


def gate_n(name: str, result: dict[str, Any]) -> int:
    """What a load gate's value rests on: cold starts for the cold-start gates, the requests after ready
    for the cold path, else the requests sent."""
    cold = result.get("cold_start") or {}
    if name in ("cold_start_s", "cold_start_max_s"):
        return len(cold.get("repeats") or [])
    if name == "cold_path_p50_ms":
        return int((cold.get("cold_path_ms") or {}).get("count") or 0)
    return int(result["requests"]["sent"])


def _headline(result: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a failure message shows beside the gate."""
    latency = result["latency_ms"] or {}
    return {
        "model": result["model"], "rate": result.get("rate"), "qps": result["qps"], "error_rate": result["error_rate"],
        "p50_ms": latency.get("p50"), "p95_ms": latency.get("p95"), "p99_ms": latency.get("p99"),
        "requests": result["requests"],
    }  # fmt: skip
