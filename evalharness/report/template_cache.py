"""Compiled report templates kept between runs.

Jinja compiles every template the first time a process loads it: for the HTML report that is about
0.35 s, a fifth of a 6,000-row suite's whole process. A bytecode cache keeps the compiled code in
Jinja's own per-user folder in the temp directory (made with mode 0700 and checked to belong to the
user, so no one else can plant code in it). Jinja keys each entry by the template's name and its
source's checksum; the file name adds the environment's kind and options, because the compiled code
depends on them (``trim_blocks``, ``finalize``...), so two environments never share an entry and a
changed option never reads an old one. A cache that cannot be read or written is no cache: the
template is compiled as before. ``EVALHARNESS_TEMPLATE_CACHE=0`` turns it off.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any


def bytecode_cache(kind: str, options: dict[str, Any]) -> Any | None:
    """A Jinja bytecode cache for the environment ``kind`` built with ``options``; None when turned off
    or when no private cache folder can be made."""
    if os.environ.get("EVALHARNESS_TEMPLATE_CACHE", "1").strip() == "0":
        return None
    import jinja2

    class _ForgivingCache(jinja2.FileSystemBytecodeCache):
        """A cache whose read and write failures only cost the compile they would have saved."""

        def load_bytecode(self, bucket: Any) -> None:
            try:
                super().load_bytecode(bucket)
            except (OSError, ValueError, EOFError, TypeError):  # unreadable or corrupt: compiled afresh
                bucket.reset()

        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:  # a full or read-only disk: the next run compiles again
                pass

    try:
        return _ForgivingCache(pattern=f"evalharness-{kind}-{options_digest(options)}-%s.cache")
    except (OSError, RuntimeError):  # no temp folder, or Jinja's folder is not ours alone
        return None


def options_digest(options: dict[str, Any]) -> str:
    """A short digest of an environment's options and Jinja's version (functions by their qualified names)."""
    import jinja2

    def named(value: Any) -> str:
        if callable(value):
            return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', type(value).__name__)}"
        return repr(value)

    text = "|".join([jinja2.__version__, *(f"{key}={named(value)}" for key, value in sorted(options.items()))])
    return hashlib.sha256(text.encode()).hexdigest()[:16]
