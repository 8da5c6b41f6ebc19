"""A broken answer cache never costs a run: an entry of the wrong shape is asked again and
overwritten; a folder that cannot be written (read-only, not a folder, full) gives one warning and
the run goes on without caching, with its gate table and reports as usual.

A full disk is real: a tiny tmpfs when this runs as root and may mount, else the cache's files
are links to /dev/full, which answers every write with ENOSPC. Read-only is chmod 0o500, or a
read-only tmpfs as root (where chmod does not stop writes).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from evalharness.suite.schema import HttpTargetSpec
from evalharness.targets import TargetContext, create_target
from tests.builders import two_feature_frame, write_suite
from tests.servers import ServerState, loopback_server

pytest.importorskip("aiohttp")
BODY = '{"row_id": {{ row_id | tojson }}, "x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'
FAULTS = ["read-only", "not-a-folder", "full-tmpfs", "full-dev-full"]
WARNING = "cannot be written"


@pytest.fixture
def server() -> Iterator[tuple[str, ServerState]]:
    with loopback_server() as running:
        yield running


def _target(url: str, cache: Path | None, resume: bool = False) -> Any:
    fields = {"kind": "http", "url": f"{url}/predict", "body": BODY, "label": "output.label",
              "score": "output.probability"}  # fmt: skip
    context = TargetContext(Path("."), "row_id", ["x1", "x2"], cache, resume, name="suite.yaml")
    return create_target(HttpTargetSpec.model_validate(fields), context)


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.json"))


def _mount_tmpfs(folder: Path, options: str) -> bool:
    """Mount a tmpfs on ``folder``; False when this process may not (not root, or no mount here)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)]
    return subprocess.run(command, capture_output=True).returncode == 0


def _writes_are_refused(folder: Path) -> bool:
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return True
    (folder / "probe").unlink()
    return False


