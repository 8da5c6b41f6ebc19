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


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_outside_the_labels_is_unparsed_kept_and_no_failure(server, stream: bool) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    frame = two_feature_frame(rows=4)
    target = _target(url, labels={"yes": 1, "no": 0}, stream=stream)
    output = target.predict(frame)  # max_error_rate 0: unparsed answers are not failed requests
    assert output.label.tolist() == [None] * 4 and output.outcome.tolist() == ["unparsed"] * 4
    texts = [f"Answer: {'fraud' if label else 'legit'}" for label in _expected(frame)]
    assert output.raw.tolist() == texts  # the model's whole answer, beside the missing label
    facts = target.describe()
    assert facts["outcomes"] == {"unparsed": 4} and facts["unparsed_rate"] == 1.0
    assert facts["first_error"] is None and "is none of the labels ['no', 'yes']" in facts["first_unparsed"]


@pytest.mark.parametrize("stream", [False, True])
def test_an_answer_that_does_not_match_extract_is_unparsed(server, stream: bool) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    output = _target(url, extract=r"Verdict:\s*(\w+)", stream=stream).predict(two_feature_frame(rows=3))
    assert output.outcome.tolist() == ["unparsed"] * 3 and all(text.startswith("Answer: ") for text in output.raw)


@pytest.mark.parametrize(
    ("cut", "stream", "says"),
    [
        ("length", False, "finish_reason length"),
        ("length", True, "finish_reason length"),
        ("abort", True, "without a finish_reason (no [DONE])"),
        ("empty", True, "empty stream"),
        ("broken", True, "broken stream: event 2 is not a completion chunk"),
    ],
)
def test_a_cut_off_answer_is_its_own_outcome_never_scored(server, cut: str, stream: bool, says: str) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    frame = two_feature_frame(rows=6)
    prompt = PROMPT + " {% if row_id[-1] in '02468' %}cut=" + cut + "{% endif %}"
    target = _target(url, prompt=prompt, stream=stream, max_error_rate=0.5, retries=0)
    output = target.predict(frame)
    cut_rows = [index % 2 == 0 for index in range(6)]
    assert output.outcome.tolist() == ["cut_off" if c else "ok" for c in cut_rows]
    assert [label is None for label in output.label.tolist()] == cut_rows
    assert target.describe()["outcomes"] == {"cut_off": 3, "ok": 3} and says in target.describe()["first_error"]
    with pytest.raises(TargetError, match=r"3 of 6 requests failed \(cut_off 3, ok 3\)"):
        _target(url, prompt=prompt, stream=stream, retries=0).predict(frame)  # counted against max_error_rate


def test_prompts_reach_the_model_as_written(server) -> None:  # type: ignore[no-untyped-def]
    url, _ = server
    target = _target(url, prompt="Customer's note: {{ note }} -- x1={{ x1 }} x2={{ x2 }}")
    payload = target._payload([{"note": 'Tom & Jerry\'s "deal" <now>', "x1": 1.0, "x2": 2.0}])
    assert payload["messages"][-1]["content"] == "Customer's note: Tom & Jerry's \"deal\" <now> -- x1=1.0 x2=2.0"
