"""A finished run as Prometheus metrics: read back with prometheus_client's own parser and checked
against the record, label by label; secrets and control characters never reach a label."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from evalharness.monitoring.batch import exposition, suite_metrics  # noqa: E402
from evalharness.monitoring.labels import run_id, target_label  # noqa: E402
from evalharness.record import GateRecord, RunRecord, SuiteRecord, summarise  # noqa: E402
from tests.unit.test_load_figures import load_section  # noqa: E402

SHA = "ab" * 32


def _record(suite_name: str = "fraud", target: dict[str, Any] | None = None) -> RunRecord:
    drift = GateRecord(
        name="drift",
        nodeid="s::drift",
        metric="drift",
        status="failed",
        value=0.31,
        max=0.2,
        n=500,
        details={"columns": [{"column": "amount", "psi": 0.31}, {"column": "hour", "psi": 0.02}]},
    )
    gates = [
        GateRecord(name="accuracy", nodeid="s::accuracy", metric="accuracy", status="passed", value=0.9538, min=0.92,
                   interval=(0.9482, 0.9589), n=6000,
                   comparison={"baseline": {"value": 0.954}, "delta": -0.0002, "ratio": 0.9998}),
        drift,
        GateRecord(name="load::p99_ms", nodeid="s::load::p99_ms", metric="p99_ms", status="error", value=None),
    ]  # fmt: skip
    suite = SuiteRecord(name=suite_name, path="s.yaml", sha256="0" * 64, gates=gates, rows=6000,
                        target=target or {"kind": "onnx", "path": "models/fraud.onnx", "sha256": SHA},
                        load=load_section())  # fmt: skip
    summary, status = summarise([suite])
    return RunRecord(evalharness_version="0.1.0", status=status, started_at="2026-11-29T08:00:00+00:00",
                     finished_at="2026-11-29T08:01:00+00:00", duration_s=60.0, summary=summary, suites=[suite],
                     environment={"git_commit": "c0ffee"})  # fmt: skip


def _samples(text: str) -> dict[str, list[Any]]:
    families = {family.name: family.samples for family in text_string_to_metric_families(text)}
    return families


def _value(samples: list[Any], **labels: str) -> float:
    (match,) = [s for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]
    return float(match.value)


def test_every_gate_is_a_series_grouped_by_suite_model_and_commit() -> None:
    families = _samples(exposition(_record()))
    values = families["evalharness_gate_value"]
    assert {s.labels["gate"] for s in values} == {"accuracy", "drift"}  # the error has no value to export
    for sample in values:
        assert (sample.labels["suite"], sample.labels["model_sha256"], sample.labels["git_commit"]) == (
            "fraud",
            SHA,
            "c0ffee",
        )
    assert _value(values, gate="accuracy") == 0.9538
    assert _value(families["evalharness_gate_min"], gate="accuracy") == 0.92
    assert _value(families["evalharness_gate_max"], gate="drift") == 0.2
    assert _value(families["evalharness_gate_interval_low"], gate="accuracy") == 0.9482
    assert _value(families["evalharness_gate_rows"], gate="accuracy") == 6000
    assert _value(families["evalharness_gate_baseline_value"], gate="accuracy") == 0.954
    assert _value(families["evalharness_gate_delta"], gate="accuracy") == -0.0002
    statuses = [s for s in families["evalharness_gate_status"] if s.labels["gate"] == "load::p99_ms"]
    assert {s.labels["status"]: s.value for s in statuses} == {"passed": 0, "failed": 0, "error": 1, "skipped": 0,
                                                               "info": 0}  # fmt: skip


def test_drift_per_column_and_the_load_summary_in_prometheus_units() -> None:
    families = _samples(exposition(_record()))
    assert _value(families["evalharness_drift_psi"], column="amount") == 0.31
    assert _value(families["evalharness_drift_psi"], column="hour") == 0.02
    latency = families["evalharness_load_latency_seconds"]
    assert _value(latency, quantile="0.99") == pytest.approx(0.004) and _value(latency, quantile="1") == 0.25
    assert _value(families["evalharness_load_qps"], suite="fraud") == 99.7
    assert _value(families["evalharness_load_requests"], outcome="http_error") == 1
    assert _value(families["evalharness_load_valid"], suite="fraud") == 1
    info = families["evalharness_run_info"][0].labels
    assert info["target"] == "onnx:models/fraud.onnx" and info["status"] == "failed"


def test_suites_of_one_run_share_each_metric_family_once() -> None:
    record = _record()
    second = record.suites[0].model_copy(update={"name": "other"})
    record.suites.append(second)
    text = exposition(record)
    assert text.count("# TYPE evalharness_gate_value gauge") == 1
    assert {s.labels["suite"] for s in _samples(text)["evalharness_gate_value"]} == {"fraud", "other"}
    assert [suite.group["suite"] for suite in suite_metrics(record)] == ["fraud", "other"]


def test_secrets_and_control_characters_never_reach_a_label(monkeypatch: pytest.MonkeyPatch) -> None:
    from evalharness.targets.secrets import expand

    monkeypatch.setenv("EH_TEST_TOKEN", "sk-live-0123456789abcdef")
    secret = expand("${env:EH_TEST_TOKEN}")
    target = {"kind": "http", "url": f"https://user:{secret}@api.example.com:8443/v1/predict?key={secret}"}
    text = exposition(_record(suite_name=f"fraud {secret}\n# HELP injected", target=target))
    assert secret not in text and "sk-live" not in text
    assert "\n# HELP injected" not in text  # the newline became an escape, not a new exposition line
    info = _samples(text)["evalharness_run_info"][0].labels
    assert info["target"] == "https://api.example.com:8443/v1/predict"  # user, password and query left out
    assert info["suite"].startswith("fraud ***")
    assert target_label({"kind": "torch"}) == "torch:"


def test_the_run_id_comes_from_the_ci_system(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GITHUB_RUN_ID", "BUILD_TAG", "CI_PIPELINE_ID", "BUILD_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    assert run_id("2026-11-29T08:00:00+00:00") == "2026-11-29T08:00:00+00:00"
    monkeypatch.setenv("BUILD_TAG", "jenkins-fraud-42")
    assert run_id("t") == "jenkins-fraud-42"
    monkeypatch.setenv("GITHUB_RUN_ID", "9001")
    assert run_id("t") == "9001"


def test_every_metric_the_readme_names_is_exported() -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Monitoring") : readme.index("**Live, during a load run.**")]
    named = set()
    for row in re.findall(r"^\| (`evalharness_.*?) \|", section, flags=re.MULTILINE):
        names = re.findall(r"`(_?[a-z0-9_]+)`", row)
        prefix = "_".join(names[0].split("_")[:2])  # `_min` after `evalharness_gate_value`: evalharness_gate_min
        named |= {name if name.startswith("evalharness_") else prefix + name for name in names}
    record = _record()
    load = record.suites[0].load
    load["values"] = {"qps_per_gpu": 49.85, "qps_per_core": 49.85, "error_rate": 0.0033, "goodput": 0.99,
                      "cold_start_s": 1.5, "cpu_ms_per_request": 0.4, "rss_mib": 120.0}  # fmt: skip
    load["send_lag_ms"] = {"p99": 0.3}
    exported = set(_samples(exposition(record)))
    assert len(named) >= 25 and named <= exported, named - exported
    assert _value(_samples(exposition(record))["evalharness_load_rss_bytes"], suite="fraud") == 120 * 2**20
