"""Files replaced whole: a reader (or a run killed with ``kill -9`` part-way) sees the old file or the new
one, never half of one.

The text goes to a hidden temporary file beside the target (``.run.json.<pid>.partial``: never a
report's own name, and one per writing process, so two runs writing the same folder cannot mix
their bytes), is flushed to disk, then renamed over the target, which is atomic on one file system.
A writer killed part-way leaves its temporary file behind; the next write of the same file removes
it once its process is gone, or once it is older than :data:`STALE_AFTER_S`.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterable, Iterator
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
    """Remove the temporary files for ``path`` that writers which died left (:func:`remove_abandoned`)."""
    return remove_abandoned(path.parent.glob(f".{glob.escape(path.name)}.*.partial"), older_than_s)


def remove_abandoned(partials: Iterable[Path], older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove those of ``partials`` (``<name>.<pid>.partial``) whose writing process is gone, or that are
    older than ``older_than_s``; returns those removed. A live writer's recent file is kept: it may be
    renaming it now. The age is the file's own (``lstat``), a link's too."""
    removed, now = [], time.time()
    for partial in partials:
        try:
            if not _writer_alive(partial) or now - partial.lstat().st_mtime > older_than_s:
                partial.unlink()
                removed.append(partial)
        except OSError:  # removed meanwhile by another writer, or not ours to remove
            continue
    return removed


def _writer_alive(partial: Path) -> bool:
    """Whether the process named in ``<name>.<pid>.partial`` still runs (a name without a pid: no)."""
    pid = partial.name.rsplit(".", 2)[-2] if partial.name.count(".") >= 2 else ""
    if not pid.isdigit() or int(pid) <= 0:
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    except (OverflowError, OSError):
        return False
    return True
