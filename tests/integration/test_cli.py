"""The ``evalharness`` console script: run, validate, schema, report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import demo_project

pytestmark = pytest.mark.integration
SCRIPT = str(Path(sys.executable).with_name("evalharness"))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_run_passes_what_follows_the_double_dash_to_pytest(tmp_path: Path) -> None:
    demo_project(tmp_path, "accuracy: {min: 0.8}\nf1: {min: 0.99}")
    result = _cli("run", "suite.yaml", "--report-dir", "out", "--", "-k", "accuracy", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 deselected" in result.stdout
    assert json.loads((tmp_path / "out" / "run.json").read_text())["status"] == "passed"
    failing = _cli("run", "suite.yaml", cwd=tmp_path)
    assert failing.returncode == 1


def test_validate_reports_schema_problems_before_data_and_exits_4(tmp_path: Path) -> None:
    suite = demo_project(tmp_path)
    ok = _cli("validate", "suite.yaml", cwd=tmp_path)
    assert ok.returncode == 0
    assert ok.stdout.strip() == "ok: suite.yaml: demo, 1 gate, 400 rows"
    suite.write_text(suite.read_text().replace("row_id", "rowid").replace("seed: 3", "seed: 3\nseeed: 4"))
    broken = _cli("validate", "suite.yaml", cwd=tmp_path)
    assert broken.returncode == 4
    assert broken.stderr.splitlines() == [
        "suite.yaml:4:1: seeed: unknown key 'seeed'; did you mean 'seed'?",
    ]
    assert "Traceback" not in broken.stderr


def test_validate_reaches_the_dataset(tmp_path: Path) -> None:
    suite = demo_project(tmp_path)
    suite.write_text(suite.read_text().replace("id: row_id", "id: rowid"))
    broken = _cli("validate", "suite.yaml", cwd=tmp_path)
    assert broken.returncode == 4
    assert broken.stderr.strip() == (
        "suite.yaml:5:31: dataset.id: column 'rowid' is not in the dataset; did you mean 'row_id'?"
    )


def test_run_prints_no_assert_rewrite_warning_even_when_warnings_are_errors(tmp_path: Path) -> None:
    """The plugin is imported by the command before pytest starts; pytest's warning about it is ours to
    silence, also when the user passes ``-- -W error`` (pytest applies -W in order: ours goes last)."""
    demo_project(tmp_path)
    for extra in ([], ["--", "-W", "error"]):
        result = _cli("run", "suite.yaml", *extra, cwd=tmp_path)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        output = result.stdout + result.stderr
        assert "PytestAssertRewriteWarning" not in output and "warnings summary" not in output


def test_run_help_says_that_pytest_options_go_after_the_double_dash(tmp_path: Path) -> None:
    result = _cli("run", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "pytest's own options go after --, e.g. evalharness run suites/ -- -n 2" in " ".join(result.stdout.split())
