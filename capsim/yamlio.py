"""Safe YAML reading for scenario files that remembers the file position of every value.

Only plain data (mappings, lists, text, numbers, booleans, null) is accepted, so a scenario can
never run code, and every problem is reported with its file, line, column and field path.

Mapping keys: text keys are kept as written, whole-number keys become ``str(int)`` (``2030`` ->
``"2030"``), and other scalar keys (``no``, ``1.5``) keep the text written in the file.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from capsim.errors import Problem, ScenarioError

Position = tuple[str, int, int]
PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = 1_048_576
MAX_NODES = 100_000
MAX_DEPTH = 64

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_CORE + t for t in ("str", "int", "float", "bool", "null"))
_SEQ, _MAP, _MERGE = _CORE + "seq", _CORE + "map", _CORE + "merge"
_SCALAR_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL, _MERGE})
_SET_FILE = "--set"
_EMPTY = "file is empty; expected a scenario mapping such as 'name: ...'"
_MANY_DOCS = "file holds more than one YAML document; expected exactly one"
_TOO_DEEP = f"nesting deeper than {MAX_DEPTH} levels; refused"
_TOO_MANY = (
    f"document holds or expands to more than {MAX_NODES} values "
    "(a very large file, or anchors/aliases repeating data); refused"
)
_BAD_MERGE = "'<<' merge key needs a mapping or a list of mappings"
_Pair = tuple[Node, Node]


@dataclass(frozen=True)
class YamlDoc:
    """A parsed scenario file: plain data plus the position of every value and key."""

    data: dict[str, Any]
    positions: dict[PathKey, Position]
    key_positions: dict[PathKey, Position]


def dotted(path: PathKey) -> str:
    """Render a path for messages: ``("a", 0, "b")`` -> ``"a[0].b"``; the root is ``""``."""
    text = ""
    for i, step in enumerate(path):
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if i else step)
    return text


def load_yaml(path: Path, display_name: str | None = None) -> YamlDoc:
    """Read and parse a scenario file; problems name it ``display_name`` or ``str(path)``."""
    file = str(path) if display_name is None else display_name
    return load_yaml_text(_read(path, file), file)


def load_yaml_text(text: str | bytes, display_name: str) -> YamlDoc:
    """Parse scenario YAML from memory (bytes must be UTF-8); the top level must be a mapping."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise _too_big(display_name, size)
    source = _decode(text, display_name) if isinstance(text, bytes) else text.removeprefix("\ufeff")
    root = _compose(source, display_name) if source.strip() else None
    if root is None or (root.tag == _NULL and root.value == ""):
        raise ScenarioError([Problem(display_name, None, None, "", _EMPTY)])
    builder = _Builder(display_name)
    data = builder.value(root, (), 0)
    if not isinstance(root, MappingNode):
        builder.report(root, (), _not_mapping(root))
    builder.raise_problems()
    return YamlDoc(data, builder.positions, builder.key_positions)


def parse_scalar(text: str) -> Any:
    """Parse one ``--set`` value as YAML (``"3"`` -> 3, ``"[1, 2]"`` -> list) by the file rules."""
    root = _compose(text, _SET_FILE)
    if root is None:
        return None
    builder = _Builder(_SET_FILE)
    value = builder.value(root, (), 0)
    builder.raise_problems()
    return value


def _read(path: Path, file: str) -> bytes:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            reason = "it is a directory"
        elif not stat.S_ISREG(info.st_mode):
            reason = "it is not a regular file"
        elif info.st_size > MAX_FILE_BYTES:
            raise _too_big(file, info.st_size)
        else:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise _too_big(file, len(data))
            return data
    except FileNotFoundError:
        reason = "no such file"
    except PermissionError:
        reason = "permission denied"
    except OSError as exc:
        reason = (exc.strerror or "unknown error").lower()
    raise ScenarioError([Problem(file, None, None, "", f"cannot read file: {reason}")])


