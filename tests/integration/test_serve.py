"""`evalharness serve` in its own process: every route family answered by the real ONNX models.

Answers are checked against onnxruntime run directly on the same model files, and the shipped
example suites (http, kserve, openai) are run against the server from a pytest subprocess.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.servers import REPO_ROOT, serve_process

pytest.importorskip("aiohttp")
ort = pytest.importorskip("onnxruntime")

NUMERIC = ["amount", "hour", "card_present", "is_international", "is_new_device",
           "distance_from_home_km", "txn_count_24h", "account_age_days"]  # fmt: skip
TOKEN_DELAY_MS = 5.0


def call(url: str, body: Any = None, method: str | None = None) -> tuple[int, Any]:
    """(status, JSON answer) of one request; error statuses are returned, not raised."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def stream_events(url: str, body: dict[str, Any]) -> list[Any]:
    """The JSON payloads of a server-sent event stream, up to ``[DONE]``."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    events = []
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.headers["Content-Type"].startswith("text/event-stream")
        for raw in reply:
            line = raw.decode().strip()
            if line == "data: [DONE]":
                return events
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    raise AssertionError("the stream ended without [DONE]")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The reference server with the default suites (fraud and customer_service)."""
    with serve_process("--token-delay-ms", str(TOKEN_DELAY_MS)) as (url, _):
        yield url


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return pd.read_csv(REPO_ROOT / "datasets/finance/transactions.csv").head(300)


