"""One progress line that leaves pytest's own progress line as it was.

In a terminal, the line is drawn on the row below pytest's (``suite.yaml ..``), redrawn in place,
and cleared when done, with the cursor put back where pytest left it: pytest then goes on writing
its dots and ``[100%]`` as if nothing had been drawn. In a log (CI), the line becomes a few whole
lines instead (see :class:`evalharness.progress.LogLines`), started on a line of their own.

The escape sequences are VT100's, which every terminal pytest colours also understands: index and
reverse index (``ESC D``, ``ESC M``) make room below, scrolling if pytest's line is the last row,
without moving the column; save and restore the cursor (``ESC 7``, ``ESC 8``); erase to the end of
the line (``ESC [K``).
"""

from __future__ import annotations

import time
from typing import Any

from evalharness.progress import LOG_EVERY_S, TextSink

OPEN = "\x1bD\x1bM\x1b7\n"
"""Make room for a row below (scrolling if need be), remember where pytest's line ends, go down."""
CLEAR = "\r\x1b[K"
RESTORE = "\x1b8"
REDRAW_EVERY_S = 0.1


def columns(sink: Any) -> int:
    """The terminal's width as the sink knows it (80 when it cannot tell)."""
    width = getattr(sink, "columns", lambda: 80)()
    return int(width) if width else 80


class TerminalLine:
    """A text sink for frames redrawn in place (each starting with ``\\r``) on a row of their own below
    pytest's line; :meth:`close` clears the row and puts the cursor back on pytest's line."""

    def __init__(self, sink: TextSink) -> None:
        self.sink = sink
        self.open = False
        self.restore = True

    def write(self, text: str) -> int:
        """Draw a frame (opening the row on the first one)."""
        if not self.open:
            self.sink.write(OPEN)
            self.open = True
        self.sink.write(text)
        return len(text)

    def flush(self) -> None:
        """Every write goes straight to the sink."""

    def note(self, text: str) -> None:
        """A message to keep, as a whole line; the frames go on below it. pytest's line can no longer be
        returned to (it is two rows up), so :meth:`close` then leaves the cursor on a fresh line."""
        self.write(CLEAR + text.rstrip("\n") + "\n")
        self.restore = False

    def close(self) -> None:
        """Clear the row and put the cursor back at the end of pytest's line (or at the start of the
        cleared row, after a note)."""
        if self.open:
            self.sink.write(CLEAR + (RESTORE if self.restore else ""))
            self.open = False


class PhaseLine:
    """What a long step is doing now (``load: measuring, 1,234 requests``): redrawn in place on a
    terminal, at most :data:`REDRAW_EVERY_S` apart; in a log, a whole line when the phase changes and
    at most one every ``every_s`` seconds while it stays the same."""

    def __init__(self, sink: TextSink, label: str, every_s: float = LOG_EVERY_S) -> None:
        self.sink, self.label, self.every_s = sink, label, every_s
        self.interactive = bool(getattr(sink, "isatty", lambda: False)())
        self.terminal = TerminalLine(sink) if self.interactive else None
        self.phase, self.text = "", ""
        self.written_at = float("-inf")
        self.started_line = False

    def show(self, phase: str, detail: str = "") -> None:
        """The current ``phase`` (a change is always written) and a ``detail`` that changes within it."""
        text = f"{self.label}: {phase}{', ' + detail if detail else ''}"
        now = time.monotonic()
        changed, self.phase = phase != self.phase, phase
        if text == self.text and not changed:
            return
        due = now - self.written_at >= (REDRAW_EVERY_S if self.interactive else self.every_s)
        if changed or due:
            self._write(text)
            self.written_at = now
        self.text = text

    def note(self, text: str) -> None:
        """A message to keep (a URL to scrape), on a whole line of its own."""
        if self.terminal is not None:
            self.terminal.note(text)
        else:
            self._line(text.rstrip("\n"))

    def close(self, final: str = "") -> None:
        """End the line: on a terminal it is cleared; in a log, ``final`` (if any) is the last line."""
        if self.terminal is not None:
            self.terminal.close()
        elif final:
            self._line(f"{self.label}: {final}")

    def _write(self, text: str) -> None:
        if self.terminal is not None:
            self.terminal.write("\r" + text[: columns(self.sink) - 1] + "\x1b[K")
        else:
            self._line(text)

    def _line(self, text: str) -> None:
        """A whole line in a log, the first started on a line of its own if pytest's has text."""
        if not self.started_line and getattr(self.sink, "line_started", lambda: False)():
            self.sink.write("\n")
        self.started_line = True
        self.sink.write(text + "\n")
        self.sink.flush()
