"""``evalharness validate`` checks every column and model input a target names, before anything runs.

Regression: an ONNX input mapped to a column that does not exist passed ``validate`` and the run
then failed with a bare ``'students'``. Now each is a located problem and exit code 4.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pandas as pd
import pytest

from evalharness.cli import main
from evalharness.errors import SuiteError
from evalharness.session import EvalSession
from tests.builders import logistic_onnx, two_feature_frame, write_suite


@pytest.fixture(autouse=True)
def _in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # problems then name the suite as users type it: suite.yaml


def _problems(tmp_path: Path, **sections: str) -> list[str]:
    logistic_onnx(tmp_path / "model.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(50).to_csv(tmp_path / "data.csv", index=False)
    suite = write_suite(tmp_path, **sections)
    with pytest.raises(SuiteError) as error:
        EvalSession.load([str(suite)], tmp_path / "reports")
    return [str(problem) for problem in error.value.problems]


def test_an_onnx_input_naming_a_missing_column_is_located(tmp_path: Path) -> None:
    problems = _problems(tmp_path, target="{kind: onnx, path: model.onnx, inputs: {features: [x1, students]}}")
    assert problems == [
        "suite.yaml:4:64: target.inputs.features[1]: column 'students' is not in the dataset; valid names: x1, x2"
    ]


def test_an_input_the_model_lacks_is_located(tmp_path: Path) -> None:
    problems = _problems(tmp_path, target="{kind: onnx, path: model.onnx, inputs: {featurs: [x1, x2]}}")
    assert problems == [
        "suite.yaml:4:48: target.inputs: model inputs ['features'] are not mapped; add them under inputs",
        "suite.yaml:4:58: target.inputs.featurs: 'featurs' is not an input of the model; did you mean 'features'?",
    ]


def test_the_expected_column_is_never_a_model_input(tmp_path: Path) -> None:
    problems = _problems(tmp_path, target="{kind: onnx, path: model.onnx, inputs: {features: [x1, y]}}")
    assert problems == [
        "suite.yaml:4:64: target.inputs.features[1]: column 'y' is the expected answer; "
        "the model under test must never read it"
    ]


def test_a_column_outside_the_declared_inputs_is_named(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        target="{kind: onnx, path: model.onnx, inputs: {features: [x1, x2]}}",
        dataset="{path: data.csv, id: row_id, expected: y, inputs: [x1]}",
    )
    assert problems == [
        "suite.yaml:4:64: target.inputs.features[1]: column 'x2' is not among the dataset's inputs; "
        "add it to dataset.inputs"
    ]


def test_a_wrong_output_name_is_located(tmp_path: Path) -> None:
    problems = _problems(tmp_path, target="{kind: onnx, path: model.onnx, outputs: {label: labl}}")
    assert len(problems) == 1 and "target.outputs: the model has no output 'labl'; did you mean 'label'?" in problems[0]


def test_kserve_input_columns_are_checked_without_calling_the_server(tmp_path: Path) -> None:
    target = (
        "{kind: kserve, url: 'http://127.0.0.1:9', model: m, label: label, "
        "inputs: [{name: features, columns: [x1, x3]}]}"
    )
    problems = _problems(tmp_path, target=target)
    assert len(problems) == 1
    assert "target.inputs[0].columns[1]: column 'x3' is not in the dataset; valid names: x1, x2" in problems[0]


def test_endpoint_templates_may_read_only_the_id_and_inputs(tmp_path: Path) -> None:
    body = """'{"a": {{ x1 | tojson }}, "b": {{ amount | tojson }}, "c": {{ y | tojson }}, "id": {{ row_id }}}'"""
    problems = _problems(tmp_path, target=f"{{kind: http, url: 'http://127.0.0.1:9/p', body: {body}, label: label}}")
    assert [problem.split(": ", 2)[1:] for problem in problems] == [
        ["target.body", "column 'amount' is not in the dataset; valid names: x1, x2, row_id"],
        ["target.body", "column 'y' is the expected answer; the model under test must never read it"],
    ]


def test_openai_prompt_fields_are_checked(tmp_path: Path) -> None:
    target = "{kind: openai, base_url: 'http://127.0.0.1:9/v1', model: m, prompt: 'Is {{ x3 }} fraud? {{ row }}'}"
    problems = _problems(tmp_path, target=target)
    assert len(problems) == 1
    assert "target.prompt: column 'x3' is not in the dataset; valid names: x1, x2, row_id" in problems[0]


def test_a_file_target_without_its_label_column_is_located(tmp_path: Path) -> None:
    pd.DataFrame({"row_id": ["r00000"], "answer": [1]}).to_csv(tmp_path / "out.csv", index=False)
    problems = _problems(tmp_path, target="{kind: file, path: out.csv, label: answr}")
    assert len(problems) == 1
    assert "target.label: out.csv has no column 'answr'; did you mean 'answer'?" in problems[0]


def test_torch_input_count_is_checked(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")

    class Sum(torch.nn.Module):  # type: ignore[misc, name-defined]
        def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[name-defined]
            return x.sum(dim=1)

    program = torch.export.export(Sum(), (torch.zeros(2, 2),), dynamic_shapes={"x": {0: torch.export.Dim("n")}})
    torch.export.save(program, str(tmp_path / "model.pt2"))
    problems = _problems(tmp_path, target="{kind: torch, path: model.pt2, inputs: [x1, x2], outputs: {kind: score}}")
    assert len(problems) == 1
    assert "target.inputs: the model takes 1 positional inputs; inputs gives 2 ([['x1'], ['x2']])" in problems[0]


def test_validate_exits_4_with_every_problem(tmp_path: Path) -> None:
    logistic_onnx(tmp_path / "model.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(50).to_csv(tmp_path / "data.csv", index=False)
    suite = write_suite(
        tmp_path, target="{kind: onnx, path: model.onnx, inputs: {features: [x1, students]}}",
        dataset="{path: data.csv, id: row_id, expected: y, inputs: [x1, x2], positive_label: 'yes'}",
    )  # fmt: skip
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(["validate", str(suite)]) == 4
    lines = stderr.getvalue().strip().splitlines()
    assert len(lines) == 2 and "target.inputs.features[1]" in lines[0] and "dataset.positive_label" in lines[1]
    assert "Traceback" not in stderr.getvalue()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("'{\"x\": {{ x1.__class__.__mro__ }}}'", "the template was refused by the sandbox"),
        ("'{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}{}'", "ran over 100,000 loop"),
        ("'{\"x\": {{ 10 ** 10 ** 9 }}}'", "a template power must have an exponent of at most 64"),
        ('\'{"x": {{ x1 }}, "note": {{ row_id }}}\'', "renders to text that is not JSON for the first row"),
    ],
)
def test_an_endpoint_body_is_rendered_once_at_validation(tmp_path: Path, body: str, reason: str) -> None:
    """Regression: a body the sandbox refused at run time gave a traceback of a thousand lines."""
    problems = _problems(tmp_path, target=f"{{kind: http, url: 'http://127.0.0.1:9/p', body: {body}, label: label}}")
    assert len(problems) == 1 and problems[0].startswith("suite.yaml:4:") and "target.body: " in problems[0]
    assert reason in problems[0]


def test_a_batch_body_renders_the_first_batch_at_validation(tmp_path: Path) -> None:
    logistic_onnx(tmp_path / "model.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(50).to_csv(tmp_path / "data.csv", index=False)
    body = "'{\"instances\": {{ rows | tojson }}}'"
    target = f"{{kind: http, url: 'http://127.0.0.1:9/p', body: {body}, label: l, batch_size: 8}}"
    state = EvalSession.load([str(write_suite(tmp_path, target=target))], tmp_path / "reports")
    state.close()


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "{kind: http, url: 'http://127.0.0.1:9/p', body: '{\"a\": \"{{ row.x3 }}\"}', label: l}",
            "target.body: it reads 'x3' from a row: column 'x3' is not in the dataset; valid names: row_id, x1, x2",
        ),
        (
            "{kind: http, url: 'http://127.0.0.1:9/p', label: 'l[*]', batch_size: 4,"
            ' body: \'[{% for r in rows %}"{{ r.xl }}"{{ "" if loop.last else "," }}{% endfor %}]\'}',
            "target.body: it reads 'xl' from a row: column 'xl' is not in the dataset; valid names: row_id, x1, x2",
        ),
        (
            "{kind: http, url: 'http://127.0.0.1:9/p', body: '{\"a\": {{ rows[0].y | tojson }}}', label: l}",
            "target.body: it reads 'y' from a row: column 'y' is the expected answer; the model under test must never",
        ),
        (
            "{kind: openai, base_url: 'http://127.0.0.1:9/v1', model: m, prompt: 'Is {{ row.x3 }} fraud?'}",
            "target.prompt: it reads 'x3' from a row: column 'x3' is not in the dataset",
        ),
    ],
)
def test_a_field_a_template_reads_from_a_row_must_exist(tmp_path: Path, target: str, message: str) -> None:
    """Regression: ``r.amout`` in a loop over rows (or ``row.amout``) rendered as empty text and passed validate."""
    problems = _problems(tmp_path, target=target)
    assert len(problems) == 1 and message in problems[0], problems


def test_a_template_that_tests_for_a_field_is_left_alone(tmp_path: Path) -> None:
    logistic_onnx(tmp_path / "model.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(50).to_csv(tmp_path / "data.csv", index=False)
    body = '\'{"a": {{ row.x1 | tojson }}, "b": {{ row.note | default(0) | tojson }}'
    body += "{% if row.z is defined %}{% endif %}}'"
    target = f"{{kind: http, url: 'http://127.0.0.1:9/p', body: {body}, label: l}}"
    EvalSession.load([str(write_suite(tmp_path, target=target))], tmp_path / "reports").close()
