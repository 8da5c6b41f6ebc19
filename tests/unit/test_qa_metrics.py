"""Q&A metrics against independent computations: SQuAD v1.1's evaluation logic (written out here as the
official script has it), math.isclose, re, json and jsonschema, statsmodels' Wilson interval."""

from __future__ import annotations

import json
import math
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from evalharness.metrics.base import MetricSettings, MetricValue
from evalharness.metrics.qa import ANSWER_LENGTH, CONTAINS, EXACT_MATCH, TOKEN_F1
from evalharness.metrics.qa_format import JSON_VALID, NUMERIC_MATCH, REGEX_MATCH
from evalharness.predictions import Predictions
from tests.squad import squad_em, squad_f1, squad_max

# --- A corpus of answers that exercises every normalisation step.

WORDS = ["Paris", "the", "a", "An", "river", "Seine", "1889", "tower", "Eiffel", "blue", "théâtre", "A.I.", "co-op"]
DECOR = ["", ".", "!", ",", " ", "  ", "\t", "'s", '"', "(", ")", "?"]


def _phrase(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 6))]
    words = [w.upper() if rng.random() < 0.2 else w for w in words]
    return "".join(f"{rng.choice(DECOR)}{w}{rng.choice(DECOR)} " for w in words).strip(" ") or "x"


def corpus(rows: int, seed: int = 7) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(seed)
    answers, references = [], []
    for _ in range(rows):
        refs = [_phrase(rng) for _ in range(rng.randint(1, 3))]
        roll = rng.random()
        if roll < 0.3:  # a reference, re-decorated: equal after normalisation
            answer = f"The {rng.choice(refs).upper()}!"
        elif roll < 0.6:  # overlapping
            answer = f"{rng.choice(refs)} {_phrase(rng)}"
        else:
            answer = _phrase(rng)
        answers.append(answer)
        references.append(refs)
    return answers, references


def predictions(answers: list[Any], expected: list[Any]) -> Predictions:
    rows = len(answers)
    predicted = np.empty(rows, dtype=object)
    predicted[:] = answers
    truth = np.empty(rows, dtype=object)
    truth[:] = expected
    return Predictions(np.arange(rows), truth, predicted, None, pd.DataFrame(index=range(rows)))


def compute(metric: Any, frame: Predictions, tmp_path: Path | None = None, **options: Any) -> MetricValue:
    settings = MetricSettings(resamples=300, base_dir=tmp_path or Path.cwd())
    return metric.compute(frame, metric.options.model_validate(options), settings)


def test_exact_match_and_token_f1_equal_squad_v1_1_on_a_random_corpus() -> None:
    answers, references = corpus(600)
    frame = predictions(answers, references)
    em = np.array([squad_max(squad_em, a, refs) for a, refs in zip(answers, references)], dtype=float)
    f1 = np.array([squad_max(squad_f1, a, refs) for a, refs in zip(answers, references)])
    assert 0.15 < em.mean() < 0.6 and 0.3 < f1.mean() < 0.9  # the corpus is neither trivial nor hopeless
    exact, token = compute(EXACT_MATCH, frame), compute(TOKEN_F1, frame)
    assert exact.value == pytest.approx(em.mean(), abs=1e-12) and exact.n == 600
    assert token.value == pytest.approx(f1.mean(), abs=1e-12)
    assert np.allclose(token.row_scores["token_f1"], f1, atol=1e-12)
    assert np.array_equal(exact.successes, em)


def test_references_as_a_json_list_in_text_or_split_on_a_separator() -> None:
    answers, references = corpus(200, seed=3)
    as_json = predictions(answers, [json.dumps(refs) for refs in references])
    as_split = predictions(answers, ["|".join(refs) for refs in references])
    expected = np.mean([squad_max(squad_f1, a, refs) for a, refs in zip(answers, references)])
    assert compute(TOKEN_F1, as_json).value == pytest.approx(expected, abs=1e-12)
    split = [[part.strip() for part in "|".join(refs).split("|")] for refs in references]
    expected_split = np.mean([squad_max(squad_f1, a, refs) for a, refs in zip(answers, split)])
    assert compute(TOKEN_F1, as_split, separator="|").value == pytest.approx(expected_split, abs=1e-12)


