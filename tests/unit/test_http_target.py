"""The http target against a real server on 127.0.0.1: answers, concurrency, retries and every fault."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from evalharness.errors import TargetError
from evalharness.suite.schema import HttpTargetSpec
from evalharness.targets import TargetContext, create_target
from tests.builders import two_feature_frame
from tests.servers import SECRET, ServerState, answer, loopback_server

pytest.importorskip("aiohttp")
BODY = '{"row_id": {{ row_id | tojson }}, "x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, ServerState]]:
    with loopback_server() as running:
        yield running


def _target(url: str, **spec: object):  # type: ignore[no-untyped-def]
    fields = {"kind": "http", "url": url, "body": BODY, "label": "output.label", "score": "output.probability"}
    return create_target(
        HttpTargetSpec.model_validate({**fields, **spec}), TargetContext(Path("."), "row_id", ["x1", "x2"])
    )


def test_answers_match_the_endpoint_model_and_run_concurrently(server) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    frame = two_feature_frame(rows=200)
    target = _target(f"{url}/predict", concurrency=16)
    output = target.predict(frame)
    expected = [answer(row) for row in frame.to_dict(orient="records")]
    assert output.label.tolist() == [label for label, _ in expected]
    assert np.allclose(output.score, [score for _, score in expected])
    assert target.describe()["outcomes"] == {"ok": 200}
    assert 2 <= state.max_in_flight <= 16


def test_batches_send_several_rows_per_request(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    frame = two_feature_frame(rows=45)
    body = '{"rows": {{ rows | tojson }}}'
    output = _target(f"{url}/batch", body=body, batch_size=10, label="labels", score="scores").predict(frame)
    assert output.label.tolist() == [answer(row)[0] for row in frame.to_dict(orient="records")]


def test_503_with_retry_after_is_retried_until_it_answers(server) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    frame = two_feature_frame(rows=20)
    target = _target(f"{url}/flaky")
    assert target.predict(frame).label.tolist() == [answer(r)[0] for r in frame.to_dict(orient="records")]
    assert set(state.attempts.values()) == {2}
    assert target.describe()["outcomes"] == {"ok": 20}


@pytest.mark.parametrize(
    ("route", "options", "outcome"),
    [
        ("broken", {"retries": 1}, "http_error 10"),
        ("malformed", {}, "parse_error 10"),
        ("slow", {"timeout_s": 0.2, "retries": 0}, "timeout 10"),
    ],
)
def test_failures_are_counted_and_fail_the_suite(server, route, options, outcome) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    with pytest.raises(TargetError, match=f"10 of 10 requests failed \\({outcome}\\); max_error_rate is 0"):
        _target(f"{url}/{route}", **options).predict(two_feature_frame(rows=10))


def test_dropped_connections_are_retried_then_counted(server) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    frame = two_feature_frame(rows=12)
    target = _target(f"{url}/drop", retries=2)
    assert target.predict(frame).label.tolist() == [answer(r)[0] for r in frame.to_dict(orient="records")]
    assert {state.attempts[f"drop:{row_id}"] for row_id in frame["row_id"]} == {2}
    never = frame.head(3).assign(row_id=["never", "r1", "r2"])
    with pytest.raises(TargetError, match="1 of 3 requests failed \\(http_error 1, ok 2\\).*ServerDisconnected"):
        _target(f"{url}/drop", retries=1).predict(never)


def test_retries_are_bounded(server) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    before = state.requests["broken"]
    with pytest.raises(TargetError):
        _target(f"{url}/broken", retries=2).predict(two_feature_frame(rows=3))
    assert state.requests["broken"] - before == 3 * 3


def test_secrets_come_from_the_environment_and_are_redacted(server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    headers = {"Authorization": "Bearer ${env:EVALHARNESS_TEST_KEY}"}
    with pytest.raises(TargetError, match="environment variable EVALHARNESS_TEST_KEY is not set"):
        _target(f"{url}/secured", headers=headers)
    monkeypatch.setenv("EVALHARNESS_TEST_KEY", SECRET)
    target = _target(f"{url}/secured?key=${{env:EVALHARNESS_TEST_KEY}}", headers=headers)
    assert target.predict(two_feature_frame(rows=5)).label.shape == (5,)
    assert SECRET not in str(target.describe())
    assert "key=***" in target.describe()["url"]


def test_a_connection_refused_is_an_http_error() -> None:
    with pytest.raises(TargetError, match="http_error 2"):
        _target("http://127.0.0.1:9/predict", retries=0).predict(two_feature_frame(rows=2))


def test_a_planted_key_reaches_no_report(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from evalharness.report import write_reports
    from evalharness.report.failure import format_gate_failure
    from evalharness.session import EvalSession
    from tests.builders import write_suite

    url, _ = server
    monkeypatch.setenv("EVALHARNESS_TEST_KEY", SECRET)
    two_feature_frame(rows=50).to_csv(tmp_path / "data.csv", index=False)
    target = (
        f"{{kind: http, url: '{url}/secured?k=${{env:EVALHARNESS_TEST_KEY}}', body: '{BODY}', label: output.label,"
        " score: output.probability, headers: {Authorization: 'Bearer ${env:EVALHARNESS_TEST_KEY}'}}"
    )
    suite = write_suite(tmp_path, "accuracy: {min: 0.99}", target=target)
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    run = state.run_for(suite)
    gate = run.evaluate_gate("accuracy", "suite.yaml::accuracy")
    state.add_result({"gate": gate.model_dump(mode="json"), "suite": run.record().model_dump(mode="json")})
    written = write_reports(state.record({}), tmp_path / "reports")
    assert gate.status == "failed"  # the failure text (worst rows and all) is rendered into every report
    for path in written.values():
        assert SECRET not in path.read_text(), path.name
    assert "k=***" in written["json"].read_text()
    assert SECRET not in format_gate_failure(gate)
    run.close()


def test_the_suite_deadline_turns_late_rows_into_timeouts(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    started = time.perf_counter()
    with pytest.raises(TargetError, match="6 of 6 requests failed \\(timeout 6\\).*suite deadline of 0.3 s"):
        _target(f"{url}/slow", deadline_s=0.3, retries=0).predict(two_feature_frame(rows=6))
    assert time.perf_counter() - started < 1.5


def test_a_quote_in_a_raw_value_cannot_break_the_json_body(server) -> None:  # type: ignore[no-untyped-def]
    from evalharness.targets.templates import compile_template, render

    body = render(compile_template('{"note": "{{ note }}", "exact": {{ note | tojson }}}'), note='he said "x", & <b>')
    parsed = json.loads(body)
    assert parsed["note"] == "he said &#34;x&#34;, &amp; &lt;b&gt;"
    assert parsed["exact"] == 'he said "x", & <b>'


ANSWERS_TO_READ = [{"output": {"label": 1}}, {"output": {"label": None}}, {"output": [1, 2]}, {"output": "text"},
                   {"output": None}, {}, [], "text", 3, None, {"output": {"label": {"deep": [1]}}}]  # fmt: skip


@pytest.mark.parametrize("expression", ["output.label", "output", "output.label.deep", 'output."label"', "missing"])
@pytest.mark.parametrize("answer", ANSWERS_TO_READ, ids=[repr(a)[:24] for a in ANSWERS_TO_READ])
def test_a_chain_of_fields_reads_what_jmespath_reads(expression: str, answer: object) -> None:
    import jmespath

    from evalharness.targets.http import AnswerPath

    path = AnswerPath(jmespath, expression)
    assert path.keys is not None
    assert path.search(answer) == jmespath.search(expression, answer)


@pytest.mark.parametrize("expression", ["output[0]", "outputs[*].label", "length(output)", "output || other"])
def test_other_expressions_are_searched_by_jmespath(expression: str) -> None:
    import jmespath

    from evalharness.targets.http import AnswerPath

    path = AnswerPath(jmespath, expression)
    assert path.keys is None
    answer = {"output": [3, 4], "outputs": [{"label": 1}], "other": 2}
    assert path.search(answer) == jmespath.search(expression, answer)


def test_a_bug_of_ours_is_raised_once_every_other_request_has_ended(server) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    target = _target(f"{url}/predict", concurrency=4)
    extract = target._extract
    seen: list[object] = []

    def broken(answer: object, count: int) -> object:
        seen.append(answer)
        if len(seen) == 3:
            raise RuntimeError("a bug")
        return extract(answer, count)

    target._extract = broken
    with pytest.raises(RuntimeError, match="a bug"):
        target.predict(two_feature_frame(rows=20))
    assert len(seen) == 20  # the workers went on with the other rows before it was raised


def test_request_rows_hold_what_pandas_to_dict_gives() -> None:
    import pandas as pd

    from evalharness.targets.endpoint import _records

    frame = pd.DataFrame({
        "a": [1.5, np.nan, 2.0], "b": pd.array([1, None, 3], dtype="Int64"), "c": ["x", None, "z"],
        "d": pd.to_datetime(["2024-01-01", None, "2024-01-03"]), "e": [np.float32(1.5), np.int64(3), True],
        "f": [True, False, True], "g": pd.Categorical(["p", "q", None]), "h": [[1, 2], {"k": 1}, None],
        "i": pd.array(["s", None, "t"], dtype="string"),
    })  # fmt: skip
    for case in (frame, two_feature_frame(rows=20), pd.DataFrame(index=range(3)), pd.DataFrame({"x": []})):
        objects = case.astype(object).where(case.notna(), None)
        expected = objects.to_dict(orient="records")
        for records in (_records(objects), _records(case)):  # the objects pandas makes, or the frame itself
            assert records == expected
            types = [list(map(type, row.values())) for row in records]
            assert types == [list(map(type, row.values())) for row in expected]


def test_request_rows_take_the_id_and_inputs_only_without_copying_the_frame() -> None:
    import pandas as pd

    frame = two_feature_frame(rows=5).assign(label=1, x1=[0.5, None, 1.5, 2.0, None])
    rows = _target("http://127.0.0.1:9/predict", batch_size=2,
                   body='{"rows": {{ rows | tojson }}}', label="labels").request_rows(frame)  # fmt: skip
    assert [len(chunk) for chunk in rows] == [2, 2, 1]
    flat = [row for chunk in rows for row in chunk]
    assert all(list(row) == ["row_id", "x1", "x2"] for row in flat)  # never the expected answer
    assert [row["x1"] for row in flat] == [0.5, None, 1.5, 2.0, None]
    duplicated = pd.concat([frame[["row_id"]], frame[["x1", "x2"]], frame[["x2"]]], axis=1)
    assert len(_target("http://127.0.0.1:9/predict").request_rows(duplicated)) == 5  # pandas' way, no error


def _recording_app(seen: list[tuple[bytes, str]]):  # type: ignore[no-untyped-def]
    """Answers every row with label 1 and keeps each request's raw body and content type."""
    from aiohttp import web

    async def predict(request: web.Request) -> web.Response:
        seen.append((await request.read(), request.headers.get("Content-Type", "")))
        return web.json_response({"output": {"label": 1, "probability": 0.5}})

    app = web.Application()
    app.router.add_post("/predict", predict)
    return app


