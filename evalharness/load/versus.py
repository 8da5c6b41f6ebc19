"""Speed side by side: the target and its baseline loaded in alternating short rounds.

Machine noise (another job, a thermal step, a noisy neighbour) drifts over seconds; running the two
sides one after the other would charge it to whichever ran second. So each side runs ``rounds``
rounds of ``duration_s / rounds``, in the order target, baseline, baseline, target, target, ...
(ABBA: a linear drift cancels), each round a complete Locust run of its own. Every gate's ratio
(candidate / baseline) is the geometric mean of the per-round ratios, with a Student t interval
across rounds on the log scale; cold starts pair the i-th start of each side the same way.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalharness.errors import EvalHarnessError

if TYPE_CHECKING:
    from evalharness.runner import SuiteRun

SIDES = ("target", "baseline")
LOCAL_ENGINES = frozenset({"onnx", "torch"})
ENDPOINTS = frozenset({"http", "kserve", "openai"})


def abba(rounds: int) -> list[str]:
    """The order of the side runs: target, baseline, baseline, target, target, baseline, ..."""
    order: list[str] = []
    for index in range(rounds):
        order += list(SIDES) if index % 2 == 0 else list(reversed(SIDES))
    return order


def side_plans(run: SuiteRun, spec: Any) -> dict[str, dict[str, Any]]:
    """Each side's Locust plan for one round: the same rows, a round's share of the duration."""
    from evalharness.load.plan import build_plan, engine_requests, request_mix
    from evalharness.suite.dataset import input_columns

    round_spec = spec.model_copy(update={"duration_s": spec.duration_s / spec.rounds})
    kinds = {run.spec.target.kind, run.spec.baseline.kind}
    plans = {}
    for side in SIDES:
        if kinds <= LOCAL_ENGINES:
            requests = engine_requests(run.frame(), input_columns(run.suite, run.frame()), spec.rows, run.spec.seed)
            plans[side] = build_plan(round_spec, requests, run.spec.seed, engine_suite=run.suite.path,
                                     engine_side=side)  # fmt: skip
        else:
            target = run.target() if side == "target" else run.baseline.target()
            plans[side] = build_plan(round_spec, request_mix(target, run.frame(), spec.rows, run.spec.seed),
                                     run.spec.seed)  # fmt: skip
    return plans


def run_rounds(plans: dict[str, dict[str, Any]], spec: Any, pids: dict[str, int], live: Any = None) -> dict[str, Any]:
    """Both sides, round by round; each side's merged result and its per-round gate values. ``live``
    (side -> LiveOptions or None) serves each round's counters on /metrics, labelled by side."""
    from evalharness.load.driver import run_plan
    from evalharness.load.summary import summarise

    raw: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    values: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    first: dict[str, dict[str, Any]] = {}
    order = list(abba(spec.rounds))
    for index, side in enumerate(order):
        options = live(side) if live else None
        if options is not None and index < len(order) - 1:  # only the last round lingers for a final scrape
            options = dataclasses.replace(options, linger_s=0.0)
        measured = run_plan(plans[side], pids, spec.sample_interval_s, options)
        raw[side].append(measured)
        summary = summarise(measured, plans[side], spec.gpus)
        values[side].append(summary["values"])
        first.setdefault(side, summary)
    merged = {side: _merged(raw[side], plans[side], spec, values[side]) for side in SIDES}
    for side in SIDES:  # time series are one round's (rounds do not share a clock); histograms all rounds'
        merged[side].update({key: first[side][key] for key in ROUND_TIME_KEYS}, timeline_round=1)
    return {"sides": merged, "rounds": values}


ROUND_TIME_KEYS = ("timeline", "timeline_slice_s", "latency_heatmap", "resources")
"""A side's results drawn against time, taken from its first round."""


def _merged(rounds: list[dict[str, Any]], plan: dict[str, Any], spec: Any, values: list[dict[str, Any]]) -> Any:
    """One side's result over all its rounds: histograms merged exactly, resources per round."""
    from evalharness.load.recorder import Recorder
    from evalharness.load.summary import summarise

    recorder = Recorder.merged([part["recorder"].to_json() for part in rounds])
    workers = [worker for part in rounds for worker in part["workers"]]
    whole = {**plan, "duration_s": spec.duration_s}
    result = summarise({"recorder": recorder, "workers": workers, "resources": rounds[0]["resources"]}, whole,
                       spec.gpus)  # fmt: skip
    for name, combine in (("cpu_ms_per_request", statistics.fmean), ("rss_mib", max)):
        present = [value[name] for value in values if value.get(name) is not None]
        result["values"][name] = round(combine(present), 4) if present else None
    return result


