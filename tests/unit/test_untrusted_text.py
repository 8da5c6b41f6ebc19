"""One function makes text from outside safe wherever it lands: no control characters, no line that
GitHub's runner reads as a workflow command, a bounded length that still tells the full one."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evalharness.report.rows import ROWS_VERSION, read_rows
from evalharness.untrusted import (
    _escape_record,
    command_data,
    command_property,
    guard_output,
    markdown_cell,
    untrusted,
    untrusted_lines,
)

COMMAND = re.compile(r"^\s*::[A-Za-z0-9_-]+( [^:]*)?::")
HOSTILE = [
    "::error::x",
    "  ::warning title=t::y",
    "\t::add-mask::z",
    "\u3000::notice::wide space",
    "ok\n::error::INJECTED\n\x1b[31mred",
    "a\r::set-output name=x::1",
    "a\u2028::error::line separator",
    "a\x85::error::next line",
    "bell\x07 del\x7f csi\x9b nul\x00 \ud800",
]


def unsafe(text: str) -> list[str]:
    """Workflow-command lines and control characters (newline aside) in ``text``."""
    lines = [line for line in text.splitlines() if COMMAND.match(line)]
    controls = [c for c in text if c != "\n" and (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029")]
    return lines + controls


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_becomes_one_safe_line(text: str) -> None:
    safe = untrusted(text)
    assert unsafe(safe) == [] and "\n" not in safe and len(safe.splitlines()) <= 1
    assert untrusted(safe) == safe  # idempotent: safe text passes unchanged


@pytest.mark.parametrize("text", HOSTILE)
def test_messages_keep_their_lines_but_no_line_is_a_command(text: str) -> None:
    safe = untrusted_lines(f"gate x could not be evaluated: {text}\n{text}")
    assert unsafe(safe) == [] and untrusted_lines(safe) == safe


def test_escapes_are_visible_and_a_leading_colon_is_written_x3a() -> None:
    assert untrusted("\x1b[2Jx\n") == "\\x1b[2Jx\\x0a"
    assert untrusted("  ::error::x") == "  \\x3a:error::x"
    assert untrusted("a\u2028b") == "a\\u2028b"
    assert untrusted("fine: a::b") == "fine: a::b"  # only a line start is a command
    assert untrusted_lines("one\r\n::two\rthree") == "one\n\\x3a:two\\x0dthree"


def test_a_long_text_is_cut_with_its_full_length_kept_through_recaps() -> None:
    capped = untrusted("a" * 100_047, 200)
    assert len(capped) == 200 and capped.endswith("…(100,047 chars)")
    assert untrusted(capped, 200) == capped
    narrower = untrusted(capped, 40)
    assert len(narrower) == 40 and narrower.endswith("…(100,047 chars)")
    assert untrusted(capped) == capped  # no limit: nothing more is cut, the count stays


def test_escapes_that_lengthen_a_text_past_the_limit_are_cut_too() -> None:
    capped = untrusted("\x1b" * 100, 50)
    assert len(capped) == 50 and capped.endswith("…(100 chars)") and "\x1b" not in capped
    assert untrusted("short", 50) == "short" and untrusted(12345, 3) == "…(5 chars)"


def test_the_guard_neutralises_commands_and_controls_and_keeps_colours_only_in_colour() -> None:
    text = "E   fine\n  ::error::forged\n\x1b[31mERROR\x1b[0m log\x1b]0;title\x07\r::warning::cr"
    for colour in (False, True):
        guarded = guard_output(text, colour)
        assert [line for line in guarded.splitlines() if COMMAND.match(line)] == []
        assert "\\x1b]0;title\\x07" in guarded and "\r" not in guarded and guard_output(guarded, colour) == guarded
    assert "\x1b" not in guard_output(text) and "\\x1b[31mERROR\\x1b[0m" in guard_output(text)
    assert "\x1b[31mERROR\x1b[0m" in guard_output(text, colour=True)


def test_workflow_command_escaping_follows_the_runner_toolkit() -> None:
    assert command_data("100% done\nnext") == "100%25 done%0Anext"
    assert command_data("::error::x") == "\\x3a:error::x"
    assert command_property("suites/a.yaml: row 1, col 2") == "suites/a.yaml%3A row 1%2C col 2"
    assert "%0A" not in command_property("a\nb")  # a property is one line


def test_markdown_cells_cannot_break_the_table_or_inject_html() -> None:
    cell = markdown_cell("a | b <script>x</script> [link](http://e) `code`\n::error::x")
    assert "|" not in cell.replace("\\|", "") and "<script>" not in cell and "\n" not in cell
    assert "\\[link\\]\\(http://e\\)" in cell and "\\`code\\`" in cell


def test_a_log_record_is_one_safe_line_with_a_safe_traceback() -> None:
    try:
        raise ValueError("body\n::error::FROM-TRACEBACK\x1b[31m")
    except ValueError:
        record = logging.LogRecord("t", logging.WARNING, __file__, 1, "first: %s", ("x\n::error::y\x1b[2J",),
                                   sys.exc_info())  # fmt: skip
    _escape_record(record)
    assert record.getMessage() == "first: x\\x0a::error::y\\x1b[2J"
    formatted = logging.Formatter("%(message)s").format(record)
    assert unsafe(formatted) == [] and "\\x3a:error::FROM-TRACEBACK\\x1b[31m" in formatted


def test_the_log_factory_chains_with_secret_redaction() -> None:
    """In its own process: the factories stay installed for the life of the process."""
    code = """if True:
        import io, logging, os
        from evalharness.targets.secrets import expand, install_log_redaction
        from evalharness.untrusted import install_log_escaping
        os.environ["PLANTED"] = "sk-planted-secret-99"
        install_log_escaping(); install_log_redaction(); install_log_escaping()  # twice: installed once
        expand("${env:PLANTED}")
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        logging.getLogger().addHandler(handler)
        logging.getLogger("x").warning("key %s body %s", "sk-planted-secret-99", "\\n::error::x\\x1b[31m")
        print(repr(out.getvalue()))
    """
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == repr("key *** body \\x0a::error::x\\x1b[31m\n")


def test_a_rows_file_of_another_format_or_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"format": "evalharness-rows", "version": ROWS_VERSION + 1}) + "\n")
    with pytest.raises(ValueError, match="upgrade"):
        read_rows(path)
    path.write_text('{"suite": "a.yaml"}\n')
    with pytest.raises(ValueError, match="not an evalharness rows file"):
        read_rows(path)
