"""Safe YAML reading for scenario files that remembers the file position of every value.

Only plain data (mappings, lists, text, numbers, booleans, null) is accepted, so a scenario can
never run code, and every problem is reported with its file, line, column and field path.

Mapping keys: text keys are kept as written, whole-number keys become ``str(int)`` (``2030`` ->
``"2030"``), and other scalar keys (``no``, ``1.5``) keep the text written in the file.

Numbers follow YAML 1.1 (as PyYAML writes them) with three changes, so that no spelling silently
becomes another number than the one an analyst meant:

- exponent forms without a dot or a signed exponent (``1e6``, ``0E0``) and ``0o14`` (octal) are
  numbers, as in YAML 1.2 (``0x1F`` is 31 in both versions);
- a whole number with a leading zero (``014``: 12 in YAML 1.1, 14 in YAML 1.2) and base-60
  numbers (``1:30``: 90 in YAML 1.1, text in YAML 1.2) are read as text, and refused with a hint
  where the schema wants a number;
- every plain value whose reading differs between the two versions keeps its written text in
  ``YamlDoc.spellings``, so that the loader can use the text where the schema wants text (a
  description ``1e5`` written by PyYAML stays ``"1e5"``).

``dump_scenario_text`` writes data that this module reads back unchanged.
"""

from __future__ import annotations

import errno
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.emitter import Emitter
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError
from yaml.representer import SafeRepresenter
from yaml.resolver import Resolver
from yaml.serializer import Serializer

from capsim.errors import Problem, ScenarioError

Position = tuple[str, int, int]
PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = 1_048_576
MAX_NODES = 100_000
MAX_DEPTH = 64
#: Most values a resolved scenario may hold (defaults, ``extends`` and ``--set`` included); the
#: loader refuses more, so that the copy a run stores can always be read back.
MAX_RESOLVED_VALUES = 400_000
#: Largest stored copy of a resolved scenario capsim reads back: a dumped value takes at most
#: about 128 bytes (key, indentation and a 24-character number) and the schema bounds the long
#: texts to about 11 MB in all, so 400,000 values stay far below this.
MAX_STORED_BYTES = 134_217_728


@dataclass(frozen=True)
class Limits:
    """Bounds on what one read may cost: file bytes and values (after alias expansion)."""

    file_bytes: int
    nodes: int
    what: str


#: A scenario file written by a person (and every ``extends`` base).
FILE_LIMITS = Limits(MAX_FILE_BYTES, MAX_NODES, "scenario files")
#: The resolved scenario a run stores (``scenario.yaml`` in a run directory), written by capsim.
STORED_LIMITS = Limits(MAX_STORED_BYTES, MAX_RESOLVED_VALUES, "stored resolved scenarios")

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_CORE + t for t in ("str", "int", "float", "bool", "null"))
_DATE_TAGS = (_CORE + "timestamp", _CORE + "value")
_SEQ, _MAP, _MERGE = _CORE + "seq", _CORE + "map", _CORE + "merge"
_SCALAR_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL, _MERGE})
_SET_FILE = "--set"
_EMPTY = "file is empty; expected a scenario mapping such as 'name: ...'"
_MANY_DOCS = "file holds more than one YAML document; expected exactly one"
_TOO_DEEP = f"nesting deeper than {MAX_DEPTH} levels; refused"
_BAD_MERGE = "'<<' merge key needs a mapping or a list of mappings"
_Pair = tuple[Node, Node]
#: A whole number with a leading zero (``014``: octal in YAML 1.1, decimal in YAML 1.2).
_LEADING_ZERO = re.compile(r"^[-+]?0[0-9_]+$")
_NUMBER_START = frozenset("-+.0123456789")
#: Characters PyYAML writes unescaped but reads back as line breaks; text holding them is quoted.
_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


@dataclass(frozen=True)
class YamlDoc:
    """A parsed scenario file: plain data plus the position of every value and key."""

    data: dict[str, Any]
    positions: dict[PathKey, Position]
    key_positions: dict[PathKey, Position]
    spellings: dict[PathKey, str] = field(default_factory=dict)


def dotted(path: PathKey) -> str:
    """Render a path for messages: ``("a", 0, "b")`` -> ``"a[0].b"``; the root is ``""``."""
    text = ""
    for i, step in enumerate(path):
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if i else step)
    return text


def load_yaml(path: Path, display_name: str | None = None, limits: Limits = FILE_LIMITS) -> YamlDoc:
    """Read and parse a scenario file; problems name it ``display_name`` or ``str(path)``."""
    file = str(path) if display_name is None else display_name
    return load_yaml_text(_read(path, file, limits), file, limits)


