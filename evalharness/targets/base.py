"""The target interface every kind implements, and the lazy registry of kinds.

A target receives the dataset frame once and answers for every row: batched for local engines,
concurrent for endpoints (later kinds). Kinds: ``onnx`` and ``file`` today; ``torch``, ``http``,
``openai`` and ``kserve`` slot in as new entries of :data:`TARGET_FACTORIES`.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

TARGET_FACTORIES: dict[str, str] = {
    "onnx": "evalharness.targets.onnx:OnnxTarget",
    "torch": "evalharness.targets.pytorch:TorchTarget",
    "http": "evalharness.targets.http:HttpTarget",
    "kserve": "evalharness.targets.kserve:KServeTarget",
    "openai": "evalharness.targets.openai:OpenAITarget",
    "file": "evalharness.targets.file:FileTarget",
}
"""Target kind -> ``module:class``; the class is built as ``cls(spec, context)``."""

TARGET_EXTRAS: dict[str, tuple[str, str]] = {
    "onnx": ("onnxruntime", "onnx"),
    "torch": ("torch", "torch"),
    "http": ("aiohttp", "http"),
    "kserve": ("aiohttp", "http"),
    "openai": ("aiohttp", "http"),
}
"""Target kind -> (module it needs, extra that installs it), checked before anything is imported."""


@dataclass(frozen=True)
class TargetContext:
    """What a target needs to know about the suite: where paths start and which columns are inputs."""

    base_dir: Path
    id_column: str
    input_columns: list[str]
    cache_dir: Path | None = None
    resume: bool = False
    progress: Any = None  # where endpoint targets draw a progress bar (a text sink), or None
    name: str = ""  # the suite's display name, for progress and messages

    def resolve(self, relative: str) -> Path:
        """A path from the suite, resolved from the suite's folder."""
        return (self.base_dir / relative).resolve()


@dataclass(frozen=True)
class TargetOutput:
    """Per-row answers: the predicted label and, when the model gives one, the positive-class score."""

    label: np.ndarray
    score: np.ndarray | None = None
    raw: np.ndarray | None = None
    """Endpoints: each row's answer text as it came (None where the request failed)."""
    outcome: np.ndarray | None = None
    """Endpoints: how each row's request ended (ok, unparsed, cut_off, http_error, timeout, parse_error)."""


class Target(Protocol):
    """The model under test."""

    kind: str

    def predict(self, frame: pd.DataFrame) -> TargetOutput:
        """Answer for every row of ``frame`` (in order)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Plain facts for the run record: kind, file and its sha256, engine, settings."""
        ...

    def close(self) -> None:
        """Release the engine, connections or processes."""
        ...


def create_target(spec: Any, context: TargetContext) -> Target:
    """Build the target a suite names; its module is imported only now."""
    module_name, _, class_name = TARGET_FACTORIES[spec.kind].partition(":")
    factory = getattr(importlib.import_module(module_name), class_name)
    return factory(spec, context)


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
