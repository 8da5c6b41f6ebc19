"""A minimal HTTP/1.1 server on 127.0.0.1 for load-generator fidelity: a known service time and
known stalls, with as little server overhead as Python allows (raw sockets on an asyncio loop).

    python -m tests.ping_server [--service-ms 10] [--stall-ms 200 --stall-every-s 2]

Every request is answered ``{"ok":true}`` exactly the service time after the kernel received it
(the socket's receive timestamp, ``SO_TIMESTAMPNS``), so the server's own wake-up and parsing are
inside the service time rather than added to it. With ``--stall-ms`` the server freezes for that
long at the start of every ``--stall-every-s`` window (on a fixed grid from its start): a request
that arrives during a freeze is answered when the freeze ends, plus the service time. The freeze
holds answers rather than blocking the server's thread, so the truth is exact: the waits of the
requests that land in freezes are uniform on (0, stall), with no backlog-processing time added
after each freeze. It prints its URL, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import time

from evalharness.load.clock import ANCILLARY_SPACE, enable_receive_timestamps, received_at

SPIN_S = 0.002  # the last 2 ms of a service time are spun: asyncio timers are only ms-exact
RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class Timing:
    """When a request that arrived at a given instant is answered: after any freeze, plus the service time."""

    def __init__(self, service_s: float, stall_s: float, stall_every_s: float) -> None:
        self.service_s, self.stall_s, self.stall_every_s = service_s, stall_s, stall_every_s
        self.origin = time.perf_counter()

    def answer_at(self, arrived: float) -> float:
        """The instant to answer a request the kernel received at ``arrived``."""
        if self.stall_s:
            phase = (arrived - self.origin) % self.stall_every_s
            if phase < self.stall_s:
                arrived += self.stall_s - phase
        return arrived + self.service_s


class PingConnection:
    """One client connection: splits pipelined requests by Content-Length and answers each on time."""

    def __init__(self, connection: socket.socket, timing: Timing) -> None:
        self.connection = connection
        self.timing = timing
        self.buffer = b""
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(connection, self.readable)

    def readable(self) -> None:
        """Read what arrived, with its kernel timestamp, and answer every complete request in it."""
        try:
            data, ancillary, _, _ = self.connection.recvmsg(65536, ANCILLARY_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, ancillary = b"", []
        if not data:
            self.close()
            return
        arrived = received_at(ancillary)
        self.buffer += data
        while self._take_request():
            self._answer(self.timing.answer_at(arrived))

    def _take_request(self) -> bool:
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        length = 0
        for line in self.buffer[:head_end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        end = head_end + 4 + length
        if len(self.buffer) < end:
            return False
        self.buffer = self.buffer[end:]
        return True

    def _answer(self, deadline: float) -> None:
        wait = deadline - time.perf_counter() - SPIN_S
        if wait > 0:
            self.loop.call_later(wait, self._send_at, deadline)
        else:
            self._send_at(deadline)

    def _send_at(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            pass
        try:
            self.connection.sendall(RESPONSE)
        except OSError:
            self.close()

    def close(self) -> None:
        """Stop reading and close the socket."""
        if self.connection.fileno() >= 0:
            self.loop.remove_reader(self.connection)
            self.connection.close()


def accept(listener: socket.socket, timing: Timing, connections: set[PingConnection]) -> None:
    """Accept every waiting connection, with receive timestamps and no Nagle delay."""
    while True:
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        connection.setblocking(False)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        enable_receive_timestamps(connection)
        connections.add(PingConnection(connection, timing))


async def serve(service_s: float, stall_every_s: float, stall_s: float) -> None:
    """Listen on a free loopback port, print the URL, serve until cancelled."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
    listener.setblocking(False)
    connections: set[PingConnection] = set()
    timing = Timing(service_s, stall_s, stall_every_s)
    asyncio.get_running_loop().add_reader(listener, accept, listener, timing, connections)
    print(f"http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service-ms", type=float, default=0.0)
    parser.add_argument("--stall-ms", type=float, default=0.0)
    parser.add_argument("--stall-every-s", type=float, default=2.0)
    options = parser.parse_args()
    asyncio.run(serve(options.service_ms / 1000, options.stall_every_s, options.stall_ms / 1000))
