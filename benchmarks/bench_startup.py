"""A small suite's whole process against a trivial pytest run: what evalharness adds to start and finish.

Reference (B): ``python -m pytest -q test_trivial.py`` on one empty test, in a fresh folder (no
conftest, no pytest configuration). Measured (A): ``python -m pytest --evalharness suite.yaml`` on
a copy of ``suites/finance.yaml`` (6,000 rows, every gate, every report written) in the same kind
of folder. Both are whole processes timed from outside, so interpreter start, imports, plugin
loading, the run and the reports all count; A and B alternate, and the ratio of each pair is
reported as min, median and max. The goal is at most 3. A third process, the floor, is the trivial
test with a conftest that only imports the libraries the suite cannot run without (numpy, pandas,
ONNX Runtime, pydantic, Jinja2, PyYAML): what no suite can start below.

Usage: ``python benchmarks/bench_startup.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_overhead import machine  # noqa: E402
from timing import alternate_many, paired  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SUITE = REPO_ROOT / "suites" / "finance.yaml"
FLOOR_IMPORTS = "import jinja2, numpy, onnxruntime, pandas, pydantic, yaml  # noqa: F401\n"


def pytest_run(folder: Path, *arguments: str) -> None:
    """One whole ``python -m pytest`` process in ``folder``; it must pass."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *arguments]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run(command, cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    """Alternate the suite and the trivial run; print the ratio as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder, floor = Path(scratch) / "suite", Path(scratch) / "floor"
        for each in (folder, floor):
            each.mkdir()
            (each / "test_trivial.py").write_text("def test_nothing() -> None:\n    pass\n")
        (folder / "suite.yaml").write_text(SUITE.read_text().replace("../", f"{REPO_ROOT}/"))
        (floor / "conftest.py").write_text(FLOOR_IMPORTS)
        suite = ["--evalharness", "suite.yaml", "--evalharness-report-dir", "reports"]
        pytest_run(folder, *suite)  # once before timing: the first run also fills the OS file cache
        times = alternate_many({
            "suite": lambda: pytest_run(folder, *suite),
            "trivial": lambda: pytest_run(folder, "test_trivial.py"),
            "floor": lambda: pytest_run(floor, "test_trivial.py"),
        }, args.repeats)  # fmt: skip
    stats, floor_stats, over_floor = paired(times, "suite", "trivial"), paired(times, "floor", "trivial"), paired(
        times, "suite", "floor")  # fmt: skip
    result = {
        "suite_s": round(stats.a_median_s, 3),
        "trivial_pytest_s": round(stats.b_median_s, 3),
        "floor_s": round(floor_stats.a_median_s, 3),
        "ratio": {"min": round(stats.low, 2), "median": round(stats.median, 2), "max": round(stats.high, 2)},
        "floor_over_trivial": str(floor_stats),
        "suite_over_floor": str(over_floor),
        "goal": "<= 3",
        "bytecode_written": not os.environ.get("PYTHONDONTWRITEBYTECODE"),
        "machine": machine(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
