"""Load-generator fidelity and capacity, against tests/ping_server.py on 127.0.0.1 (one run, one machine).

    python benchmarks/bench_load_fidelity.py [--seconds 10]

1. Stall: the server freezes 200 ms every 2 s; 500 requests/s open loop (Poisson, seeded). 10 % of
   arrivals land in a freeze and wait U(0, 200) ms, so the true P95 is 100 ms. Measured with one
   and with two Locust processes (forked by --processes, and as a --master with two --workers).
2. Service time: the server answers exactly 10 ms after its kernel received each request; P50
   minus 10 ms, closed loop (one user) and open loop (100 requests/s, timed from the schedule).
3. Capacity on one core: requests/s of our generator (closed loop, 16 users, one process) over
   stock Locust FastHttpUser (16 users, one process) against the same server, in the same run; the
   two alternate ``--repeats`` times and the ratio of each pair is reported as min, median and max.
   (1 and 2 are measured against analytic truths, not against another tool, so they have no ratio.)
"""

from __future__ import annotations

import argparse
import csv
import math
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from timing import alternate  # noqa: E402

from evalharness.load.driver import run_plan  # noqa: E402
from evalharness.load.plan import build_plan  # noqa: E402
from evalharness.load.summary import summarise  # noqa: E402
from evalharness.suite.load_schema import LoadSpec  # noqa: E402
from tests.servers import ping_server_process as ping_server  # noqa: E402

STOCK_LOCUSTFILE = textwrap.dedent("""
    from locust import FastHttpUser, constant, task

    class Stock(FastHttpUser):
        wait_time = constant(WAIT)

        @task
        def ping(self):
            self.client.post("/ping", data="{}", headers={"Content-Type": "application/json"})
""")


def ours(url: str, **load: Any) -> dict[str, Any]:
    """Our driver against ``url``/ping with the given load settings; the summarised result."""
    spec = LoadSpec(**load)
    request = {"method": "POST", "url": f"{url}/ping", "headers": {"Content-Type": "application/json"},
               "stream": False, "name": "ping", "body": "{}"}  # fmt: skip
    plan = build_plan(spec, [request], seed=7)
    return summarise(run_plan(plan, {}, 0.5), plan, None)


def stock_locust(url: str, users: int, seconds: int, wait_s: float = 0.0) -> tuple[float, float]:
    """Stock Locust FastHttpUser (closed loop, one process): requests/s over the run and its own P95 (ms)."""
    with tempfile.TemporaryDirectory() as folder:
        locustfile = Path(folder) / "stock.py"
        locustfile.write_text(STOCK_LOCUSTFILE.replace("WAIT", repr(wait_s)))
        command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users), "-r",
                   str(users), "-t", f"{seconds}s", "--host", url, "--csv", f"{folder}/stock", "--only-summary",
                   "--loglevel", "WARNING"]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=seconds + 60)
        with open(f"{folder}/stock_stats.csv") as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
        aggregated = rows["Aggregated"]
        return float(aggregated["Request Count"]) / seconds, float(aggregated["95%"])


def main() -> None:
    """Measure and print every figure with its reference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3, help="capacity pairs (ours, stock Locust)")
    args = parser.parse_args()
    seconds = args.seconds
    with ping_server("--stall-ms", "200", "--stall-every-s", "2") as url:
        for processes, launch in ((1, "fork"), (2, "fork"), (2, "master_worker")):
            result = ours(url, model="open", rate=500, arrival="poisson", duration_s=seconds, warmup_s=1,
                          processes=processes, launch=launch)  # fmt: skip
            p95 = result["latency_ms"]["p95"]
            print(f"stall P95 (ms), {processes} process(es), {launch}: {p95:.1f} (analytic 100; "
                  f"error {p95 / 100 - 1:+.1%}); "
                  f"uncorrected-from-send P95 {result['service_ms']['p95']:.1f}; sent {result['requests']['sent']}, "
                  f"valid {result['valid']}")  # fmt: skip
        rate, p95 = stock_locust(url, users=4, seconds=math.ceil(seconds), wait_s=0.008)
        print(f"stall P95 (ms), stock Locust closed loop (4 users, 8 ms wait): {p95:.1f} at {rate:.0f} req/s")
    with ping_server("--service-ms", "10") as url:
        result = ours(url, model="closed", users=1, duration_s=min(seconds, 5), warmup_s=1)
        p50 = result["latency_ms"]["p50"]
        print(f"fixed 10 ms service, closed loop: P50 {p50:.3f} ms (error {p50 - 10:+.3f} ms over "
              f"{result['requests']['ok']} requests)")  # fmt: skip
        result = ours(url, model="open", rate=100, arrival="poisson", duration_s=min(seconds, 5), warmup_s=1)
        p50, lag = result["latency_ms"]["p50"], result["send_lag_ms"]["p50"]
        print(f"fixed 10 ms service, open loop 100/s: P50 {p50:.3f} ms (error {p50 - 10:+.3f} ms, from the schedule; "
              f"send lag P50 {lag:.3f} ms)")  # fmt: skip
    with ping_server() as url:
        users, window = 16, math.ceil(seconds)
        # Each side's "seconds" is seconds per request (1 / its rate), so stock / ours is ours' speed ratio.
        capacity = alternate(
            lambda: 1 / stock_locust(url, users, window)[0],
            lambda: 1 / ours(url, model="closed", users=users, duration_s=window - 1, warmup_s=1)["qps"],
            args.repeats,
            measure=lambda call: call(),
        )
        print(f"generator capacity, one process, {users} users: ours {1 / capacity.b_median_s:.0f} req/s, stock "
              f"Locust FastHttpUser {1 / capacity.a_median_s:.0f} req/s (medians), ratio ours / stock "
              f"{capacity} (min / median / max of {args.repeats} alternating pairs)")  # fmt: skip


if __name__ == "__main__":
    main()
