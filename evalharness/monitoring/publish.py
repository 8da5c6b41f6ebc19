"""A run's metrics pushed to a Pushgateway, on request (``--evalharness-pushgateway URL``); every run
also writes them to ``metrics.prom`` beside its other reports (see :func:`evalharness.report.write_reports`).

A Pushgateway that cannot be reached costs a warning, never the run: the reports are still written
and the exit code is the gates'.
"""

from __future__ import annotations

from evalharness.monitoring.batch import suite_metrics
from evalharness.record import RunRecord
from evalharness.targets.secrets import redact

JOB = "evalharness"
PUSH_TIMEOUT_S = 10.0


def push(record: RunRecord, url: str, timeout: float = PUSH_TIMEOUT_S) -> list[str]:
    """Push each suite's metrics to the Pushgateway at ``url``, grouped by job, suite, model sha256 and git
    commit (a later push of the same build replaces them); a warning for each push that failed."""
    from prometheus_client import push_to_gateway

    warnings = []
    for suite in suite_metrics(record):
        try:
            push_to_gateway(url, job=JOB, registry=suite.registry, grouping_key=suite.group, timeout=timeout)
        except Exception as error:  # unreachable, refused, HTTP 4xx/5xx: reported, the run goes on
            warnings.append(redact(f"could not push suite {suite.group['suite']!r} to the Pushgateway at {url}: "
                                   f"{type(error).__name__}: {error}"))  # fmt: skip
    return warnings
