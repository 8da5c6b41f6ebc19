"""Secrets reach a suite only as ``${env:NAME}``: literal secrets in headers and URL passwords are
located errors; an unset variable stops a run (exit 4) and is a warning from ``evalharness validate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evalharness.cli import main as cli_main
from evalharness.errors import SuiteError
from evalharness.session import EvalSession
from evalharness.suite.loader import load_suite
from tests.builders import demo_project

REPO_ROOT = Path(__file__).resolve().parents[2]
VARIABLE = "EVALHARNESS_TEST_UNSET_SECRET"
TARGETS = {
    "http": "{{kind: http, url: '{url}', body: '{{{{ row | tojson }}}}', label: label{extra}}}",
    "kserve": "{{kind: kserve, url: '{url}', model: m, inputs: [{{name: x, columns: [x1, x2]}}], label: out{extra}}}",
    "openai": "{{kind: openai, base_url: '{url}', model: m, prompt: '{{{{ x1 }}}}'{extra}}}",
}
URL_KEY = {"http": "url", "kserve": "url", "openai": "base_url"}


def _suite(tmp_path: Path, kind: str, url: str = "http://127.0.0.1:9/v1", headers: str = "") -> Path:
    suite = demo_project(tmp_path)
    extra = f", headers: {{{headers}}}" if headers else ""
    target = TARGETS[kind].format(url=url, extra=extra)
    text = "\n".join(
        f"target: {target}" if line.startswith("target:") else line for line in suite.read_text().split("\n")
    )
    suite.write_text(text)
    return suite


def _errors(suite: Path) -> list[str]:
    with pytest.raises(SuiteError) as raised:
        load_suite(suite)
    return [str(problem) for problem in raised.value.problems]


SECRET_HEADERS = [
    "Authorization",
    "Proxy-Authorization",
    "X-Api-Key",
    "api-key",
    "X-Auth-Token",
    "Cookie",
    "client_secret",
]


@pytest.mark.parametrize("kind", list(TARGETS))
@pytest.mark.parametrize("name", SECRET_HEADERS)
def test_a_literal_secret_header_is_refused_at_its_value(tmp_path: Path, kind: str, name: str) -> None:
    suite = _suite(tmp_path, kind, headers=f"X-Team: ml, {name}: 'Bearer sk-live-0123456789'")
    line = suite.read_text().split("\n")[3]
    column = line.index("'Bearer sk-live") + 1
    assert _errors(suite) == [
        f"{suite}:4:{column}: target.headers.{name}: the header {name} carries a secret, and a suite file must "
        f"never hold one: read it from the environment, e.g. {name}: 'Bearer ${{env:API_TOKEN}}' with API_TOKEN "
        "set where the suite runs"
    ]


@pytest.mark.parametrize(
    "headers",
    [
        "Authorization: 'Bearer ${env:API_TOKEN}'",
        "X-Api-Key: '${env:API_KEY}'",
        "Cookie: 'session=${env:SESSION}'",
        "X-Team: ml, X-Request-Source: ci",
    ],
)
def test_headers_that_read_the_environment_and_plain_headers_pass(tmp_path: Path, headers: str) -> None:
    load_suite(_suite(tmp_path, "http", headers=headers))


@pytest.mark.parametrize("kind", list(TARGETS))
def test_a_password_in_the_url_is_refused(tmp_path: Path, kind: str) -> None:
    suite = _suite(tmp_path, kind, url="https://ml:hunter2@models.example.com/v1")
    line = suite.read_text().split("\n")[3]
    column = line.index("'https://") + 1
    assert _errors(suite) == [
        f"{suite}:4:{column}: target.{URL_KEY[kind]}: the URL holds a password (user:password@host), and a suite "
        "file must never hold a secret: write it as https://user:${env:API_PASSWORD}@host, or send a token in headers"
    ]


@pytest.mark.parametrize(
    "url", ["https://ml:${env:API_PASSWORD}@models.example.com/v1", "${env:MODEL_URL}", "http://127.0.0.1:{port}/v1"]
)
def test_urls_without_a_literal_password_pass(tmp_path: Path, url: str) -> None:
    load_suite(_suite(tmp_path, "http", url=url))


jsonschema = pytest.importorskip("jsonschema")
VALIDATOR = jsonschema.Draft202012Validator(json.loads((REPO_ROOT / "schemas" / "suite-v1.json").read_text()))


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        ({"Authorization": "Bearer sk-live"}, False),
        ({"x-api-key": "abc"}, False),
        ({"X-Api-Key": 5}, False),
        ({"Authorization": "Bearer ${env:TOKEN}"}, True),
        ({"X-Team": "ml"}, True),
    ],
)
def test_the_json_schema_agrees_on_secret_headers(tmp_path: Path, headers: dict[str, Any], accepted: bool) -> None:
    from evalharness.suite.schema import suite_model

    target = {"kind": "http", "url": "u", "body": "{}", "label": "a", "headers": headers}
    suite = {"schema": 1, "name": "x", "target": target, "dataset": {"path": "d", "id": "i", "expected": "y"}}
    suite["metrics"] = {"accuracy": {"min": 0.5}}
    assert VALIDATOR.is_valid(suite) is accepted
    try:
        suite_model().model_validate(suite)
    except ValueError:
        assert not accepted
    else:
        assert accepted


def _unset_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    return _suite(tmp_path, "http", headers=f"Authorization: 'Bearer ${{env:{VARIABLE}}}'")


UNSET = (
    f"environment variable {VARIABLE} is not set (the suite reads it as ${{env:{VARIABLE}}}); "
    "set it where the suite runs"
)


def test_an_unset_variable_stops_the_session_at_the_key_that_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = _unset_suite(tmp_path, monkeypatch)
    with pytest.raises(SuiteError) as raised:
        EvalSession.load([str(suite)], tmp_path / "reports")
    column = suite.read_text().split("\n")[3].index("'Bearer ${env") + 1
    assert [str(problem) for problem in raised.value.problems] == [
        f"suite.yaml:4:{column}: target.headers.Authorization: {UNSET}"
    ]


def test_the_session_loads_once_the_variable_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = _unset_suite(tmp_path, monkeypatch)
    monkeypatch.setenv(VARIABLE, "s3cret")
    EvalSession.load([str(suite)], tmp_path / "reports").close()


def test_validate_warns_about_an_unset_variable_and_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = _unset_suite(tmp_path, monkeypatch)
    assert cli_main(["validate", "suite.yaml"]) == 0
    out, err = capsys.readouterr()
    column = suite.read_text().split("\n")[3].index("'Bearer ${env") + 1
    assert err.splitlines() == [f"warning: suite.yaml:4:{column}: target.headers.Authorization: {UNSET}"]
    assert out.startswith("ok: suite.yaml")


def test_validate_warns_and_still_fails_on_other_problems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = _unset_suite(tmp_path, monkeypatch)
    suite.write_text(suite.read_text().replace("id: row_id", "id: rowid"))  # found once the data is read
    assert cli_main(["validate", "suite.yaml"]) == 4
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("warning: suite.yaml:4:") and VARIABLE in lines[0]
    assert lines[1].startswith("suite.yaml:5:") and "dataset.id: column 'rowid' is not in the dataset" in lines[1]


@pytest.mark.integration
def test_pytest_stops_with_exit_4_before_any_request(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _unset_suite(pytester.path, monkeypatch)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--evalharness", "suite.yaml", timeout=120)
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"target.headers.Authorization: environment variable {VARIABLE} is not set" in output
    assert "Traceback" not in output and "INTERNALERROR" not in output
    assert not (pytester.path / "reports" / "run.json").exists()
