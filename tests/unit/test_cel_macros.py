"""CEL's comprehension macros (all, exists, exists_one, map, filter) in consistency rules, on list-valued
columns: their bound variables are in scope, unknown names are still refused where they are written, and
each rule's numbers equal the same rule computed in Python."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cel")
SUITE = """\
schema: 1
name: cel macros
target: {kind: file, path: answers.jsonl}
dataset: {path: data.jsonl, id: id, expected: y, inputs: [tags, amounts]}
metrics:
  consistency:
    min: 0.5
    rules:
      - {name: vip_flagged, when: 'tags.exists(t, t == "vip")', rule: predicted == 1}
      - {name: all_small, when: 'amounts.all(a, a < 100)', rule: 'predicted == 0 || tags.exists_one(t, t == "vip")'}
      - {name: big_doubled, when: 'amounts.map(a, a * 2).filter(b, b > 600).size() > 0', rule: predicted == 1}
"""


def _project(folder: Path) -> list[dict[str, object]]:
    rng = random.Random(1)
    rows = []
    with (folder / "data.jsonl").open("w") as data, (folder / "answers.jsonl").open("w") as answers:
        for i in range(200):
            tags = rng.sample(["vip", "new", "eu", "us", "card"], rng.randint(0, 3))
            amounts = [rng.randint(1, 500) for _ in range(rng.randint(1, 4))]
            y = int("vip" in tags)
            predicted = y if i % 7 else 1 - y
            rows.append({"tags": tags, "amounts": amounts, "predicted": predicted})
            data.write(json.dumps({"id": f"r{i}", "tags": tags, "amounts": amounts, "y": y}) + "\n")
            answers.write(json.dumps({"id": f"r{i}", "predicted": predicted}) + "\n")
    (folder / "suite.yaml").write_text(SUITE)
    return rows


def test_macros_on_list_columns_equal_python(tmp_path: Path) -> None:
    rows = _project(tmp_path)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--evalharness", "suite.yaml",
                           "--evalharness-report-dir", "reports"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:]
    gate = json.loads((tmp_path / "reports" / "run.json").read_text())["suites"][0]["gates"][0]
    rules = {rule["name"]: rule for rule in gate["details"]["rules"]}
    python = {
        "vip_flagged": [(r["predicted"] == 1) for r in rows if "vip" in r["tags"]],
        "all_small": [(r["predicted"] == 0 or r["tags"].count("vip") == 1) for r in rows
                      if all(a < 100 for a in r["amounts"])],
        "big_doubled": [(r["predicted"] == 1) for r in rows if [b for b in (a * 2 for a in r["amounts"]) if b > 600]],
    }  # fmt: skip
    for name, held in python.items():
        assert rules[name]["applicable"] == len(held) > 0, name
        assert rules[name]["violations"] == held.count(False), name
    applicable = sum(len(held) for held in python.values())
    assert gate["value"] == pytest.approx(sum(sum(held) for held in python.values()) / applicable)


def test_a_name_no_macro_binds_is_still_refused_where_it_is_written(tmp_path: Path) -> None:
    _project(tmp_path)
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.replace('tags.exists(t, t == "vip")', 'tags.exists(t, u == "vip")'))
    done = subprocess.run([sys.executable, "-m", "evalharness", "validate", str(suite)], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 4
    assert f"{suite}:9:35: metrics.consistency.rules[0].when: 'u' is not a dataset column or an output" in done.stderr
