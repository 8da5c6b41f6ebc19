"""The load generator's HTTP/1.1 client: keep-alive connections on gevent sockets, httptools' parser.

Imported only in the Locust process (it imports gevent). Why not geventhttpclient, the client
under Locust's FastHttpUser: against a server that answers exactly 10 ms after a request arrives,
it measured 10.5 to 10.85 ms; the reads here take the kernel's receive timestamp of the data that
completed each response (``SO_TIMESTAMPNS``), so the generator's own wake-up and scheduling delays
stay out of the latency. Over TLS the stamp is not available and the read time is used.

Each request's bytes are built once (``request_bytes``) and written in one ``sendall``; each
response is parsed by httptools (llhttp, the parser under uvicorn), chunked or not.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import gevent.socket
import httptools
from gevent.lock import BoundedSemaphore

from evalharness.load.clock import ANCILLARY_SPACE, enable_receive_timestamps, received_at

READ_SIZE = 65536


class ConnectionClosed(OSError):
    """The server closed the connection before the response was complete."""

    def __init__(self, received: int) -> None:
        super().__init__(f"connection closed after {received} bytes of the response")
        self.received = received


@dataclass
class Exchange:
    """One request's answer: status, body, when it was sent and when its last byte arrived.

    ``chunks`` are the body's pieces with their arrival times (what a stream's token times come from).
    """

    status: int = 0
    sent: float = 0.0
    done: float = 0.0
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    keep_alive: bool = True

    @property
    def body(self) -> bytes:
        """The whole body."""
        return b"".join(chunk for _, chunk in self.chunks)


class _ResponseProtocol:
    """httptools' callbacks, collecting one response."""

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.parser: httptools.HttpResponseParser | None = None
        self.arrived = 0.0
        self.headers_complete = False
        self.complete = False

    def on_headers_complete(self) -> None:
        self.headers_complete = True

    def on_body(self, body: bytes) -> None:
        self.exchange.chunks.append((self.arrived, body))

    def on_message_complete(self) -> None:
        self.complete = True
        if self.parser is not None:  # llhttp forgets keep-alive once the message is done
            self.exchange.keep_alive = self.parser.should_keep_alive()


def request_bytes(method: str, url: str, headers: dict[str, str], body: str | bytes | None) -> bytes:
    """The whole HTTP/1.1 request for ``url`` (keep-alive), ready for one ``sendall``."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    payload = body.encode() if isinstance(body, str) else (body or b"")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() not in ("host", "content-length")]
    lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class Connection:
    """One keep-alive connection; exchanges one request at a time."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None, timeout_s: float) -> None:
        sock = gevent.socket.create_connection((host, port), timeout=timeout_s)
        sock.setsockopt(gevent.socket.IPPROTO_TCP, gevent.socket.TCP_NODELAY, 1)
        self.stamped = tls is None and enable_receive_timestamps(sock)
        self.raw = sock
        self.sock = tls.wrap_socket(sock, server_hostname=host) if tls else sock
        self.exchanges = 0

    def write(self, request: bytes) -> None:
        """Send ``request`` (whole)."""
        self.sock.sendall(request)

    def read(self, sent: float) -> Exchange:
        """Read the whole response to the request written last."""
        exchange = Exchange(sent=sent)
        protocol = _ResponseProtocol(exchange)
        parser = protocol.parser = httptools.HttpResponseParser(protocol)
        received = 0
        while not protocol.complete:
            data, protocol.arrived = self._receive()
            if not data:
                if protocol.headers_complete and not parser.should_keep_alive():  # body ends at close
                    protocol.complete, exchange.keep_alive = True, False
                    break
                raise ConnectionClosed(received)
            received += len(data)
            parser.feed_data(data)
        self.exchanges += 1
        exchange.status, exchange.done = parser.get_status_code(), protocol.arrived
        return exchange

    def _receive(self) -> tuple[bytes, float]:
        if not self.stamped:
            data = self.sock.recv(READ_SIZE)
            return data, time.perf_counter()
        data, ancillary, _, _ = self.raw.recvmsg(READ_SIZE, ANCILLARY_SPACE)  # never TLS: see stamped
        return data, received_at(ancillary)

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.sock.close()


class InFlight:
    """A request already written on a pooled connection; ``finish`` reads its answer and frees the slot."""

    def __init__(self, pool: ConnectionPool, request: bytes) -> None:
        self.pool, self.request = pool, request
        self.sent = time.perf_counter()
        self.connection, self.reused = pool.take()
        try:
            self.connection.write(request)
        except (ConnectionResetError, BrokenPipeError):
            self.connection.close()
            if not self.reused:
                raise
            self._replace_and_write()
        except BaseException:
            self.connection.close()
            raise

    def finish(self) -> Exchange:
        """The answer. A reused connection the server had already closed is replaced once, as
        browsers and geventhttpclient do; every other failure is raised for the caller to count."""
        try:
            exchange = self._read()
        except BaseException:
            self.pool.put_back(None)
            raise
        self.pool.put_back(self.connection if exchange.keep_alive else None)
        if not exchange.keep_alive:
            self.connection.close()
        return exchange

    def _read(self) -> Exchange:
        try:
            return self.connection.read(self.sent)
        except (ConnectionClosed, ConnectionResetError) as error:
            self.connection.close()
            if not self.reused or (isinstance(error, ConnectionClosed) and error.received):
                raise
        except BaseException:
            self.connection.close()
            raise
        self._replace_and_write()
        try:
            return self.connection.read(self.sent)
        except BaseException:
            self.connection.close()
            raise

    def _replace_and_write(self) -> None:
        self.connection, self.reused = self.pool.connect(), False
        try:
            self.connection.write(self.request)
        except BaseException:
            self.connection.close()
            raise


class ConnectionPool:
    """At most ``size`` connections to the origin of ``url``, reused most-recent first."""

    def __init__(self, url: str, size: int, timeout_s: float) -> None:
        parts = urlsplit(url)
        self.tls = ssl.create_default_context() if parts.scheme == "https" else None
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.tls else 80)
        self.timeout_s = timeout_s
        self.idle: list[Connection] = []
        self.slots = BoundedSemaphore(size)

    def exchange(self, request: bytes) -> Exchange:
        """Send one request (waiting for a free connection slot) and return its answer."""
        self.slots.acquire()
        return self._start(request).finish()

    def send_now(self, request: bytes) -> InFlight | None:
        """Write ``request`` at once if a connection slot is free (None if not, without waiting).

        The open loop sends this way in its scheduling greenlet, right at the scheduled time, and
        reads the answer in another: the send is not delayed by starting a greenlet.
        """
        if not self.slots.acquire(blocking=False):
            return None
        return self._start(request)

    def _start(self, request: bytes) -> InFlight:
        try:
            return InFlight(self, request)
        except BaseException:
            self.slots.release()
            raise

    def take(self) -> tuple[Connection, bool]:
        """An idle connection (and True), or a new one (and False); the caller holds a slot."""
        return (self.idle.pop(), True) if self.idle else (self.connect(), False)

    def put_back(self, connection: Connection | None) -> None:
        """Free the caller's slot, keeping ``connection`` for reuse (None: it was closed)."""
        if connection is not None:
            self.idle.append(connection)
        self.slots.release()

    def connect(self) -> Connection:
        """A new connection to the pool's origin."""
        return Connection(self.host, self.port, self.tls, self.timeout_s)
