"""Suite schema v1, the ``target:`` (and ``baseline:``) section: one closed model per target kind,
and the checks their templates, JMESPath paths and secrets get where they are written."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PositiveInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from evalharness.suite.fields import ClosedModel, EndpointUrl, Headers, One

ENV_REFERENCE = r"^\$\{env:"
"""How a value read from the environment starts: ``${env:NAME}``."""
ENV_FIELDS = ("url", "base_url", "api_key", "headers")
"""Target keys whose ``${env:NAME}`` references are read from the environment when the run starts."""
MAX_CONCURRENCY = 1024


class OutputRef(ClosedModel):
    """One model output, optionally one column of it (``probabilities`` column 1 = P(positive))."""

    name: str
    column: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # The name alone (``label: label``) is accepted above, so the published schema says so too.
        as_mapping = handler(core_schema)
        name = {"type": "string", "description": "the output's name (short for {name: ...})"}
        return {"title": cls.__name__, "description": as_mapping.pop("description", ""), "anyOf": [name, as_mapping]}


NOT_NULL: dict[str, Any] = {"not": {"type": "null"}}
SOME_NOT_NULL: dict[str, Any] = {"not": {"additionalProperties": {"type": "null"}}}
"""JSON Schema: a mapping with at least one value that is not null."""


def given_key(key: str, value: dict[str, Any] = NOT_NULL) -> dict[str, Any]:
    """JSON Schema for a validator's ``is None`` check: ``key`` is present and not null (or matches ``value``)."""
    return {"required": [key], "properties": {key: value}}


class OnnxOutputs(ClosedModel):
    """Which model outputs give the predicted label and the positive-class score.

    With neither set, outputs named like converters' (``label``, ``probabilities``) are used. With
    only ``score`` set, the label is ``score >= threshold``.
    """

    label: OutputRef | None = None
    score: OutputRef | None = None
    threshold: float = Field(0.5, description="score at or above which the label is positive, when no label output")


class OnnxTargetSpec(ClosedModel):
    """A local ONNX Runtime session over a model file."""

    kind: Literal["onnx"]
    path: str = Field(description="model file, relative to the suite file")
    batch_size: PositiveInt = 1024
    inputs: dict[str, str | list[str]] | None = Field(
        None, description="model input name -> dataset column, or columns stacked into one [N, k] tensor"
    )
    outputs: OnnxOutputs = OnnxOutputs()
    providers: list[str] | None = Field(
        None, description="ONNX Runtime providers; default: CUDA when present, then CPU"
    )
    threads: PositiveInt | None = Field(None, description="intra-op threads; default: ONNX Runtime's choice")


class FileTargetSpec(ClosedModel):
    """Pre-computed outputs in a file, joined to the dataset on the id column."""

    kind: Literal["file"]
    path: str = Field(description="CSV, JSONL or Parquet file with the id column and the outputs")
    label: str = Field("predicted", description="column holding the predicted label")
    score: str | None = Field(None, description="column holding the positive-class score")


class TorchOutputs(ClosedModel):
    """What the model's output means, and which element of a tuple output to read."""

    kind: Literal["label", "probabilities", "score", "sequence"] = Field(
        "label",
        description="label: [N]; probabilities: [N, K] (label = argmax); score: [N] P(positive); sequence: [N, H]",
    )
    index: int | None = Field(None, description="element of a tuple or list output; default: the output itself")
    threshold: float = Field(0.5, description="score at or above which the label is positive (kind: score)")


class TorchTargetSpec(ClosedModel):
    """A TorchScript (``torch.jit.save``) or ``torch.export`` (``.pt2``) file; never Python classes."""

    kind: Literal["torch"]
    path: str = Field(description="model file, relative to the suite file")
    inputs: list[str | list[str]] | None = Field(
        None, description="positional model inputs: a column (cells may be lists) or columns stacked to [N, k]"
    )
    batch_size: PositiveInt = 256
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when available, else CPU")
    dtype: Literal["float32", "float64", "int64"] = "float32"
    outputs: TorchOutputs = TorchOutputs()


def valid_template(value: str, what: str) -> str:
    """``value`` when it compiles as an endpoint template (the bounded sandbox the run renders with);
    a located ``expression_syntax`` problem otherwise, pointing at the line inside the string."""
    from jinja2 import TemplateSyntaxError
    from pydantic_core import PydanticCustomError

    from evalharness.targets.templates import BoundedEnvironment

    try:  # compiled, not only parsed: an unknown filter is found only when compiling
        BoundedEnvironment().compile(value)
    except TemplateSyntaxError as error:
        raise PydanticCustomError(
            "expression_syntax",
            "the {what} is not a valid Jinja template: {reason}",
            {"what": what, "reason": error.message or str(error), "line": error.lineno, "column": 1},
        ) from None
    except (RecursionError, SyntaxError, MemoryError):  # Jinja's parser recurses; Python caps nesting
        raise PydanticCustomError(
            "expression_syntax",
            "the {what} nests too deeply to compile (brackets, blocks or operators): write it flatter",
            {"what": what, "line": 1, "column": 1},
        ) from None
    return value