@contextmanager
def faulty_cache(kind: str, folder: Path, keys: list[str]) -> Iterator[Path]:
    """A cache folder that cannot be written, as ``kind`` says; ``keys`` are the request keys a run
    will write (the /dev/full links are made at the temporary file of each, named by this pid)."""
    cache, mounted = folder / "cache", None
    try:
        if kind == "read-only":
            cache.mkdir()
            cache.chmod(0o500)
            if not _writes_are_refused(cache):  # root: chmod does not stop it, a read-only mount does
                cache.chmod(0o700)
                if not _mount_tmpfs(cache, "ro,size=64k"):
                    pytest.skip("as root, chmod does not stop writes and mount is not permitted here")
                mounted = cache
        elif kind == "not-a-folder":
            (folder / "file").write_text("a regular file where the cache's parent folder should be")
            cache = folder / "file" / "cache"
        elif kind == "full-tmpfs":
            if not _mount_tmpfs(folder / "disk", "size=64k"):
                pytest.skip("a full tmpfs needs root and mount (full-dev-full covers ENOSPC)")
            mounted, cache = folder / "disk", folder / "disk" / "cache"
            _fill(folder / "disk" / "filler")
        else:
            for key in keys:
                (cache / key[:2]).mkdir(parents=True, exist_ok=True)
                (cache / key[:2] / f"{key}.{os.getpid()}.partial").symlink_to("/dev/full")
        yield cache
    finally:
        if mounted is not None:
            subprocess.run(["umount", str(mounted)], check=True)
        if cache.is_dir():
            cache.chmod(0o700)


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until the file system is full."""
    with pytest.raises(OSError) as full, path.open("wb") as handle:
        for _ in range(1024):
            handle.write(b"\0" * 4096)
            handle.flush()
    assert full.value.errno == errno.ENOSPC


def _learn_keys(url: str, folder: Path, rows: int) -> list[str]:
    """The request keys of ``rows`` rows, as file names of a cache written once."""
    _target(url, folder).predict(two_feature_frame(rows))
    return [path.stem for path in _entries(folder)]


@pytest.mark.parametrize(
    "stored",
    [{"labels": []}, {"labels": [1, 0], "scores": [0.5, 0.5]}, "a string", [], None,
     {"labels": [1], "scores": []}, {"labels": [1], "scores": ["0.5"]},
     {"labels": [1], "scores": [0.5], "timings": [{"ttft_s": "soon"}]},
     {"labels": [1], "scores": [0.5], "timings": []}],
    ids=["no-label", "two-labels", "string", "list", "null", "no-score", "text-score", "text-timing", "no-timing"],
)  # fmt: skip
def test_an_entry_of_the_wrong_shape_is_asked_again_and_overwritten(server, tmp_path: Path, stored: Any) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    frame = two_feature_frame(rows=20)
    first = _target(url, tmp_path).predict(frame)
    good = {path: path.read_text() for path in _entries(tmp_path)}
    damaged = sorted(good)[:3]
    for path in damaged:
        path.write_text(json.dumps(stored))
    again = _target(url, tmp_path, resume=True).predict(frame)
    assert state.requests["predict"] == 20 + 3  # only the damaged entries are asked again
    assert again.label.tolist() == first.label.tolist()
    assert again.score.tolist() == pytest.approx(first.score.tolist())
    for path in damaged:
        assert json.loads(path.read_text()) == json.loads(good[path])


@pytest.mark.parametrize("kind", FAULTS)
def test_a_cache_that_cannot_be_written_warns_once_and_answers_every_row(  # type: ignore[no-untyped-def]
    server, tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    url, state = server
    frame = two_feature_frame(rows=30)
    keys = _learn_keys(url, tmp_path / "learned", 30)
    expected = _target(url, None).predict(frame)
    with faulty_cache(kind, tmp_path, keys) as cache, caplog.at_level(logging.WARNING):
        target = _target(url, cache, resume=True)
        output = target.predict(frame)
        target.predict(frame)  # a second prediction (as for a perturbed copy) warns no more
    warnings = [record for record in caplog.records if WARNING in record.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert warnings[0].getMessage().startswith("suite.yaml: the answer cache")
    assert output.label.tolist() == expected.label.tolist()
    assert target.describe()["outcomes"] == {"ok": 30}
    assert WARNING in target.describe()["cache_warning"]
    assert state.requests["predict"] == 30 * 4
    assert not list(tmp_path.rglob("*.partial")) or kind == "full-dev-full"  # links not yet written to stay


def _suite(folder: Path, url: str, rows: int) -> None:
    two_feature_frame(rows).to_csv(folder / "data.csv", index=False)
    target = f"{{kind: http, url: '{url}/predict', body: '{BODY}', label: output.label, score: output.probability}}"
    write_suite(folder, "accuracy: {min: 0.8}", target=target)


def _run(pytester: pytest.Pytester, *options: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("--evalharness", "suite.yaml", "--evalharness-report-dir=reports",
                                        "-o", "log_cli=true", "--log-cli-level=WARNING", *options)  # fmt: skip


@pytest.mark.parametrize("kind", FAULTS)
def test_a_run_with_a_cache_that_cannot_be_written_gates_and_reports_as_usual(  # type: ignore[no-untyped-def]
    server, pytester: pytest.Pytester, kind: str
) -> None:
    url, _ = server
    _suite(pytester.path, url, rows=60)
    keys = _learn_keys(url, pytester.path / "learned", 60)
    plain = _run(pytester)
    with faulty_cache(kind, pytester.path, keys) as cache:
        result = _run(pytester, f"--evalharness-cache={cache}", "--evalharness-resume", "--log-file=run.log")
    assert plain.ret == result.ret == 0
    stdout = result.stdout.str()
    assert stdout.count(WARNING) == 2, stdout  # once as it happened (live log), once under the gate table
    assert (pytester.path / "run.log").read_text().count(WARNING) == 1
    assert "evalharness gates" in stdout and "PASSED" in stdout.split("evalharness gates")[1]
    assert "Task exception was never retrieved" not in stdout + result.stderr.str()
    record = json.loads((pytester.path / "reports" / "run.json").read_text())
    assert WARNING in record["suites"][0]["target"]["cache_warning"]
    assert {"junit.xml", "report.html"} <= {path.name for path in (pytester.path / "reports").iterdir()}