def test_the_wilson_interval_is_statsmodels() -> None:
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    answers, references = corpus(300, seed=11)
    value = compute(EXACT_MATCH, predictions(answers, references))
    hits = int(round(value.value * 300))
    low, high = proportion.proportion_confint(hits, 300, alpha=0.05, method="wilson")
    assert value.interval == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize(
    ("steps", "answer", "reference", "equal"),
    [
        ([], "Paris", "paris", False),
        (["case"], "Paris", "paris", True),
        (["case"], "paris.", "paris", False),
        (["case", "punctuation"], "paris.", "paris", True),
        (["case", "punctuation"], "the paris", "paris", False),
        (["case", "punctuation", "articles"], "the paris", "paris", False),  # a space is left behind
        (["case", "punctuation", "articles", "whitespace"], "the  paris", "paris", True),
        (["whitespace"], " a  b ", "a b", True),
    ],
)
def test_each_normalisation_step_can_be_turned_off(steps: list[str], answer: str, reference: str, equal: bool) -> None:
    assert compute(EXACT_MATCH, predictions([answer], [reference]), normalize=steps).value == float(equal)


def test_rows_with_no_answer_stay_in_n_and_score_zero() -> None:
    frame = predictions(["Paris", None, "blue"], ["paris", "x", "blue sky"])
    exact, token = compute(EXACT_MATCH, frame), compute(TOKEN_F1, frame)
    assert exact.n == 3 and exact.value == pytest.approx(1 / 3) and exact.details["no_answer"] == 1
    assert token.row_scores["token_f1"].tolist() == pytest.approx([1.0, 0.0, squad_f1("blue", "blue sky")])
    assert compute(CONTAINS, frame).value == pytest.approx(1 / 3)
    length = compute(ANSWER_LENGTH, frame)
    assert length.n == 2 and length.value == 1.0  # the length of answers there are


def test_contains_any_reference_on_word_boundaries() -> None:
    frame = predictions(["The answer is 42.", "It's Paris, France", "4", "blue"], [["4", "42"], "paris", "42", "red"])
    assert compute(CONTAINS, frame).successes.tolist() == [1.0, 1.0, 0.0, 0.0]
    loose = compute(CONTAINS, predictions(["answer 42"], ["4"]), whole_words=False)
    assert loose.value == 1.0 and compute(CONTAINS, predictions(["answer 42"], ["4"])).value == 0.0


def test_numeric_match_equals_math_isclose() -> None:
    rng = np.random.default_rng(5)
    truth = rng.normal(0, 1000, 400).round(3)
    noise = rng.choice([0.0, 1e-12, 0.004, 0.5, 3.0], size=400)
    answers = [f"After some thought, the total is {t + e:,.6f} units." for t, e in zip(truth, noise)]
    for abs_tol, rel_tol in [(0.0, 1e-9), (0.01, 0.0), (0.0, 1e-3), (1.0, 1e-6)]:
        value = compute(NUMERIC_MATCH, predictions(answers, [str(t) for t in truth]), abs_tol=abs_tol, rel_tol=rel_tol)
        got = [float(re.findall(r"-?[\d,]+\.\d+", a)[-1].replace(",", "")) for a in answers]
        expected = [math.isclose(g, t, rel_tol=rel_tol, abs_tol=abs_tol) for g, t in zip(got, truth)]
        assert value.successes.tolist() == [float(e) for e in expected]


def test_numeric_match_first_or_last_number_and_answers_without_one() -> None:
    frame = predictions(["3 apples and 5 pears make 8", "none", "-1.5e3"], ["8", "1", "-1500"])
    last = compute(NUMERIC_MATCH, frame)
    assert last.successes.tolist() == [1.0, 0.0, 1.0] and last.details["without_number"] == 1
    assert compute(NUMERIC_MATCH, frame, which="first").successes.tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="row 1 has none"):
        compute(NUMERIC_MATCH, predictions(["1", "2"], ["1", "two"]))


def test_regex_match_with_the_suites_pattern_or_each_rows() -> None:
    answers = ["Order #123 shipped", "order 99", "ORDER #7", ""]
    fixed = compute(REGEX_MATCH, predictions(answers, ["-"] * 4), pattern=r"^Order #\d+")
    assert fixed.successes.tolist() == [float(bool(re.search(r"^Order #\d+", a))) for a in answers]
    folded = compute(REGEX_MATCH, predictions(answers, ["-"] * 4), pattern=r"order #\d+", ignore_case=True)
    assert folded.successes.tolist() == [1.0, 0.0, 1.0, 0.0]
    per_row = compute(REGEX_MATCH, predictions(answers, [r"\d{3}", r"\d{3}", r"#\d$", r".*"]), mode="fullmatch")
    assert per_row.successes.tolist() == [0.0, 0.0, 0.0, 1.0]


