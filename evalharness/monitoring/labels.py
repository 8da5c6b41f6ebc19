"""Label values for Prometheus: safe text, secrets redacted, and the identity of a build.

A label value comes from a suite, a gate, a column or a model; none may carry a secret read from
the environment (``${env:NAME}``), a control character or an unbounded length.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from evalharness.targets.secrets import redact
from evalharness.untrusted import untrusted

MAX_LABEL_CHARS = 200
RUN_ID_VARIABLES = ("GITHUB_RUN_ID", "BUILD_TAG", "CI_PIPELINE_ID", "BUILD_NUMBER")
"""Where a CI system names its run: GitHub Actions, Jenkins (job and build), GitLab, Jenkins again."""


def label(value: Any) -> str:
    """A label value: one line, secrets as ``***``, at most :data:`MAX_LABEL_CHARS` characters."""
    return untrusted(redact(str(value)), MAX_LABEL_CHARS) if value is not None else ""


def target_label(target: dict[str, Any]) -> str:
    """A target by kind and where it is: ``onnx:models/fraud.onnx`` or ``http://host:port/path``, with a
    URL's user, password and query left out (they may hold credentials)."""
    if target.get("url"):
        parts = urlsplit(str(target["url"]))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return label(f"{parts.scheme}://{host}{port}{parts.path}")
    return label(f"{target.get('kind') or 'unknown'}:{target.get('path') or ''}")


def run_id(started_at: str) -> str:
    """The CI run's id where the CI system names one, else the run's start time."""
    for name in RUN_ID_VARIABLES:
        if os.environ.get(name):
            return label(os.environ[name])
    return label(started_at)
