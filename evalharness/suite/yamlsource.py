"""Safe YAML loading that remembers where every key and value was written.

PyYAML's safe loader builds plain Python values but forgets positions and silently keeps the last
of two duplicate keys. We compose the node tree with the safe loader, then build the values
ourselves so that every key path maps to a ``line:col`` and duplicates become errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from evalharness.errors import Problem

KeyPath = tuple[Any, ...]
_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
Position = tuple[int, int]


def format_key_path(path: KeyPath) -> str:
    """Render ``("dataset", "inputs", 2)`` as ``dataset.inputs[2]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class YamlDocument:
    """Plain data from one YAML file, with the position of every value and key."""

    file: str
    data: Any
    value_positions: dict[KeyPath, Position] = field(default_factory=dict)
    key_positions: dict[KeyPath, Position] = field(default_factory=dict)
    scalar_styles: dict[KeyPath, str | None] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def position(self, path: KeyPath, *, key: bool = False) -> Position:
        """Where ``path`` was written; falls back to its nearest written ancestor."""
        table = self.key_positions if key else self.value_positions
        for end in range(len(path), -1, -1):
            found = table.get(path[:end]) or self.value_positions.get(path[:end])
            if found:
                return found
        return (1, 1)

    def problem(self, path: KeyPath, message: str, *, key: bool = False) -> Problem:
        """A :class:`Problem` located at ``path`` in this document."""
        line, col = self.position(path, key=key)
        return Problem(self.file, line, col, format_key_path(path), message)

    def inner_position(self, path: KeyPath, line: int, col: int) -> Position:
        """Where ``line:col`` (1-based) *inside* the string at ``path`` is in the file.

        Exact for plain and quoted one-line strings; block strings (``|``, ``>``) start on the
        next line; anything else falls back to the string's start.
        """
        start_line, start_col = self.position(path)
        style = self.scalar_styles.get(path)
        if style in ("|", ">"):
            first_content = self.lines[start_line] if start_line < len(self.lines) else ""
            indent = len(first_content) - len(first_content.lstrip(" "))
            return (start_line + line, indent + col)
        if line == 1:
            return (start_line, start_col + col - 1 + (1 if style in ('"', "'") else 0))
        return (start_line, start_col)


def _position(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns a composed node tree into plain data, recording positions and problems."""

    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.constructor = SafeConstructor()

    def build(self, node: Node, path: KeyPath) -> Any:
        self.document.value_positions.setdefault(path, _position(node))
        if isinstance(node, (MappingNode, SequenceNode)) and node.tag not in _PLAIN_COLLECTION_TAGS:
            self._add(path, node, f"the tag {node.tag} is not allowed; only plain YAML values are allowed")
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self._scalar(node, path)

    def _scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        self.document.scalar_styles[path] = node.style
        try:
            return self.constructor.construct_object(node, deep=True)
        except ConstructorError as error:
            self._add(path, node, f"{error.problem}; only plain YAML values are allowed")
            return None

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[Any, Any]:
        try:
            self.constructor.flatten_mapping(node)
        except ConstructorError as error:
            self._add(path, node, str(error.problem))
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.constructor.construct_object(key_node) if isinstance(key_node, ScalarNode) else None
            if key is None or isinstance(key, (list, dict)):
                self._add(path, key_node, "keys must be plain scalars such as names")
                continue
            child = (*path, key)
            if key in result:
                first_line = self.document.key_positions[child][0]
                self._add(child, key_node, f"duplicate key '{key}' (first written on line {first_line}); keep one")
                continue
            self.document.key_positions[child] = _position(key_node)
            result[key] = self.build(value_node, child)
        return result

    def _add(self, path: KeyPath, node: Node, message: str) -> None:
        line, col = _position(node)
        self.document.problems.append(Problem(self.document.file, line, col, format_key_path(path), message))


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse ``text`` safely; syntax errors, duplicate keys and tags become located problems."""
    document = YamlDocument(file=file, data=None, lines=text.splitlines())
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        document.problems.append(Problem(file, line, col, "", f"invalid YAML: {error.problem}"))
        return document
    except yaml.YAMLError as error:
        document.problems.append(Problem(file, 1, 1, "", f"invalid YAML: {error}"))
        return document
    finally:
        loader.dispose()
    if node is not None:
        document.data = _Builder(document).build(node, ())
    return document


def load_yaml(path: Path, display_name: str | None = None) -> YamlDocument:
    """Read and parse a YAML file; ``display_name`` is how errors name it (defaults to the path)."""
    return parse_yaml(path.read_text(encoding="utf-8"), display_name or str(path))
