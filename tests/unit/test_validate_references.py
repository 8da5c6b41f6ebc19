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


HTTP = "{{kind: http, url: 'http://127.0.0.1:9/p', body: {body}, label: {label}}}"
ROW_BODY = "'{\"x\": {{ x1 | tojson }}}'"


@pytest.mark.parametrize(
    "jinja",
    ["{{ " + "(" * 300 + "x1" + ")" * 300 + " }}", "{% if x1 %}" * 150 + "1" + "{% endif %}" * 150,
     "{{ " + " + ".join(["x1"] * 300) + " }}", "{{ " + "[" * 300 + "]" * 300 + " }}"],
    ids=["parentheses", "blocks", "operators", "lists"],
)  # fmt: skip
def test_a_deeply_nested_template_is_located_not_a_traceback(tmp_path: Path, jinja: str) -> None:
    """Regression: 100 nested brackets or blocks in a body raised RecursionError, SyntaxError or
    IndentationError from Jinja's parser or Python's compiler: a traceback and exit 1 from validate,
    INTERNALERROR and exit 3 from pytest."""
    body = '\'{"x": ' + jinja + "}'"
    problems = _problems(tmp_path, target=HTTP.format(body=body, label="label"))
    assert len(problems) == 1 and "target.body: the body nests too deeply to compile" in problems[0]
    prompt = f"{{kind: openai, base_url: 'http://127.0.0.1:9/v1', model: m, prompt: '{jinja}'}}"
    problems = _problems(tmp_path, target=prompt)
    assert len(problems) == 1 and "target.prompt: the prompt nests too deeply to compile" in problems[0]


def test_reading_a_templates_names_never_builds_what_it_folds(tmp_path: Path) -> None:
    """Regression: the column check compiled the body in a plain sandbox, whose constant folding
    built ``"x" * 10**9`` at validation: 16 s and 3 GB before the bounded render refused it."""
    import resource
    import time

    body = '\'{"x": "{{ "x" * 10**9 }}", "y": {{ x1 | tojson }}}\''
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    problems = _problems(tmp_path, target=HTTP.format(body=body, label="label"))
    assert len(problems) == 1 and "product would exceed 1,000,000" in problems[0]
    assert time.perf_counter() - started < 10  # a guard: it takes well under a second
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 300 * 1024  # KiB: far below 1 GB


def test_a_body_amplifying_one_big_string_is_located_at_validation(tmp_path: Path) -> None:
    """Regression: ``a ~ a ~ ... ~ a`` (1,500 times, ``a`` just under a million characters) in a body
    took 11.9 s and 3 GB in ``evalharness validate`` before the output cap refused it. The
    concatenation is now measured before it is built: a located problem, exit 4, at once."""
    import resource
    import time

    logistic_onnx(tmp_path / "model.onnx", [1.0, 1.0], 0.0)
    two_feature_frame(50).to_csv(tmp_path / "data.csv", index=False)
    body = '\'{% set a = "x" * 999999 %}{"x": {{ (' + " ~ ".join(["a"] * 1500) + ") | length }}}'"
    suite = write_suite(tmp_path, target=HTTP.format(body=body, label="label"))
    started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        assert main(["validate", str(suite)]) == 4
    lines = stderr.getvalue().strip().splitlines()
    reason = "target.body: rendering it for the first row fails: a template concatenation would build more than"
    assert len(lines) == 1 and lines[0].startswith("suite.yaml:4:") and reason in lines[0], lines
    assert time.perf_counter() - started < 10  # a guard: it takes well under a second
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB: far below 1 GB


@pytest.mark.parametrize(
    ("label", "reason"),
    [("'output.[label'", "target.label: the label path is not a valid JMESPath expression: "),
     ("'" + "(" * 3000 + "label" + ")" * 3000 + "'", "target.label: the label path nests deeper than 64 levels"),
     ("'" + " || ".join(["label"] * 200) + "'", "target.label: the label path nests deeper than 64 levels")],
    ids=["syntax", "parentheses", "or-chain"],
)  # fmt: skip
def test_label_and_score_paths_are_compiled_at_validation(tmp_path: Path, label: str, reason: str) -> None:
    """Regression: a JMESPath syntax error passed validate and every gate errored (exit 6); a deep
    path passed too and failed the run with a RecursionError traceback."""
    problems = _problems(tmp_path, target=HTTP.format(body=ROW_BODY, label=label))
    assert len(problems) == 1 and reason in problems[0]
    target = HTTP.format(body=ROW_BODY, label=f"label, score: {label}")
    problems = _problems(tmp_path, target=target)
    assert len(problems) == 1 and reason.replace("label", "score") in problems[0]


def test_an_openai_extract_that_is_no_regex_is_located(tmp_path: Path) -> None:
    """Regression: ``extract: '([01'`` passed validate and the run failed with a re.error traceback."""
    target = "{kind: openai, base_url: 'http://127.0.0.1:9/v1', model: m, prompt: '{{ x1 }}', extract: '([01'}"
    problems = _problems(tmp_path, target=target)
    assert len(problems) == 1
    assert "target.extract: extract is not a valid regular expression: unterminated character set" in problems[0]


def test_validate_prints_the_suites_and_datasets_text_as_safe_lines(tmp_path: Path) -> None:
    """Regression: ``evalharness validate`` printed column names, keys and the suite name raw (no
    pytest guard there): a dataset header ``\\n::error::x`` became a workflow command line, and a
    100,000-character unknown key a line twice as long."""
    logistic_onnx(tmp_path / "model.onnx", [1.0, 1.0], 0.0)
    frame = two_feature_frame(50)
    frame["\n::error::HEADER\x1b[31m"] = 1
    frame.to_csv(tmp_path / "data.csv", index=False)
    plain = write_suite(tmp_path).read_text()
    (tmp_path / "named.yaml").write_text(plain.replace("name: demo", 'name: "x\\n::error::NAME"'))
    (tmp_path / "keys.yaml").write_text(plain + '"\\n::error::KEY": 1\n? ' + "k" * 100_000 + "\n: 1\n")
    write_suite(tmp_path, dataset="{path: data.csv, id: row_id, expected: nope, inputs: [x1, x2]}")
    printed = {}
    for suite, code in (("suite.yaml", 4), ("keys.yaml", 4), ("named.yaml", 0)):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            assert main(["validate", suite]) == code
        printed[suite] = text = out.getvalue() + err.getvalue()
        assert "::error::" in text and "\x1b" not in text and len(text) < 20_000
        assert not [line for line in text.splitlines() if line.lstrip().startswith("::")]
    assert "valid names: row_id, x1, x2, y, \\x0a::error::HEADER\\x1b[31m" in printed["suite.yaml"]
    assert "unknown key '\\x0a::error::KEY'" in printed["keys.yaml"] and "chars)" in printed["keys.yaml"]
    assert printed["named.yaml"].startswith("ok: named.yaml: x\\x0a::error::NAME, ")
