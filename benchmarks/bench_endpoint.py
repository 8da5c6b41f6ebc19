"""Endpoint throughput: the ``http`` target vs a raw asyncio + aiohttp client, same server, same concurrency.

Workload: 2,000 rows, one JSON request each, to the loopback test server's ``/predict`` route (a
sigmoid model answering after 5 ms, like a small real endpoint) on 127.0.0.1, 16 requests in
flight for both. Reference: the least a client can do, ``session.post`` under a semaphore with the
body already built. The harness renders the sandboxed body template, extracts with JMESPath,
accounts for every request and would retry. The server runs in its own process (started and
stopped by this script, by process id). Rounds alternate; medians of 7 are compared.
Usage: ``python benchmarks/bench_endpoint.py [--rows N] [--concurrency C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from evalharness.suite.schema import HttpTargetSpec  # noqa: E402
from evalharness.targets import TargetContext, create_target  # noqa: E402
from tests.builders import two_feature_frame  # noqa: E402
from tests.servers import fault_server_process  # noqa: E402

BODY = '{"x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'


async def raw_client(url: str, bodies: list[dict[str, Any]], concurrency: int) -> list[Any]:
    """The reference: aiohttp posts under a semaphore, JSON decoded, nothing else."""
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one(body: dict[str, Any]) -> Any:
            async with limit, session.post(url, json=body) as reply:
                return (await reply.json())["output"]["label"]

        return await asyncio.gather(*(one(body) for body in bodies))


def main() -> None:
    """Measure and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    frame = two_feature_frame(rows=args.rows)
    bodies = frame[["x1", "x2"]].to_dict(orient="records")
    times: dict[str, list[float]] = {"raw": [], "harness": []}
    with fault_server_process() as url:  # its own process, stopped by its pid
        spec = HttpTargetSpec(kind="http", url=f"{url}/predict", body=BODY, label="output.label",
                              concurrency=args.concurrency)  # fmt: skip
        target = create_target(spec, TargetContext(REPO_ROOT, "row_id", ["x1", "x2"]))
        for _ in range(args.rounds):
            started = time.perf_counter()
            asyncio.run(raw_client(f"{url}/predict", bodies, args.concurrency))
            times["raw"].append(time.perf_counter() - started)
            started = time.perf_counter()
            target.predict(frame)
            times["harness"].append(time.perf_counter() - started)
    raw, harness = statistics.median(times["raw"]), statistics.median(times["harness"])
    result = {
        "rows": args.rows,
        "concurrency": args.concurrency,
        "raw_rows_per_s": round(args.rows / raw, 1),
        "harness_rows_per_s": round(args.rows / harness, 1),
        "endpoint_throughput_ratio": round(raw / harness, 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
