"""Target ``file``: stored answers joined on the id; a row without an answer is an error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalharness.errors import TargetError, TargetSpecError
from evalharness.suite.schema import FileTargetSpec
from evalharness.targets import TargetContext, create_target
from tests.builders import two_feature_frame


def _answers(tmp_path: Path, frame: pd.DataFrame) -> Path:
    answers = pd.DataFrame({"row_id": frame["row_id"], "predicted": (frame["x1"] > 0).astype(int), "p": frame["x1"]})
    path = tmp_path / "answers.jsonl"
    answers.sample(frac=1.0, random_state=0).to_json(path, orient="records", lines=True)  # shuffled on purpose
    return path


def _target(tmp_path: Path, score: str | None = "p"):  # type: ignore[no-untyped-def]
    spec = FileTargetSpec(kind="file", path="answers.jsonl", score=score)
    return create_target(spec, TargetContext(tmp_path, "row_id", ["x1", "x2"]))


def test_answers_are_joined_in_dataset_order(tmp_path: Path) -> None:
    frame = two_feature_frame(rows=60)
    _answers(tmp_path, frame)
    output = _target(tmp_path).predict(frame)
    assert output.label.tolist() == (frame["x1"] > 0).astype(int).tolist()
    assert np.allclose(output.score, frame["x1"])
    assert len(_target(tmp_path).describe()["sha256"]) == 64


def test_missing_answers_are_counted_never_dropped(tmp_path: Path) -> None:
    frame = two_feature_frame(rows=60)
    _answers(tmp_path, frame.iloc[:57])
    expected = r"3 dataset rows have no answer in answers.jsonl \(ids r00057, r00058, r00059\)"
    with pytest.raises(TargetError, match=expected):
        _target(tmp_path).predict(frame)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    frame = two_feature_frame(rows=5)
    _answers(tmp_path, frame)
    expected = r"has no column 'probability'; valid names: row_id, predicted, p"
    with pytest.raises(TargetSpecError, match=expected) as error:
        _target(tmp_path, score="probability").predict(frame)
    assert error.value.problems[0][0] == ("score",)
