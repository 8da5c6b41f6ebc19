"""Precise waits for the open-loop schedule, inside a gevent process.

gevent's own timers (libev) wake up to a millisecond or more late: the loop waits at least 1 ms
and rounds ``epoll_wait``'s timeout up to whole milliseconds, which measured 0.55 to 0.77 ms of
median send lag at 100 requests/s. Here the wait is a Linux ``timerfd`` armed at the absolute due
time on ``CLOCK_MONOTONIC`` (``time.perf_counter``'s clock), waited on as a file descriptor by
the gevent loop, so other greenlets run meanwhile and the wake-up is the kernel's hrtimer's. The
last ``spin_s`` before the due time is spun, which takes the machine's wake-up latency (about
0.15 ms on a small VM) out of the send time. Elsewhere, or if the call fails, gevent's sleep is
used.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from typing import Any

import gevent
from gevent.socket import wait_read

CLOCK_MONOTONIC, TFD_TIMER_ABSTIME = 1, 1
DEFAULT_SPIN_S = 0.0002
SPIN_SHARE = 0.05
"""The most of a core the spinning may take: at high rates the spin shrinks (the loop is awake anyway)."""


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def spin_for_rate(rate: float) -> float:
    """The spin before each send for ``rate`` sends a second: 0.2 ms, less where that would take more
    than 5 % of a core (at 3000 a second it measured 51 % of a core unspun against 67 % spun 0.2 ms)."""
    return min(DEFAULT_SPIN_S, SPIN_SHARE / rate) if rate > 0 else DEFAULT_SPIN_S


class PreciseTimer:
    """Waits until a ``time.perf_counter`` instant, yielding to other greenlets while it waits."""

    def __init__(self, spin_s: float = DEFAULT_SPIN_S) -> None:
        self.spin_s = spin_s
        self.fd = -1
        self._settime: Any = None
        if sys.platform.startswith("linux"):
            self._open_timerfd()

    @property
    def kernel(self) -> bool:
        """Whether waits use the kernel timer (else gevent's)."""
        return self.fd >= 0

    def _open_timerfd(self) -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.timerfd_create(CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return
        if fd >= 0:
            self.fd, self._settime = fd, libc.timerfd_settime

    def sleep_until(self, due: float) -> None:
        """Return at ``due`` (or at once if it has passed), having let other greenlets run."""
        wake = due - self.spin_s
        if wake > time.perf_counter():
            self._wait(wake)
        else:
            gevent.sleep(0)
        while time.perf_counter() < due:
            pass

    def _wait(self, wake: float) -> None:
        if not self.kernel or not self._arm(wake):
            gevent.sleep(max(wake - time.perf_counter(), 0.0))
            return
        wait_read(self.fd)
        try:
            os.read(self.fd, 8)
        except BlockingIOError:
            pass

    def _arm(self, wake: float) -> bool:
        seconds = int(wake)
        value = _Itimerspec(_Timespec(0, 0), _Timespec(seconds, int((wake - seconds) * 1e9)))
        return int(self._settime(self.fd, TFD_TIMER_ABSTIME, ctypes.byref(value), None)) == 0

    def close(self) -> None:
        """Release the timer's file descriptor."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
