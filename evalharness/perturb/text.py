"""Text recipes: typo, keyboard neighbour, case, whitespace, punctuation, synonym, homoglyph, word drop.

Each recipe changes a ``rate`` share of the words of every text, chosen by the seeded generator.
Synonyms come from a lexicon shipped with evalharness (``lexicon.json`` beside this module).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
HOMOGLYPHS = {"a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "x": "х", "y": "у", "s": "ѕ"}
PUNCTUATION = ".,!?;"
LEXICON_PATH = Path(__file__).with_name("lexicon.json")


@cache
def keyboard_neighbours() -> dict[str, str]:
    """Letters next to each letter on a QWERTY keyboard (same row)."""
    neighbours: dict[str, str] = {}
    for row in KEYBOARD_ROWS:
        for i, letter in enumerate(row):
            neighbours[letter] = row[max(i - 1, 0) : i] + row[i + 1 : i + 2]
    return neighbours


@cache
def lexicon() -> dict[str, list[str]]:
    """Lower-case word -> synonyms."""
    return {k: list(v) for k, v in json.loads(LEXICON_PATH.read_text(encoding="utf-8")).items()}


def _typo(word: str, rng: np.random.Generator) -> str:
    if len(word) < 2:
        return word
    i = int(rng.integers(0, len(word) - 1))
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _keyboard(word: str, rng: np.random.Generator) -> str:
    positions = [i for i, ch in enumerate(word) if ch.lower() in keyboard_neighbours()]
    if not positions:
        return word
    i = positions[int(rng.integers(0, len(positions)))]
    options = keyboard_neighbours()[word[i].lower()]
    return word[:i] + options[int(rng.integers(0, len(options)))] + word[i + 1 :]


def _case(word: str, rng: np.random.Generator) -> str:
    return word.upper() if word.islower() else word.lower()


def _whitespace(word: str, rng: np.random.Generator) -> str:
    if len(word) < 2:
        return word + " "
    i = int(rng.integers(1, len(word)))
    return word[:i] + " " + word[i:]


def _punctuation(word: str, rng: np.random.Generator) -> str:
    if word and word[-1] in PUNCTUATION:
        return word[:-1]
    return word + PUNCTUATION[int(rng.integers(0, len(PUNCTUATION)))]


def _synonym(word: str, rng: np.random.Generator) -> str:
    choices = lexicon().get(word.lower().strip(PUNCTUATION))
    if not choices:
        return word
    return choices[int(rng.integers(0, len(choices)))]


def _homoglyph(word: str, rng: np.random.Generator) -> str:
    positions = [i for i, ch in enumerate(word) if ch in HOMOGLYPHS]
    if not positions:
        return word
    i = positions[int(rng.integers(0, len(positions)))]
    return word[:i] + HOMOGLYPHS[word[i]] + word[i + 1 :]


def _drop(word: str, rng: np.random.Generator) -> str:
    return ""


WORD_RECIPES: dict[str, Callable[[str, np.random.Generator], str]] = {
    "typo": _typo,
    "keyboard": _keyboard,
    "case": _case,
    "whitespace": _whitespace,
    "punctuation": _punctuation,
    "synonym": _synonym,
    "homoglyph": _homoglyph,
    "word_drop": _drop,
}


def perturb_text(text: str, recipe: str, rng: np.random.Generator, rate: float) -> str:
    """``text`` with a ``rate`` share of its words changed by ``recipe`` (at least one word kept)."""
    words = text.split(" ")
    change = WORD_RECIPES[recipe]
    chosen = rng.random(len(words)) < rate
    changed = [change(word, rng) if pick and word else word for word, pick in zip(words, chosen)]
    kept = [word for word in changed if word != ""] or words[:1]
    return " ".join(kept)
