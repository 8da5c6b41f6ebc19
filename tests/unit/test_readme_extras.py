"""The README's list of extras names every extra pyproject.toml declares (a newcomer reads the list)."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT


def declared_extras() -> list[str]:
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    return re.findall(r"^([a-z][a-z0-9_-]*)\s*=", section, flags=re.MULTILINE)


def test_the_readme_lists_every_extra() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("Extras install only what a") :].split("\n\n", 1)[0]
    extras = declared_extras()
    assert {"onnx", "http", "load"} <= set(extras)  # the parse found the section
    assert [name for name in extras if f"`{name}`" not in paragraph] == []
