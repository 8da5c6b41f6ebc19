"""Run the CI files as their runners do, for the pipeline tests: a fresh copy of the repository, a
virtual environment for it, the composite action's steps (GitHub's runner) and the Jenkinsfile's
``sh`` steps (Jenkins), each in order, with what those runners provide and nothing more."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def fresh_copy(destination: Path) -> Path:
    """The repository's files as a clone would have them (tracked, plus new files not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO_ROOT, capture_output=True, check=True).stdout  # fmt: skip
    for name in filter(None, listed.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name, follow_symlinks=False)
    return destination


def overlay_venv(path: Path) -> Path:
    """A new virtual environment that sees this one's packages (a .pth line) but none of its
    evalharness: whatever the pipeline installs there is what it runs."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(path), "platbase": str(path)}))
    (site / "_evalharness_test_overlay.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return path


def parse_outputs(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the runner reads it: ``name=value`` lines and ``name<<DELIM`` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, _, delimiter = line.partition("<<")
            value = []
            for inner in lines:
                if inner == delimiter:
                    break
                value.append(inner)
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, _, value = line.partition("=")
            outputs[name] = value
    return outputs


@dataclass
class ActionRun:
    """What a composite action's run left: each step's exit code and output, the action's outputs,
    the step summary, and what upload-artifact would have uploaded."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    uploaded: list[Path] = field(default_factory=list)

    def step(self, name: str) -> dict[str, Any]:
        """The step named ``name``."""
        return next(step for step in self.steps if step["name"] == name)

    @property
    def failed(self) -> bool:
        """Whether the action failed (a step that ran exited non-zero)."""
        return any(step["code"] not in (0, None) for step in self.steps)


class ActionRunner:
    """GitHub's runner for a composite action, as far as its ``run`` steps need: expressions in
    ``env``/``with``/``outputs`` (inputs, github.action_path, steps.ID.outputs.NAME), ``if: always()``,
    per-step env files, ``bash --noprofile --norc -eo pipefail``. ``uses`` steps are not run: their
    ``with`` is evaluated and checked."""

    def __init__(self, action: Path, workspace: Path, venv: Path) -> None:
        self.action = action
        self.spec = yaml.safe_load(action.read_text())
        self.workspace = workspace
        self.venv = venv

    def _evaluate(self, text: Any, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
        def value(found: re.Match[str]) -> str:
            expression = found.group(1)
            if expression.startswith("inputs."):
                return inputs[expression.removeprefix("inputs.")]
            if expression == "github.action_path":
                return str(self.action.parent)
            step = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
            if step:
                return steps.get(step[1], {}).get(step[2], "")
            raise AssertionError(f"the action uses an expression this runner does not know: {expression}")

        return EXPRESSION.sub(value, str(text))

    def run(self, given: dict[str, str], env: dict[str, str]) -> ActionRun:
        """Run every step in order; returns what they left."""
        declared = self.spec["inputs"]
        assert set(given) <= set(declared), f"unknown inputs {set(given) - set(declared)}"
        inputs = {name: given.get(name, str(spec.get("default", ""))) for name, spec in declared.items()}
        missing = [name for name, spec in declared.items() if spec.get("required") and not inputs[name]]
        assert not missing, f"required inputs missing: {missing}"
        result, outputs_by_step, files = ActionRun(), {}, self.workspace.parent / "runner-files"
        files.mkdir(exist_ok=True)
        for index, step in enumerate(self.spec["runs"]["steps"]):
            name = step.get("name", step.get("uses", f"step {index}"))
            condition = step.get("if", "success()")
            assert condition in ("always()", "success()"), f"{name}: if: {condition} is not emulated"
            if condition == "success()" and result.failed:
                result.steps.append({"name": name, "code": None, "stdout": "", "skipped": True})
                continue
            if "uses" in step:
                self._use(step, inputs, outputs_by_step, result)
                result.steps.append({"name": name, "code": 0, "stdout": "", "skipped": False})
                continue
            record = self._run_step(step, index, inputs, outputs_by_step, env, files)
            result.summary += record.pop("summary")
            outputs_by_step[step.get("id", f"_{index}")] = record.pop("outputs")
            result.steps.append({"name": name, **record, "skipped": False})
        result.outputs = {name: self._evaluate(spec["value"], inputs, outputs_by_step)
                          for name, spec in self.spec["outputs"].items()}  # fmt: skip
        return result

    def _use(self, step: dict[str, Any], inputs: dict[str, str], steps: dict[str, dict[str, str]],
             result: ActionRun) -> None:  # fmt: skip
        arguments = {key: self._evaluate(value, inputs, steps) for key, value in (step.get("with") or {}).items()}
        if step["uses"].startswith("actions/upload-artifact@"):
            assert arguments["name"], "an artifact needs a name"
            result.uploaded.append(self.workspace / arguments["path"])
        elif step["uses"].startswith("actions/setup-python@"):
            assert re.fullmatch(r"3\.\d+", arguments["python-version"]), arguments
        else:
            raise AssertionError(f"the action uses {step['uses']}, which this runner does not emulate")

    def _run_step(self, step: dict[str, Any], index: int, inputs: dict[str, str],
                  steps: dict[str, dict[str, str]], env: dict[str, str], files: Path) -> dict[str, Any]:  # fmt: skip
        assert step.get("shell") == "bash", f"{step.get('name')}: a composite action's run step needs shell: bash"
        assert "${{" not in step["run"], f"{step.get('name')}: expressions belong in env:, not in the script"
        paths = {
            key: files / f"{key.lower()}-{index}" for key in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV")
        }
        for path in paths.values():
            path.write_text("")
        script = files / f"step-{index}.sh"
        script.write_text(step["run"])
        step_env = {key: self._evaluate(value, inputs, steps) for key, value in (step.get("env") or {}).items()}
        full_env = {
            **{key: value for key, value in env.items() if not key.startswith("GITHUB_")},
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace), "GITHUB_ACTION_PATH": str(self.action.parent),
            **{key: str(path) for key, path in paths.items()}, **step_env,
        }  # fmt: skip
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=self.workspace,
                              env=full_env, capture_output=True, text=True, timeout=600)  # fmt: skip
        return {
            "code": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "outputs": parse_outputs(paths["GITHUB_OUTPUT"].read_text()),
            "summary": paths["GITHUB_STEP_SUMMARY"].read_text(),
        }  # fmt: skip