def _syntax_error(message: str, column: int | None = None) -> PydanticCustomError:
    """A problem in the language inside a string (JMESPath, a regex), at ``column`` of its text."""
    return PydanticCustomError("expression_syntax", "{message}", {"message": message, "line": 1, "column": column or 1})


def valid_jmespath(value: str | None, what: str) -> str | None:
    """``value`` when it compiles as a JMESPath expression (when jmespath is installed; the run
    needs it and says so otherwise); a problem at the key otherwise, never a traceback at run time."""
    if value is None:
        return value
    try:
        import jmespath
        from jmespath.exceptions import JMESPathError
    except ImportError:
        return value
    try:
        parsed = jmespath.compile(value).parsed
    except JMESPathError as error:
        reason = " ".join(str(error).split())
        column = getattr(error, "lex_position", None)
        message = f"the {what} path is not a valid JMESPath expression: {reason}"
        raise _syntax_error(message, column + 1 if isinstance(column, int) else None) from None
    except (RecursionError, MemoryError):
        parsed = None
    if parsed is None or _depth(parsed) > MAX_PATH_DEPTH:  # jmespath evaluates recursively, node by node
        raise _syntax_error(f"the {what} path nests deeper than {MAX_PATH_DEPTH} levels: write it flatter")
    return value


MAX_PATH_DEPTH = 64
"""The deepest JMESPath expression tree a suite may hold (``a || b || ...`` nests one level a term)."""


def _depth(tree: dict[str, Any]) -> int:
    """How deep a parsed JMESPath expression nests, counted without recursion."""
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in node.get("children", ()) if isinstance(child, dict))
    return deepest


class HttpTargetSpec(ClosedModel):
    """Any JSON endpoint: a sandboxed body template per row (or batch), the answer read by JMESPath."""

    kind: Literal["http"]
    url: EndpointUrl = Field(description="endpoint URL; ${env:NAME} is replaced from the environment")
    method: Literal["POST", "PUT", "GET"] = "POST"
    headers: Headers
    body: str = Field(
        description="Jinja template of the JSON body over the row's fields ({{ amount | tojson }}), the whole row "
        "({{ row | tojson }}) or, with batch_size, the rows ({{ rows | tojson }}); only id and input columns are sent"
    )
    label: str = Field(description="JMESPath to the answer (a list of one answer per row when the body reads rows)")
    score: str | None = Field(None, description="JMESPath to the positive-class score")
    batch_size: PositiveInt = Field(
        1, description="rows per request; above 1 the body must loop over rows (a body that reads rows always batches)"
    )
    concurrency: PositiveInt = Field(16, le=MAX_CONCURRENCY, description="requests in flight at most")
    timeout_s: float = Field(30.0, gt=0, description="per-request timeout")
    retries: int = Field(3, ge=0, le=10, description="retries on connection errors, 408, 429 and 5xx")
    max_error_rate: float = Field(0.0, ge=0, le=1, description="share of failed requests tolerated (default none)")
    deadline_s: float | None = Field(None, gt=0, description="the whole run's deadline; late rows are timeouts")

    @staticmethod
    def body_reads_rows(body: str) -> bool:
        """Whether the body template reads ``rows``: then every request is a batch whatever its size,
        and the answer is read as one value per row (a list of one for a single row)."""
        from evalharness.targets.checks import template_names

        return "rows" in (template_names(body) or set())

    @field_validator("body")
    @classmethod
    def _valid_template(cls, value: str) -> str:
        return valid_template(value, "body")

    @field_validator("label", "score")
    @classmethod
    def _valid_paths(cls, value: str | None, info: ValidationInfo) -> str | None:
        return valid_jmespath(value, str(info.field_name))

    @field_validator("batch_size")
    @classmethod
    def _batches_read_rows(cls, value: int, info: ValidationInfo) -> int:
        body = info.data.get("body")  # absent when the body itself is invalid (reported there)
        if value > 1 and isinstance(body, str) and not cls.body_reads_rows(body):
            raise ValueError(
                f"batch_size {value} puts {value} rows in each request, but the body template never reads "
                "rows, so all but one row of each request would be lost: loop over them, e.g. "
                "body: '{\"instances\": {{ rows | tojson }}}' with label and score paths that give one value "
                "per row, or set batch_size: 1"
            )
        return value


