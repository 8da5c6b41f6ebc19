"""The load generator's HTTP client (evalharness/load/wire.py) against real loopback servers.

The client runs under gevent, which must never enter the pytest process, so each check runs in a
fresh interpreter (monkey-patched as Locust's is) and prints its findings as JSON. Servers with
odd behaviour (closing idle connections, close-delimited bodies, TLS) are gevent StreamServers in
that interpreter; timing checks use tests/ping_server.py in its own process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from tests.servers import REPO_ROOT, fault_server_process, ping_server_process

if not all(find_spec(name) for name in ("gevent", "httptools")):  # found, never imported here
    pytest.skip("gevent and httptools are not installed (pip install 'evalharness[load]')", allow_module_level=True)

PRELUDE = """
from gevent import monkey; monkey.patch_all()
import json, socket, statistics, time
import gevent
from gevent.server import StreamServer
from evalharness.load.wire import ConnectionClosed, ConnectionPool, request_bytes

def post(url, body="{}", **headers):
    return request_bytes("POST", url, {"Content-Type": "application/json", **headers}, body)

def raw_server(reply, **tls):
    '''A gevent server that reads one request per loop and answers with reply(connection).'''
    def handle(connection, _):
        while connection.recv(65536):
            if not reply(connection):
                break
        connection.close()
    server = StreamServer(("127.0.0.1", 0), handle, **tls)
    server.start()
    return server
