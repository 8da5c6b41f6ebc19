"""http target batching follows the body template: a template over ``rows`` is a batch at any size.

Answers come from real servers on 127.0.0.1: the shared model endpoint (``tests/servers.py``)
and, here, one that answers in a shape chosen by the URL, to check every wrong shape becomes a
``parse_error`` that names the JMESPath expression and the shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evalharness.errors import SuiteError, TargetError
from evalharness.suite.loader import load_suite
from evalharness.suite.schema import HttpTargetSpec
from evalharness.targets import TargetContext, create_target
from tests.builders import two_feature_frame, write_suite
from tests.servers import answer, loopback_server, serve_app

pytest.importorskip("aiohttp")
ROWS_BODY = '{"instances": {{ rows | tojson }}}'
ROW_BODY = "{{ row | tojson }}"


def _batch_answer(rows: list[dict[str, Any]], shape: str) -> Any:
    """The model's answers for ``rows``, in the named (possibly wrong) shape."""
    predictions = [{"label": label, "score": score} for label, score in map(answer, rows)]
    wrong = {
        "short": lambda: predictions[:-1],
        "extra": lambda: [*predictions, predictions[0]],
        "object": lambda: predictions[0],
        "text_score": lambda: [{**p, "score": "high"} for p in predictions],
        "null_score": lambda: [{**p, "score": None} for p in predictions],
        "nested_score": lambda: [{**p, "score": [p["score"]]} for p in predictions],
        "no_labels": lambda: [{"score": p["score"]} for p in predictions],
    }
    return {"predictions": wrong[shape]() if shape in wrong else predictions}


def _row_answer(row: dict[str, Any], shape: str) -> Any:
    """One row's answer in the named shape; ``forecast`` answers a list as the label, which is legitimate."""
    label, score = answer(row)
    output: dict[str, Any] = {"label": label, "probability": score}
    changed = {
        "list_score": {"probability": [score]},
        "text_score": {"probability": "high"},
        "null_score": {"probability": None},
        "no_label": {"label": None},
        "forecast": {"label": [label, label, 1 - label]},
    }
    return {"output": {**output, **changed.get(shape, {})}}


def _app() -> Any:
    from aiohttp import web

    async def batch(request: web.Request) -> web.Response:
        rows = (await request.json())["instances"]
        shape = request.query.get("shape", "ok")
        if shape.startswith("short_for_"):  # wrong only for requests holding that row
            shape = "short" if any(row["row_id"] == shape.removeprefix("short_for_") for row in rows) else "ok"
        return web.json_response(_batch_answer(rows, shape))

    async def row(request: web.Request) -> web.Response:
        return web.json_response(_row_answer(await request.json(), request.query.get("shape", "ok")))

    app = web.Application()
    app.router.add_post("/batch", batch)
    app.router.add_post("/row", row)
    return app


def _shape_server() -> Any:
    """The shape routes on 127.0.0.1 (a free port); a context manager yielding the base URL."""
    return serve_app(_app())


@pytest.fixture(scope="module")
def shapes() -> Iterator[str]:
    with _shape_server() as url:
        yield url


def _target(url: str, **spec: object):  # type: ignore[no-untyped-def]
    fields = {"kind": "http", "url": url, "body": ROWS_BODY, "label": "predictions[*].label",
              "score": "predictions[*].score", "retries": 0}  # fmt: skip
    return create_target(
        HttpTargetSpec.model_validate({**fields, **spec}), TargetContext(Path("."), "row_id", ["x1", "x2"])
    )


