"""Files replaced whole (evalharness.atomic): an error keeps the old file, leftovers of dead writers go."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalharness.atomic import STALE_AFTER_S, replacing, write_text


def test_an_error_while_writing_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    write_text(path, "old")
    with pytest.raises(RuntimeError), replacing(path) as out:
        out.write("half of the new")
        raise RuntimeError("the renderer broke")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_old_leftovers_are_removed_and_a_writer_at_work_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    # pid 1 (init) and this test's parent run: only age can make their files stale
    dead, busy = tmp_path / ".junit.xml.1.partial", tmp_path / f".junit.xml.{os.getppid()}.partial"
    other = tmp_path / ".run.json.1.partial"
    gone = tmp_path / f".junit.xml.{_finished_pid()}.partial"  # recent, but its writer is gone
    for leftover in (dead, busy, other, gone):
        leftover.write_text("<testsu")
    old = time.time() - 2 * STALE_AFTER_S
    for leftover in (dead, other):
        os.utime(leftover, (old, old))
    with replacing(path, "wb") as out:
        out.write(b"<testsuites/>")
    assert path.read_bytes() == b"<testsuites/>"
    assert not dead.exists() and not gone.exists()  # old, or its writer gone
    assert busy.exists() and other.exists()  # only this file's, and a live writer's recent one is kept


def _finished_pid() -> int:
    """The pid of a process that has ended."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(finished.stdout)