def fraud_reference(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Labels and P(fraud) from onnxruntime itself, fed the way the finance suite maps columns."""
    session = ort.InferenceSession(str(REPO_ROOT / "models/fraud.onnx"), providers=["CPUExecutionProvider"])
    feeds = {
        "numeric": frame[NUMERIC].to_numpy(np.float32),
        "merchant_category": frame[["merchant_category"]].to_numpy(object),
    }
    label, probabilities = session.run(["label", "probabilities"], feeds)
    return label, probabilities[:, 1]


def rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.drop(columns=["txn_id", "is_fraud"]).to_json(orient="records"))


def test_health_and_readiness_routes(server: str) -> None:
    assert call(f"{server}/health") == (200, {"status": "alive"})
    status, body = call(f"{server}/ready")
    assert status == 200 and body["models"] == ["customer_service", "fraud"]
    fraud = REPO_ROOT / "models" / "fraud.onnx"
    assert body["sha256"]["fraud"] == hashlib.sha256(fraud.read_bytes()).hexdigest()  # which build answers
    assert body["files"]["fraud"] == str(fraud.resolve())
    assert call(f"{server}/v2/health/live")[0] == 200
    assert call(f"{server}/v2/health/ready")[0] == 200
    assert call(f"{server}/v2/models/fraud/ready") == (200, {"name": "fraud", "ready": True})
    assert call(f"{server}/v2/models/fraud/versions/1/ready")[0] == 200
    status, body = call(f"{server}/v2/models/nope/ready")
    assert status == 404 and "customer_service" in body["error"]["message"]


def test_generic_route_answers_like_onnxruntime(server: str, transactions: pd.DataFrame) -> None:
    labels, scores = fraud_reference(transactions)
    status, body = call(f"{server}/predict/fraud", {"instances": rows_of(transactions)})
    assert status == 200
    assert [p["label"] for p in body["predictions"]] == labels.tolist()
    np.testing.assert_allclose([p["score"] for p in body["predictions"]], scores, rtol=1e-6)
    status, single = call(f"{server}/predict/fraud", rows_of(transactions.head(1))[0])
    assert status == 200 and single["label"] == labels[0]


def test_generic_route_refuses_bad_rows_with_the_reason(server: str, transactions: pd.DataFrame) -> None:
    row = rows_of(transactions.head(1))[0]
    status, body = call(f"{server}/predict/fraud", {k: v for k, v in row.items() if k != "hour"})
    assert status == 400 and "['hour']" in body["error"]["message"]
    status, body = call(f"{server}/predict/fraud", {**row, "amount": "lots"})
    assert status == 400 and "field 'amount' must be a number" in body["error"]["message"]
    status, body = call(f"{server}/predict/fraud", b"{not json")
    assert status == 400 and "not JSON" in body["error"]["message"]
    assert call(f"{server}/predict/nope", row)[0] == 404


def test_v2_metadata_and_inference_match_onnxruntime(server: str, transactions: pd.DataFrame) -> None:
    status, meta = call(f"{server}/v2/models/fraud")
    assert status == 200 and meta["platform"] == "onnxruntime_onnx"
    assert {t["name"]: t["datatype"] for t in meta["inputs"]} == {"numeric": "FP32", "merchant_category": "BYTES"}
    assert {t["name"]: t["shape"] for t in meta["outputs"]} == {"label": [-1], "probabilities": [-1, 2]}
    n = len(transactions)
    request = {"id": "req-1", "outputs": [{"name": "probabilities"}], "inputs": [
        {"name": "numeric", "shape": [n, 8], "datatype": "FP32",
         "data": transactions[NUMERIC].to_numpy(np.float32).ravel().tolist()},
        {"name": "merchant_category", "shape": [n, 1], "datatype": "BYTES",
         "data": transactions["merchant_category"].tolist()},
    ]}  # fmt: skip
    status, body = call(f"{server}/v2/models/fraud/infer", request)
    assert status == 200 and body["id"] == "req-1" and [o["name"] for o in body["outputs"]] == ["probabilities"]
    (output,) = body["outputs"]
    assert output["shape"] == [n, 2] and output["datatype"] == "FP32"
    np.testing.assert_allclose(np.reshape(output["data"], (n, 2))[:, 1], fraud_reference(transactions)[1], rtol=1e-6)
    request["inputs"][0]["datatype"] = "FP64"
    status, body = call(f"{server}/v2/models/fraud/infer", request)
    assert status == 400 and "FP32, not FP64" in body["error"]["message"]
    status, body = call(f"{server}/v2/models/fraud/infer", {"inputs": request["inputs"][1:]})
    assert status == 400 and "['numeric'] are missing" in body["error"]["message"]


def test_openai_chat_plain_and_streamed_give_the_same_answer(server: str) -> None:
    question = "where is my refund"
    status, expected = call(f"{server}/predict/customer_service", {"question": question})
    assert status == 200
    base = {"model": "customer_service", "messages": [{"role": "system", "content": "Be brief."},
                                                       {"role": "user", "content": question}]}  # fmt: skip
    status, plain = call(f"{server}/v1/chat/completions", base)
    assert status == 200 and plain["choices"][0]["message"]["content"] == expected["label"]
    assert plain["usage"]["completion_tokens"] == len(expected["label"].split())
    events = stream_events(f"{server}/v1/chat/completions",
                           {**base, "stream": True, "stream_options": {"include_usage": True}})  # fmt: skip
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events if e["choices"])
    assert text == expected["label"]
    assert events[-1]["usage"] == plain["usage"] and events[-2]["choices"][0]["finish_reason"] == "stop"
    status, cut = call(f"{server}/v1/completions", {"model": "customer_service", "prompt": question, "max_tokens": 3})
    assert cut["choices"][0]["finish_reason"] == "length" and len(cut["choices"][0]["text"].split()) == 3
    assert call(f"{server}/v1/models")[1]["data"][1]["id"] == "fraud"


def test_openai_route_scores_a_tabular_model_from_a_json_row(server: str, transactions: pd.DataFrame) -> None:
    labels, _ = fraud_reference(transactions.head(5))
    for row, label in zip(rows_of(transactions.head(5)), labels):
        prompt = f"Is this fraud? {json.dumps(row)}"
        status, body = call(f"{server}/v1/completions", {"model": "fraud", "prompt": prompt})
        assert status == 200 and body["choices"][0]["text"] == str(label)
    status, body = call(f"{server}/v1/completions", {"model": "fraud", "prompt": "is it fraud?"})
    assert status == 400 and "JSON object" in body["error"]["message"]


def test_liveness_comes_before_readiness() -> None:
    with serve_process("--load-delay-s", "1.5", wait_ready=False) as (url, _):
        assert call(f"{url}/health")[0] == 200
        status, body = call(f"{url}/ready")
        assert status == 503 and body["ready"] is False
        assert call(f"{url}/predict/fraud", {"amount": 1})[0] == 503
        deadline = time.monotonic() + 60
        while call(f"{url}/ready")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_serve_refuses_a_suite_without_a_local_model(tmp_path: Path) -> None:
    suite = tmp_path / "remote.yaml"
    suite.write_text(
        (REPO_ROOT / "examples/http_fraud.yaml").read_text().replace("../datasets", str(REPO_ROOT / "datasets"))
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: 1\nname: x\ntarget: {kind: onnx, pth: m.onnx}\n")
    command = [sys.executable, "-m", "evalharness", "serve", "--port", "0"]
    result = subprocess.run([*command, str(broken)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 4 and "broken.yaml:3:" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run([*command, str(suite)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "target kind 'http' is not a local model" in result.stderr


def _examples_against(url: str, folder: Path) -> Path:
    """Copies of the shipped example suites pointed at ``url``, next to a link to the datasets."""
    (folder / "examples").mkdir()
    (folder / "datasets").symlink_to(REPO_ROOT / "datasets")
    for example in (REPO_ROOT / "examples").glob("*.yaml"):
        text = example.read_text().replace("http://127.0.0.1:8765", url)
        (folder / "examples" / example.name).write_text(text)
    return folder / "examples"


def test_shipped_examples_pass_against_the_server(server: str, tmp_path: Path) -> None:
    examples = _examples_against(server, tmp_path)
    reports = tmp_path / "reports"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--evalharness", str(examples),
               f"--evalharness-report-dir={reports}"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    record = json.loads((reports / "run.json").read_text())
    suites = {suite["name"]: suite for suite in record["suites"]}
    assert {s["target"]["kind"] for s in suites.values()} == {"http", "kserve", "openai"}
    frame = pd.read_csv(REPO_ROOT / "datasets/finance/transactions.csv")
    labels, _ = fraud_reference(frame)
    accuracy = float(np.mean(labels == frame["is_fraud"].to_numpy()))
    for name in ("finance-fraud-over-http", "finance-fraud-over-kserve-v2", "finance-fraud-over-openai-chat"):
        gate = next(g for g in suites[name]["gates"] if g["metric"] == "accuracy")
        assert gate["value"] == pytest.approx(accuracy, abs=1e-12)
        assert suites[name]["target"]["outcomes"] == {"ok": suites[name]["target"]["outcomes"]["ok"]}
    chat = suites["customer-service-over-openai"]["target"]
    assert chat["stream"] is True and chat["output_tokens"] > 400
    assert TOKEN_DELAY_MS / 1000 <= chat["itl_mean_s"] < 4 * TOKEN_DELAY_MS / 1000
    _check_prompt_comparison(suites)


def _check_prompt_comparison(suites: dict[str, Any]) -> None:
    """The two-prompt example: agreement as onnxruntime answers the two prompts, and the baseline's
    BERTScore equal to the single-prompt example's (the same prompt, asked again)."""
    import onnxruntime as ort

    questions = pd.read_csv(REPO_ROOT / "datasets/customer_service/conversations.csv")["question"].astype(str)
    session = ort.InferenceSession(str(REPO_ROOT / "models/customer_service.onnx"))

    def answers(texts: list[str]) -> np.ndarray:
        return session.run(["label"], {session.get_inputs()[0].name: np.array(texts, dtype=object).reshape(-1, 1)})[0]

    full, short = answers(list(questions)), answers([" ".join(q.split()[:5]) for q in questions])
    gates = {gate["metric"]: gate for gate in suites["customer-service-prompt-a-b"]["gates"]}
    assert gates["agreement"]["value"] == pytest.approx(float(np.mean(full == short)), abs=1e-12)
    single = next(g for g in suites["customer-service-over-openai"]["gates"] if g["metric"] == "bertscore")
    assert gates["bertscore"]["comparison"]["baseline"]["value"] == pytest.approx(single["value"], abs=1e-9)
    assert gates["bertscore"]["comparison"]["verdict"] == "passed"


def test_service_time_and_stalls_are_what_the_options_say(transactions: pd.DataFrame) -> None:
    row = rows_of(transactions.head(1))[0]
    with serve_process("--service-time-ms", "30", "--stall-ms", "300", "--stall-every-s", "1") as (url, _):
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            assert call(f"{url}/predict/fraud", row)[0] == 200
            timings.append(time.perf_counter() - started)
        assert min(timings) >= 0.030  # every inference request takes at least the service time
        gaps, last = [], time.perf_counter()
        while len(gaps) < 150:  # about 1.5 s of liveness calls: at least one lands in a 300 ms freeze
            time.sleep(0.01)
            assert call(f"{url}/health")[0] == 200
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        assert max(gaps) >= 0.25 and sorted(gaps)[len(gaps) // 2] < 0.03