@pytest.mark.parametrize(
    ("headers", "content_type"),
    [({}, "application/json"), ({"content-type": "application/vnd.model+json"}, "application/vnd.model+json")],
)
def test_the_body_goes_out_as_the_template_rendered_it(headers: dict[str, str], content_type: str) -> None:
    from tests.servers import serve_app

    seen: list[tuple[bytes, str]] = []
    frame = two_feature_frame(rows=3)
    body = '{ "row_id": {{ row_id | tojson }},  "x": [{{ x1 | tojson }}, {{ x2 | tojson }}], "note": "café" }'
    with serve_app(_recording_app(seen)) as url:
        output = _target(f"{url}/predict", body=body, headers=headers).predict(frame)
    assert output.label.tolist() == [1, 1, 1]
    rows = frame.to_dict(orient="records")
    expected = {
        f'{{ "row_id": {json.dumps(row["row_id"])},  "x": [{json.dumps(row["x1"])}, {json.dumps(row["x2"])}], '
        '"note": "café" }'.encode()
        for row in rows
    }
    assert {raw for raw, _ in seen} == expected  # not parsed and written again: spacing and UTF-8 kept
    assert {kind for _, kind in seen} == {content_type}  # the suite's own content type wins


@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "utf-16"])
def test_an_answer_is_read_in_the_charset_it_declares(charset: str) -> None:
    from aiohttp import web

    from tests.servers import serve_app

    async def predict(request: web.Request) -> web.Response:
        await request.read()
        text = json.dumps({"output": {"label": "café", "probability": 0.5}}, ensure_ascii=False)
        return web.Response(body=text.encode(charset), content_type="application/json", charset=charset)

    app = web.Application()
    app.router.add_post("/predict", predict)
    with serve_app(app) as url:
        output = _target(f"{url}/predict").predict(two_feature_frame(rows=2))
    assert output.label.tolist() == ["café", "café"]


def test_a_name_inside_a_json_string_is_still_checked_and_counted() -> None:
    """``"{{ row_id | tojson }}"`` writes quotes inside quotes: not JSON, so every request is a parse error."""
    target = _target("http://127.0.0.1:9/predict", body='{"id": "{{ row_id | tojson }}"}', max_error_rate=1.0)
    assert not target.body.evalharness_plain.writes_json
    target.predict(two_feature_frame(rows=4))
    assert target.describe()["outcomes"] == {"parse_error": 4}
