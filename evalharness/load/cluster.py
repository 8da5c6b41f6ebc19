"""Locust's master/worker mode on this machine: one ``--master`` and N ``--worker`` processes.

    python -m evalharness.load.cluster --workers 2 -- <the locust master's arguments>

The harness starts this module as the load generator when ``load.launch`` is ``master_worker``.
It starts the master (bound to 127.0.0.1 on a free port) and the workers as its own children,
each a fresh interpreter (nothing forked after import: CUDA and thread pools stay sound), so the
resource sampler sees the whole generator as one process tree and the harness stops it as one
process group. It exits with the master's exit code, after stopping the workers by pid.
Imports neither locust nor gevent.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType

from evalharness.processes import stop_process

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_command(port: int) -> list[str]:
    """One ``locust --worker`` connecting to the master on 127.0.0.1:``port``."""
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", "127.0.0.1",
            "--master-port", str(port), "--loglevel", "WARNING"]  # fmt: skip


def master_command(port: int, workers: int, master_arguments: list[str]) -> list[str]:
    """The ``locust --master`` expecting ``workers`` workers, with the harness's arguments."""
    return [sys.executable, "-m", "locust", "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port",
            str(port), "--expect-workers", str(workers), *master_arguments]  # fmt: skip


def run_cluster(workers: int, master_arguments: list[str]) -> int:
    """Run the master and its workers; the master's exit code."""
    port = free_port()
    master = subprocess.Popen(master_command(port, workers, master_arguments))
    children = [subprocess.Popen(worker_command(port)) for _ in range(workers)]

    def stop(signum: int, _: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        return master.wait()
    finally:
        for child in [master, *children]:
            stop_process(child)


def main() -> None:
    """Parse ``--workers N -- <master arguments>`` and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("master_arguments", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    arguments = options.master_arguments[1:] if options.master_arguments[:1] == ["--"] else options.master_arguments
    sys.exit(run_cluster(options.workers, arguments))


if __name__ == "__main__":
    main()