@dataclass
class Jenkinsfile:
    """A declarative Jenkinsfile's parameters (with defaults), environment, and ``sh`` steps in order,
    each with its stage (or post condition)."""

    parameters: dict[str, str]
    environment: dict[str, str]
    steps: list[tuple[str, str]]

    @classmethod
    def read(cls, path: Path) -> Jenkinsfile:
        """Parse what a run needs; anything this reader cannot place fails the test instead of being skipped."""
        text = path.read_text()
        parameters = {}
        for _, name, rest in re.findall(r"(string|choice|booleanParam)\(name: '(\w+)',\s*(.*?)(?:,\s*\n|\))", text):
            default = re.search(r"defaultValue: '([^']*)'|defaultValue: (true|false)|choices: \['([^']*)'", rest)
            assert default, f"parameter {name}: no default found"
            parameters[name] = next(group for group in default.groups() if group is not None)
        block = re.search(r"environment \{(.*?)\n    \}", text, re.S)
        assert block, "no environment block"
        environment = dict(re.findall(r"(\w+) = ['\"]([^'\"]*)['\"]", block.group(1)))
        token = re.compile(r"stage\('(?P<stage>[^']+)'\)|^\s+(?P<post>always|failure|success) \{"
                           r"|sh '''(?P<script>.*?)'''",
                           re.S | re.M)  # fmt: skip
        steps, section = [], ""
        for found in token.finditer(text):
            if found["stage"] or found["post"]:
                section = found["stage"] or f"post {found['post']}"
            else:
                steps.append((section, found["script"]))
        return cls(parameters, environment, steps)

    def stages(self) -> list[str]:
        """The stages that run ``sh`` steps, in order."""
        return list(dict.fromkeys(section for section, _ in self.steps if not section.startswith("post ")))

    def run(self, workspace: Path, parameters: dict[str, str], env: dict[str, str],
            before: dict[str, Any] | None = None) -> list[dict[str, Any]]:  # fmt: skip
        """Run the stages' steps in order as ``sh -xe`` (a failed step fails its stage; the build goes on,
        as catchError does; Deploy runs only while the build is green), then post always/success/failure.
        ``before`` maps a stage to a callable run first (what a plugin step such as copyArtifacts does)."""
        variables = {**env, **self.parameters, **parameters, "WORKSPACE": str(workspace)}
        variables.update(
            {key: value.replace("${WORKSPACE}", str(workspace)) for key, value in self.environment.items()}
        )
        ran: list[dict[str, Any]] = []
        failed = False
        for stage in self.stages():
            if stage == "Deploy" and (failed or variables["DEPLOY"] != "true"):
                continue
            if before and stage in before:
                before[stage]()
            for section, script in self.steps:
                if section != stage:
                    continue
                ran.append(_sh(section, script, workspace, variables))
                if ran[-1]["code"] != 0:
                    failed = True
                    break
        for section, script in self.steps:
            if section == "post always" or section == ("post failure" if failed else "post success"):
                ran.append(_sh(section, script, workspace, variables))
        return ran


def _sh(section: str, script: str, workspace: Path, env: dict[str, str]) -> dict[str, Any]:
    """One ``sh`` step as Jenkins runs it: /bin/sh -xe on a script file, in the workspace."""
    path = workspace.parent / f"jenkins-step-{abs(hash((section, script)))}.sh"
    path.write_text(script)
    done = subprocess.run(["sh", "-xe", str(path)], cwd=workspace, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    return {"section": section, "code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
