"""The finance suite at scale: whole pytest runs at 100k and 1M rows against the raw work they need.

Reference (the raw work): in a fresh process, ``pandas.read_csv`` of the scaled dataset plus three
raw ``InferenceSession.run`` passes over all its rows (batch size 1,024, the suite's), timed inside
that process (no interpreter start). Measured (A): ``python -m pytest --evalharness suite.yaml`` on
the same file, whole process, wall time and peak RSS (``os.wait4``), with every report written. A
and B alternate on every repeat; the ratio of each pair is reported as min, median and max. Per
step (the gates' own ``duration_s`` in run.json, and the prediction), the 1M-row time over the
100k-row time shows whether a step grows linearly (10) or worse.

Usage: ``python benchmarks/bench_scale.py [--rows 100000 1000000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_overhead import machine, scaled_frame  # noqa: E402
from timing import alternate  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SUITE = REPO_ROOT / "suites" / "finance.yaml"

RAW = """
import json, sys, time
import numpy as np, onnxruntime as ort, pandas as pd
started = time.perf_counter()
frame = pd.read_csv(sys.argv[1])
read = time.perf_counter() - started
numeric = ["amount", "hour", "card_present", "is_international", "is_new_device", "distance_from_home_km",
           "txn_count_24h", "account_age_days"]
features = frame[numeric].to_numpy(np.float32)
category = frame[["merchant_category"]].to_numpy(object)
session = ort.InferenceSession(sys.argv[2])
started_predict = time.perf_counter()
for _ in range(3):
    for start in range(0, len(frame), 1024):
        session.run(None, {"numeric": features[start:start + 1024], "merchant_category": category[start:start + 1024]})
predict = time.perf_counter() - started_predict
print(json.dumps({"read_s": read, "predict_3x_s": predict, "raw_s": read + predict}))
"""


def build(folder: Path, rows: int) -> Path:
    """The finance dataset resampled to ``rows`` rows, and a copy of the suite reading it."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = scaled_frame(pd.read_csv(REPO_ROOT / "datasets" / "finance" / "transactions.csv"), rows, "txn_id")
    frame.to_csv(folder / "transactions.csv", index=False)
    text = SUITE.read_text().replace("../datasets/finance/transactions.csv", str(folder / "transactions.csv"))
    text = text.replace("../", f"{REPO_ROOT}/")
    (folder / "suite.yaml").write_text(text)
    return folder


def run_suite(folder: Path) -> dict[str, Any]:
    """One whole pytest run of the suite: wall seconds, peak RSS, and the record's step times."""
    command = [sys.executable, "-m", "pytest", "--evalharness", "suite.yaml", "-p", "no:cacheprovider", "-q",
               "--evalharness-report-dir", "reports"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the suite run in {folder} failed: exit {os.waitstatus_to_exitcode(status)}")
    record = json.loads((folder / "reports" / "run.json").read_text())
    suite = record["suites"][0]
    steps = {"predict": suite["predict_seconds"]}
    steps.update({gate["name"]: gate["duration_s"] for gate in suite["gates"] if "::" not in gate["name"]})
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "steps": steps}


def run_raw(folder: Path) -> dict[str, float]:
    """The raw work, timed inside a fresh process."""
    model = REPO_ROOT / "models" / "fraud.onnx"
    done = subprocess.run([sys.executable, "-c", RAW, str(folder / "transactions.csv"), str(model)],
                          check=True, capture_output=True, text=True)  # fmt: skip
    return dict(json.loads(done.stdout))


def measure(folder: Path, repeats: int) -> dict[str, Any]:
    """Alternate whole suite runs (A) and the raw work (B) on ``folder``."""
    suites: list[dict[str, Any]] = []
    raws: list[dict[str, float]] = []

    def suite_seconds() -> float:
        suites.append(run_suite(folder))
        return float(suites[-1]["wall_s"])

    def raw_seconds() -> float:
        raws.append(run_raw(folder))
        return raws[-1]["raw_s"]

    stats = alternate(suite_seconds, raw_seconds, repeats, measure=lambda call: call())
    steps = {name: statistics.median(run["steps"][name] for run in suites) for name in suites[0]["steps"]}
    return {
        "suite_wall_s": stats.summary()["a_median_s"],
        "raw_s": stats.summary()["b_median_s"],
        "read_s": statistics.median(raw["read_s"] for raw in raws),
        "ratio": {key: value for key, value in stats.summary().items() if key.startswith("ratio")},
        "peak_rss_mb": max(run["peak_rss_mb"] for run in suites),
        "steps_s": {name: round(value, 3) for name, value in steps.items()},
    }


def main() -> None:
    """Measure every size and print the table's figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "repeats": args.repeats, "sizes": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for rows in args.rows:
            results["sizes"][rows] = measure(build(Path(scratch) / str(rows), rows), args.repeats)
    sizes = sorted(results["sizes"])
    if len(sizes) > 1:
        small, large = results["sizes"][sizes[0]]["steps_s"], results["sizes"][sizes[-1]]["steps_s"]
        results["growth"] = {name: round(large[name] / small[name], 1) for name in small if small[name] > 0}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
