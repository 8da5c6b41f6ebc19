"""Load suite files: safe YAML, closed-schema validation, every problem reported at once."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from evalharness.errors import Problem, SuiteError
from evalharness.suite.problems import validation_problems
from evalharness.suite.schema import suite_model
from evalharness.suite.yamlsource import KeyPath, YamlDocument, parse_yaml_bytes, read_suite_bytes

SUITE_SUFFIXES = (".yaml", ".yml")


@dataclass
class LoadedSuite:
    """A validated suite: its model, where it came from, and positions for later errors."""

    path: Path
    display_name: str
    spec: Any
    document: YamlDocument
    sha256: str
    metric_order: list[str] = field(default_factory=list)

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the suite are resolved from."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path written in the suite, resolved from the suite file's folder."""
        return (self.base_dir / os.path.expandvars(relative)).resolve()

    def problem(self, path: KeyPath, message: str) -> Problem:
        """A problem located at ``path`` in this suite file."""
        return self.document.problem(path, message)


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (as users typed it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _file_problems(suite: LoadedSuite) -> list[Problem]:
    """Files the suite names that do not exist, located at the key that names them."""
    problems = []
    for section in ("target", "dataset"):
        written = getattr(getattr(suite.spec, section), "path", None)
        if written is None:  # an endpoint, not a file
            continue
        if not suite.resolve(written).is_file():
            message = f"file not found: {suite.resolve(written)} (paths are relative to the suite file)"
            problems.append(suite.problem((section, "path"), message))
    return problems


def declared_metric_names(data: dict[str, Any]) -> frozenset[str] | None:
    """The metric names a suite document writes under ``metrics`` (None when that is not a mapping:
    the full model then says what is wrong with it)."""
    section = data.get("metrics")
    if not isinstance(section, dict):
        return None
    return frozenset(key for key in section if isinstance(key, str))


def load_suite(path: Path) -> LoadedSuite:
    """Read and validate one suite file; raise :class:`SuiteError` with every problem found."""
    name = display_path(path)
    try:
        raw = read_suite_bytes(path)
    except OSError as error:
        raise SuiteError([Problem(name, 1, 1, "", f"cannot read suite: {error.strerror}")]) from None
    document = parse_yaml_bytes(raw, name)
    if document.problems:
        raise SuiteError(document.problems)
    if not isinstance(document.data, dict):
        raise SuiteError([document.problem((), "a suite is a mapping of keys such as schema, name, target")])
    model = suite_model(declared_metric_names(document.data))
    spec: Any
    try:
        spec = model.model_validate(document.data)
    except ValidationError as error:
        raise SuiteError(validation_problems(error, document, model)) from None
    declared = spec.declared_metrics()  # `accuracy:` with no options declares nothing: no gate item
    metric_order = [key for key in document.data.get("metrics", {}) if isinstance(key, str) and key in declared]
    suite = LoadedSuite(path.resolve(), name, spec, document, hashlib.sha256(raw).hexdigest(), metric_order)
    problems = _file_problems(suite)
    if problems:
        raise SuiteError(problems)
    return suite


def expand_suite_paths(paths: list[str]) -> list[Path]:
    """Files as given, directories as every ``*.yaml``/``*.yml`` below them, sorted, no repeats."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUITE_SUFFIXES and p.is_file()))
        else:
            found.append(path)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def load_suites(paths: list[Path]) -> list[LoadedSuite]:
    """Load every suite, gathering the problems of all of them before raising."""
    suites, problems = [], []
    for path in paths:
        if not path.exists():
            problems.append(Problem(str(path), 1, 1, "", "suite file or folder not found"))
            continue
        try:
            suites.append(load_suite(path))
        except SuiteError as error:
            problems.extend(error.problems)
    if problems:
        raise SuiteError(problems)
    return suites
