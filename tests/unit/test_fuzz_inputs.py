"""Property-based fuzzing of what users hand us: suite files and run records.

Hypothesis mutates a valid suite (keys deleted, types swapped, huge numbers, deep nesting, random
bytes) and a valid run.json. Every outcome must be a located suite error (exit 4) or a normal
verdict: never a traceback, never a hang past a bound (an alarm fails the example after 10 s).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from evalharness.cli import main
from evalharness.errors import EvalHarnessError
from evalharness.session import EvalSession
from tests.builders import logistic_onnx, two_feature_frame

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SUITE: dict[str, Any] = {
    "schema": 1,
    "name": "fuzz",
    "seed": 3,
    "target": {"kind": "onnx", "path": "model.onnx", "batch_size": 64, "inputs": {"features": ["x1", "x2"]}},
    "dataset": {"path": "data.csv", "id": "row_id", "expected": "y", "inputs": ["x1", "x2"], "positive_label": 1},
    "metrics": {
        "accuracy": {"min": 0.8},
        "precision": {"min": 0.5, "zero_division": 0},
        "auc": {"min": 0.5, "gate_on": "bound"},
        "consistency": {"min": 0.9, "rules": [{"name": "r1", "when": "x1 > 0.0", "rule": "predicted == 1"}]},
        "drift": {"reference": "data.csv", "max": 0.5},
    },
    "statistics": {"confidence": 0.95, "bootstrap_resamples": 50},
    "report": {"worst_rows": 3},
}
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.just(10**400), st.just(-(10**60)), st.just([]), st.just({}), st.just("${env:EVALHARNESS_FUZZ_UNSET}"),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    logistic_onnx(folder / "model.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(120).to_csv(folder / "data.csv", index=False)
    return folder


@contextlib.contextmanager
def _bounded(seconds: int = 10) -> Iterator[None]:
    """Fail (not hang) when the code under test runs past ``seconds``."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError(f"ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a nested structure of dicts and lists."""
    found = [prefix] if prefix else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for key, child in items:
        found.extend(_paths(child, (*prefix, key)))
    return found


def _mutate(document: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    mutated = copy.deepcopy(document)
    parent = mutated
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "nest":
        nested: Any = parent[last]
        for _ in range(200):
            nested = [nested]
        parent[last] = nested
    else:
        parent[last] = value
    return mutated


@st.composite
def suite_texts(draw: st.DrawFn) -> str:
    """A suite's YAML text: the valid one with one to three mutations, or random bytes, or deep nesting."""
    kind = draw(st.sampled_from(["mutated", "mutated", "mutated", "bytes", "deep", "aliases"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300)).decode("latin-1")
    if kind == "deep":
        depth = draw(st.integers(50, 3000))
        return "schema: 1\nname: deep\nmetrics: " + "[" * depth + "]" * depth + "\n"
    if kind == "aliases":
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        levels = draw(st.integers(2, 12))
        lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, levels)]
        return "\n".join(lines) + "\n"
    document: Any = SUITE
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(document)))
        action = draw(st.sampled_from(["delete", "swap", "swap", "nest"]))
        document = _mutate(document, path, action, draw(ODD_VALUES))
    try:
        return yaml.safe_dump(document, sort_keys=False)
    except (yaml.YAMLError, OverflowError):
        return json.dumps(document, default=str)


def _verdict(suite: Path) -> None:
    """Load the suite and, when valid, evaluate every gate: only our own errors may escape."""
    try:
        state = EvalSession.load([str(suite)], suite.parent / "reports")
    except EvalHarnessError:
        return  # a located suite error: exit 4
    try:
        run = state.run_for(suite)
        for name in run.suite.metric_order:
            try:
                gate = run.evaluate_gate(name, f"suite.yaml::{name}")
            except EvalHarnessError:
                continue  # the gate errors with its reason
            assert gate.status in ("passed", "failed", "error", "info")
    finally:
        state.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=suite_texts())
