"""Secrets are redacted whole and by any prefix of 8 or more characters, before text is cut: in
helpers, log records, and every message an endpoint target shortens (checked on a real server)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalharness.suite.schema import HttpTargetSpec, OpenAITargetSpec
from evalharness.targets import TargetContext, create_target
from evalharness.targets.secrets import REDACTED, clip, expand, install_log_redaction, redact, redact_value
from tests.builders import two_feature_frame
from tests.servers import ERROR_PADDING

KEY = "sk-RED-planted-7f3a-unit-91c2e0d4"
SHORT = "q7Zx5"  # under 8 characters: redacted only whole
ROW_BODY = '{"row_id": {{ row_id | tojson }}, "x1": {{ x1 | tojson }}, "x2": {{ x2 | tojson }}}'
BATCH_BODY = '{"rows": {{ rows | tojson }}}'


def plant(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    """Read ``value`` as a suite reads a secret, so it is redacted from then on."""
    monkeypatch.setenv(name, value)
    return expand(f"${{env:{name}}}")


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    return plant(monkeypatch, "EVALHARNESS_REDACTION_KEY", KEY)


def test_the_whole_key_and_every_prefix_of_8_or_more_characters_are_redacted() -> None:
    assert redact(f"a {KEY} b {KEY}") == "a *** b ***"
    for length in range(8, len(KEY) + 1):
        assert redact(f"Bearer {KEY[:length]}") == "Bearer ***", length
        assert redact(f"[{KEY[:length]}'] and more") == "[***'] and more", length


def test_a_prefix_under_8_characters_and_text_after_the_key_are_kept() -> None:
    assert redact(f"Bearer {KEY[:7]}") == f"Bearer {KEY[:7]}"
    assert redact(f"{KEY}-and-more") == "***-and-more"
    assert redact(f"{KEY[:12]}zzz") == "***zzz"


def test_a_secret_under_8_characters_is_redacted_only_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    plant(monkeypatch, "EVALHARNESS_REDACTION_SHORT", SHORT)
    assert redact(f"x{SHORT}y") == "x***y"
    assert redact(SHORT[:4]) == SHORT[:4]


def test_secrets_that_share_a_head_are_each_redacted_to_their_longest_match(monkeypatch: pytest.MonkeyPatch) -> None:
    sibling = KEY[:10] + "-sibling-secret"
    plant(monkeypatch, "EVALHARNESS_REDACTION_SIBLING", sibling)
    assert redact(f"{sibling} {KEY} {KEY[:16]}! {sibling[:14]}?") == "*** *** ***! ***?"


def test_characters_a_regex_would_read_are_literal(monkeypatch: pytest.MonkeyPatch) -> None:
    odd = plant(monkeypatch, "EVALHARNESS_REDACTION_ODD", "a.b*c+d?e(f)g[h]|")
    assert redact(f"<{odd}>") == "<***>"
    assert redact("aXbbbcd") == "aXbbbcd"


def test_every_string_of_an_answer_is_redacted_at_any_depth() -> None:
    answer = {"labels": [f"Bearer {KEY}", {KEY[:9]: [KEY, 3]}], "scores": [0.5, None], "ok": True}
    assert redact_value(answer) == {"labels": ["Bearer ***", {REDACTED: [REDACTED, 3]}], "scores": [0.5, None],
                                    "ok": True}  # fmt: skip


def test_clip_redacts_before_it_cuts() -> None:
    body = f"{ERROR_PADDING} Bearer {KEY}"
    assert body[:120].endswith(KEY[:22])  # cut first, the key would survive in part
    assert clip(body, 120) == f"{ERROR_PADDING} Bearer ***"
    assert clip(f"{'E' * 115}{KEY}", 120) == f"{'E' * 115}***"


def test_log_records_and_their_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    logger = logging.getLogger("evalharness.test_redaction")
    try:
        raise RuntimeError(f"refused {KEY[:11]}")
    except RuntimeError:
        logger.warning("answer %s", f"Bearer {KEY}", exc_info=True)
    assert "answer Bearer ***" in caplog.text and "refused ***" in caplog.text
    assert KEY[:8] not in caplog.text


@pytest.fixture
def echo_url() -> Iterator[str]:
    pytest.importorskip("aiohttp")
    from tests.servers import echo_server

    with echo_server() as url:
        yield url


def _http(url: str, body: str, **spec: Any) -> Any:
    fields = {"kind": "http", "url": url, "body": body, "label": "output.label", "retries": 0, "max_error_rate": 1.0,
              "headers": {"Authorization": "Bearer ${env:EVALHARNESS_REDACTION_KEY}"}}  # fmt: skip
    context = TargetContext(Path("."), "row_id", ["x1", "x2"])
    return create_target(HttpTargetSpec.model_validate({**fields, **spec}), context)


def test_a_long_error_body_is_redacted_before_it_is_cut(echo_url: str) -> None:
    target = _http(f"{echo_url}/predict", ROW_BODY)
    target.predict(two_feature_frame(rows=4))  # row 3 is refused: 90 E's, then the header
    first_error = target.describe()["first_error"]
    assert first_error == f"http_error: HTTP 500: {ERROR_PADDING} Bearer ***"


def test_a_label_path_message_quoting_the_key_is_redacted_before_it_is_cut(echo_url: str) -> None:
    target = _http(f"{echo_url}/batch", BATCH_BODY, label="labels", score="scores", batch_size=4)
    target.predict(two_feature_frame(rows=12).iloc[8:12])  # a batch from row 8: its labels are text
    first_error = target.describe()["first_error"]
    assert first_error.startswith("parse_error: label path 'labels' gave the text \"['Bearer ***', 'Bearer ***")
    assert KEY[:8] not in first_error


def test_an_echoed_answer_is_redacted_in_the_predictions(echo_url: str) -> None:
    target = _http(f"{echo_url}/predict", ROW_BODY)
    output = target.predict(two_feature_frame(rows=6))
    assert output.label[5] == "Bearer ***"


def test_an_openai_answer_that_is_none_of_the_labels_is_quoted_redacted(
    echo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = OpenAITargetSpec.model_validate({
        "kind": "openai", "base_url": f"{echo_url}/v1", "model": "demo", "retries": 0, "max_error_rate": 1.0,
        "api_key": "${env:EVALHARNESS_REDACTION_KEY}", "prompt": "row={{ row_id }} x1={{ x1 }} x2={{ x2 }}",
        "labels": {"fraud": 1, "legit": 0},
    })  # fmt: skip
    target = create_target(spec, TargetContext(Path("."), "row_id", ["x1", "x2"]))
    target.predict(two_feature_frame(rows=6).iloc[5:6])
    first_unparsed = target.describe()["first_unparsed"]
    assert first_unparsed == "the answer 'Bearer ***' is none of the labels ['fraud', 'legit']"
