"""The published JSON Schema (``schemas/suite-v1.json``) and the loader accept the same suites.

Checked on every shipped suite and example, on every YAML block of the README (a fragment is put
into a small valid suite where it belongs), and on a generated corpus: the shipped suites and
``EVERY_KEY`` (sections that between them write every key of the schema) with each value replaced by
one of each JSON type, an unknown key added to every mapping, and each key dropped in turn.
jsonschema (draft 2020-12) and the pydantic model must give the same verdict on each.

The loader refuses more than the schema only for what JSON Schema cannot express, recognised by
its error (``loader_only``):

- a gate's ``min`` above its ``max`` (JSON Schema cannot compare two values);
- repeated names of rules, checks or cases, or two robustness recipes with one label
  (``uniqueItems`` compares whole items, not one key of them);
- the syntax of the languages inside strings: CEL in ``rule``, ``when``, ``set`` and ``expect``;
  Jinja in an http target's ``body``, JMESPath in its ``label`` and ``score``, a regex in an openai
  target's ``extract``;
- rules between keys: an http ``batch_size`` above 1 needs a ``body`` that reads ``rows``;
  ``load`` needs ``rate`` for the open loop and ``launch: master_worker`` for ``remote_workers``;
  ``consistency`` needs rules, checks or cases, and ``min``/``max`` only with rules or checks; a
  check has exactly one of ``set``/``perturb``, and a DIR check an ``expect``;
- a literal password in a target URL (``user:password@host``: the userinfo rules of URLs are
  beyond a readable pattern);
- an open-loop load that schedules too many requests (``rate * (warmup_s + duration_s)``);
- non-finite numbers (YAML's ``.inf``, ``.nan``; JSON has neither).

Documents are the plain data the YAML reader builds, so YAML 1.1 readings (``1e-3`` is text,
``no`` is false) are the same for both sides. One YAML reading has no JSON counterpart and stays
outside the corpus: a key YAML reads as a number or a boolean (``labels: {1: fraud}``), which the
loader refuses, asking for quotes, and jsonschema lets through (JSON keys are always text).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from evalharness.suite.loader import load_suite
from evalharness.suite.problems import validation_problems
from evalharness.suite.schema import suite_model
from evalharness.suite.yamlsource import load_yaml, parse_yaml

jsonschema = pytest.importorskip("jsonschema")

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*(REPO_ROOT / "suites").glob("*.yaml"), *(REPO_ROOT / "examples").glob("*.yaml")])
SCHEMA = json.loads((REPO_ROOT / "schemas" / "suite-v1.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

LOADER_ONLY_MESSAGES = re.compile(
    r"is above max|names must be unique|would share the name|never reads rows"
    r"|an open-loop load needs rate|remote_workers join a Locust master"
    r"|give at least one of rules, checks or cases|min and max apply to rules and checks"
    r"|give exactly one transform|a DIR check states its direction"
    r"|the URL holds a password|schedules .* requests; one run schedules at most"
)
LOADER_ONLY_TYPES = ("expression_syntax", "finite_number")
REPLACEMENTS: tuple[Any, ...] = ("1", 1, 1.0, 0.5, True, None, [], ["1"], {})
"""A value of each JSON type, and the forms a lax parser coerces ("1", 1.0, true)."""
CONTAINER_REPLACEMENTS: tuple[Any, ...] = ("1", 1, True, None, [], ["1"], {})
"""For a mapping or a list (no integer field holds one, so 1.0 and 0.5 tell nothing more than 1)."""

BASE = """
schema: 1
name: parity
target: {kind: onnx, path: model.onnx}
dataset: {path: data.csv, id: row_id, expected: y}
metrics: {accuracy: {min: 0.9}}
"""

_GATES = "p50_ms p95_ms p99_ms p999_ms mean_ms max_ms qps qps_per_gpu qps_per_core error_rate send_lag_p99_ms "
_GATES += "cold_start_s cold_start_max_s cold_path_p50_ms ttft_p95_ms tpot_ms itl_p95_ms output_tokens_per_s "
_GATES += "goodput rps_achieved_ratio cpu_ms_per_request rss_mib model_size_mib"
EVERY_KEY: dict[str, str] = {
    "file-target": """
