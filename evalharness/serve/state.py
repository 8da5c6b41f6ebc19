"""What the reference server holds: its models, whether they are loaded, and its settings."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evalharness.serve.models import ServedModel


class ServeError(Exception):
    """A request the server refuses, with the HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class ServeSettings:
    """Knobs that make the reference server behave like a real one under test."""

    token_delay_s: float = 0.0
    load_delay_s: float = 0.0
    service_time_s: float = 0.0  # added to every inference request (a known service time)
    stall_every_s: float = 0.0  # freeze the whole server this often (0: never) ...
    stall_s: float = 0.0  # ... for this long: a real stop-the-world pause, like a GC or a page-in


@dataclass
class ServerState:
    """Models by name, filled in by the loader after the port is already open."""

    loaders: Sequence[Callable[[], ServedModel]]
    settings: ServeSettings = field(default_factory=ServeSettings)
    models: dict[str, ServedModel] = field(default_factory=dict)
    load_error: str | None = None
    started: float = field(default_factory=time.monotonic)
    ready_after_s: float | None = None

    @property
    def ready(self) -> bool:
        """Every model loaded and no load error."""
        return self.ready_after_s is not None and self.load_error is None

    def load(self) -> None:
        """Load every model (called once, off the event loop); a failure is kept for /ready to report."""
        try:
            time.sleep(self.settings.load_delay_s)
            for loader in self.loaders:
                model = loader()
                self.models[model.name] = model
            self.ready_after_s = time.monotonic() - self.started
        except Exception as error:  # reported by the readiness routes and on the terminal
            self.load_error = f"{type(error).__name__}: {error}"

    def model(self, name: str) -> ServedModel:
        """The named model, or a 503 while loading and a 404 naming the models that exist."""
        if not self.ready:
            raise ServeError(503, self.load_error or "models are still loading")
        if name not in self.models:
            raise ServeError(404, f"no model '{name}'; this server has {sorted(self.models)}")
        return self.models[name]

    def answer(self, model: ServedModel, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The model's answers, or a 400 naming the missing columns or the engine's complaint."""
        missing = model.missing_columns(rows)
        if missing:
            raise ServeError(400, f"rows lack the input fields {missing}; model '{model.name}' reads {model.columns}")
        try:
            return model.answer(rows)
        except (ValueError, TypeError, KeyError) as error:
            raise ServeError(400, f"cannot answer these rows: {error}") from None
        except Exception as error:  # engine failures (TargetError and the engines' own)
            raise ServeError(400, f"model '{model.name}' failed on these rows: {error}") from None
