"""Progress of long endpoint runs: a tqdm bar on the real terminal, shown only once a run is slow.

Under pytest, output is captured while a gate runs; :class:`TerminalStream` writes around the
capture (as pytest's own live logging does) and redacts secrets from every line it writes.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol

from evalharness.targets.secrets import redact

SHOW_AFTER_S = 2.0
"""A run shorter than this never draws a bar."""
LOG_EVERY_S = 15.0
"""How often a bar drawn into a log (not a terminal) writes a line."""


class TextSink(Protocol):
    """Where a bar is drawn: anything with ``write`` and ``flush``."""

    def write(self, text: str) -> int: ...

    def flush(self) -> None: ...


class TerminalStream:
    """Writes to the real stderr even while pytest captures output, with secrets redacted."""

    def __init__(self, capture_manager: Any) -> None:
        self.capture_manager = capture_manager

    def write(self, text: str) -> int:
        """Write ``text`` (redacted) to the terminal around pytest's capture."""
        with self.capture_manager.global_and_fixture_disabled():
            sys.stderr.write(redact(text))
            sys.stderr.flush()
        return len(text)

    def flush(self) -> None:
        """Every write is flushed already."""

    def isatty(self) -> bool:
        """Whether the real stderr is a terminal (redraws in place) or a log (a line now and then)."""
        return bool(sys.__stderr__ and sys.__stderr__.isatty())


class LogLines:
    """For a log rather than a terminal: tqdm's redrawn frames become whole lines, one every
    ``every_s`` seconds at most, plus the final frame, so a CI log gets a few readable lines."""

    def __init__(self, sink: TextSink, every_s: float = LOG_EVERY_S) -> None:
        self.sink, self.every_s = sink, every_s
        self.pending = ""
        self.last_written = float("-inf")

    def write(self, text: str) -> int:
        """Keep the latest frame; write it when due, and when the bar closes."""
        frame = text.strip("\r\n")
        if frame:
            self.pending = frame
        now = time.monotonic()
        if self.pending and ("\n" in text or now - self.last_written >= self.every_s):
            self.sink.write(self.pending + "\n")
            self.sink.flush()
            self.pending, self.last_written = "", now
        return len(text)

    def flush(self) -> None:
        """Frames are written by :meth:`write` when due."""


class NoProgress:
    """Stands in for a bar when there is nowhere to draw one."""

    def update(self, count: int = 1) -> None:
        """Nothing to draw."""

    def close(self) -> None:
        """Nothing to close."""


def progress_bar(sink: TextSink | None, total: int, label: str) -> Any:
    """A bar over ``total`` requests drawn on ``sink`` after :data:`SHOW_AFTER_S`; redrawn at most 10 times a
    second on a terminal, a line every :data:`LOG_EVERY_S` in a log. Without a sink (or tqdm), :class:`NoProgress`."""
    if sink is None:
        return NoProgress()
    try:
        from tqdm import tqdm
    except ImportError:
        return NoProgress()
    interactive = bool(getattr(sink, "isatty", lambda: False)())
    target = sink if interactive else LogLines(sink)
    return tqdm(total=total, desc=label, unit="req", file=target, delay=SHOW_AFTER_S, leave=True,
                mininterval=0.1 if interactive else 1.0, dynamic_ncols=interactive, ascii=not interactive)  # fmt: skip