description: sections that write the keys the shipped suites leave out
seed: 3
target: {kind: file, path: answers.csv, label: predicted, score: score}
dataset: {path: data.csv, format: csv, id: row_id, expected: y, inputs: [x1, x2], positive_label: 1}
statistics: {confidence: 0.9, bootstrap_resamples: 500, gate_on: bound}
report: {worst_rows: 3, failing_rows_cap: 10, max_cell_chars: 300}
""",
    "torch-target": """
target: {kind: torch, path: model.pt2, inputs: [history, [x1, x2]], batch_size: 8, device: cpu, dtype: float64,
         outputs: {kind: score, index: 0, threshold: 0.4}}
""",
    "onnx-target": """
target: {kind: onnx, path: model.onnx, batch_size: 8, inputs: {features: [x1, x2], extra: x3}, threads: 2,
         providers: [CPUExecutionProvider], outputs: {label: {name: label, column: 0}, score: p, threshold: 0.4}}
""",
    "openai-target": """
target: {kind: openai, base_url: "http://127.0.0.1:8000/v1", api: completions, model: m, api_key: "${env:KEY}",
         headers: {X-Team: ml}, system: s, prompt: "{{ text }}", temperature: 0.2, top_p: 0.9, max_tokens: 16,
         stop: ["\\n", "Q:"], seed: 1, stream: false, extract: "([01])", labels: {"1": 1}, batch_size: 1,
         concurrency: 4, timeout_s: 30, retries: 2, max_error_rate: 0.1, deadline_s: 600}
""",
    "kserve-target": """
target: {kind: kserve, url: "http://127.0.0.1:8080", model: m, version: "1", headers: {X-Team: ml},
         inputs: [{name: features, columns: [x1, x2], datatype: FP64}], score: {name: p, column: 1},
         threshold: 0.4, batch_size: 8, concurrency: 4, timeout_s: 30, retries: 2, max_error_rate: 0.1,
         deadline_s: 600}
""",
    "http-target": """
target: {kind: http, url: "http://127.0.0.1:8080/predict", method: PUT, headers: {X-Team: ml},
         body: "{{ row | tojson }}", label: label, score: score, batch_size: 1, concurrency: 4, timeout_s: 30,
         retries: 2, max_error_rate: 0.1, deadline_s: 600}
""",
    "metric-options": """
metrics:
  precision: {min: 0.5, max: 1.0, gate_on: estimate, average: macro, zero_division: 0}
  f1: {min: 0.5, zero_division: error}
  drift: {reference: ref.csv, columns: [x1], statistic: ks, bins: 10, psi_alarm: 0.2, alpha: 0.01, min: 0.0, max: 0.3,
          gate_on: bound}
  bertscore: {model: minilm, num_layers: 6, score: precision, idf: true, rescale_with_baseline: true,
              baseline_path: base.csv, batch_size: 32, device: cpu, reference_column: x2}
  dtw: {window: 3, normalize: scale, gate: distance, max: 1.0}
""",
    "qa-metrics": """
metrics:
  exact_match: {min: 0.4, normalize: [case, whitespace], separator: "|"}
  token_f1: {min: 0.5, reference_column: x1}
  contains: {min: 0.5, normalize: [], separator: ";", whole_words: false}
  numeric_match: {min: 0.9, which: first, abs_tol: 0.5, rel_tol: 0.0}
  regex_match: {min: 0.9, pattern: "^[A-Z]", mode: fullmatch, ignore_case: true}
  json_valid: {min: 0.9, schema: answer.json, code_fences: false}
  answer_length: {max: 40, unit: characters}
""",
    "robustness": """
