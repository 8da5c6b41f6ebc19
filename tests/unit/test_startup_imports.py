"""A run imports what it needs: no CEL command line, no other metrics, no assertion rewriting of evalharness."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.builders import demo_project

RULES = """
consistency:
  rules:
    - {name: positive_scores_are_probabilities, rule: score >= 0.0 && score <= 1.0}
"""

SPY = """
import json, sys
import _pytest.assertion.rewrite as rewrite
import pytest

rewritten = []
should_rewrite = rewrite.AssertionRewritingHook._should_rewrite

def spy(self, name, fn, state):
    answer = should_rewrite(self, name, fn, state)
    if answer:
        rewritten.append(name)
    return answer

rewrite.AssertionRewritingHook._should_rewrite = spy
code = pytest.main(sys.argv[1:])
print(json.dumps({"code": int(code), "rewritten": rewritten, "modules": sorted(sys.modules)}))
"""


def test_a_suite_with_rules_imports_no_cel_command_line_no_other_metric_and_rewrites_nothing(tmp_path: Path) -> None:
    suite = demo_project(tmp_path, RULES)
    command = [sys.executable, "-c", SPY, "--evalharness", str(suite), "-p", "no:cacheprovider", "-q",
               "--evalharness-no-reports", "--rootdir", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stdout
    assert "evalharness.metrics.rules" in result["modules"] and "cel" in result["modules"]
    assert not {"prompt_toolkit", "typer", "rich"} & set(result["modules"])
    # only the metrics the suite declares are imported
    assert not {"evalharness.metrics.bertscore", "evalharness.metrics.dtw", "evalharness.metrics.qa"} & set(
        result["modules"])  # fmt: skip
    ours = [name for name in result["rewritten"] if name.split(".")[0] == "evalharness"]
    # the plugin module and what it imports are marked before its first hook runs; nothing after
    assert set(ours) <= {"evalharness", "evalharness.__about__", "evalharness.plugin", "evalharness.stash"}, ours


def test_the_cel_command_line_still_loads_when_asked_for() -> None:
    code = ("from evalharness.metrics.rules import compile_rule; import sys; "
            "assert compile_rule('1 + x').execute({'x': 2}) == 3; assert 'prompt_toolkit' not in sys.modules; "
            "import cel; assert 'prompt_toolkit' not in sys.modules; "
            "assert callable(cel.cli.main); assert 'prompt_toolkit' in sys.modules; import cel.cli as c; "
            "assert c is cel.cli and c is sys.modules['cel.cli']")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_json_schema_still_names_every_metric() -> None:
    from evalharness.metrics.registry import metric_names
    from evalharness.suite.schema import json_schema, suite_model

    metrics = json_schema()["$defs"]["Metrics"]["properties"]
    assert set(metrics) == set(metric_names())
    assert suite_model(frozenset({"accuracy"})) is suite_model(frozenset({"accuracy"}))  # built once per set
