"""The wheel carries templates, py.typed and the entry points; the console script works."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-q",
        "-w",
        str(out),
        str(REPO_ROOT),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return next(out.glob("evalharness-*.whl"))


def test_wheel_ships_templates_and_typing_marker(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "evalharness/report/templates/junit.xml.j2" in names
    assert "evalharness/report/templates/report.html.j2" in names
    assert "evalharness/py.typed" in names


def test_wheel_declares_entry_points_and_extras(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    info = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
    entry_points = archive.read(info).decode()
    assert "[pytest11]\nevalharness = evalharness.plugin" in entry_points
    assert "evalharness = evalharness.cli:main" in entry_points
    metadata = archive.read(info.replace("entry_points.txt", "METADATA")).decode()
    for extra in ("onnx", "torch", "bertscore", "load", "dev", "all", "parquet"):
        assert f"Provides-Extra: {extra}" in metadata
    assert "Requires-Python: >=3.10" in metadata
    assert "Requires-Dist: torch>=2.1; extra == 'torch'" in metadata


def test_console_script_version_and_schema() -> None:
    script = Path(sys.executable).with_name("evalharness")
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("evalharness ")
    schema = subprocess.run([str(script), "schema"], capture_output=True, text=True, check=True).stdout
    assert (REPO_ROOT / "schemas" / "suite-v1.json").read_text().strip() == schema.strip()