metrics:
  robustness:
    seed: 5
    max: 1.0
    gate_on: estimate
    perturb:
      - {recipe: typo, columns: [text], rate: 0.1, name: typos}
      - {recipe: pgd, epsilon: 0.1, steps: 3, name: attack}
      - {recipe: scale, columns: [x1], factor: 2.0, rate: 0.5, name: doubled}
      - {recipe: missing, columns: [x1], rate: 0.1, name: blanks}
      - {recipe: categorical_swap, columns: [c], rate: 0.1, name: swaps}
      - {recipe: noise, columns: [x1], rate: 0.5, scale: 0.1, name: noisy}
""",
    "consistency": """
metrics:
  consistency:
    min: 0.5
    gate_on: bound
    rules: [{name: r, rule: predicted == 1, when: x1 > 0.0, description: d}]
    checks:
      - {name: c, type: INV, description: d, when: x1 > 0.0, expect: after_predicted == predicted,
         perturb: {recipe: noise, columns: [x1], name: n, rate: 1.0, scale: 0.1}}
    cases: [{name: k, description: d, inputs: {x1: 1.0}, expected: 1}]
""",
    "server-and-load": """
server: {command: [python, serve.py, "{port}"], port: 0, health: /health, ready: /ready, startup_timeout_s: 30}
load: {model: closed, rate: 10, arrival: constant, users: 4, think_time_s: 0.1, duration_s: 5, warmup_s: 1,
       processes: 2, launch: master_worker, remote_workers: 1, master_host: 0.0.0.0, master_port: 5557,
       remote_wait_s: 30, max_in_flight: 100, timeout_s: 10, rows: 50, late_ms: 5, gpus: 0, pid: 1234,
       sample_interval_s: 0.5, rounds: 4, slo: {latency_ms: 50, ttft_ms: 100, tpot_ms: 20},
       cold_start: {repeats: 2, poll_ms: 10, warm_requests: 5}, metrics: {port: 9464, host: 127.0.0.1, linger_s: 2}}
""",
    "load-gates": "load: {rate: 10, gates: {" + ", ".join(f"{gate}: {{max: 1}}" for gate in _GATES.split()) + "}}",
    "baseline": """
baseline: {kind: onnx, path: base.onnx, batch_size: 8}
statistics: {on_inconclusive: pass}
load: {rate: 10, gates: {p95_ms: {max: 100, min_ratio: 0.5, max_ratio: 1.5}, goodput: {min_ratio: 0.9, max_ratio: 1.1}}}
metrics:
  accuracy: {min: 0.5, max_drop: 0.01, min_gain: -0.02, min_retention: 0.9, max_ratio: 1.5}
  recall: {max_drop: 0.01, min_gain: 0.0, min_retention: 0.9, max_ratio: 1.1}
  auc: {interval: bootstrap, max_drop: 0.01, min_gain: 0.0, min_retention: 0.9, max_ratio: 1.1}
  agreement: {min: 0.98}
  consistency: {rules: [{name: r, rule: predicted == 1}], max_drop: 0.01, min_gain: 0.0, min_retention: 0.9,
                max_ratio: 1.1}
  dtw: {max_drop: 0.01, min_gain: 0.0, min_retention: 0.9, max_ratio: 1.1}
  bertscore: {max_drop: 0.01, min_gain: 0.0, min_retention: 0.9, max_ratio: 1.1}
  robustness: {perturb: [{recipe: noise, columns: [x1]}], max_drop: 0.01, min_gain: 0.0, min_retention: 0.9,
               max_ratio: 1.1}
""",
}
"""Sections put into ``BASE`` that between them write every key of the schema."""


def _parsed(text: str, name: str) -> Any:
    document = parse_yaml(textwrap.dedent(text), name)
    assert [str(problem) for problem in document.problems] == []
    return document.data


def loader_errors(data: Any) -> list[Any]:
    """The pydantic model's errors on ``data`` (none when the loader accepts it)."""
    try:
        suite_model().model_validate(data)
    except ValidationError as error:
        return list(error.errors())
    return []


