"""The kserve target speaks the Open Inference Protocol v2 to a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from evalharness.errors import SuiteError, TargetError
from evalharness.suite.loader import load_suite
from evalharness.suite.schema import KServeTargetSpec
from evalharness.targets import TargetContext, create_target
from tests.builders import demo_project, two_feature_frame
from tests.servers import ServerState, answer, loopback_server

pytest.importorskip("aiohttp")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, ServerState]]:
    with loopback_server() as running:
        yield running


def _target(url: str, **spec: object):  # type: ignore[no-untyped-def]
    fields = {"kind": "kserve", "url": url, "model": "demo", "inputs": [{"name": "features", "columns": ["x1", "x2"]}],
              "label": "label", "score": "probabilities"}  # fmt: skip
    context = TargetContext(Path("."), "row_id", ["x1", "x2"])
    return create_target(KServeTargetSpec.model_validate({**fields, **spec}), context)


def test_v2_answers_match_the_served_model(server) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    frame = two_feature_frame(rows=130)
    before = state.requests["v2"]
    target = _target(url, batch_size=32)
    output = target.predict(frame)
    expected = [answer(row) for row in frame.to_dict(orient="records")]
    assert output.label.tolist() == [label for label, _ in expected]
    assert np.allclose(output.score, [score for _, score in expected], atol=1e-6)
    assert state.requests["v2"] - before == 5  # ceil(130 / 32) batched requests
    assert target.describe()["protocol"] == "v2" and target.describe()["outcomes"] == {"ok": 5}


def test_label_from_the_score_when_no_label_tensor(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    frame = two_feature_frame(rows=20)
    output = _target(url, label=None, threshold=0.9).predict(frame)
    assert output.label.tolist() == [int(answer(row)[1] >= 0.9) for row in frame.to_dict(orient="records")]


def test_readiness_is_checked_first(server) -> None:  # type: ignore[no-untyped-def]
    url, state = server
    with pytest.raises(TargetError, match="/v2/models/nope/ready answered HTTP 404: not ready"):
        _target(url, model="nope").predict(two_feature_frame(rows=3))
    state.ready = False
    try:
        with pytest.raises(TargetError, match="/v2/health/ready answered HTTP 503"):
            _target(url).predict(two_feature_frame(rows=3))
    finally:
        state.ready = True


def test_a_missing_output_is_a_parse_error(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    with pytest.raises(TargetError, match="parse_error 1"):
        _target(url, label="classes").predict(two_feature_frame(rows=3))


def test_a_suite_must_name_an_output(tmp_path: Path) -> None:
    demo_project(tmp_path)
    target = "{kind: kserve, url: 'http://127.0.0.1:1', model: m, inputs: [{name: f, columns: [x1]}]}"
    (tmp_path / "suite.yaml").write_text((tmp_path / "suite.yaml").read_text().replace(
        "{kind: onnx, path: model.onnx, batch_size: 64}", target))  # fmt: skip
    with pytest.raises(SuiteError) as raised:
        load_suite(tmp_path / "suite.yaml")
    assert "name the output tensor of the label or of the score" in raised.value.problems[0].message
