"""A finished run as Prometheus metrics: every gate's value, bounds, interval and verdict, the load
summary and each drift column's PSI, one registry per suite.

Every series carries ``suite``, ``model_sha256`` and ``git_commit`` (the Pushgateway's grouping key
too), so a dashboard can follow quality per build over time. Latencies are in seconds, as Prometheus
names them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from evalharness.monitoring.labels import label, run_id, target_label
from evalharness.record import GateRecord, RunRecord, SuiteRecord

STATUSES = ("passed", "failed", "error", "skipped", "info")
GROUP_LABELS = ("suite", "model_sha256", "git_commit")
QUANTILES = (("p50", "0.5"), ("p90", "0.9"), ("p95", "0.95"), ("p99", "0.99"), ("p999", "0.999"), ("max", "1"))
LOAD_GAUGES = (
    ("qps", "evalharness_load_qps", "Successful requests per second in the measured window."),
    ("qps_per_gpu", "evalharness_load_qps_per_gpu", "Successful requests per second per GPU serving the model."),
    ("qps_per_core", "evalharness_load_qps_per_core", "Successful requests per second per CPU core."),
    ("error_rate", "evalharness_load_error_rate", "Failed requests / sent requests."),
    ("goodput", "evalharness_load_goodput", "Requests within the SLO / sent requests."),
    ("cold_start_s", "evalharness_load_cold_start_seconds", "Median cold start: spawn to first valid answer."),
    ("cpu_ms_per_request", "evalharness_load_cpu_seconds_per_request",
     "CPU seconds of the serving processes per request."),
    ("rss_mib", "evalharness_load_rss_bytes", "Peak resident memory of the serving processes."),
)  # fmt: skip
"""(load value, metric name, help) for each load number exported as a gauge; units converted below."""
SCALE = {"cpu_ms_per_request": 1e-3, "rss_mib": 2**20}


@dataclass(frozen=True)
class SuiteMetrics:
    """One suite's registry and the labels that group it (the Pushgateway's grouping key)."""

    group: dict[str, str]
    registry: Any


def group_labels(suite: SuiteRecord, record: RunRecord) -> dict[str, str]:
    """suite, model sha256 and git commit: the identity of one suite on one build."""
    return {"suite": label(suite.name), "model_sha256": label(suite.target.get("sha256") or "none"),
            "git_commit": label(record.environment.get("git_commit") or "unknown")}  # fmt: skip


class _Builder:
    """Gauges of one registry, created on first use, each with the group labels first."""

    def __init__(self, group: dict[str, str]) -> None:
        from prometheus_client import CollectorRegistry

        self.registry = CollectorRegistry(auto_describe=True)
        self.group = group
        self._gauges: dict[str, Any] = {}

    def set(self, name: str, help_text: str, value: float | None, **labels: str) -> None:
        """Set ``name{group labels, labels}`` to ``value`` (nothing for None or a value that is not finite)."""
        from prometheus_client import Gauge

        if value is None or not math.isfinite(float(value)):
            return
        if name not in self._gauges:
            self._gauges[name] = Gauge(name, help_text, [*GROUP_LABELS, *labels], registry=self.registry)
        self._gauges[name].labels(**self.group, **{key: label(v) for key, v in labels.items()}).set(float(value))


def _timestamp(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _run_metrics(builder: _Builder, record: RunRecord, suite: SuiteRecord) -> None:
    finished = _timestamp(record.finished_at)
    builder.set("evalharness_run_info", "The run that wrote these metrics (value 1).", 1.0,
                run_id=run_id(record.started_at), status=record.status, target=target_label(suite.target),
                evalharness_version=record.evalharness_version)  # fmt: skip
    builder.set("evalharness_run_finished_timestamp_seconds", "When the run finished (Unix time).", finished)
    builder.set("evalharness_run_duration_seconds", "How long the whole run took.", record.duration_s)
    builder.set("evalharness_suite_rows", "Rows the suite evaluated.", suite.rows)


def _gate_metrics(builder: _Builder, gate: GateRecord) -> None:
    names = {"gate": gate.name, "metric": gate.metric}
    builder.set("evalharness_gate_value", "The gate's measured value.", gate.value, **names)
    builder.set("evalharness_gate_min", "The gate's lower threshold.", gate.min, **names)
    builder.set("evalharness_gate_max", "The gate's upper threshold.", gate.max, **names)
    low, high = gate.interval or (None, None)
    builder.set("evalharness_gate_interval_low", "Lower end of the value's confidence interval.", low, **names)
    builder.set("evalharness_gate_interval_high", "Upper end of the value's confidence interval.", high, **names)
    builder.set("evalharness_gate_rows", "Rows (or requests) behind the value.", gate.n, **names)
    for status in STATUSES:
        builder.set("evalharness_gate_status", "1 for the gate's verdict, 0 for the others.",
                    float(gate.status == status), **names, status=status)  # fmt: skip
    comparison = gate.comparison or {}
    baseline = (comparison.get("baseline") or {}).get("value")
    builder.set("evalharness_gate_baseline_value", "The baseline's value of the gate.", baseline, **names)
    builder.set("evalharness_gate_delta", "This build's value minus the baseline's.", comparison.get("delta"), **names)
    builder.set("evalharness_gate_ratio", "This build's value / the baseline's.", comparison.get("ratio"), **names)
    for column in gate.details.get("columns") or [] if isinstance(gate.details, dict) else []:
        if isinstance(column, dict) and "psi" in column:
            builder.set("evalharness_drift_psi", "Population stability index of one column.", column.get("psi"),
                        gate=gate.name, column=str(column.get("column")))  # fmt: skip


def _load_metrics(builder: _Builder, load: dict[str, Any]) -> None:
    latency = load.get("latency_ms") or {}
    for key, quantile in QUANTILES:
        value = latency.get(key)
        builder.set("evalharness_load_latency_seconds", "Request latency of the measured window, by quantile "
                    "(HdrHistogram).", None if value is None else value / 1000, quantile=quantile)  # fmt: skip
    lag = (load.get("send_lag_ms") or {}).get("p99")
    builder.set("evalharness_load_send_lag_p99_seconds", "p99 of actual minus scheduled send (open loop).",
                None if lag is None else lag / 1000)  # fmt: skip
    values = load.get("values") or _gate_values(load)
    for key, name, help_text in LOAD_GAUGES:
        value = values.get(key, load.get(key))
        builder.set(name, help_text, None if value is None else float(value) * SCALE.get(key, 1.0))
    for outcome, count in (load.get("requests") or {}).items():
        builder.set("evalharness_load_requests", "Requests of the measured window by outcome.", count, outcome=outcome)
    builder.set("evalharness_load_valid", "1 when the load generator kept up, else 0.", float(bool(load.get("valid"))))


def _gate_values(load: dict[str, Any]) -> dict[str, Any]:
    """Every load gate's value, recomputed from the load result as run.json keeps it (without ``values``)."""
    from evalharness.load.summary import gate_values

    try:
        return gate_values(load)
    except (KeyError, TypeError, ZeroDivisionError):  # a partial result (a run that failed part-way)
        return {}


def suite_metrics(record: RunRecord) -> list[SuiteMetrics]:
    """One registry per suite with every number of the run that a dashboard or an alert reads."""
    built = []
    for suite in record.suites:
        builder = _Builder(group_labels(suite, record))
        _run_metrics(builder, record, suite)
        for gate in suite.gates:
            _gate_metrics(builder, gate)
        if suite.load:
            _load_metrics(builder, suite.load)
        built.append(SuiteMetrics(builder.group, builder.registry))
    return built


def exposition(record: RunRecord) -> str:
    """Every suite's metrics in the Prometheus text format, each metric family once."""
    from prometheus_client import CollectorRegistry, generate_latest

    combined = CollectorRegistry(auto_describe=True)
    families: dict[str, Any] = {}
    for suite in suite_metrics(record):
        for family in suite.registry.collect():
            if family.name in families:
                families[family.name].samples.extend(family.samples)
            else:
                families[family.name] = family
    combined.register(_Families(list(families.values())))
    return generate_latest(combined).decode("utf-8")


class _Families:
    """A collector that yields metric families already gathered (one per name across suites)."""

    def __init__(self, families: list[Any]) -> None:
        self.families = families

    def collect(self) -> list[Any]:
        """The gathered families."""
        return self.families