def ratio_across(candidate: list[float | None], baseline: list[float | None], confidence: float) -> dict[str, Any]:
    """Candidate / baseline over paired rounds (or repeats): geometric mean and t interval of the logs."""
    pairs = [(a, b) for a, b in zip(candidate, baseline) if a is not None and b is not None and a > 0 and b > 0]
    if not pairs:
        return {"ratio": None, "ratio_interval": None, "rounds": len(candidate)}
    logs = [math.log(a / b) for a, b in pairs]
    centre = statistics.fmean(logs)
    interval = None
    if len(logs) > 1:
        from scipy import stats

        half = stats.t.ppf(0.5 + confidence / 2, len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
        interval = (math.exp(centre - half), math.exp(centre + half))
    return {"ratio": math.exp(centre), "ratio_interval": interval, "rounds": len(logs),
            "per_round": [round(a / b, 6) for a, b in pairs]}  # fmt: skip


def side_cold_starts(run: SuiteRun, spec: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Cold starts of both local engines, alternating target and baseline repeat by repeat."""
    from evalharness.load.server import engine_cold_start_once, summarise_cold_starts

    starts: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    for index in range(spec.cold_start.repeats):
        for side in SIDES if index % 2 == 0 else SIDES[::-1]:
            starts[side].append(engine_cold_start_once(run.suite.path, spec.cold_start, rows, side))
    return {side: summarise_cold_starts(starts[side], spec.cold_start) for side in SIDES}


def model_size_mib(run: SuiteRun, side: str) -> float | None:
    """The side's model file size in MiB (None for an endpoint without a file)."""
    spec = run.spec.target if side == "target" else run.spec.baseline
    path = getattr(spec, "path", None)
    if path is None or spec.kind == "file":
        return None
    resolved: Path = run.suite.resolve(path)
    return resolved.stat().st_size / 2**20 if resolved.is_file() else None


def check_sides(run: SuiteRun) -> str | None:
    """Why the two sides cannot share a load run (None when they can)."""
    kinds = {run.spec.target.kind, run.spec.baseline.kind}
    if kinds <= LOCAL_ENGINES or kinds <= ENDPOINTS:
        return None
    return (f"the target ({run.spec.target.kind}) and the baseline ({run.spec.baseline.kind}) cannot share a load "
            "run: load both as local engines (onnx, torch) or both as endpoints (http, kserve, openai)")  # fmt: skip


def raise_if_unsupported(run: SuiteRun) -> None:
    """A located error was reported at validation; this guards a run started another way."""
    reason = check_sides(run)
    if reason:
        raise EvalHarnessError(reason)


LOWER_IS_BETTER = frozenset({
    "p50_ms", "p95_ms", "p99_ms", "p999_ms", "mean_ms", "max_ms", "error_rate", "send_lag_p99_ms", "cold_start_s",
    "cold_start_max_s", "cold_path_p50_ms", "ttft_p95_ms", "tpot_ms", "itl_p95_ms", "cpu_ms_per_request", "rss_mib",
    "model_size_mib",
})  # fmt: skip
"""Load gates that improve downwards (a ratio below 1 is the candidate being better)."""


def ratios(spec: Any, both: dict[str, Any], confidence: float) -> dict[str, dict[str, Any]]:
    """Every declared load gate's candidate / baseline: over rounds, over cold-start repeats, or exact."""
    sides = both["sides"]
    found: dict[str, dict[str, Any]] = {}
    for name in spec.gates.declared():
        if name == "model_size_mib":
            sizes = [sides[side]["values"].get(name) for side in SIDES]
            exact = sizes[0] / sizes[1] if None not in sizes and sizes[1] else None
            found[name] = {"ratio": exact, "ratio_interval": None, "rounds": 0, "method": "exact (file sizes)"}
        elif name in ("cold_start_s", "cold_start_max_s") and all(sides[s].get("cold_start") for s in SIDES):
            repeats = [[r["first_answer_s"] for r in sides[s]["cold_start"]["repeats"]] for s in SIDES]
            found[name] = {**ratio_across(repeats[0], repeats[1], confidence), "method": "repeats (alternating)"}
        else:
            rounds = [[values.get(name) for values in both["rounds"][s]] for s in SIDES]
            found[name] = {**ratio_across(rounds[0], rounds[1], confidence), "method": "rounds (ABBA)"}
    return found


def load_comparison(name: str, options: Any, result: dict[str, Any], gate_on: str) -> dict[str, Any] | None:
    """A load gate's comparison with the baseline (None without a speed comparison)."""
    from evalharness.compare.delta import Comparison, judge_delta
    from evalharness.metrics.base import MetricValue

    versus = result.get("versus")
    if not versus or name not in versus["ratios"]:
        return None
    figures, value = versus["ratios"][name], versus["baseline_values"].get(name)
    if versus["baseline_invalid_reasons"]:  # the baseline's generator fell behind: no ratio to trust
        figures = {**figures, "ratio": None, "ratio_interval": None}
    delta = float("nan")  # the ratio over rounds is the measure; a difference of pooled values could disagree
    comparison = Comparison(
        MetricValue(float("nan") if value is None else value, figures.get("rounds", 0), None, figures["method"]),
        delta, None, figures["method"], figures["ratio"] if figures["ratio"] is not None else float("nan"),
        figures["ratio_interval"], "lower" if name in LOWER_IS_BETTER else "higher", None,
    )  # fmt: skip
    rounds = max(int(figures.get("rounds") or 1), 1)
    gates = [judge_delta(gate, limit, comparison, gate_on, rounds, "rounds")
             for gate, limit in getattr(options, "ratio_gates", {}).items()]  # fmt: skip
    if versus["baseline_invalid_reasons"]:
        why = "the baseline's load run is invalid: " + "; ".join(versus["baseline_invalid_reasons"])
        gates = [gate.__class__(gate.name, gate.limit, None, "error", why) for gate in gates]
    plain = Comparison(**{**comparison.__dict__, "gates": gates}).plain()
    plain["per_round"] = figures.get("per_round")
    return plain
