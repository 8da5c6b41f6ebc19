"""report/template_cache.py: compiled report templates kept between runs, in a private folder, never stale."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import jinja2
import pytest

from evalharness.report.template_cache import bytecode_cache

OPTIONS: dict[str, Any] = {"autoescape": True, "trim_blocks": True, "finalize": str}
TEMPLATE = "{% for row in rows %}\n<li>{{ row }}</li>\n{% endfor %}\n"


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp directory of its own: Jinja makes its per-user cache folder inside it."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("EVALHARNESS_TEMPLATE_CACHE", raising=False)
    return tmp_path


def _environment(templates: Path, options: dict[str, Any] = OPTIONS) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)),
                              bytecode_cache=bytecode_cache("test", options), **options)  # fmt: skip


def _cache_files(root: Path) -> list[Path]:
    return sorted((root / f"_jinja2-cache-{os.getuid()}").glob("evalharness-*.cache"))


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "list.html").write_text(TEMPLATE)
    return folder


def test_a_second_process_loads_the_compiled_template(
    temp_root: Path, templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _environment(templates).get_template("list.html").render(rows=["<a>", 2])
    assert first == "<li>&lt;a&gt;</li>\n<li>2</li>\n"
    assert len(_cache_files(temp_root)) == 1
    folder = temp_root / f"_jinja2-cache-{os.getuid()}"
    assert (folder.stat().st_mode & 0o777) == 0o700  # no one else can plant code in it

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(jinja2.Environment, "compile", no_compiling)
    assert _environment(templates).get_template("list.html").render(rows=["<a>", 2]) == first


def test_other_options_or_another_source_never_read_an_old_entry(temp_root: Path, templates: Path) -> None:
    _environment(templates).get_template("list.html").render(rows=[1])
    untrimmed = _environment(templates, {**OPTIONS, "trim_blocks": False})
    assert untrimmed.get_template("list.html").render(rows=[1]) == "\n<li>1</li>\n"  # its own compile
    assert len(_cache_files(temp_root)) == 2
    (templates / "list.html").write_text("<p>{{ rows | length }}</p>")
    assert _environment(templates).get_template("list.html").render(rows=[1, 2]) == "<p>2</p>"


def test_a_corrupt_entry_is_compiled_afresh(temp_root: Path, templates: Path) -> None:
    _environment(templates).get_template("list.html").render(rows=[1])
    for entry in _cache_files(temp_root):
        entry.write_bytes(b"\x00garbage")
    assert _environment(templates).get_template("list.html").render(rows=[1]) == "<li>1</li>\n"


def test_a_cache_that_cannot_be_written_is_no_cache(
    temp_root: Path, templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: object, bucket: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "dump_bytecode", full_disk)
    assert _environment(templates).get_template("list.html").render(rows=[1]) == "<li>1</li>\n"
    assert _cache_files(temp_root) == []


def test_a_folder_that_is_not_ours_alone_is_not_used(temp_root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (temp_root / f"_jinja2-cache-{os.getuid()}").symlink_to(elsewhere)  # planted by someone else
    assert bytecode_cache("test", OPTIONS) is None


def test_it_can_be_turned_off(temp_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALHARNESS_TEMPLATE_CACHE", "0")
    assert bytecode_cache("test", OPTIONS) is None
