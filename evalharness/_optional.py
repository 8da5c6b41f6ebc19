"""Optional dependencies: checked before import so users get the install command, not a traceback."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from evalharness.errors import MissingDependencyError


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(module: str, *, extra: str, needed_for: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming ``pip install 'evalharness[extra]'``."""
    if not is_installed(module):
        raise MissingDependencyError(module, extra, needed_for)
    return importlib.import_module(module)
