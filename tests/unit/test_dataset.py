"""Datasets in CSV, JSONL and Parquet; every data problem is located at the key that caused it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evalharness.errors import SuiteError
from evalharness.suite.dataset import load_dataset
from evalharness.suite.loader import load_suite
from tests.builders import two_feature_frame, write_suite


def _load(suite: Path):  # type: ignore[no-untyped-def]
    return load_dataset(load_suite(suite))


def _problems(suite: Path) -> list[str]:
    with pytest.raises(SuiteError) as raised:
        _load(suite)
    return [str(p) for p in raised.value.problems]


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_every_format_reads_the_same_rows(project: Path, suffix: str) -> None:
    frame = two_feature_frame()
    target = project / f"data.{suffix}"
    {"csv": lambda: frame.to_csv(target, index=False),
     "jsonl": lambda: frame.to_json(target, orient="records", lines=True),
     "parquet": lambda: frame.to_parquet(target)}[suffix]()  # fmt: skip
    suite = write_suite(project, dataset=f"{{path: data.{suffix}, id: row_id, expected: y, inputs: [x1, x2]}}")
    loaded = _load(suite)
    assert loaded["row_id"].tolist() == frame["row_id"].tolist()
    assert np.allclose(loaded["x1"], frame["x1"])


def test_paths_resolve_from_the_suite_file(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    assert len(_load(project / "suite.yaml")) == 400


def test_missing_columns_are_all_named_with_suggestions(project: Path) -> None:
    suite = write_suite(project, dataset="{path: data.csv, id: rowid, expected: label, inputs: [x1, x3]}")
    assert _problems(suite) == [
        f"{suite}:5:31: dataset.id: column 'rowid' is not in the dataset; did you mean 'row_id'?",
        f"{suite}:5:48: dataset.expected: column 'label' is not in the dataset; valid names: row_id, x1, x2, y",
        f"{suite}:5:68: dataset.inputs[1]: column 'x3' is not in the dataset; valid names: row_id, x1, x2, y",
    ]


def test_duplicate_ids_are_refused(project: Path) -> None:
    frame = two_feature_frame()
    frame.loc[7, "row_id"] = frame.loc[3, "row_id"]
    frame.to_csv(project / "data.csv", index=False)
    problems = _problems(project / "suite.yaml")
    assert problems == [
        f"{project / 'suite.yaml'}:5:31: dataset.id: 1 ids appear more than once (e.g. r00003); ids must be unique"
    ]


def test_missing_expected_values_are_refused(project: Path) -> None:
    frame = two_feature_frame().astype({"y": float})
    frame.loc[[5, 9], "y"] = np.nan
    frame.to_csv(project / "data.csv", index=False)
    problems = _problems(project / "suite.yaml")
    assert problems == [
        f"{project / 'suite.yaml'}:5:49: dataset.expected: "
        "2 rows have no expected value (ids r00005, r00009); fill or drop them"
    ]


@pytest.mark.parametrize("content", ["", "row_id,x1,x2,y\n"])
def test_empty_files_are_refused(project: Path, content: str) -> None:
    (project / "data.csv").write_text(content)
    problems = _problems(project / "suite.yaml")
    assert problems == [
        f"{project / 'suite.yaml'}:5:17: dataset.path: data.csv has no rows; a suite needs data to evaluate"
    ]


def test_unknown_extension_asks_for_a_format(project: Path) -> None:
    (project / "data.tsv").write_text("a\tb\n")
    suite = write_suite(project, dataset="{path: data.tsv, id: row_id, expected: y}")
    assert "unknown file type" in _problems(suite)[0]


def test_malformed_jsonl_is_a_clear_error(project: Path) -> None:
    (project / "data.jsonl").write_text('{"row_id": 1, "y": 1}\n{not json\n')
    suite = write_suite(project, dataset="{path: data.jsonl, id: row_id, expected: y}")
    problem = _problems(suite)[0]
    assert "dataset.path: cannot read data.jsonl as jsonl" in problem
