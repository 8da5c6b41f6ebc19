"""Environment manifest: what ran, where, with which versions (for reproducing a verdict)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from evalharness.__about__ import __version__

RECORDED_PACKAGES = (
    "numpy", "pandas", "pydantic", "PyYAML", "jinja2", "pytest", "pytest-xdist",
    "onnxruntime", "onnxruntime-gpu", "pyarrow", "torch", "scikit-learn",
)  # fmt: skip


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that can change a result."""
    found = {}
    for name in RECORDED_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def git_commit(cwd: str | None = None) -> str | None:
    """The checked-out commit, when the working directory is a git repository and git exists."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def environment_manifest() -> dict[str, Any]:
    """Python, platform, CPU count, package versions and git commit."""
    return {
        "evalharness": __version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "executable": sys.executable,
        "packages": package_versions(),
        "git_commit": git_commit(),
    }
