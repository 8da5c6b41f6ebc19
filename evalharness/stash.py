"""The pytest stash key under which a session's evalharness state lives."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from evalharness.session import EvalSession

STATE_KEY = pytest.StashKey["EvalSession"]()
