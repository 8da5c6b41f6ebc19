"""Suite schema v1: closed pydantic models for every section a suite file may contain.

The ``metrics`` section is assembled from the metric registry, so metrics added later (or by
third-party packages) join the schema and its JSON Schema export without edits here.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    PositiveInt,
    ValidationInfo,
    create_model,
    field_validator,
)

from evalharness.suite.fields import ClosedModel, GateOn, GateOptions, One
from evalharness.suite.load_schema import LoadSpec, ServerSpec
from evalharness.suite.target_schema import (
    ENV_FIELDS,
    ENV_REFERENCE,
    MAX_CONCURRENCY,
    PLANNED_TARGET_KINDS,
    SOME_NOT_NULL,
    TARGET_KINDS,
    FileTargetSpec,
    HttpTargetSpec,
    KServeTargetSpec,
    OnnxTargetSpec,
    OpenAITargetSpec,
    OutputRef,
    TargetSpec,
    TorchTargetSpec,
    given_key,
    valid_jmespath,
    valid_template,
)

SCHEMA_VERSION = 1

__all__ = [
    "ENV_FIELDS", "ENV_REFERENCE", "MAX_CONCURRENCY", "PLANNED_TARGET_KINDS", "SCHEMA_VERSION", "TARGET_KINDS",
    "DatasetSpec", "FileTargetSpec", "HttpTargetSpec", "KServeTargetSpec", "OnnxTargetSpec", "OpenAITargetSpec",
    "OutputRef", "ReportSpec", "StatisticsSpec", "TargetSpec", "TorchTargetSpec", "json_schema", "metrics_model",
    "suite_model", "valid_jmespath", "valid_template",
]  # fmt: skip



class DatasetSpec(ClosedModel):
    """The rows to evaluate: where they are and which columns mean what."""

    path: str = Field(description="CSV, JSONL or Parquet file, relative to the suite file")
    format: Literal["csv", "jsonl", "parquet"] | None = Field(None, description="default: from the file extension")
    id: str = Field(description="column with a unique id per row")
    expected: str = Field(description="column with the expected (correct) answer")
    inputs: list[str] | None = Field(None, description="columns given to the target; default: all others")
    positive_label: int | str | bool | None = Field(None, description="positive class for binary metrics")


class StatisticsSpec(ClosedModel):
    """How uncertainty is estimated and which number a gate compares."""

    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    bootstrap_resamples: PositiveInt = Field(1000, le=100_000)
    gate_on: GateOn = Field(
        "estimate", description="estimate: compare the point value; bound: compare the confidence bound"
    )
    on_inconclusive: Literal["fail", "pass"] = Field(
        "fail",
        description="a delta gate whose interval straddles its margin (gate_on: bound) cannot decide; fail "
        "(the default, safe for a deploy gate) or pass the gate then",
    )


class ReportSpec(ClosedModel):
    """What the reports keep."""

    worst_rows: int = Field(5, ge=0, le=100)
    failing_rows_cap: int = Field(50, ge=0, le=10_000)
    max_cell_chars: int = Field(
        200, ge=20, le=100_000,
        description="longest value run.json, report.html and junit.xml keep of an answer, id or cell "
        "(cut with '…(N chars)'); the whole answers are in rows.jsonl",
    )  # fmt: skip


@cache
def metrics_model(names: frozenset[str] | None = None) -> type[ClosedModel]:
    """The ``metrics`` section: one optional key per registered metric, typed by its options; with
    ``names``, only for those of them (a suite's own: only their modules are imported). A name that is
    no metric is refused either way, as an extra key."""
    from evalharness.metrics.registry import get_metric, metric_names

    fields: dict[str, Any] = {}
    for name in metric_names():
        if names is None or name in names:
            metric = get_metric(name)
            fields[name] = (metric.options | None, Field(None, description=metric.description))
    return create_model("Metrics", __base__=ClosedModel, **fields)


@cache
def suite_model(metrics: frozenset[str] | None = None) -> type[ClosedModel]:
    """The whole suite file model, built once per set of metric names (every metric when None, as the
    JSON Schema needs; a suite's own names when loading one, so the other metrics' modules stay
    unimported)."""
    metrics_section = metrics_model(metrics)

    class Suite(ClosedModel):
        """A suite file: the model under test, the data, and the gates it must pass."""

        # _at_least_one below, for JSON Schema: a load section, or a metric whose options are not null
        model_config = ConfigDict(json_schema_extra={"anyOf": [given_key("load"), given_key("metrics", SOME_NOT_NULL)]})

        schema_version: One = Field(alias="schema", description="suite schema version; always 1")
        name: str = Field(min_length=1)
        description: str = ""
        seed: int = 0
        target: TargetSpec
        baseline: TargetSpec | None = Field(
            None, description="the model the target is compared with (production, the teacher): any target kind"
        )
        dataset: DatasetSpec
        server: ServerSpec | None = Field(None, description="a server the harness starts and stops")
        load: LoadSpec | None = Field(None, description="load and latency run (Locust, in a child process)")
        metrics: metrics_section = Field(default_factory=metrics_section, validate_default=True)  # type: ignore[valid-type]
        statistics: StatisticsSpec = StatisticsSpec()
        report: ReportSpec = ReportSpec()

        @field_validator("metrics")
        @classmethod
        def _at_least_one(cls, value: ClosedModel, info: ValidationInfo) -> ClosedModel:
            if not value.model_dump(exclude_none=True) and "load" in info.data and info.data["load"] is None:
                raise ValueError("declare at least one metric, e.g. accuracy: {min: 0.92} (or a load section)")
            return value

        def declared_metrics(self) -> dict[str, GateOptions]:
            """Metric name -> options, in the order the suite wrote them."""
            return {name: options for name, options in self.metrics if options is not None}  # type: ignore[attr-defined]

    return Suite


def json_schema() -> dict[str, Any]:
    """JSON Schema of suite files (draft 2020-12), for editors and ``evalharness schema``."""
    schema = suite_model().model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://evalharness.dev/schemas/suite-v1.json"
    schema["title"] = "evalharness suite (schema 1)"
    return schema
