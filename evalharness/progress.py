"""Progress of long endpoint runs: a tqdm bar on the real terminal, shown only once a run is slow.

Under pytest, output is captured while a gate runs; :class:`TerminalStream` writes around the
capture (as pytest's own live logging does) and redacts secrets from every line it writes.
"""

from __future__ import annotations

import os
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
    """Writes to the real stderr even while pytest captures output, with secrets redacted.

    ``terminal_writer`` (pytest's, from ``config.get_terminal_writer()``) tells where pytest's own
    progress line stands, so that whole lines written into a log start on a line of their own."""

    def __init__(self, capture_manager: Any, terminal_writer: Any = None) -> None:
        self.capture_manager = capture_manager
        self.terminal_writer = terminal_writer
        self._own_line_ended_at: int | None = None  # pytest's line width when our last line ended

    def write(self, text: str) -> int:
        """Write ``text`` (redacted) to the terminal around pytest's capture."""
        with self.capture_manager.global_and_fixture_disabled():
            sys.stderr.write(redact(text))
            sys.stderr.flush()
        if text.endswith("\n"):
            self._own_line_ended_at = self._pytest_width()
        return len(text)

    def flush(self) -> None:
        """Every write is flushed already."""

    def isatty(self) -> bool:
        """Whether the real stderr is a terminal (redraws in place) or a log (a line now and then).

        Asked with pytest's capture suspended: while a test runs, file descriptor 2 is a temporary file."""
        with self.capture_manager.global_and_fixture_disabled():
            return bool(sys.stderr.isatty())

    def columns(self) -> int:
        """The real terminal's width (80 when it has none)."""
        with self.capture_manager.global_and_fixture_disabled():
            try:
                width = os.get_terminal_size(sys.stderr.fileno()).columns
            except (OSError, ValueError):
                width = 0
        return width or int(os.environ.get("COLUMNS", "") or 80)  # a pseudo-terminal may report 0

    def line_started(self) -> bool:
        """Whether pytest has written part of a line (``suite.yaml ..``) since our last whole line."""
        width = self._pytest_width()
        return width > 0 and width != self._own_line_ended_at

    def _pytest_width(self) -> int:
        return int(getattr(self.terminal_writer, "width_of_current_line", 0) or 0)


class LogLines:
    """For a log rather than a terminal: tqdm's redrawn frames become whole lines, one every
    ``every_s`` seconds at most, plus the final frame, so a CI log gets a few readable lines."""

    def __init__(self, sink: TextSink, every_s: float = LOG_EVERY_S) -> None:
        self.sink, self.every_s = sink, every_s
        self.pending = ""
        self.last_written = float("-inf")
        self.started_line = False

    def write(self, text: str) -> int:
        """Keep the latest frame; write it when due, and when the bar closes."""
        frame = text.strip("\r\n")
        if frame:
            self.pending = frame
        now = time.monotonic()
        if self.pending and ("\n" in text or now - self.last_written >= self.every_s):
            if not self.started_line and getattr(self.sink, "line_started", lambda: False)():
                self.sink.write("\n")  # pytest's "suite.yaml " stays whole, and ours too
            self.started_line = True
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


class Bar:
    """A tqdm bar and the line it is drawn on: closing the bar also clears a terminal's line."""

    def __init__(self, bar: Any, line: Any) -> None:
        self.bar, self.line = bar, line

    def update(self, count: int = 1) -> None:
        """``count`` more requests done."""
        self.bar.update(count)

    def close(self) -> None:
        """Close the bar; on a terminal its row is cleared and pytest's line left as it was."""
        self.bar.close()
        if hasattr(self.line, "close"):
            self.line.close()


def progress_bar(sink: TextSink | None, total: int, label: str) -> Any:
    """A bar over ``total`` requests drawn on ``sink`` after :data:`SHOW_AFTER_S`. On a terminal it is
    redrawn at most 10 times a second on a row below pytest's line, and cleared when done (see
    :mod:`evalharness.progress_line`); in a log it is a line every :data:`LOG_EVERY_S` and a last one.
    Without a sink (or tqdm), :class:`NoProgress`."""
    if sink is None:
        return NoProgress()
    try:
        from tqdm import tqdm
    except ImportError:
        return NoProgress()
    from evalharness.progress_line import TerminalLine

    interactive = bool(getattr(sink, "isatty", lambda: False)())
    line = TerminalLine(sink) if interactive else LogLines(sink)
    ncols = getattr(sink, "columns", lambda: 81)() - 1 if interactive else None  # the last column wraps on some
    bar = tqdm(total=total, desc=label, unit="req", file=line, delay=SHOW_AFTER_S, leave=not interactive,
               mininterval=0.1 if interactive else 1.0, ncols=ncols, ascii=not interactive)  # fmt: skip
    return Bar(bar, line)
