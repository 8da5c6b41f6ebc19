"""Shared fixtures: small real projects (ONNX model + dataset + suite) in temporary folders.

pytester restores ``sys.modules`` after each in-process run, and an extension module such as onnx
cannot be initialised twice in one process (nanobind aborts it: "refusing to add duplicate key"), so
they are imported once here, before any snapshot is taken, for every folder of tests that uses pytester.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from tests.builders import demo_project

REPO_ROOT = Path(__file__).resolve().parents[1]

for _module in ("numpy", "pandas", "pyarrow", "onnx", "onnxruntime", "pydantic", "jinja2", "xdist"):
    try:
        importlib.import_module(_module)
    except ImportError:
        pass
JUNIT_XSD = REPO_ROOT.parent / "shared" / "schemas" / "junit-10.xsd"
if not JUNIT_XSD.is_file():
    JUNIT_XSD = REPO_ROOT / "tests" / "schemas" / "junit-10.xsd"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with model.onnx, data.csv (400 rows) and suite.yaml gating accuracy >= 0.8."""
    demo_project(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def junit_schema():  # type: ignore[no-untyped-def]
    """The JUnit XSD our XML must validate against."""
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(str(JUNIT_XSD))
