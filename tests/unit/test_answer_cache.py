"""Endpoint answers are cached as plain JSON; a resumed run asks only for what is missing or failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evalharness.suite.schema import HttpTargetSpec
from evalharness.targets import TargetContext, create_target
from tests.builders import two_feature_frame
from tests.servers import SECRET, ServerState, loopback_server

pytest.importorskip("aiohttp")
BODY = '{"row_id": {{ row_id | tojson }}, "x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'


@pytest.fixture
def server() -> Iterator[tuple[str, ServerState]]:
    with loopback_server() as running:
        yield running


def _target(url: str, cache: Path, resume: bool, **spec: object):  # type: ignore[no-untyped-def]
    fields = {"kind": "http", "url": url, "body": BODY, "label": "output.label", "score": "output.probability"}
    context = TargetContext(Path("."), "row_id", ["x1", "x2"], cache, resume)
    return create_target(HttpTargetSpec.model_validate({**fields, **spec}), context)


def _files(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.json"))


def test_a_resumed_run_asks_only_for_missing_rows(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    frame = two_feature_frame(rows=30)
    first = _target(f"{url}/predict", tmp_path, resume=False).predict(frame)
    assert state.requests["predict"] == 30 and len(_files(tmp_path)) == 30
    for lost in _files(tmp_path)[:7]:  # as if the run had been killed before these answers arrived
        lost.unlink()
    again = _target(f"{url}/predict", tmp_path, resume=True).predict(frame)
    assert state.requests["predict"] == 30 + 7
    assert again.label.tolist() == first.label.tolist()
    assert again.score.tolist() == pytest.approx(first.score.tolist())


def test_errors_are_never_cached(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    frame = two_feature_frame(rows=12)
    failed = _target(f"{url}/flaky", tmp_path, resume=True, retries=0, max_error_rate=1.0)
    failed.predict(frame)
    assert failed.describe()["outcomes"] == {"http_error": 12} and _files(tmp_path) == []
    answered = _target(f"{url}/flaky", tmp_path, resume=True, retries=0)
    answered.predict(frame)
    assert answered.describe()["outcomes"] == {"ok": 12} and len(_files(tmp_path)) == 12
    assert set(state.attempts.values()) == {2}


def test_cache_keys_and_files_hold_no_secret(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    monkeypatch.setenv("EVALHARNESS_TEST_KEY", SECRET)
    headers = {"Authorization": "Bearer ${env:EVALHARNESS_TEST_KEY}"}
    _target(f"{url}/secured", tmp_path, resume=False, headers=headers).predict(two_feature_frame(rows=5))
    files = _files(tmp_path)
    assert len(files) == 5
    for path in files:
        assert SECRET not in path.name and SECRET not in path.read_text()


def test_a_resumed_run_removes_what_killed_writers_left_half_written(tmp_path: Path) -> None:
    """``kill -9`` between writing an answer's temporary file and renaming it leaves ``<key>.<pid>.partial``;
    resuming removes those of dead processes (and old ones), and keeps a live writer's recent one."""
    import os
    import subprocess
    import sys
    import time

    from evalharness.atomic import STALE_AFTER_S

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    shard = tmp_path / "ab"
    shard.mkdir()
    dead = shard / f"ab12.{dead_pid}.partial"
    live = shard / f"ab34.{os.getpid()}.partial"
    old = shard / f"ab56.{os.getpid()}.partial"
    for leftover in (dead, live, old):
        leftover.write_text('{"labels": [')
    long_ago = time.time() - 2 * STALE_AFTER_S
    os.utime(old, (long_ago, long_ago))
    _target("http://127.0.0.1:9/predict", tmp_path, resume=False)
    assert dead.exists()  # only a resumed run sweeps
    _target("http://127.0.0.1:9/predict", tmp_path, resume=True)
    assert not dead.exists() and not old.exists() and live.exists()