"""


def run_client(code: str, **env: str) -> dict[str, Any]:
    """Run ``code`` (after the prelude) in a fresh interpreter; what it printed as JSON on its last line."""
    script = PRELUDE + textwrap.dedent(code)
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=120, env={**__import__("os").environ, **env})  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def test_one_keep_alive_connection_and_kernel_stamped_answers() -> None:
    with ping_server_process("--service-ms", "5") as url:
        found = run_client(f"""
            pool = ConnectionPool("{url}", 1, 5.0)
            request = post("{url}/ping")
            answers = [pool.exchange(request) for _ in range(60)]
            after = time.perf_counter()
            connection = pool.idle[0]
            print(json.dumps({{
                "statuses": sorted({{a.status for a in answers}}),
                "bodies": sorted({{a.body.decode() for a in answers}}),
                "idle": len(pool.idle), "exchanges": connection.exchanges, "stamped": connection.stamped,
                "median_ms": statistics.median((a.done - a.sent) * 1e3 for a in answers[10:]),
                "done_before_return": all(a.sent < a.done <= after for a in answers),
            }}))
        """)
    assert found["statuses"] == [200] and found["bodies"] == ['{"ok":true}']
    assert found["idle"] == 1 and found["exchanges"] == 60  # one connection carried every request
    assert found["stamped"] is True and found["done_before_return"] is True
    # The server answers 5 ms after its kernel received the request; the client's clock stops when
    # its kernel received the answer, so only the loopback hops remain (well under a millisecond).
    assert 5.0 <= found["median_ms"] < 5.6


def test_chunked_stream_keeps_each_event_arrival() -> None:
    with fault_server_process() as url:
        found = run_client(
            f"""
            from evalharness.load.locustfile import stream_arrivals
            pool = ConnectionPool("{url}", 2, 5.0)
            message = {{"role": "user", "content": "x1=2 x2=1"}}
            body = json.dumps({{"model": "m", "stream": True, "messages": [message]}})
            answer = pool.exchange(post("{url}/v1/chat/completions", body))
            arrivals = stream_arrivals(answer.chunks)
            gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
            print(json.dumps({{"status": answer.status, "events": len(arrivals), "chunks": len(answer.chunks),
                               "min_gap_ms": min(gaps) * 1e3, "last_before_done": arrivals[-1] <= answer.done,
                               "text": answer.body.decode()}}))
        """,
            EVALHARNESS_LOAD_PLAN=str(_empty_plan()),
        )
    assert found["status"] == 200
    assert found["events"] == 2  # "Answer: fraud" arrives as two deltas, 2 ms apart
    assert found["min_gap_ms"] >= 1.5 and found["last_before_done"] is True
    assert "data: [DONE]" in found["text"]


def test_replaces_a_connection_the_server_closed_while_idle() -> None:
    found = run_client("""
        reply = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{}"
        server = raw_server(lambda connection: connection.sendall(reply) and False)  # answer, then hang up
        url = f"http://127.0.0.1:{server.server_port}"
        pool = ConnectionPool(url, 1, 5.0)
        statuses = []
        for _ in range(5):
            statuses.append(pool.exchange(post(url + "/x")).status)
            gevent.sleep(0.01)  # let the hang-up arrive before the next request
        print(json.dumps({"statuses": statuses}))
    """)
    assert found["statuses"] == [200] * 5


def test_close_delimited_body_and_connection_close() -> None:
    found = run_client("""
        def reply(connection):
            connection.sendall(b"HTTP/1.1 200 OK\\r\\nConnection: close\\r\\n\\r\\n" + b'{"a": 1}')
            return False
        server = raw_server(reply)
        url = f"http://127.0.0.1:{server.server_port}"
        pool = ConnectionPool(url, 1, 5.0)
        answers = [pool.exchange(post(url + "/x")) for _ in range(3)]
        print(json.dumps({"bodies": [a.body.decode() for a in answers], "keep_alive": [a.keep_alive for a in answers],
                          "idle": len(pool.idle)}))
    """)
    assert found["bodies"] == ['{"a": 1}'] * 3
    assert found["keep_alive"] == [False] * 3 and found["idle"] == 0


def test_failures_are_raised_for_the_caller_to_count() -> None:
    with fault_server_process() as url:
        found = run_client(f"""
            def failure(pool, path, body='{{"row_id": "never", "x1": 1, "x2": 1}}'):
                try:
                    return "status %d" % pool.exchange(post("{url}" + path, body)).status
                except Exception as error:
                    return type(error).__name__
            pool = ConnectionPool("{url}", 2, 0.3)
            closed = socket.socket(); closed.bind(("127.0.0.1", 0)); port = closed.getsockname()[1]; closed.close()
            found = {{"slow": failure(pool, "/slow"), "idle_after_timeout": len(pool.idle)}}
            found.update(broken=failure(pool, "/broken"), idle_after_500=len(pool.idle))
            found.update(drop=failure(pool, "/drop"), idle_after_drop=len(pool.idle))
            found["refused"] = failure(ConnectionPool(f"http://127.0.0.1:{{port}}", 1, 0.3), "/x")
            print(json.dumps(found))
        """)
    assert found["slow"] in ("TimeoutError", "timeout")
    assert found["broken"] == "status 500"
    assert found["drop"] == "ConnectionClosed"
    assert found["refused"] == "ConnectionRefusedError"
    # A timed-out or dropped connection is closed; one that answered 500 is kept for the next request
    # (here /drop, which hangs up on it and on its one replacement).
    assert (found["idle_after_timeout"], found["idle_after_500"], found["idle_after_drop"]) == (0, 1, 0)


def test_tls_endpoint_is_read_without_kernel_stamps(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)  # fmt: skip
    found = run_client(
        f"""
        reply = b"HTTP/1.1 200 OK\\r\\nContent-Length: 12\\r\\n\\r\\n{{\\"tls\\":true}}"
        server = raw_server(lambda connection: connection.sendall(reply) or True, keyfile="{key}", certfile="{cert}")
        url = f"https://127.0.0.1:{{server.server_port}}"
        pool = ConnectionPool(url, 1, 5.0)
        answers = [pool.exchange(post(url + "/x")) for _ in range(3)]
        print(json.dumps({{"bodies": [a.body.decode() for a in answers], "stamped": pool.idle[0].stamped,
                           "exchanges": pool.idle[0].exchanges}}))
    """,
        SSL_CERT_FILE=str(cert),
    )
    assert found["bodies"] == ['{"tls":true}'] * 3
    assert found["stamped"] is False and found["exchanges"] == 3


def _empty_plan() -> Path:
    """The locustfile reads a plan at import; the stream parser needs none of it."""
    path = Path(__import__("tempfile").mkdtemp()) / "plan.json"
    path.write_text(json.dumps({"requests": [], "host": "http://127.0.0.1", "think_time_s": 0}))
    return path


def test_precise_timer_never_returns_early_and_lets_greenlets_run() -> None:
    found = run_client("""
        from evalharness.load.timer import PreciseTimer, spin_for_rate
        timer, ticks = PreciseTimer(spin_for_rate(100)), []
        ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.001)) for _ in range(1000)])
        start = time.perf_counter()
        early = []
        for step in range(1, 41):
            due = start + step * 0.005
            timer.sleep_until(due)
            early.append(time.perf_counter() < due)
        ticker.kill()
        timer.close()
        print(json.dumps({"kernel": timer.kernel, "early": sum(early), "ticks": len(ticks), "fd": timer.fd,
                          "spins": [spin_for_rate(rate) for rate in (100, 1000, 0)]}))
    """)
    assert found["kernel"] is False and found["fd"] == -1  # closed (it was a timerfd: see below)
    assert found["early"] == 0
    assert found["ticks"] >= 50  # the 1 ms ticker kept running through 200 ms of waits
    assert found["spins"] == [0.0002, 0.00005, 0.0002]


def test_precise_timer_uses_a_kernel_timer_on_linux() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("timerfd is Linux's")
    found = run_client("""
        import os
        from evalharness.load.timer import PreciseTimer
        timer = PreciseTimer()
        print(json.dumps({"kernel": timer.kernel, "fd_is_timerfd": os.readlink(f"/proc/self/fd/{timer.fd}")}))
    """)
    assert found["kernel"] is True and "timerfd" in found["fd_is_timerfd"]