def loader_only(error: Any) -> bool:
    """Whether a loader error is one of the checks JSON Schema cannot express (module docstring)."""
    return error["type"] in LOADER_ONLY_TYPES or bool(LOADER_ONLY_MESSAGES.search(str(error["msg"])))


def disagreement(data: Any) -> str | None:
    """How jsonschema and the loader disagree on ``data``; None when they agree."""
    schema_accepts = VALIDATOR.is_valid(data)
    errors = loader_errors(data)
    if schema_accepts == (not errors) or (schema_accepts and all(map(loader_only, errors))):
        return None
    if schema_accepts:
        return "schema accepts, loader refuses: " + "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
    first = next(iter(VALIDATOR.iter_errors(data)))
    return f"loader accepts, schema refuses at {list(first.absolute_path)}: {first.message[:200]}"


def _shape(value: Any) -> Any:
    """What tells list items apart for the schema: the type, and a mapping's keys and tags."""
    if not isinstance(value, dict):
        return type(value)
    return tuple(sorted(value)), tuple(str(value.get(tag)) for tag in ("kind", "recipe", "type"))


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every value below ``value``, with its path; of list items, only the first of each shape."""
    if isinstance(value, list):
        shapes = [_shape(item) for item in value]
        children: Any = [(i, item) for i, item in enumerate(value) if shapes.index(shapes[i]) == i]
    else:
        children = value.items() if isinstance(value, dict) else ()
    for key, child in children:
        yield (*path, key), child
        yield from _nodes(child, (*path, key))


def replaced(data: Any, path: tuple[Any, ...], new: Any) -> Any:
    """``data`` with the value at ``path`` replaced (copies only the containers on the way)."""
    if not path:
        return new
    copy: Any = dict(data) if isinstance(data, dict) else list(data)
    copy[path[0]] = replaced(data[path[0]], path[1:], new) if path[1:] else new
    return copy


def mutations(data: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each value replaced by each of ``REPLACEMENTS``; a key added to, and each key dropped from, each mapping."""
    for path, value in [((), data), *_nodes(data)]:
        where = ".".join(map(str, path)) or "<root>"
        if path:
            for new in CONTAINER_REPLACEMENTS if isinstance(value, (dict, list)) else REPLACEMENTS:
                if not (type(new) is type(value) and new == value):
                    yield f"{where} = {new!r}", replaced(data, path, new)
        if isinstance(value, dict):
            yield f"{where} + unknown key", replaced(data, path, {**value, "zz_unknown": 1})
            for key in value:
                yield f"{where} - {key}", replaced(data, path, {k: v for k, v in value.items() if k != key})


def _corpus() -> list[tuple[str, Any]]:
    shipped = [(f"{path.parent.name}/{path.name}", load_yaml(path).data) for path in SHIPPED]
    return shipped + [(name, {**_parsed(BASE, "base"), **_parsed(text, name)}) for name, text in EVERY_KEY.items()]


CORPUS = _corpus()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_shipped_suites_pass_the_schema_and_the_loader(path: Path) -> None:
    data = load_yaml(path).data
    assert [f"{list(e.absolute_path)}: {e.message[:200]}" for e in VALIDATOR.iter_errors(data)] == []
    assert load_suite(path).spec.name == data["name"]


