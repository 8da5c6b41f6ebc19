"""Reports survive ``kill -9``: a process that keeps rewriting run.json and junit.xml (several megabytes,
rendered from a real run's record) is killed at random moments; what it leaves is always one whole
version of each file, or nothing yet, and its temporary files never take a report's name."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalharness.atomic import STALE_AFTER_S
from tests.builders import demo_project
from tests.conftest import REPO_ROOT

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.integration

COPIES = 120
"""Suites in the record: run.json of about 4 MB, so that writing it takes measurable time."""
KILLS = 12
FILES = ("run.json", "junit.xml")

WRITER = """
import sys
from pathlib import Path
from evalharness.report import _write  # what write_reports writes every report with

arguments = [Path(arg) for arg in sys.argv[1:] if not arg.startswith("--")]
versions, folder, once = arguments[:-1], arguments[-1], "--once" in sys.argv
texts = [{name: (version / name).read_text(encoding="utf-8") for name in ("run.json", "junit.xml")}
         for version in versions]
print("ready", flush=True)
number = 0
while not once or number < len(texts):
    for name, text in texts[number % len(texts)].items():
        _write(folder / name, text)
    number += 1
"""


def real_record(folder: Path) -> Path:
    """run.json of a real pytest run of a failing suite (so it holds failing rows)."""
    folder.mkdir()
    demo_project(folder, "accuracy: {min: 0.99}")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--evalharness", "suite.yaml",
               "--evalharness-report-dir=reports"]  # fmt: skip
    subprocess.run(command, cwd=folder, capture_output=True, timeout=120, check=False)
    return folder / "reports" / "run.json"


def versions(record_path: Path, folder: Path, count: int = 3) -> list[Path]:
    """``count`` versions of a large record, each written by write_reports into its own folder."""
    from evalharness.report import load_record, write_reports

    record = load_record(record_path)
    suite = record.suites[0]
    assert suite.failing_rows, "the run must fail, so that its record holds rows"
    record.suites = [suite.model_copy(update={"name": f"{suite.name} {index}", "path": f"{index}/{suite.path}"})
                     for index in range(COPIES)]  # fmt: skip
    folders = []
    for number in range(count):
        record.duration_s = float(number + 1)
        write_reports(record, folder / f"v{number}")
        folders.append(folder / f"v{number}")
    return folders


def start_writer(folders: list[Path], target: Path, *flags: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", WRITER, *flags, *map(str, folders), str(target)]
    writer = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})  # fmt: skip
    assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
    return writer


def check_whole(target: Path, folders: list[Path]) -> bool:
    """Each report is absent or byte for byte one of the versions (each checked whole beforehand);
    run.json parses and junit.xml too. Returns whether run.json is there."""
    for name in FILES:
        path = target / name
        if path.exists():
            data = path.read_bytes()
            assert any(data == (version / name).read_bytes() for version in folders), f"{name}: {len(data)} bytes"
    if (target / "junit.xml").exists():
        assert len(ET.parse(target / "junit.xml").getroot().findall("testsuite")) == COPIES
    if (target / "run.json").exists():
        assert len(json.loads((target / "run.json").read_text(encoding="utf-8"))["suites"]) == COPIES
        return True
    return False


def test_reports_killed_mid_write_are_whole_and_leftovers_cleared(tmp_path: Path, junit_schema) -> None:  # type: ignore[no-untyped-def]
    folders = versions(real_record(tmp_path / "run"), tmp_path)
    for version in folders:
        junit_schema.validate(str(version / "junit.xml"))
    target = tmp_path / "reports"
    target.mkdir()
    chance = random.Random(17)
    present = 0
    for _ in range(KILLS):
        writer = start_writer(folders, target)
        time.sleep(chance.uniform(0.0, 0.8))
        os.kill(writer.pid, signal.SIGKILL)
        assert writer.wait(timeout=10) == -signal.SIGKILL  # it was still writing when killed
        present += check_whole(target, folders)
    assert present >= KILLS // 2  # most kills come after a first whole write
    leftovers = sorted(path.name for path in target.iterdir() if path.name not in FILES)
    assert all(name.startswith((".run.json.", ".junit.xml.")) and name.endswith(".partial") for name in leftovers)
    old = time.time() - 2 * STALE_AFTER_S
    for name in leftovers:
        os.utime(target / name, (old, old))
    writer = start_writer(folders, target, "--once")
    assert writer.wait(timeout=30) == 0
    check_whole(target, folders)
    assert sorted(path.name for path in target.iterdir()) == sorted(FILES)  # a later write clears old leftovers
