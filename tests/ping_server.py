"""A minimal HTTP/1.1 server on 127.0.0.1 for load-generator fidelity: a known service time and
known stalls, with as little server overhead as Python allows (an asyncio protocol, no framework).

    python -m tests.ping_server [--service-ms 10] [--stall-ms 200 --stall-every-s 2]

Every request is answered ``{"ok":true}`` after the service time; with ``--stall-ms`` the whole
server freezes (a blocking sleep on its only thread) for that long every ``--stall-every-s``. It
prints its URL, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import time

SPIN_S = 0.002  # the last 2 ms of a service time are spun: asyncio timers are only ms-exact
RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class PingProtocol(asyncio.Protocol):
    """Splits pipelined requests by Content-Length and answers each after the service time."""

    def __init__(self, service_s: float) -> None:
        self.service_s = service_s
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = 0
            for line in self.buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            self._answer()

    def _answer(self) -> None:
        if not self.service_s:
            self._send()
            return
        loop = asyncio.get_running_loop()
        deadline = time.perf_counter() + self.service_s
        loop.call_later(max(self.service_s - SPIN_S, 0.0), self._send_at, deadline)

    def _send_at(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            pass
        self._send()

    def _send(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(RESPONSE)


async def serve(service_s: float, stall_every_s: float, stall_s: float) -> None:
    """Listen on a free loopback port, print the URL, serve (and stall) until cancelled."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: PingProtocol(service_s), "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    while True:
        if not stall_s:
            await asyncio.sleep(3600)
            continue
        await asyncio.sleep(stall_every_s - stall_s)
        time.sleep(stall_s)  # stop the world


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service-ms", type=float, default=0.0)
    parser.add_argument("--stall-ms", type=float, default=0.0)
    parser.add_argument("--stall-every-s", type=float, default=2.0)
    options = parser.parse_args()
    asyncio.run(serve(options.service_ms / 1000, options.stall_every_s, options.stall_ms / 1000))
