"""A content-addressed JSON cache of endpoint answers, so an interrupted run can resume.

The key is the sha256 of the endpoint's identity as the suite writes it (``${env:NAME}`` left
unexpanded, so no secret enters a key), the request body and the decoding parameters. Each answer
is written to its own file as soon as it arrives, atomically, so a crash or ``kill -9`` loses
only the requests in flight. Errors are never cached; everything is plain JSON, nothing pickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_VERSION = 1


class AnswerCache:
    """Answers by request key under ``directory/ab/abcdef....json``."""

    def __init__(self, directory: Path, identity: dict[str, Any]) -> None:
        self.directory = directory
        self.identity = json.dumps(identity, sort_keys=True, default=str)

    def key(self, payload: Any) -> str:
        """sha256 of the cache version, the endpoint identity and the request body."""
        text = json.dumps([CACHE_VERSION, self.identity, payload], sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, payload: Any) -> dict[str, Any] | None:
        """The stored answer for this request, or None (also for a damaged file)."""
        path = self._path(self.key(payload))
        try:
            return dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    def put(self, payload: Any, answer: dict[str, Any]) -> None:
        """Store a successful answer atomically (write a temporary file, then rename it)."""
        path = self._path(self.key(payload))
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(json.dumps(answer), encoding="utf-8")
        partial.replace(path)
