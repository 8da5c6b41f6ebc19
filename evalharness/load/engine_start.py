"""One cold start of a local engine in this fresh process, timed on the system-wide monotonic clock.

    python -m evalharness.load.engine_start suite.yaml ROWS.json --warm-requests 20

Prints one JSON line: when the interpreter was up (``started``), when the engine was created
(``engine``), when the first valid answer came back (``first``), all ``time.monotonic()`` values the
parent compares with its own spawn time, and the latencies of the next requests (the cold path).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def main() -> None:
    """Create the suite's engine, answer the first row, then the warm requests; print the timings."""
    started = time.monotonic()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", type=Path)
    parser.add_argument("rows", type=Path, help="JSON list of rows (input columns) to send")
    parser.add_argument("--warm-requests", type=int, default=20)
    parser.add_argument("--side", choices=("target", "baseline"), default="target", help="which model of the suite")
    args = parser.parse_args()
    rows = json.loads(args.rows.read_text())
    from evalharness.serve.models import load_served_model

    model = load_served_model(args.suite, side=args.side)
    engine = time.monotonic()
    model.answer([rows[0]])
    first = time.monotonic()
    cold_path = []
    for position in range(args.warm_requests):
        sent = time.perf_counter()
        model.answer([rows[(position + 1) % len(rows)]])
        cold_path.append((time.perf_counter() - sent) * 1000)
    print(json.dumps({"started": started, "engine": engine, "first": first, "cold_path_ms": cold_path}), flush=True)


if __name__ == "__main__":
    main()
