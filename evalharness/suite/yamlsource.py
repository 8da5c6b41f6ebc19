"""Safe YAML loading that remembers where every key and value was written.

PyYAML's safe loader builds plain Python values but forgets positions and silently keeps the last
of two duplicate keys. We compose the node tree with the safe loader, then build the values
ourselves so that every key path maps to a ``line:col`` and duplicates become errors.

A suite is untrusted input, so its size is bounded before any value is built: the file's bytes
(:data:`MAX_FILE_BYTES`), the nesting depth (:data:`MAX_DEPTH`), the nodes after alias expansion
(:data:`MAX_NODES`: a billion-laughs bomb stops at its first alias past the limit) and the digits
of an integer (:data:`MAX_INTEGER_DIGITS`). Each limit is counted while the file is composed, so
going past one is a located problem in milliseconds, never a hang or a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.error import Mark
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from evalharness.errors import Problem

KeyPath = tuple[Any, ...]
_PLAIN_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
Position = tuple[int, int]

MAX_FILE_BYTES = 1024 * 1024
"""A suite file is at most 1 MiB (the largest shipped suite is under 6 KiB)."""
MAX_DEPTH = 64
"""Mappings and lists nest at most 64 deep (shipped suites: 7)."""
MAX_NODES = 10_000
"""At most 10,000 keys, values and items, counting each alias as the nodes it stands for
(shipped suites: under 300)."""
MAX_INTEGER_DIGITS = 100
"""An integer is written with at most 100 characters (Python refuses to read some past 4,300)."""
_INT_TAG = "tag:yaml.org,2002:int"


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
    return _mark_position(node.start_mark)


def _mark_position(mark: Mark) -> Position:
    return (mark.line + 1, mark.column + 1)


class _LimitExceeded(Exception):
    """A limit was passed while composing; carries where and why."""

    def __init__(self, mark: Mark, path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.mark, self.path, self.message = mark, path, message


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe composer, counting depth and nodes (aliases as the nodes they expand to).

    Aliases are cheap to compose (they share one node) but expand when the values are built, so
    each alias adds the expanded size of the node it names, known once that node is composed; an
    alias to a node still being composed is recursive and refused.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.path: list[Any] = []
        self.nodes = 0
        self.sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        is_alias = self.check_event(AliasEvent)  # makes the next event current, unconsumed
        event: Any = self.current_event  # an Event; PyYAML's stubs leave it untyped
        step = () if parent is None or index is None else (index.value if isinstance(index, Node) else index,)
        self.path.extend(step)
        try:
            if is_alias:
                return self._alias(parent, index, event.anchor, event.start_mark)
            if len(self.path) >= MAX_DEPTH:  # named by its top-level key: the whole path is as deep
                message = f"values nest deeper than {MAX_DEPTH} levels; a suite needs far fewer"
                raise _LimitExceeded(event.start_mark, tuple(self.path[:1]), message)
            self._count(1, event.start_mark)
            node = super().compose_node(parent, index)
            self.sizes[id(node)] = 1 + sum(self.sizes[id(child)] for child in _children(node))
            return node
        finally:
            del self.path[len(self.path) - len(step) :]

    def _alias(self, parent: Node | None, index: Any, anchor: str, mark: Mark) -> Node | None:
        target = self.anchors.get(anchor)
        if target is not None:  # an undefined alias is PyYAML's to report
            size = self.sizes.get(id(target))
            if size is None:
                self._fail(mark, f"the alias *{anchor} names a value that contains it (a recursive alias); remove it")
            self._count(size, mark)
        return super().compose_node(parent, index)

    def _count(self, nodes: int, mark: Mark) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            self._fail(
                mark,
                f"more than {MAX_NODES:,} keys, values and items (an alias *name counts as all it repeats); "
                "a suite is far smaller: remove repeated aliases, or keep long lists in the dataset",
            )

    def _fail(self, mark: Mark, message: str) -> NoReturn:
        raise _LimitExceeded(mark, tuple(self.path), message)


def _children(node: Node | None) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, SequenceNode) else []


def _integer_too_long(node: ScalarNode) -> str | None:
    """Why an integer scalar is not read (too many digits), before ``int()`` ever sees it."""
    if node.tag == _INT_TAG and len(node.value) > MAX_INTEGER_DIGITS:
        return (
            f"an integer written with {len(node.value):,} characters; at most {MAX_INTEGER_DIGITS} are read "
            "(quote it to mean text)"
        )
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value: Any) -> str | None:
    """Why a text is not read: YAML's ``"\\ud800"`` escape makes half of a UTF-16 pair, which is no
    character at all and cannot be written out as UTF-8 (in a message, a report or a request)."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found:
            return (f"the text holds \\u{ord(found.group()):04x}, half of a UTF-16 surrogate pair and no character; "
                    "write the character itself or its \\U escape")
    return None


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
        too_long = _integer_too_long(node)
        if too_long:
            self._add(path, node, too_long)
            return None
        try:
            value = self.constructor.construct_object(node, deep=True)
        except ConstructorError as error:
            self._add(path, node, f"{error.problem}; only plain YAML values are allowed")
            return None
        surrogate = _lone_surrogate(value)
        if surrogate:
            self._add(path, node, surrogate)
            return None
        return value

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[Any, Any]:
        try:
            self.constructor.flatten_mapping(node)
        except ConstructorError as error:
            self._add(path, node, str(error.problem))
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            too_long = _integer_too_long(key_node) if isinstance(key_node, ScalarNode) else None
            if too_long:
                self._add(path, key_node, too_long)
                continue
            key = self.constructor.construct_object(key_node) if isinstance(key_node, ScalarNode) else None
            if _lone_surrogate(key):
                self._add(path, key_node, str(_lone_surrogate(key)))
                continue
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
    """Parse ``text`` safely; syntax errors, duplicate keys, tags and passed limits become located problems."""
    document = YamlDocument(file=file, data=None, lines=text.splitlines())
    loader = None
    try:
        loader = _BoundedLoader(text)  # reads the text: a control character stops it here
        node = loader.get_single_node()
    except _LimitExceeded as error:
        line, col = _mark_position(error.mark)
        document.problems.append(Problem(file, line, col, format_key_path(error.path), error.message))
        return document
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, col = _mark_position(mark) if mark else (1, 1)
        document.problems.append(Problem(file, line, col, "", f"invalid YAML: {error.problem}"))
        return document
    except ReaderError as error:
        document.problems.append(_unreadable_character(text, file, error))
        return document
    except yaml.YAMLError as error:
        document.problems.append(Problem(file, 1, 1, "", f"invalid YAML: {error}"))
        return document
    finally:
        if loader is not None:
            loader.dispose()
    if node is not None:
        document.data = _Builder(document).build(node, ())
    return document


