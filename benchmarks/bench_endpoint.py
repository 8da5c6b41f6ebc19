"""Endpoint throughput: the ``http`` target vs a raw asyncio + aiohttp client, same server, same concurrency.

Workload: 2,000 rows, one JSON request each, to the loopback test server's ``/predict`` route (a
sigmoid model answering after 5 ms, like a small real endpoint) on 127.0.0.1, at 16 and at 64
requests in flight. Reference: the least a client can do, ``session.post`` under a semaphore with
the body already built, on a connector with the same connection limit. The harness renders the
sandboxed body template, extracts with JMESPath, accounts for every request and would retry. The
server runs in its own process (started and stopped by this script, by process id), so it does not
share either client's event loop. Rounds alternate raw and harness; the throughput ratio (raw
seconds / harness seconds) of each round pair is reported as min, median and max.
Usage: ``python benchmarks/bench_endpoint.py [--rows N] [--concurrency C ...] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from timing import alternate  # noqa: E402

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
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    frame = two_feature_frame(rows=args.rows)
    bodies = frame[["x1", "x2"]].to_dict(orient="records")
    results = []
    with fault_server_process() as url:  # its own process, stopped by its pid
        for concurrency in args.concurrency:
            spec = HttpTargetSpec(kind="http", url=f"{url}/predict", body=BODY, label="output.label",
                                  concurrency=concurrency)  # fmt: skip
            target = create_target(spec, TargetContext(REPO_ROOT, "row_id", ["x1", "x2"]))

            def raw(concurrency: int = concurrency) -> None:
                asyncio.run(raw_client(f"{url}/predict", bodies, concurrency))

            raw(), target.predict(frame)  # warm both: connections, imports, the server's first requests
            stats = alternate(raw, lambda target=target: target.predict(frame), args.rounds)
            results.append({
                "concurrency": concurrency,
                "raw_rows_per_s": round(args.rows / stats.a_median_s, 1),
                "harness_rows_per_s": round(args.rows / stats.b_median_s, 1),
                "throughput_ratio": {"min": round(stats.low, 3), "median": round(stats.median, 3),
                                     "max": round(stats.high, 3)},
            })  # fmt: skip
    print(json.dumps({"rows": args.rows, "rounds": args.rounds, "results": results}, indent=2))


if __name__ == "__main__":
    main()
