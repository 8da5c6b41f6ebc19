"""A content-addressed JSON cache of endpoint answers, so an interrupted run can resume.

The key is the sha256 of the endpoint's identity as the suite writes it (``${env:NAME}`` left
unexpanded, so no secret enters a key), the request body and the decoding parameters. Each answer
is written to its own file as soon as it arrives, atomically, so a crash or ``kill -9`` loses
only the requests in flight (a resumed run removes the temporary files such a kill leaves).
Errors are never cached; everything is plain JSON, nothing pickled.

The cache never holds a secret: every string of an answer is redacted before it is written. It
never costs a run either: an entry of the wrong shape is treated as missing (asked again, then
overwritten), and a folder that cannot be written (read-only, full, not a folder) is reported
once and the run goes on without caching.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from evalharness.atomic import remove_abandoned
from evalharness.targets.secrets import redact, redact_value

CACHE_VERSION = 1
MAX_ENTRY_BYTES = 64 << 20
"""A larger file is not an answer this cache wrote: it is treated as missing, never read whole."""

log = logging.getLogger(__name__)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_json(value: Any) -> bool:
    """Whether ``value`` is made only of JSON types (what a label may be)."""
    if value is None or isinstance(value, (str, int, float)):
        return True
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item) for key, item in value.items())
    return False


def well_formed(answer: Any, rows: int) -> bool:
    """Whether a stored answer fits a request of ``rows`` rows: one JSON label per row, one score
    (a number or null) per row, raw texts null or one text (or null) per row, and timings null or
    one mapping of numbers per row."""
    if not isinstance(answer, dict):
        return False
    labels, scores, timings = answer.get("labels"), answer.get("scores"), answer.get("timings")
    if not (isinstance(labels, list) and len(labels) == rows and all(_is_json(label) for label in labels)):
        return False
    if not (isinstance(scores, list) and len(scores) == rows and all(s is None or _is_number(s) for s in scores)):
        return False
    raw = answer.get("raw")
    texts = isinstance(raw, list) and len(raw) == rows and all(r is None or isinstance(r, str) for r in raw)
    if raw is not None and not texts:
        return False
    if timings is None:
        return True
    return (
        isinstance(timings, list)
        and len(timings) == rows
        and all(isinstance(t, dict) and all(_is_number(v) for v in t.values()) for t in timings)
    )


class AnswerCache:
    """Answers by request key under ``directory/ab/abcdef....json``.

    ``owner`` names the suite in the one warning given when the folder cannot be written; after
    it, :attr:`problem` says why and nothing more is written.
    """

    def __init__(self, directory: Path, identity: dict[str, Any], owner: str = "") -> None:
        self.directory = directory
        self.identity = json.dumps(identity, sort_keys=True, default=str)
        self.owner = owner
        self.problem: str | None = None

    def key(self, payload: Any) -> str:
        """sha256 of the cache version, the endpoint identity and the request body."""
        text = json.dumps([CACHE_VERSION, self.identity, payload], sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, payload: Any, rows: int) -> dict[str, Any] | None:
        """The stored answer for this request of ``rows`` rows, or None: also for a file that is
        unreadable, not JSON, or of the wrong shape (so the request is asked again)."""
        try:
            answer = json.loads(_read_regular_file(self._path(self.key(payload))))
        except (OSError, ValueError):
            return None
        return answer if well_formed(answer, rows) else None

    def put(self, payload: Any, answer: dict[str, Any]) -> None:
        """Store a successful answer, redacted, atomically (a temporary file, then a rename).

        A folder that cannot be written is reported once (:meth:`_give_up`), never raised: the
        answers are still in hand, only the ability to resume is lost.
        """
        if self.problem is not None:
            return
        path = self._path(self.key(payload))
        partial = path.with_suffix(f".{os.getpid()}.partial")
        text = json.dumps(redact_value(answer))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(text, encoding="utf-8")
            partial.replace(path)
        except OSError as error:
            _remove_quietly(partial)
            self._give_up(error)

    def remove_abandoned(self) -> list[Path]:
        """Remove the temporary files of writers that died part-way (a run killed with ``kill -9``):
        :func:`~evalharness.atomic.remove_abandoned` over every shard. Returns those removed."""
        return remove_abandoned(self.directory.glob("*/*.partial"))

    def _give_up(self, error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        self.problem = redact(
            f"the answer cache {self.directory} cannot be written ({reason}); this run goes on without "
            "caching, so it cannot be resumed. Fix the folder (permissions, free space) or pass another "
            "one with --evalharness-cache DIR."
        )
        log.warning("%s%s", f"{self.owner}: " if self.owner else "", self.problem)


def _read_regular_file(path: Path) -> str:
    """The text of ``path`` if it is a regular file of sane size (a device such as /dev/zero in
    its place would never end); otherwise OSError."""
    with path.open("rb") as handle:
        facts = os.fstat(handle.fileno())
        if not stat.S_ISREG(facts.st_mode) or facts.st_size > MAX_ENTRY_BYTES:
            raise OSError(f"{path} is not a cache entry")
        return handle.read().decode("utf-8")


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