@pytest.mark.parametrize("batch_size", [1, 2, 7, 64])
def test_a_rows_template_reads_the_same_answers_at_every_batch_size(shapes, batch_size) -> None:  # type: ignore[no-untyped-def]
    frame = two_feature_frame(rows=45)
    truth = [answer(row) for row in frame.to_dict(orient="records")]
    target = _target(f"{shapes}/batch", batch_size=batch_size)
    output = target.predict(frame)
    assert output.label.tolist() == [label for label, _ in truth]
    assert output.score is not None and output.score.tolist() == pytest.approx([score for _, score in truth])
    assert target.describe()["outcomes"] == {"ok": -(-45 // batch_size)}


def test_batch_size_1_equals_batch_size_64_on_the_shared_server() -> None:
    frame = two_feature_frame(rows=70)
    spec = {"body": '{"rows": {{ rows | tojson }}}', "label": "labels", "score": "scores"}
    with loopback_server() as (url, _):
        one = _target(f"{url}/batch", batch_size=1, **spec).predict(frame)
        many = _target(f"{url}/batch", batch_size=64, **spec).predict(frame)
    assert one.label.tolist() == many.label.tolist() == [answer(r)[0] for r in frame.to_dict(orient="records")]
    assert one.label.dtype == many.label.dtype and one.label.dtype.kind == "i"
    assert one.score is not None and many.score is not None
    assert one.score.tolist() == many.score.tolist()


def _first_error(target: Any, rows: int) -> str:
    """The first failure of a run whose every request failed, after checking they all counted."""
    requests = -(-rows // target.spec.batch_size)
    with pytest.raises(TargetError) as raised:
        target.predict(two_feature_frame(rows=rows))
    assert f"{requests} of {requests} requests failed (parse_error {requests})" in str(raised.value)
    return str(target.describe()["first_error"]).removeprefix("parse_error: ")


@pytest.mark.parametrize(
    ("shape", "batch_size", "message"),
    [
        ("short", 2, "label path 'predictions[*].label' gave a list of 1 value for a request of 2 rows"),
        ("extra", 3, "label path 'predictions[*].label' gave a list of 4 values for a request of 3 rows"),
        ("short", 1, "label path 'predictions[*].label' gave a list of 0 values for a request of 1 row"),
        (
            "object",
            2,
            "label path 'predictions[*].label' gave nothing (null) where a list of one value per row was "
            "expected (a request of 2 rows)",
        ),  # fmt: skip
        # JMESPath projections drop nulls, so rows without an answer make the list short.
        ("no_labels", 2, "label path 'predictions[*].label' gave a list of 0 values for a request of 2 rows"),
        ("null_score", 1, "score path 'predictions[*].score' gave a list of 0 values for a request of 1 row"),
        (
            "text_score",
            2,
            "score path 'predictions[*].score' gave the text 'high' for row 1 of 2 where a number was expected",
        ),  # fmt: skip
        (
            "nested_score",
            1,
            "score path 'predictions[*].score' gave a list for row 1 of 1 where one number per row was expected",
        ),  # fmt: skip
    ],
)
def test_a_batch_answer_of_the_wrong_shape_is_a_parse_error(shapes, shape, batch_size, message) -> None:  # type: ignore[no-untyped-def]
    target = _target(f"{shapes}/batch?shape={shape}", batch_size=batch_size)
    assert _first_error(target, rows=6) == message


def test_a_dict_where_the_list_belongs_names_the_shape(shapes) -> None:  # type: ignore[no-untyped-def]
    target = _target(f"{shapes}/batch?shape=object", batch_size=3, label="predictions", score=None, max_error_rate=1.0)
    target.predict(two_feature_frame(rows=3))
    assert target.describe()["first_error"] == (
        "parse_error: label path 'predictions' gave an object with keys ['label', 'score'] where a list of one "
        "value per row was expected (a request of 3 rows)"
    )


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ("list_score", "score path 'output.probability' gave a list where one number per row was expected"),
        ("text_score", "score path 'output.probability' gave the text 'high' where a number was expected"),
        ("null_score", "score path 'output.probability' gave nothing (null) where a number was expected"),
        ("no_label", "label path 'output.label' found nothing in the answer, an object with keys ['output']"),
    ],
)
def test_a_row_answer_of_the_wrong_shape_is_a_parse_error(shapes, shape, message) -> None:  # type: ignore[no-untyped-def]
    target = _target(f"{shapes}/row?shape={shape}", body=ROW_BODY, label="output.label", score="output.probability")
    assert _first_error(target, rows=4) == message


def test_a_list_is_a_legitimate_answer_for_one_row(shapes) -> None:  # type: ignore[no-untyped-def]
    frame = two_feature_frame(rows=5)
    output = _target(f"{shapes}/row?shape=forecast", body=ROW_BODY, label="output.label", score=None).predict(frame)
    labels = [answer(row)[0] for row in frame.to_dict(orient="records")]
    assert [list(value) for value in output.label] == [[label, label, 1 - label] for label in labels]
    assert output.score is None


def test_max_error_rate_counts_wrong_shapes_per_request(shapes) -> None:  # type: ignore[no-untyped-def]
    frame = two_feature_frame(rows=40)
    url = f"{shapes}/batch?shape=short_for_r00013"  # only the request holding row r00013 is short
    tolerant = _target(url, batch_size=10, max_error_rate=0.25)
    output = tolerant.predict(frame)
    assert tolerant.describe()["outcomes"] == {"ok": 3, "parse_error": 1}
    assert output.label[10:20].tolist() == [None] * 10 and None not in output.label[:10].tolist()
    assert output.score is not None and np.isnan(output.score).tolist() == [i // 10 == 1 for i in range(40)]
    with pytest.raises(TargetError, match="1 of 4 requests failed \\(ok 3, parse_error 1\\); max_error_rate is 0.2"):
        _target(url, batch_size=10, max_error_rate=0.2).predict(frame)


def _suite(tmp_path: Path, target: str) -> Path:
    two_feature_frame(rows=30).to_csv(tmp_path / "data.csv", index=False)
    return write_suite(tmp_path, "accuracy: {min: 0.8}", target=target)


def _problems(suite: Path) -> list[str]:
    with pytest.raises(SuiteError) as raised:
        load_suite(suite)
    return [str(problem) for problem in raised.value.problems]


def test_a_batch_size_without_rows_in_the_body_is_a_located_suite_error(tmp_path: Path) -> None:
    target = f"{{kind: http, url: 'http://127.0.0.1:9/p', body: '{ROW_BODY}', label: l, batch_size: 8}}"
    suite = _suite(tmp_path, target)
    [problem] = _problems(suite)
    assert problem.startswith(f"{suite}:4:")
    assert "target.batch_size: batch_size 8 puts 8 rows in each request" in problem
    assert "never reads rows" in problem and "body: '{\"instances\": {{ rows | tojson }}}'" in problem
    assert "or set batch_size: 1" in problem


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"instances": {{ rows | tojson }', "unexpected '}'"),
        ("[{% for r in rows %}{{ r | tojson }}]", "Unexpected end of template"),
        ("{{ row | no_such_filter }}", "No filter named 'no_such_filter'"),
    ],
)
def test_a_body_that_is_not_jinja_is_a_located_suite_error(tmp_path: Path, body: str, reason: str) -> None:
    suite = _suite(tmp_path, f"{{kind: http, url: 'http://127.0.0.1:9/p', body: '{body}', label: l}}")
    [problem] = _problems(suite)
    assert problem.startswith(f"{suite}:4:")
    assert f"target.body: the body is not a valid Jinja template: {reason}" in problem


