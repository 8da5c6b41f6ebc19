"""What a Locust master sends its workers: the plan without its folder, secrets as references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalharness.errors import TargetError
from evalharness.load.distributed import plan_for_workers, plan_from_master, save_record
from evalharness.targets.secrets import expand, references


def test_secrets_travel_as_references_and_expand_from_the_workers_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOAD_TOKEN_FOR_TEST", "s3cr3t-value-771")
    header = expand("Bearer ${env:LOAD_TOKEN_FOR_TEST}")
    plan = {"requests": [{"headers": {"Authorization": header}}], "out_dir": "/private/folder",
            "secret_references": references()}  # fmt: skip
    sent = plan_for_workers(plan)
    assert "s3cr3t-value-771" not in sent and "/private/folder" not in sent
    assert json.loads(sent)["requests"][0]["headers"]["Authorization"] == "Bearer ${env:LOAD_TOKEN_FOR_TEST}"
    assert plan_from_master(sent)["requests"][0]["headers"]["Authorization"] == "Bearer s3cr3t-value-771"
    monkeypatch.delenv("LOAD_TOKEN_FOR_TEST")
    with pytest.raises(TargetError, match="LOAD_TOKEN_FOR_TEST is not set"):
        plan_from_master(sent)


def test_records_are_written_whole_and_errors_apart(tmp_path: Path) -> None:
    written = save_record(tmp_path, {"worker_index": 1, "pid": 42, "counts": {"ok": 3}})
    failed = save_record(tmp_path, {"pid": 43, "error": "no plan"})
    assert written.name == "worker-1-42.json" and json.loads(written.read_text())["counts"] == {"ok": 3}
    assert failed.name == "worker-x-43-error.json"
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("master", ["10.0.0.5", "10.0.0.5:port", ":5557"])
def test_load_worker_wants_host_and_port(master: str, capsys: pytest.CaptureFixture[str]) -> None:
    from evalharness.cli import main

    assert main(["load-worker", master]) == 2
    assert "give the master as HOST:PORT" in capsys.readouterr().err