def _unreadable_character(text: str, file: str, error: ReaderError) -> Problem:
    """A control character YAML does not allow, located by its position in the text."""
    before = text[: error.position]
    line, col = before.count("\n") + 1, error.position - (before.rfind("\n") + 1) + 1
    code = error.character if isinstance(error.character, int) else ord(error.character)
    message = f"the character U+{code:04X} is not allowed in YAML (a control character); remove it"
    return Problem(file, line, col, "", message)


def _byte_position(raw: bytes, offset: int) -> Position:
    """1-based line and column (in bytes) of byte ``offset``."""
    return (raw.count(b"\n", 0, offset) + 1, offset - (raw.rfind(b"\n", 0, offset) + 1) + 1)


_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def decode_suite(raw: bytes, file: str) -> str | Problem:
    """The text of a suite file, or the problem that stops it being read: too big, or not UTF-8."""
    if len(raw) > MAX_FILE_BYTES:
        return Problem(file, 1, 1, "", f"the file is over {MAX_FILE_BYTES:,} bytes (1 MiB), the most a suite may be")
    if raw.startswith(_UTF16_MARKS) or b"\x00" in raw:
        offset = 0 if raw.startswith(_UTF16_MARKS) else raw.index(b"\x00")
        line, col = _byte_position(raw, offset)
        why = "a UTF-16 byte-order mark" if offset == 0 and raw[:2] in _UTF16_MARKS else "a NUL byte, as in UTF-16,"
        message = f"the file is not UTF-8 text ({why} at byte offset {offset}); save it as UTF-8"
        return Problem(file, line, col, "", message)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line, col = _byte_position(raw, error.start)
        byte = raw[error.start]
        message = f"the file is not UTF-8 text (byte 0x{byte:02x} at byte offset {error.start}); save it as UTF-8"
        return Problem(file, line, col, "", message)


def parse_yaml_bytes(raw: bytes, file: str) -> YamlDocument:
    """Decode and parse the bytes of a suite file; undecodable or oversized files become a problem."""
    text = decode_suite(raw, file)
    if isinstance(text, Problem):
        return YamlDocument(file=file, data=None, problems=[text])
    return parse_yaml(text, file)


def read_suite_bytes(path: Path) -> bytes:
    """The file's bytes, never more than one past :data:`MAX_FILE_BYTES` (enough to refuse it)."""
    with path.open("rb") as stream:
        return stream.read(MAX_FILE_BYTES + 1)


def load_yaml(path: Path, display_name: str | None = None) -> YamlDocument:
    """Read and parse a YAML file; ``display_name`` is how errors name it (defaults to the path)."""
    return parse_yaml_bytes(read_suite_bytes(path), display_name or str(path))
