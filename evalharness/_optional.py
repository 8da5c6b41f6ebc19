"""Optional dependencies: checked before import so users get the install command, not a traceback."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
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


def defer_submodule(package: str, name: str) -> None:
    """Make ``package.name`` load only when first used, before ``package`` is imported.

    For a package whose ``__init__`` imports a heavy submodule we never use (the CEL package
    imports its command line, and with it prompt_toolkit, typer and rich): a stand-in module goes
    into ``sys.modules``, so the package's own ``from . import name`` binds it without running it;
    the first attribute read from it (PEP 562's module ``__getattr__``) loads the real submodule,
    which then replaces it. Does nothing when the package is imported already or the submodule is
    not a plain ``.py`` file.
    """
    full = f"{package}.{name}"
    if full in sys.modules or package in sys.modules:
        return
    spec = importlib.util.find_spec(package)  # a top-level name: found, not imported
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    path = Path(locations[0]) / f"{name}.py" if locations else None
    found = importlib.util.spec_from_file_location(full, path) if path is not None and path.is_file() else None
    if found is None or found.loader is None:
        return
    stand_in = ModuleType(full, f"{full}, loaded on first use")
    stand_in.__spec__, stand_in.__file__ = found, str(path)

    def load(attribute: str) -> object:
        real = importlib.util.module_from_spec(found)
        sys.modules[full] = real
        found.loader.exec_module(real)  # type: ignore[union-attr]
        setattr(sys.modules[package], name, real)
        return getattr(real, attribute)

    stand_in.__getattr__ = load  # type: ignore[method-assign]
    sys.modules[full] = stand_in