def load_yaml_text(text: str | bytes, display_name: str, limits: Limits = FILE_LIMITS) -> YamlDoc:
    """Parse scenario YAML from memory (bytes must be UTF-8); the top level must be a mapping."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > limits.file_bytes:
        raise _too_big(display_name, size, limits)
    source = _decode(text, display_name) if isinstance(text, bytes) else text.removeprefix("\ufeff")
    root = _compose(source, display_name) if source.strip() else None
    if root is None or (root.tag == _NULL and root.value == ""):
        raise ScenarioError([Problem(display_name, None, None, "", _EMPTY)])
    builder = _Builder(display_name, max_nodes=limits.nodes)
    data = builder.value(root, (), 0)
    if not isinstance(root, MappingNode):
        builder.report(root, (), _not_mapping(root))
    builder.raise_problems()
    return YamlDoc(data, builder.positions, builder.key_positions, builder.spellings)


def parse_scalar(text: str) -> Any:
    """Parse one ``--set`` value as YAML (``"3"`` -> 3, ``"[1, 2]"`` -> list) by the file rules."""
    return parse_value(text)[0]


def parse_value(text: str) -> tuple[Any, dict[PathKey, str]]:
    """Parse one ``--set`` value; also the written text of its version-dependent numbers.

    The second item maps paths inside the value (``()`` for the value itself) to the text
    written, as ``YamlDoc.spellings`` does for a file.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        message = f"value is {size} bytes; a value is limited to {MAX_FILE_BYTES} bytes"
        raise ScenarioError([Problem(_SET_FILE, None, None, "", message)])
    root = _compose(text, _SET_FILE)
    if root is None:
        return None, {}
    builder = _Builder(_SET_FILE)
    value = builder.value(root, (), 0)
    builder.raise_problems()
    return value, builder.spellings


def dump_scenario_text(data: dict[str, Any]) -> str:
    """YAML text of plain scenario data that ``load_yaml_text`` reads back exactly.

    Used for the resolved scenario a run stores: text that any reader (capsim or YAML 1.1)
    could take for a number (``'1e3'``, ``'014'``) is quoted, as are line separators.
    """
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def top_level_keys(path: Path) -> list[str]:
    """The top-level keys of a YAML file read before its end or its first syntax error.

    Empty when the file cannot be read, is not UTF-8 or does not start as a mapping. Used to
    decide whether a file is a scenario at all before any of its content is shown.
    """
    try:
        source = _decode(_read(path, str(path), FILE_LIMITS), str(path))
    except ScenarioError:
        return []
    keys: list[str] = []
    # one [is_mapping, expecting_key] per open collection
    stack: list[list[bool]] = []
    events: Any = _Composer(source, str(path))
    try:
        while events.check_event() and len(stack) <= MAX_DEPTH:
            event = events.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                if not stack and not isinstance(event, yaml.MappingStartEvent):
                    return []
                stack.append([isinstance(event, yaml.MappingStartEvent), True])
                continue
            if isinstance(event, yaml.ScalarEvent) and not stack:
                return []
            if isinstance(event, yaml.ScalarEvent) and len(stack) == 1 and stack[0][1]:
                keys.append(event.value)
            if isinstance(event, yaml.CollectionEndEvent):
                stack.pop()
            if isinstance(event, yaml.NodeEvent | yaml.CollectionEndEvent) and stack:
                stack[-1][1] = not stack[-1][1] if stack[-1][0] else False
    except yaml.YAMLError:
        pass  # the keys read so far decide
    finally:
        events.dispose()
    return keys


def count_values(data: Any) -> int:
    """Values in plain data as the reader counts them: every mapping, list and single value."""
    count, pending = 0, [data]
    while pending:
        item = pending.pop()
        count += 1
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return count


def _read(path: Path, file: str, limits: Limits) -> bytes:
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            reason = "it is a directory"
        elif not stat.S_ISREG(info.st_mode):
            reason = "it is not a regular file"
        elif info.st_size > limits.file_bytes:
            raise _too_big(file, info.st_size, limits)
        else:
            with path.open("rb") as handle:
                data = handle.read(limits.file_bytes + 1)
            if len(data) > limits.file_bytes:
                raise _too_big(file, len(data), limits)
            return data
    except FileNotFoundError:
        reason = "no such file"
    except PermissionError:
        reason = "permission denied"
    except OSError as exc:
        loop = exc.errno == errno.ELOOP
        reason = "it is a symbolic link loop" if loop else (exc.strerror or "unknown error").lower()
    raise ScenarioError([Problem(file, None, None, "", f"cannot read file: {reason}")])


