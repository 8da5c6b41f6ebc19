"""pytest-benchmark micro-benchmarks of the local engines: they run, save to pytest-benchmark's own
storage, and a second run compares against the first with its own --benchmark-compare."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import REPO_ROOT

pytest.importorskip("pytest_benchmark")
pytest.importorskip("onnxruntime")


def test_engine_microbenchmarks_save_and_compare(tmp_path: Path) -> None:
    storage = f"file://{tmp_path / 'store'}"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-k", "onnxruntime",
               str(REPO_ROOT / "benchmarks" / "test_engine_microbench.py"), f"--benchmark-storage={storage}",
               "--benchmark-max-time=0.02", "--benchmark-min-rounds=3"]  # fmt: skip
    # Not an xdist worker's environment: pytest-benchmark turns itself off under xdist.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    first = subprocess.run([*command, "--benchmark-autosave"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300, env=env)  # fmt: skip
    assert first.returncode == 0, first.stdout[-2000:]
    (saved,) = (tmp_path / "store").rglob("0001_*.json")
    benchmarks = {b["params"]["batch"]: b["stats"] for b in json.loads(saved.read_text())["benchmarks"]}
    assert set(benchmarks) == {1, 32, 256, 1024}
    assert all(stats["rounds"] >= 3 and stats["min"] > 0 for stats in benchmarks.values())
    assert benchmarks[1024]["median"] > benchmarks[1]["median"]  # more rows, more work
    second = subprocess.run([*command, "--benchmark-compare=0001"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, env=env)  # fmt: skip
    assert second.returncode == 0, second.stdout[-2000:]
    assert "0001" in second.stdout and "NOW" in second.stdout