class KServeInput(ClosedModel):
    """One input tensor of an Open Inference Protocol v2 request, built from dataset columns."""

    name: str
    columns: list[str] = Field(min_length=1, description="columns stacked into a [N, k] tensor")
    datatype: Literal["FP32", "FP64", "INT32", "INT64", "BOOL", "BYTES"] = "FP32"


class KServeTargetSpec(ClosedModel):
    """A model served over the Open Inference Protocol v2 (KServe, Triton, MLServer, OpenVINO)."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [given_key("label"), given_key("score")]})

    kind: Literal["kserve"]
    url: EndpointUrl = Field(description="server base URL, e.g. http://127.0.0.1:8080; ${env:NAME} allowed")
    model: str = Field(description="model name on the server")
    version: str | None = None
    headers: Headers
    inputs: list[KServeInput] = Field(min_length=1)
    label: OutputRef | None = Field(None, description="output tensor holding the label")
    score: OutputRef | None = Field(None, description="output tensor (and column) holding P(positive)")
    threshold: float = Field(0.5, description="score at or above which the label is positive, when no label output")
    batch_size: PositiveInt = 256
    concurrency: PositiveInt = Field(16, le=MAX_CONCURRENCY)
    timeout_s: float = Field(30.0, gt=0)
    retries: int = Field(3, ge=0, le=10)
    max_error_rate: float = Field(0.0, ge=0, le=1)
    deadline_s: float | None = Field(None, gt=0, description="the whole run's deadline; late rows are timeouts")

    @model_validator(mode="after")
    def _an_output(self) -> KServeTargetSpec:
        if self.label is None and self.score is None:
            raise ValueError("name the output tensor of the label or of the score (label: or score:)")
        return self


class OpenAITargetSpec(ClosedModel):
    """Any OpenAI-compatible server (vLLM, SGLang, Ollama, DeepSeek...): chat or completions."""

    kind: Literal["openai"]
    base_url: EndpointUrl = Field(description="e.g. http://127.0.0.1:8000/v1; ${env:NAME} allowed")
    api: Literal["chat", "completions"] = "chat"
    model: str
    api_key: str | None = Field(
        None,
        description="only as ${env:NAME}; sent as a bearer token",
        json_schema_extra={"pattern": ENV_REFERENCE},  # the validator below says why, in words
    )
    headers: Headers
    system: str | None = Field(None, description="system prompt (chat)")
    prompt: str = Field(
        description="Jinja template of the user message over the row's fields (and {{ row }}, all of them)"
    )
    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: PositiveInt | None = None
    stop: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, max_length=4, description="up to 4 texts that end the answer (e.g. a newline after a few-shot answer)"
    )
    seed: int | None = None
    stream: bool = Field(False, description="stream with SSE and record time to first token and token gaps")
    extract: str | None = Field(None, description="regex; the answer is its first group (or whole match)")
    labels: dict[str, Any] | None = Field(None, description="answer text (case-insensitive) -> label")
    batch_size: One = 1
    concurrency: PositiveInt = Field(16, le=MAX_CONCURRENCY)
    timeout_s: float = Field(60.0, gt=0)
    retries: int = Field(3, ge=0, le=10)
    max_error_rate: float = Field(0.0, ge=0, le=1)
    deadline_s: float | None = Field(None, gt=0, description="the whole run's deadline; late rows are timeouts")

    @field_validator("prompt")
    @classmethod
    def _valid_prompt(cls, value: str) -> str:
        return valid_template(value, "prompt")

    @field_validator("extract")
    @classmethod
    def _valid_extract(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                column = error.pos + 1 if error.pos is not None else None
                raise _syntax_error(f"extract is not a valid regular expression: {error.msg}", column) from None
            except (RecursionError, OverflowError, MemoryError) as error:
                raise _syntax_error(f"extract is not a valid regular expression: {error}") from None
        return value

    @field_validator("api_key")
    @classmethod
    def _from_environment(cls, value: str | None) -> str | None:
        if value is not None and not re.match(ENV_REFERENCE, value):
            raise ValueError("write the key as ${env:NAME}; a suite file must never hold a secret")
        return value


TargetSpec = Annotated[
    OnnxTargetSpec | TorchTargetSpec | HttpTargetSpec | KServeTargetSpec | OpenAITargetSpec | FileTargetSpec,
    Field(discriminator="kind"),
]
TARGET_KINDS = ("onnx", "torch", "http", "kserve", "openai", "file")
PLANNED_TARGET_KINDS: tuple[str, ...] = ()