def _too_big(file: str, size: int, limits: Limits) -> ScenarioError:
    message = f"file is {size} bytes; {limits.what} are limited to {limits.file_bytes} bytes"
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


class _Rules(Resolver):
    """YAML 1.1 resolution with capsim's changes (see the module docstring)."""

    def resolve(self, kind: type[Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        """The tag of a node; dates stay text, octal-looking and base-60 numbers become text."""
        parent: Any = super()
        tag = str(parent.resolve(kind, value, implicit))
        if tag in _DATE_TAGS:
            return _STR
        if tag in (_INT, _FLOAT) and value is not None and _ambiguous_numeral(value):
            return _STR
        return tag


# YAML 1.1 reads 1e6 and 1.5e6 as text (its floats need a dot and a signed exponent); analysts
# write them as numbers, so the YAML 1.2 spellings of exponent floats are numbers here too, and
# so is the YAML 1.2 octal spelling 0o14.
_Rules.add_implicit_resolver(
    _FLOAT,
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)
_OCTAL = re.compile(r"^[-+]?0o[0-7]+$")
_Rules.add_implicit_resolver(_INT, _OCTAL, list("-+0"))

_YAML_1_1: Any = Resolver()
_CAPSIM = _Rules()


def _ambiguous_numeral(text: str) -> bool:
    """Whether YAML 1.1 reads ``text`` as a number that YAML 1.2 reads otherwise (014, 1:30)."""
    if not (_LEADING_ZERO.match(text) or ":" in text):
        return False
    return _plain_tag(_YAML_1_1, text) in (_INT, _FLOAT)


def _plain_tag(resolver: Any, text: str) -> str:
    """The tag ``resolver`` gives ``text`` written plain (dates counted as text)."""
    tag = str(resolver.resolve(ScalarNode, text, (True, False)))
    return _STR if tag in _DATE_TAGS else tag


def reading_differs(text: str) -> bool:
    """Whether a plain (unquoted) value reads differently here and in YAML 1.1 (PyYAML)."""
    if not text or text[0] not in _NUMBER_START:
        return False
    return _plain_tag(_CAPSIM, text) != _plain_tag(_YAML_1_1, text)


def ambiguous_number_message(text: str) -> str:
    """Why an octal-looking or base-60 value is not taken as a number, and what to write."""
    constructor = SafeConstructor()
    if ":" in text:
        node = ScalarNode(_FLOAT if "." in text else _INT, text)
        yaml_1_1 = constructor.construct_object(node)
        return (
            f"'{text}' is a base-60 number ({yaml_1_1}) in YAML 1.1 and text in YAML 1.2; "
            f"write the number itself, e.g. {yaml_1_1}"
        )
    sign = "-" if text.startswith("-") else ""
    digits = text.replace("_", "").lstrip("+-")
    decimal = int(sign + digits, 10)
    octal = f"{sign}0o{digits.lstrip('0') or '0'}"
    yaml_1_1 = constructor.construct_object(ScalarNode(_INT, text))
    return (
        f"'{text}' has a leading zero: YAML 1.1 reads it as octal ({yaml_1_1}), YAML 1.2 as "
        f"{decimal}; write {decimal}, or {octal} if octal is meant"
    )


class _DumpRules(_Rules):
    """Writes text plain only when both capsim and YAML 1.1 would read it back as text."""

    def resolve(self, kind: type[Node], value: str | None, implicit: tuple[bool, bool]) -> str:
        """The tag a plain value would get from either reader (text only if both say text)."""
        tag = super().resolve(kind, value, implicit)
        if kind is ScalarNode and implicit[0] and tag == _STR:
            return str(_YAML_1_1.resolve(kind, value, implicit))  # dates too: quoted
        return tag


class _Dumper(Emitter, Serializer, SafeRepresenter, _DumpRules):
    """PyYAML's safe dumper with capsim's reading rules, so that what it writes reads back."""

    def __init__(self, stream: Any, **options: Any) -> None:
        Emitter.__init__(
            self,
            stream,
            indent=options.get("indent"),
            width=options.get("width"),
            allow_unicode=options.get("allow_unicode"),
            line_break=options.get("line_break"),
        )
        Serializer.__init__(self, encoding=options.get("encoding"))
        SafeRepresenter.__init__(self, default_flow_style=False, sort_keys=False)
        _DumpRules.__init__(self)

    def represent_str(self, data: str) -> ScalarNode:
        """Text as a scalar; text holding a line separator PyYAML would mangle is double-quoted."""
        style = '"' if any(ch in data for ch in _LINE_BREAKS) else None
        return self.represent_scalar(_STR, data, style=style)


_Dumper.add_representer(str, _Dumper.represent_str)


class _Composer(yaml.SafeLoader, _Rules):
    """SafeLoader with capsim's number rules that refuses deep nesting while composing."""

    yaml_implicit_resolvers = _Rules.yaml_implicit_resolvers

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self.file = file
        self.levels = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Compose one node, refusing nesting deeper than ``MAX_DEPTH`` before going deeper."""
        step = int(self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent))
        self.levels += step
        try:
            if self.levels > MAX_DEPTH:
                raise ScenarioError([_at(self.file, self.next_mark(), (), _TOO_DEEP)])
            return super().compose_node(parent, index)
        finally:
            self.levels -= step

    def next_mark(self) -> Mark:
        """Where the next event starts (for problems found before it is composed)."""
        events: Any = self
        mark: Mark = events.peek_event().start_mark
        return mark


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
        one_line = file == _SET_FILE and "\n" not in text.strip()
        opened = _opened_at(text, exc, getattr(loader, "marks", []), one_line)
        message = f"malformed YAML: {_detail(exc)}{opened}"
        raise ScenarioError([_at(file, mark, (), message)]) from None
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


def _opened_at(text: str, exc: yaml.MarkedYAMLError, open_marks: list[Mark], one_line: bool) -> str:
    """Where the bracket or quote being read when the problem was found was opened, if any.

    An unclosed ``[`` or ``{`` is only noticed at a later line or at the end of the file; naming
    the line it was opened at points at the actual mistake. ``open_marks`` are the starts of the
    collections still open when parsing stopped.
    """
    problem = exc.problem or ""
    at_end = "<stream end>" in problem or "end of stream" in problem
    mark = exc.context_mark
    opener = text[mark.index] if mark is not None and 0 <= mark.index < len(text) else ""
    # a bracket being parsed when the problem came is unclosed; a quote only if the file ended
    if not (opener in ("[", "{") or (opener in ("'", '"') and at_end)):
        flows = [m for m in open_marks if 0 <= m.index < len(text) and text[m.index] in "[{"]
        mark = flows[-1] if at_end and flows else None
    if mark is None or exc.problem_mark is None or mark.index == exc.problem_mark.index:
        return ""
    opener = text[mark.index]
    what = "quote" if opener in "\"'" else "bracket"
    line = "" if one_line else f"line {mark.line + 1}, "
    return f" (the {what} {opener!r} opened at {line}column {mark.column + 1} is not closed)"


def _second_merge(first_line: int) -> str:
    """Message for a second ``<<`` in one mapping (YAML 1.1 would quietly let the first win)."""
    return (
        f"second '<<' merge key in one mapping (the first is at line {first_line}); merge "
        "several mappings with one key and a list, e.g. '<<: [*a, *b]'"
    )


def _too_many(limit: int) -> str:
    """Message for a document holding (or expanding to) more than ``limit`` values."""
    return (
        f"document holds or expands to more than {limit} values "
        "(a very large file, or anchors/aliases repeating data); refused"
    )


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
    max_nodes: int = MAX_NODES
    positions: dict[PathKey, Position] = field(default_factory=dict)
    key_positions: dict[PathKey, Position] = field(default_factory=dict)
    spellings: dict[PathKey, str] = field(default_factory=dict)
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
        if self.count > self.max_nodes:
            self.fail(node, (), _too_many(self.max_nodes))
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
        if isinstance(node, ScalarNode) and node.style is None and reading_differs(node.value):
            self.spellings[path] = node.value
        return self.scalar(node, path)

    def scalar(self, node: Node, path: PathKey) -> Any:
        """The value of a single-value node (a problem, and None, if it does not fit its tag)."""
        if node.tag == _MERGE or node.tag not in _SCALAR_TAGS:
            return node.value
        if node.tag in (_INT, _FLOAT) and _ambiguous_numeral(node.value):
            self.report(node, path, ambiguous_number_message(node.value))  # an explicit !!int 014
            return None
        if node.tag == _INT and _OCTAL.match(node.value):
            return int(node.value, 0)
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
        first_merge: Node | None = None
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                if first_merge is not None:
                    line = first_merge.start_mark.line + 1
                    self.report(key_node, path, _second_merge(line))
                    continue
                first_merge = key_node
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
        if node.style is None and reading_differs(node.value):
            return str(node.value)  # a key is text: '1e5' and '014' stay as written
        value = self.scalar(node, path)
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return str(value)
        if node.value:
            return str(node.value)
        self.report(node, path, "mapping keys must be plain text; this key is empty")
        return None
