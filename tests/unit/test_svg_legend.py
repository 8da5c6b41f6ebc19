"""The static charts' legend (evalharness.report.svg): keys whole where they fit, never overlapping,
cut short with their whole text as tooltip where they cannot fit."""

from __future__ import annotations

import re

import pytest

from evalharness.report.svg import CHAR_WIDTH, LEFT, WIDTH, Series, line_chart

KEY = re.compile(r'<text class="legend-key series-\d" x="(\d+)" y="14">&#9632; <title>([^<]*)</title>([^<]*)</text>')


def _keys(labels: list[str]) -> list[tuple[int, str, str]]:
    series = [Series(label, [0.0, 1.0], [0.0, 1.0]) for label in labels]
    svg = line_chart("t", series, "x", "y")
    return [(int(x), tooltip, shown) for x, tooltip, shown in KEY.findall(svg)]


@pytest.mark.parametrize(
    "labels",
    [
        ["ROC"],
        ["precision", "no skill"],
        ["expected 1.0 (positive)", "expected other (negative)"],  # the score chart's classes: was cut short
        ["a", "bb", "ccc", "dddd"],
    ],
)
def test_keys_that_fit_are_whole_and_side_by_side(labels: list[str]) -> None:
    keys = _keys(labels)
    assert [shown for _, _, shown in keys] == labels and [tooltip for _, tooltip, _ in keys] == labels
    for (x, _, shown), (next_x, _, _) in zip(keys, keys[1:]):
        assert next_x >= x + CHAR_WIDTH * (len(shown) + 2)  # the next key starts after this one's text
    last_x, _, last = keys[-1]
    assert 0 < keys[0][0] and last_x + CHAR_WIDTH * (len(last) + 2) <= WIDTH


def test_short_keys_start_over_the_plot() -> None:
    assert _keys(["model", "perfectly calibrated"])[0][0] == LEFT


def test_keys_that_cannot_fit_are_cut_short_with_their_whole_text_as_tooltip() -> None:
    labels = [f"candidate model number {i} (int8)" for i in range(4)]
    keys = _keys(labels)
    assert [tooltip for _, tooltip, _ in keys] == labels
    assert all(shown.endswith("…") and len(shown) < len(label) for (_, _, shown), label in zip(keys, labels))
    for (x, _, shown), (next_x, _, _) in zip(keys, keys[1:]):
        assert next_x >= x + CHAR_WIDTH * (len(shown) + 2)


def test_a_hostile_label_is_escaped_in_the_legend() -> None:
    svg = line_chart("t", [Series("<img src=x onerror=alert(1)>", [0.0], [0.0])], "x", "y")
    assert "<img" not in svg and "&lt;img src=x onerror=alert(1)&gt;" in svg
