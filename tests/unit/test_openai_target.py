"""The openai target against a real OpenAI-compatible server on 127.0.0.1, plain and streamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from evalharness.errors import TargetError
from evalharness.suite.schema import OpenAITargetSpec
from evalharness.targets import TargetContext, create_target
from tests.builders import two_feature_frame
from tests.servers import SECRET, ServerState, answer, loopback_server

pytest.importorskip("aiohttp")
PROMPT = "Is this payment fraud? x1={{ x1 }} x2={{ x2 }}. Reply 'Answer: fraud' or 'Answer: legit'."


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, ServerState]]:
    with loopback_server() as running:
        yield running


def _target(url: str, **spec: object):  # type: ignore[no-untyped-def]
    fields = {"kind": "openai", "base_url": f"{url}/v1", "model": "demo", "prompt": PROMPT,
              "extract": r"Answer:\s*(\w+)", "labels": {"fraud": 1, "legit": 0}}  # fmt: skip
    context = TargetContext(Path("."), "row_id", ["x1", "x2"])
    return create_target(OpenAITargetSpec.model_validate({**fields, **spec}), context)


def _expected(frame) -> list[int]:  # type: ignore[no-untyped-def]
    return [answer({"x1": f"{r['x1']}", "x2": f"{r['x2']}"})[0] for r in frame.to_dict(orient="records")]


@pytest.mark.parametrize("api", ["chat", "completions"])
def test_answers_are_extracted_and_mapped_to_labels(server, api: str) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    frame = two_feature_frame(rows=40)
    output = _target(url, api=api, system="You are a fraud analyst.", seed=1, max_tokens=5).predict(frame)
    assert output.label.tolist() == _expected(frame)


def test_streaming_records_time_to_first_token_and_gaps(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    frame = two_feature_frame(rows=30)
    target = _target(url, stream=True)
    assert target.predict(frame).label.tolist() == _expected(frame)
    facts = target.describe()
    assert 0 < facts["ttft_s"]["p50"] <= facts["ttft_s"]["p95"] < 5
    assert facts["itl_mean_s"] > 0 and facts["output_tokens"] == 30 * 2  # "Answer: " and the word
    assert len(target.timings) == 30 and all(t["tokens"] == 2 for t in target.timings)


def test_keys_only_from_the_environment(server, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    with pytest.raises(ValidationError, match="never hold a secret"):
        OpenAITargetSpec.model_validate(
            {"kind": "openai", "base_url": url, "model": "m", "prompt": "p", "api_key": SECRET}
        )
    monkeypatch.setenv("EVALHARNESS_TEST_KEY", SECRET)
    target = _target(url, api_key="${env:EVALHARNESS_TEST_KEY}")
    assert target.predict(two_feature_frame(rows=3)).label.shape == (3,)
    assert SECRET not in str(target.describe())


def test_an_answer_outside_the_labels_is_a_parse_error(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    with pytest.raises(TargetError, match="parse_error 4"):
        _target(url, labels={"yes": 1, "no": 0}).predict(two_feature_frame(rows=4))


def test_prompts_reach_the_model_as_written(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    target = _target(url, prompt="Customer's note: {{ note }} -- x1={{ x1 }} x2={{ x2 }}")
    payload = target._payload([{"note": 'Tom & Jerry\'s "deal" <now>', "x1": 1.0, "x2": 2.0}])
    assert payload["messages"][-1]["content"] == "Customer's note: Tom & Jerry's \"deal\" <now> -- x1=1.0 x2=2.0"