def test_a_gate_over_a_one_row_batch_passes_end_to_end(shapes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The reported failure: batch_size 1 with a rows template ended every gate in a TypeError."""
    from evalharness.session import EvalSession

    target = (f"{{kind: http, url: '{shapes}/batch', body: '{ROWS_BODY}', batch_size: 1, "
              "label: 'predictions[*].label', score: 'predictions[*].score'}")  # fmt: skip
    suite = _suite(tmp_path, target)
    state = EvalSession.load([str(suite)], tmp_path / "reports")
    run = state.run_for(suite)
    try:
        gate = run.evaluate_gate("accuracy", "suite.yaml::accuracy")
    finally:
        run.close()
    assert gate.status in ("passed", "failed") and gate.value is not None
    frame = two_feature_frame(rows=30)
    truth = np.mean([answer(row)[0] == row["y"] for row in frame.to_dict(orient="records")])
    assert gate.value == pytest.approx(truth)


def test_answers_cached_by_the_old_one_value_reading_are_not_reused(shapes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Before, a one-row batch's answer list was kept whole ([[0]]); a resumed run must ask again."""
    from evalharness.targets.cache import AnswerCache

    fields = {"kind": "http", "url": f"{shapes}/batch", "body": ROWS_BODY, "label": "predictions[*].label",
              "score": "predictions[*].score", "retries": 0}  # fmt: skip
    spec = HttpTargetSpec.model_validate(fields)
    context = TargetContext(Path("."), "row_id", ["x1", "x2"], tmp_path, True)
    target = create_target(spec, context)
    frame = two_feature_frame(rows=3)
    stale = AnswerCache(tmp_path, spec.model_dump(mode="json"))  # the key the old version wrote under
    for rows in target.request_rows(frame):
        stale.put(target.payload(rows), {"labels": [[0]], "scores": [[0.5]]})
    output = target.predict(frame)
    assert output.label.tolist() == [answer(row)[0] for row in frame.to_dict(orient="records")]


@pytest.mark.parametrize(
    ("route", "spec", "message"),
    [
        (
            "batch",
            {"batch_size": 1, "label": "predictions"},
            "label path 'predictions' gave an object with keys ['label', 'score'] for row 1 of 1 where a label "
            "(text, a number or a boolean) or a list of numbers was expected",
        ),
        (
            "batch",
            {"batch_size": 3, "label": "predictions"},
            "label path 'predictions' gave an object with keys ['label', 'score'] for row 1 of 3 where a label "
            "(text, a number or a boolean) or a list of numbers was expected",
        ),
        (
            "row",
            {"body": ROW_BODY, "label": "output"},
            "label path 'output' gave an object with keys ['label', 'probability'] where a label "
            "(text, a number or a boolean) or a list of numbers was expected",
        ),
        (
            "row",
            {"body": ROW_BODY, "label": "[output]"},
            "label path '[output]' gave a list holding an object with keys ['label', 'probability'] where a label "
            "(text, a number or a boolean) or a list of numbers was expected",
        ),
    ],
)
def test_a_label_that_cannot_be_an_answer_is_a_parse_error(shapes, route, spec, message) -> None:  # type: ignore[no-untyped-def]
    """Regression: an object as a row's label was scored as a wrong answer (accuracy 0, no error), or in a
    one-row request failed later with "the expected column must hold sequences ... not 'dict'"."""
    target = _target(f"{shapes}/{route}", score=None, **spec)
    assert _first_error(target, rows=3) == message
