"""Changed copies of the inputs are answered as if each copy were asked whole, whatever the batching."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from evalharness.metrics import reanswer
from evalharness.metrics.reanswer import Variant, answer_variants
from evalharness.predictions import Predictions
from evalharness.targets.base import TargetOutput


def _model(frame: pd.DataFrame) -> TargetOutput:
    """A deterministic model of two columns: score from x, label from score; the index is ignored."""
    score = 1 / (1 + np.exp(-(frame["x"].to_numpy(float) - 0.1 * frame["y"].to_numpy(float))))
    return TargetOutput(label=(score >= 0.5).astype(np.int64), score=score)


def _clean(rows: int) -> Predictions:
    rng = np.random.default_rng(rows)
    inputs = pd.DataFrame({"x": rng.normal(size=rows), "y": rng.integers(0, 5, rows).astype(float)})
    answer = _model(inputs)
    return Predictions(np.arange(rows), answer.label, answer.label, answer.score, inputs)


def _variants(clean: Predictions) -> list[Variant]:
    everywhere = clean.inputs.assign(x=clean.inputs["x"] + 0.3)  # every row changes: asked as slices
    scattered = clean.inputs.copy()
    picks = np.arange(0, len(scattered), 7)
    scattered.loc[picks, "y"] = scattered.loc[picks, "y"] + 9  # every 7th row changes: gathered
    untouched = clean.inputs.copy()
    return [Variant(everywhere, ["x"]), Variant(scattered, ["y"]), Variant(untouched, ["x", "y"])]


@pytest.mark.parametrize("batch_rows", [1, 64, 250, 262_144])
def test_each_variant_is_answered_as_if_asked_whole(monkeypatch: pytest.MonkeyPatch, batch_rows: int) -> None:
    monkeypatch.setattr(reanswer, "BATCH_ROWS", batch_rows)
    clean = _clean(1_000)
    asked: list[int] = []

    def predict(frame: pd.DataFrame) -> Any:
        asked.append(len(frame))
        assert list(frame.index) == list(range(len(frame)))  # every call gets a fresh 0..n-1 index
        return _model(frame)

    variants = _variants(clean)
    answers = answer_variants(clean, variants, predict)
    for variant, answer in zip(variants, answers):
        whole = _model(variant.inputs)
        np.testing.assert_array_equal(answer.label, whole.label)
        np.testing.assert_array_equal(answer.score, whole.score)
    assert sum(asked) == 1_000 + len(range(0, 1_000, 7))  # only changed rows are asked
    assert max(asked) <= batch_rows
    np.testing.assert_array_equal(clean.predicted, _model(clean.inputs).label)  # the clean answers are kept


def test_rows_left_waiting_do_not_keep_the_variants_copy_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """A variant that changes every row is asked in slices; the part still waiting after it is copied,
    so that a million-row suite holds one whole copy of its inputs at a time."""
    monkeypatch.setattr(reanswer, "BATCH_ROWS", 300)
    clean = _clean(1_000)
    everywhere = clean.inputs.assign(x=clean.inputs["x"] + 0.3)
    pool = reanswer._Pool(clean, _model)
    pool.add(Variant(everywhere, ["x"]))
    assert [len(part) for _, part, _ in pool.pending] == [100]  # 3 x 300 asked, 100 waiting
    waiting = pool.pending[0][2]
    assert not np.shares_memory(waiting["x"].to_numpy(), everywhere["x"].to_numpy())
    pool.flush()
    np.testing.assert_array_equal(pool.answers[0].score, _model(everywhere).score)