def test_json_valid_and_schema_conformance_equal_jsonschema(tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = {"type": "object", "required": ["intent"], "properties": {"intent": {"enum": ["refund", "other"]}}}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    answers = ['{"intent": "refund"}', '```json\n{"intent": "other"}\n```', '{"intent": 3}', "refund", "[1, 2]", None]
    frame = predictions(answers, ["-"] * 6)
    parsed = compute(JSON_VALID, frame)
    assert parsed.successes.tolist() == [1.0, 1.0, 1.0, 0.0, 1.0, 0.0] and parsed.details["not_json"] == 1
    conform = compute(JSON_VALID, frame, tmp_path, schema="schema.json")
    documents = [json.loads(answers[0]), {"intent": "other"}, {"intent": 3}, None, [1, 2], None]
    expected = [a is not None and d is not None and jsonschema.Draft202012Validator(schema).is_valid(d)
                for a, d in zip(answers, documents)]  # fmt: skip
    assert conform.successes.tolist() == [float(e) for e in expected] and conform.details["schema_violations"] == 2
    strict = compute(JSON_VALID, frame, code_fences=False)
    assert strict.successes.tolist()[1] == 0.0


def test_answer_length_in_tokens_and_characters() -> None:
    answers = ["one two three", "  spaced   out  ", "x", "a much longer answer of seven words"]
    frame = predictions(answers, ["-"] * 4)
    tokens, chars = compute(ANSWER_LENGTH, frame), compute(ANSWER_LENGTH, frame, unit="characters")
    assert tokens.value == pytest.approx(np.mean([len(a.split()) for a in answers]))
    assert chars.value == pytest.approx(np.mean([len(a) for a in answers]))
    assert tokens.details["max"] == 7 and tokens.interval is not None


SUITE = """\
schema: 1
name: qa gates
target: {kind: file, path: answers.jsonl}
dataset: {path: data.jsonl, id: id, expected: answer, inputs: [question]}
metrics:
  exact_match: {min: 0.5}
  token_f1: {min: 0.5}
"""


def _project(tmp_path: Path, metrics: str = "") -> Path:
    answers, references = corpus(50, seed=21)
    with (tmp_path / "data.jsonl").open("w") as data, (tmp_path / "answers.jsonl").open("w") as out:
        for row, (answer, refs) in enumerate(zip(answers, references)):
            data.write(json.dumps({"id": f"q{row}", "question": "?", "answer": refs}) + "\n")
            out.write(json.dumps({"id": f"q{row}", "predicted": answer}) + "\n")
    (tmp_path / "suite.yaml").write_text(SUITE + metrics)
    return tmp_path / "suite.yaml"


def test_a_suite_gates_exact_match_and_token_f1_on_list_references(tmp_path: Path) -> None:
    suite = _project(tmp_path)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness", str(suite),
                          "--evalharness-report-dir", str(tmp_path / "reports")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    record = json.loads((tmp_path / "reports" / "run.json").read_text())
    gates = {gate["name"]: gate for gate in record["suites"][0]["gates"]}
    answers, references = corpus(50, seed=21)
    em = np.mean([squad_max(squad_em, a, refs) for a, refs in zip(answers, references)])
    f1 = np.mean([squad_max(squad_f1, a, refs) for a, refs in zip(answers, references)])
    assert gates["exact_match"]["value"] == pytest.approx(em) and gates["token_f1"]["value"] == pytest.approx(f1)
    assert (em >= 0.5) == (gates["exact_match"]["status"] == "passed"), run.stdout[-2000:]
    assert gates["token_f1"]["worst_rows"] and "token_f1" in gates["token_f1"]["worst_rows"][0]


@pytest.mark.parametrize(
    ("metrics", "where", "says"),
    [
        ("  regex_match: {pattern: '(unclosed'}\n", "metrics.regex_match.pattern", "not a valid regular expression"),
        ("  json_valid: {schema: missing.json}\n", "metrics.json_valid.schema", "no JSON Schema file"),
        ("  exact_match_x: {min: 0.5}\n", "metrics.exact_match_x", "did you mean 'exact_match'"),
        ("  token_f1: {min: 1.5}\n", "metrics.token_f1.min", "above 1"),
        (
            "  contains: {normalize: [case, stemming]}\n",
            "metrics.contains.normalize",
            "should be 'case', 'punctuation'",
        ),
    ],
)
def test_bad_options_are_located_exit_4(tmp_path: Path, metrics: str, where: str, says: str) -> None:
    suite = _project(tmp_path)
    text = suite.read_text()
    if metrics.startswith("  token_f1"):
        text = text.replace("  token_f1: {min: 0.5}\n", "")
    suite.write_text(text + metrics)
    run = subprocess.run([sys.executable, "-m", "evalharness", "validate", str(suite)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 4, run.stdout + run.stderr
    assert says in run.stderr and "Traceback" not in run.stderr
    line = next(
        n for n, text in enumerate(suite.read_text().splitlines(), 1) if text.startswith(f"  {where.split('.')[1]}")
    )
    assert f"suite.yaml:{line}:" in run.stderr
