"""Locust's master/worker mode on this machine: one ``--master`` and N ``--worker`` processes.

    python -m evalharness.load.cluster --workers 2 [--remote-workers 4 --bind 0.0.0.0 --port 5557
        --wait-s 60] -- <the locust master's arguments>

The harness starts this module as the load generator when ``load.launch`` is ``master_worker``.
It starts the master (bound to 127.0.0.1 on a free port, or where remote workers can reach it;
those start with ``evalharness load-worker HOST:PORT``) and the local workers as its children,
each a fresh interpreter (nothing forked after import: CUDA and thread pools stay sound), so the
resource sampler sees the whole generator as one process tree and the harness stops it as one
process group. It exits with the master's exit code, after stopping the workers by pid.
Imports neither locust nor gevent.
"""

from __future__ import annotations

import argparse
import math
import signal
import subprocess
import sys
from types import FrameType

from evalharness.load.driver import LOCUSTFILE
from evalharness.load.server import free_port
from evalharness.processes import stop_process

ALL_INTERFACES = ("0.0.0.0", "::", "*", "")


def local_master_host(bind: str) -> str:
    """Where this machine's workers reach a master listening on ``bind``."""
    return "127.0.0.1" if bind in ALL_INTERFACES else bind


def worker_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """One ``locust --worker`` connecting to the master on ``host``:``port``."""
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", host,
            "--master-port", str(port), "--loglevel", "WARNING"]  # fmt: skip


def master_command(bind: str, port: int, workers: int, wait_s: float, master_arguments: list[str]) -> list[str]:
    """The ``locust --master`` expecting ``workers`` workers within ``wait_s``, with the harness's arguments."""
    return [sys.executable, "-m", "locust", "--master", "--master-bind-host", bind, "--master-bind-port", str(port),
            "--expect-workers", str(workers), "--expect-workers-max-wait", str(math.ceil(wait_s)),
            *master_arguments]  # fmt: skip


def run_cluster(workers: int, master_arguments: list[str], remote: int = 0, bind: str = "127.0.0.1",
                port: int = 0, wait_s: float = 60.0) -> int:  # fmt: skip
    """Run the master and its local workers (and wait for ``remote`` more); the master's exit code."""
    port = port or free_port()
    master = subprocess.Popen(master_command(bind, port, workers + remote, wait_s, master_arguments))
    children = [subprocess.Popen(worker_command(port, local_master_host(bind))) for _ in range(workers)]

    def stop(signum: int, _: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        return master.wait()
    finally:
        for child in [master, *children]:
            stop_process(child)


def main() -> None:
    """Parse ``--workers N [--remote-workers K --bind HOST --port P --wait-s S] -- <master arguments>``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--remote-workers", type=int, default=0)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--wait-s", type=float, default=60.0)
    parser.add_argument("master_arguments", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    arguments = options.master_arguments[1:] if options.master_arguments[:1] == ["--"] else options.master_arguments
    code = run_cluster(options.workers, arguments, options.remote_workers, options.bind, options.port, options.wait_s)
    sys.exit(code)


if __name__ == "__main__":
    main()
