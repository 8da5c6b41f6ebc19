"""The YAML reader: safe, positions for every key, duplicates and tags rejected."""

from __future__ import annotations

import pytest

from evalharness.suite.yamlsource import format_key_path, parse_yaml


def test_positions_are_recorded_for_values_and_keys() -> None:
    document = parse_yaml("a: 1\nb:\n  c: [x, y]\n", "f.yaml")
    assert document.data == {"a": 1, "b": {"c": ["x", "y"]}}
    assert document.value_positions[("a",)] == (1, 4)
    assert document.key_positions[("b", "c")] == (3, 3)
    assert document.value_positions[("b", "c", 1)] == (3, 10)


def test_duplicate_keys_are_errors_with_both_lines() -> None:
    document = parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [str(p) for p in document.problems] == [
        "f.yaml:3:1: a: duplicate key 'a' (first written on line 1); keep one"
    ]
    assert document.data == {"a": 1, "b": 2}


def test_python_tags_are_refused_not_executed() -> None:
    document = parse_yaml("cmd: !!python/object/apply:os.system ['echo hacked']\n", "f.yaml")
    assert len(document.problems) == 1
    assert "only plain YAML values are allowed" in document.problems[0].message
    assert document.problems[0].line == 1


def test_syntax_errors_are_located() -> None:
    document = parse_yaml("a: [1, 2\nb: 3\n", "f.yaml")
    assert len(document.problems) == 1
    problem = document.problems[0]
    assert problem.message.startswith("invalid YAML")
    assert problem.line == 2


def test_yaml_11_quirks_are_kept_for_the_schema_to_reject() -> None:
    document = parse_yaml("x: 1e-3\ny: no\nz: 1.0e-3\n", "f.yaml")
    assert document.data == {"x": "1e-3", "y": False, "z": 0.001}


def test_key_paths_render_like_the_suite() -> None:
    assert format_key_path(("dataset", "inputs", 2)) == "dataset.inputs[2]"
    assert format_key_path(()) == ""


@pytest.mark.parametrize("text", ['name: "x\\uD800y"\n', '"\\udfff": 1\n', 'a: ["\\ud83d"]\n'])
def test_half_a_surrogate_pair_is_a_located_problem(text: str) -> None:
    """Regression (found by fuzzing endpoint suites): YAML's "\\uD800" escape made a text no encoder can
    write, and the loader's own message about it raised UnicodeEncodeError (a traceback)."""
    document = parse_yaml(text, "suite.yaml")
    assert len(document.problems) == 1 and "half of a UTF-16 surrogate pair" in str(document.problems[0])
    assert str(document.problems[0]).encode("utf-8")  # the message itself can be printed