def test_any_suite_gives_exit_4_or_a_verdict(project: Path, text: str) -> None:
    suite = project / "suite.yaml"
    suite.write_bytes(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
    with _bounded():
        _verdict(suite)


@pytest.fixture(scope="module")
def record(project: Path) -> dict[str, Any]:
    """A real run.json of the valid suite."""
    suite = project / "record-suite.yaml"
    suite.write_text(yaml.safe_dump(SUITE, sort_keys=False))
    out = project / "record-reports"
    command = [sys.executable, "-m", "pytest", "--evalharness", str(suite), "--evalharness-report-dir", str(out),
               "-q", "-p", "no:cacheprovider"]  # fmt: skip
    subprocess.run(command, cwd=project, capture_output=True, timeout=300, check=False)
    return dict(json.loads((out / "run.json").read_text()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_record_gives_a_one_line_error_or_reports(project: Path, record: dict[str, Any], data: Any) -> None:
    path = data.draw(st.sampled_from(_paths(record)))
    action = data.draw(st.sampled_from(["delete", "swap", "swap", "nest"]))
    mutated = _mutate(record, path, action, data.draw(ODD_VALUES))
    target = project / "mutated.json"
    target.write_text(json.dumps(mutated, default=str))
    stderr = io.StringIO()
    with _bounded(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        code = main(["report", str(target), "--out", str(project / "mutated-reports")])
    assert code in (0, 1, 4)
    if code == 4:
        assert len(stderr.getvalue().strip().splitlines()) == 1, stderr.getvalue()


ENDPOINT_SUITES: list[dict[str, Any]] = [
    {**SUITE, "name": "fuzz-http", "target": {
        "kind": "http", "url": "http://127.0.0.1:9/predict",
        "body": '{"x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}', "label": "output.label",
        "score": "output.probability", "retries": 0}},
    {**SUITE, "name": "fuzz-batch", "target": {
        "kind": "http", "url": "http://127.0.0.1:9/batch", "body": '{"rows": {{ rows | tojson }}}', "batch_size": 8,
        "label": "labels[*]", "retries": 0}},
    {**SUITE, "name": "fuzz-openai", "target": {
        "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "prompt": "x1={{ x1 }} x2={{ x2 }}",
        "extract": "Answer:\\s*(\\w+)", "labels": {"fraud": 1, "legit": 0}, "stop": ["\\n"], "retries": 0}},
]  # fmt: skip
JINJA_BITS = st.sampled_from([
    "{{", "}}", "{%", "%}", "{% for r in rows %}", "{% endfor %}", "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "{{ range(10**6) | sum }}", "{{ ('x' * 999999) ~ ('x' * 999999) }}", "{{ [1] * 10**7 }}", "{{ row | tojson }}",
    "{{ x9 }}", "{{ row.missing }}", "{{ loop(x) }}", "{{ ''.__class__ }}", "{{ 'a' | center(10**9) }}", "\x00",
    "\ud800",
    "{{ '%999999999s' % 1 }}", "{% for x in [1] recursive %}{{ loop([1, 1]) }}{% endfor %}", "[*]", "((", "||",
])  # fmt: skip
TEXT_KEYS = {"body", "prompt", "label", "score", "extract", "url", "base_url"}


@st.composite
def endpoint_suite_texts(draw: st.DrawFn) -> str:
    """An endpoint suite whose templates, JMESPath paths and regexes are cut, spliced with Jinja, JMESPath
    and regex fragments, or swapped for odd values."""
    document = copy.deepcopy(draw(st.sampled_from(ENDPOINT_SUITES)))
    target = document["target"]
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(TEXT_KEYS & set(target))))
        text = str(target[key])
        cut = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["splice", "splice", "cut", "odd"]))
        target[key] = (text[:cut] + draw(JINJA_BITS) + text[cut:] if action == "splice" else text[:cut]
                       if action == "cut" else draw(ODD_VALUES))  # fmt: skip
    try:
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, OverflowError, UnicodeEncodeError):
        return json.dumps(document, default=str)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=endpoint_suite_texts())
def test_any_endpoint_suite_is_a_located_error_or_loads(project: Path, text: str) -> None:
    """Validation compiles and renders each template once, and compiles every path and regex: a bad one
    is a located suite error (exit 4), never a traceback or a hang (nothing is sent: validation only)."""
    pytest.importorskip("aiohttp")
    suite = project / "endpoint-suite.yaml"
    suite.write_bytes(text.encode("utf-8", "surrogateescape"))
    with _bounded():
        try:
            EvalSession.load([str(suite)], project / "endpoint-reports").close()
        except EvalHarnessError:
            pass