def readme_blocks() -> list[tuple[int, str]]:
    """(line, text) of every ```yaml block of the README that is a suite or part of one (GitHub workflows,
    with their top-level ``jobs:``, are checked by tests/integration/test_ci_pipelines.py)."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    pattern = re.compile(r"^```yaml\n(.*?)^```", re.DOTALL | re.MULTILINE)
    blocks = [(text.count("\n", 0, match.start()) + 2, match.group(1)) for match in pattern.finditer(text)]
    return [(line, block) for line, block in blocks if not re.search(r"^jobs:", block, re.MULTILINE)]


def as_suite(fragment: dict[str, Any]) -> dict[str, Any]:
    """A README block as a whole suite: itself, or put into ``BASE`` at the top or under ``metrics``."""
    if "schema" in fragment:
        return fragment
    base = _parsed(BASE, "base")
    model = suite_model()
    if set(fragment) <= {field.alias or name for name, field in model.model_fields.items()}:
        return {**base, **fragment}
    metric_names = set(model.model_fields["metrics"].annotation.model_fields)  # type: ignore[union-attr]
    assert set(fragment) <= metric_names, f"neither a suite nor a fragment of one: {sorted(fragment)}"
    return {**base, "metrics": {**base["metrics"], **fragment}}


@pytest.mark.parametrize(("line", "text"), readme_blocks(), ids=[f"line{line}" for line, _ in readme_blocks()])
def test_readme_yaml_blocks_pass_the_schema_and_the_loader(line: int, text: str) -> None:
    suite = as_suite(_parsed(text, f"README.md:{line}"))
    assert [f"{list(e.absolute_path)}: {e.message[:200]}" for e in VALIDATOR.iter_errors(suite)] == []
    assert loader_errors(suite) == []


def test_the_readme_shows_suites_and_fragments() -> None:
    assert len(readme_blocks()) >= 4


@pytest.mark.parametrize(("name", "data"), CORPUS, ids=[name for name, _ in CORPUS])
def test_schema_and_loader_agree_on_every_mutation(name: str, data: dict[str, Any]) -> None:
    assert disagreement(data) is None and loader_errors(data) == []
    found = [f"{where}: {why}" for where, mutated in mutations(data) if (why := disagreement(mutated))]
    assert found == [], f"{len(found)} disagreements in mutations of {name}:\n" + "\n".join(found[:40])


def _instances(definition: dict[str, Any], mapping: dict[str, Any]) -> bool:
    """Whether ``mapping`` fits ``definition`` by its keys, required keys and constant values (kind, recipe)."""
    properties = definition.get("properties", {})
    if not set(mapping) <= set(properties) or not set(definition.get("required", ())) <= set(mapping):
        return False
    for key, value in mapping.items():
        allowed = properties[key].get("enum", [properties[key]["const"]] if "const" in properties[key] else None)
        if allowed is not None and value not in allowed:
            return False
    return True


def test_the_corpus_writes_every_key_of_the_schema() -> None:
    definitions = {"suite": SCHEMA, **SCHEMA["$defs"]}
    definitions |= {  # OutputRef: a name, or a mapping
        f"{name} (mapping)": branch
        for name, definition in SCHEMA["$defs"].items()
        if "properties" not in definition
        for branch in definition.get("anyOf", ())
    }
    written = {name: set() for name in definitions if definitions[name].get("properties")}
    for _, data in CORPUS:
        for mapping in (value for _, value in [((), data), *_nodes(data)] if isinstance(value, dict)):
            for name in written:
                if _instances(definitions[name], mapping):
                    written[name] |= set(mapping)
    missing = {name: sorted(set(definitions[name]["properties"]) - keys) for name, keys in written.items()}
    assert {name: keys for name, keys in missing.items() if keys} == {}, "write these keys in EVERY_KEY"


OPENAI = {"kind": "openai", "base_url": "u", "model": "m", "prompt": "p"}
KSERVE = {"kind": "kserve", "url": "u", "model": "m", "inputs": [{"name": "x", "columns": ["a"]}]}
SPECIFIC: list[tuple[str, tuple[Any, ...], Any, bool]] = [
    ("the output shorthand (the flagship suites)", ("target", "outputs"), {"label": "label"}, True),
    ("a kserve output by name", ("target",), {**KSERVE, "label": "out"}, True),
    ("a kserve target with no output", ("target",), KSERVE, False),
    ("a kserve target with null outputs", ("target",), {**KSERVE, "label": None, "score": None}, False),
    ("the schema version as a boolean", ("schema",), True, False),
    ("the schema version as 1.0", ("schema",), 1.0, True),
    ("an integer written as text", ("target", "batch_size"), "64", False),
    ("an integer written as 64.0", ("target", "batch_size"), 64.0, True),
    ("an integer with a fraction", ("target", "batch_size"), 6.5, False),
    ("an integer as a boolean", ("seed",), True, False),
    ("a number written as text", ("statistics",), {"confidence": "0.9"}, False),
    ("a boolean written as text", ("target",), {**OPENAI, "stream": "true"}, False),
    ("a boolean as 1", ("target",), {**OPENAI, "stream": 1}, False),
    ("the openai batch size as true", ("target",), {**OPENAI, "batch_size": True}, False),
    ("a key in the suite", ("target",), {**OPENAI, "api_key": "sk-live-123"}, False),
    ("a key from the environment", ("target",), {**OPENAI, "api_key": "${env:KEY}"}, True),
    ("no metric and no load", ("metrics",), {}, False),
    ("only null metrics", ("metrics",), {"accuracy": None}, False),
]
"""(what, where, value, whether both accept it): the gaps this test was written for, pinned."""


@pytest.mark.parametrize(("path", "value", "accepted"), [case[1:] for case in SPECIFIC], ids=[c[0] for c in SPECIFIC])
def test_schema_and_loader_agree_on(path: tuple[Any, ...], value: Any, accepted: bool) -> None:
    data = replaced(_parsed(BASE, "base"), path, value)
    assert disagreement(data) is None
    assert VALIDATOR.is_valid(data) is accepted


def test_the_python_field_name_of_schema_is_not_a_key() -> None:
    data = _parsed(BASE, "base")
    data["schema_version"] = data.pop("schema")
    assert not VALIDATOR.is_valid(data)
    assert [error["type"] for error in loader_errors(data)] == ["missing", "extra_forbidden"]


def test_a_load_section_stands_in_for_metrics() -> None:
    data = {k: v for k, v in _parsed(BASE, "base").items() if k != "metrics"}
    data["load"] = {"rate": 10}
    assert VALIDATOR.is_valid(data)
    assert loader_errors(data) == []


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_non_finite_numbers_are_refused_by_the_loader(value: float) -> None:
    data = replaced(
        _parsed(BASE, "base"), ("target",), {"kind": "http", "url": "u", "body": "{}", "label": "a", "timeout_s": value}
    )
    assert [error["type"] for error in loader_errors(data)] == ["finite_number"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("seed: '7'", "seed: YAML read '7' as text, not a number (quotes make text); write 7"),
        (
            "seed: yes",
            "seed: YAML read this as the boolean true (yes/no/on/off are booleans in YAML); write a whole number",
        ),
        ("seed: 7.5", "seed: expected a whole number, got the number 7.5"),
        (
            "statistics: {confidence: 9e-1}",
            "statistics.confidence: YAML read '9e-1' as text, not a number "
            "(YAML 1.1 needs a dot and a signed exponent, as in 1.0e-3); write 0.9",
        ),
        (
            "description: no",
            "description: YAML read this as the boolean false (yes/no/on/off are booleans in "
            "YAML); quote it to mean text, as in 'yes'",
        ),
        ("schema: true", "schema: YAML read this as the boolean true (yes/no/on/off are booleans in YAML); write 1"),
        ("report: 5", "report: expected a mapping (key: value), got the number 5"),
        (
            "target: {kind: onnx, path: m.onnx, outputs: {label: 5}}",
            "target.outputs.label: expected an output's name, or a mapping {name: ..., column: ...}, got the number 5",
        ),
    ],
)
def test_strict_types_are_explained_in_the_suites_words(line: str, message: str) -> None:
    key = line.split(":")[0]
    text = "\n".join([*(row for row in textwrap.dedent(BASE).splitlines() if not row.startswith(f"{key}:")), line])
    document = parse_yaml(text + "\n", "suite.yaml")
    with pytest.raises(ValidationError) as raised:
        suite_model().model_validate(document.data)
    problems = validation_problems(raised.value, document, suite_model())
    assert [str(problem).split(": ", 1)[1] for problem in problems] == [message]
