"""Files replaced whole: a reader (or a run killed with ``kill -9`` part-way) sees the old file or the new
one, never half of one.

The text goes to a hidden temporary file beside the target (``.run.json.<pid>.partial``: never a
report's own name, and one per writing process, so two runs writing the same folder cannot mix
their bytes), is flushed to disk, then renamed over the target, which is atomic on one file system.
A writer killed part-way leaves its temporary file behind; the next write of the same file removes
those older than :data:`STALE_AFTER_S`.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

STALE_AFTER_S = 60.0
"""A temporary file this old was left by a writer that died: writing one file takes well under a second."""


def partial_path(path: Path) -> Path:
    """This process's temporary file for ``path``."""
    return path.with_name(f".{path.name}.{os.getpid()}.partial")


@contextmanager
def replacing(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file to write (``mode`` ``"w"``: UTF-8 text, ``"wb"``: bytes); when the block
    ends without an error, it replaces ``path`` whole. On an error it is removed and ``path`` is untouched."""
    partial = partial_path(path)
    try:
        text = "b" not in mode
        with partial.open(mode, encoding="utf-8" if text else None, newline="\n" if text else None) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())  # the new bytes are on disk before the name points at them
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    remove_stale(path)


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` whole with ``text`` (UTF-8)."""
    with replacing(path) as out:
        out.write(text)


def remove_stale(path: Path, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove temporary files for ``path`` left by writers that died (older than ``older_than_s``);
    returns those removed. Another process's file being written now is recent, and kept."""
    removed, now = [], time.time()
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.partial"):
        try:
            if now - stale.stat().st_mtime > older_than_s:
                stale.unlink()
                removed.append(stale)
        except OSError:  # removed meanwhile by another writer
            continue
    return removed