def _too_big(file: str, size: int) -> ScenarioError:
    message = f"file is {size} bytes; scenario files are limited to {MAX_FILE_BYTES} bytes"
    return ScenarioError([Problem(file, None, None, "", message)])


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        head = data[: exc.start].decode("utf-8-sig")
        line, column = _line_column(head, len(head))
        where = f"byte 0x{data[exc.start]:02x} at line {line}, column {column}"
        message = f"file is not valid UTF-8 ({where}); save it as UTF-8"
        raise ScenarioError([Problem(file, line, column, "", message)]) from None


def _line_column(text: str, index: int) -> tuple[int, int]:
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


def _at(file: str, mark: Mark | None, path: PathKey, message: str) -> Problem:
    if mark is None:
        return Problem(file, None, None, dotted(path), message)
    return Problem(file, mark.line + 1, mark.column + 1, dotted(path), message)


class _Composer(yaml.SafeLoader):
    """SafeLoader that leaves implicit dates as text and refuses deep nesting while composing."""

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.levels = 0

    def resolve(self, kind: type[Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        parent: Any = super()
        tag = str(parent.resolve(kind, value, implicit))
        return _STR if tag in (_CORE + "timestamp", _CORE + "value") else tag

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        step = int(self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent))
        self.levels += step
        try:
            if self.levels > MAX_DEPTH:
                raise ScenarioError([_at(self.file, self.next_mark(), (), _TOO_DEEP)])
            return super().compose_node(parent, index)
        finally:
            self.levels -= step

    def next_mark(self) -> Mark:
        events: Any = self
        mark: Mark = events.peek_event().start_mark
        return mark


# YAML 1.1 reads 1e6 and 1.5e6 as text (its floats need a dot and a signed exponent); analysts
# write them as numbers, so the YAML 1.2 spellings of exponent floats are numbers here too.
_Composer.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _compose(text: str, file: str) -> Node | None:
    """Parse ``text`` into a single node tree (None if it holds no document)."""
    loader: _Composer | None = None
    try:
        loader = _Composer(text, file)
        root = loader.get_node() if loader.check_node() else None
        if loader.check_node():
            raise ScenarioError([_at(file, loader.next_mark(), (), _MANY_DOCS)])
        return root
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ScenarioError([_at(file, mark, (), f"malformed YAML: {_detail(exc)}")]) from None
    except ReaderError as exc:
        line, column = _line_column(text, int(exc.position))
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"file contains the character U+{code:04X}, which YAML does not allow; remove it"
        raise ScenarioError([Problem(file, line, column, "", message)]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _detail(exc: yaml.MarkedYAMLError) -> str:
    if exc.problem == "second occurrence" and exc.context:
        return exc.context.removesuffix("; first occurrence")
    return exc.problem or exc.context or "unreadable document"


def _not_mapping(node: Node) -> str:
    kinds = {_INT: "a number", _FLOAT: "a number", _BOOL: "a true/false value", _NULL: "nothing"}
    found = "a list" if isinstance(node, SequenceNode) else kinds.get(node.tag, "text")
    return f"expected a mapping of scenario fields at the top level, found {found}"


def _allowed_tags(node: Node) -> tuple[frozenset[str], str]:
    if isinstance(node, ScalarNode):
        return _SCALAR_TAGS, "a single value"
    if isinstance(node, SequenceNode):
        return frozenset({_SEQ}), "a list"
    return frozenset({_MAP}), "a mapping"


def _show_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


@dataclass
class _Builder:
    """Turns a node tree into plain data, recording positions and collecting problems."""

    file: str
    positions: dict[PathKey, Position] = field(default_factory=dict)
    key_positions: dict[PathKey, Position] = field(default_factory=dict)
    problems: dict[tuple[int | None, int | None, str], Problem] = field(default_factory=dict)
    count: int = 0
    constructor: SafeConstructor = field(default_factory=SafeConstructor)

    def report(self, node: Node, path: PathKey, message: str) -> None:
        problem = _at(self.file, node.start_mark, path, message)
        self.problems.setdefault((problem.line, problem.column, message), problem)

    def fail(self, node: Node, path: PathKey, message: str) -> NoReturn:
        self.report(node, path, message)
        raise ScenarioError(list(self.problems.values()))

    def raise_problems(self) -> None:
        if self.problems:
            raise ScenarioError(list(self.problems.values()))

    def enter(self, node: Node, path: PathKey, level: int) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            self.fail(node, (), _TOO_MANY)
        if level > MAX_DEPTH:
            self.fail(node, path, _TOO_DEEP)

    def position(self, node: Node) -> Position:
        return (self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def check_tag(self, node: Node, path: PathKey) -> None:
        allowed, kind = _allowed_tags(node)
        if node.tag in allowed:
            return
        shown = _show_tag(node.tag)
        if node.tag in _SCALAR_TAGS | {_SEQ, _MAP}:
            self.report(node, path, f"YAML tag '{shown}' cannot be used on {kind}; remove the tag")
        else:
            message = f"YAML tag '{shown}' is not allowed; scenario files hold plain data only"
            self.report(node, path, message)

    def value(self, node: Node, path: PathKey, level: int) -> Any:
        self.check_tag(node, path)
        self.positions[path] = self.position(node)
        if isinstance(node, MappingNode):
            self.enter(node, path, level + 1)
            return self.mapping(node, path, level + 1)
        if isinstance(node, SequenceNode):
            self.enter(node, path, level + 1)
            return [self.value(item, (*path, i), level + 1) for i, item in enumerate(node.value)]
        self.enter(node, path, level)
        return self.scalar(node, path)

    def scalar(self, node: Node, path: PathKey) -> Any:
        if node.tag == _MERGE or node.tag not in _SCALAR_TAGS:
            return node.value
        try:
            return self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, KeyError, TypeError):
            shown = _show_tag(node.tag)
            self.report(node, path, f"'{node.value}' does not fit its tag '{shown}'; fix the value")
            return None

    def mapping(self, node: MappingNode, path: PathKey, level: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_lines: dict[str, int] = {}
        explicit, merged = self.pairs(node, path, level)
        for key_node, value_node in explicit:
            key = self.key(key_node, path)
            if key is not None and key in first_lines:
                message = f"duplicate key '{key}' (first defined at line {first_lines[key]})"
                self.report(key_node, (*path, key), message)
            elif key is not None:
                first_lines[key] = self.position(key_node)[1]
                result[key] = self.entry(key_node, value_node, (*path, key), level)
        for key_node, value_node in merged:
            key = self.key(key_node, path)
            if key is not None and key not in result:
                result[key] = self.entry(key_node, value_node, (*path, key), level)
        return result

    def entry(self, key_node: Node, value_node: Node, path: PathKey, level: int) -> Any:
        self.key_positions[path] = self.position(key_node)
        return self.value(value_node, path, level)

    def pairs(self, node: MappingNode, path: PathKey, level: int) -> tuple[list[_Pair], ...]:
        """Split a mapping into its own pairs and those merged in by ``<<`` (first one wins)."""
        explicit: list[_Pair] = []
        merged: list[_Pair] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                merged += self.merge(value_node, path, level)
            else:
                explicit.append((key_node, value_node))
        return explicit, merged

    def merge(self, node: Node, path: PathKey, level: int) -> list[_Pair]:
        self.check_tag(node, path)
        sources = node.value if isinstance(node, SequenceNode) else [node]
        found: list[_Pair] = []
        for source in sources:
            self.enter(source, path, level + 1)
            if not isinstance(source, MappingNode):
                self.report(source, path, _BAD_MERGE)
                continue
            self.check_tag(source, path)
            explicit, merged = self.pairs(source, path, level + 1)
            self.count += len(explicit)
            found += explicit + merged
        return found

    def key(self, node: Node, path: PathKey) -> str | None:
        if not isinstance(node, ScalarNode):
            self.report(node, path, "mapping keys must be plain text, not a list or mapping")
            return None
        self.check_tag(node, path)
        value = self.scalar(node, path)
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return str(value)
        if node.value:
            return str(node.value)
        self.report(node, path, "mapping keys must be plain text; this key is empty")
        return None
