"""Read scenario files into a validated ``Scenario``: inheritance, overrides, located errors.

``extends: base.yaml`` deep-merges the file over its base (mappings merge, everything else is
replaced, and so is a mapping that names another ``dist`` or growth ``model`` than its base);
``--set dotted.path=value`` overrides come last. Every problem is reported with the
file, line and column it came from, all at once, as a ``ScenarioError``.

A base must be a regular file named ``*.yaml`` or ``*.yml`` (symbolic links are followed, and
their target must be one too). A base counts as a scenario when it parses as a mapping with at
least one scenario field at the top level; for any other file (say, a secrets file renamed
``.yaml``) only the ``extends`` line of the child is blamed, and nothing of the base is shown.

A value the file writes as ``1e5`` or ``0o14`` is a number, unless the schema wants text there:
then it is the text written (as YAML 1.1 and PyYAML read it).
"""

from __future__ import annotations

import copy
import errno
import os
import stat
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from capsim.errors import Problem, ScenarioError
from capsim.scenario.checks import run_checks, suggest
from capsim.scenario.correlations import check_correlations
from capsim.scenario.dists import DIST_NAMES
from capsim.scenario.money import prepare_inputs
from capsim.scenario.paths import MAX_SHOWN_CHARS, parse_path, shorten
from capsim.scenario.pipeline import check_deal_months, read_pipeline_file
from capsim.scenario.schema import Scenario
from capsim.scenario.yamlio import (
    FILE_LIMITS,
    MAX_RESOLVED_VALUES,
    STORED_LIMITS,
    Limits,
    PathKey,
    Position,
    YamlDoc,
    ambiguous_number_message,
    count_values,
    dotted,
    load_yaml,
    parse_value,
    top_level_keys,
)

SET_SOURCE = "--set"
MAX_EXTENDS_DEPTH = 16
#: Endings a base scenario file (and the target of a link to one) must have.
BASE_SUFFIXES = (".yaml", ".yml")
#: Longest ``--set`` text repeated in a message (longer ones are cut, marked with '...').
MAX_SHOWN_SET_CHARS = MAX_SHOWN_CHARS
_TAGS = {"dist": DIST_NAMES, "model": ("exponential", "logistic", "table")}
_SCENARIO_KEYS = frozenset(
    [info.alias or name for name, info in Scenario.model_fields.items()] + ["extends"]
)
_NUMBER_ERRORS = frozenset(
    {"float_type", "float_parsing", "int_type", "int_parsing", "int_from_float"}
)


@dataclass
class Located:
    """Plain scenario data plus where each value and key came from."""

    data: dict[str, Any]
    positions: dict[PathKey, Position] = field(default_factory=dict)
    key_positions: dict[PathKey, Position] = field(default_factory=dict)
    spellings: dict[PathKey, str] = field(default_factory=dict)

    def where(self, path: PathKey, key: bool = False) -> Position | None:
        """Position of the path, or of its nearest ancestor that has one."""
        if key and path in self.key_positions:
            return self.key_positions[path]
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return None


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Load, inherit, override and validate a scenario file; ScenarioError lists every problem."""
    return validate(resolve_scenario(path, overrides), str(path))


def load_stored_scenario(path: str | Path) -> Scenario:
    """Load the resolved scenario a run stored (``scenario.yaml`` in a run directory).

    capsim wrote it (``yamlio.dump_scenario_text``) from a scenario that passed validation, so
    it is read with the bounds of a resolved scenario, not the 1 MiB of a hand-written file.
    """
    located = resolve_file(Path(path), limits=STORED_LIMITS)
    return validate(located, str(path))


def resolve_file(path: Path, chain: tuple[Path, ...] = (), limits: Limits = FILE_LIMITS) -> Located:
    """Read one file and, recursively, the bases it extends (cycles and depth are refused)."""
    return _resolve_doc(path, load_yaml(path, limits=limits), chain)


def _resolve_doc(path: Path, doc: YamlDoc, chain: tuple[Path, ...]) -> Located:
    """Merge a parsed file over the bases it extends, read one by one."""
    located = Located(
        dict(doc.data), dict(doc.positions), dict(doc.key_positions), dict(doc.spellings)
    )
    base_name = located.data.pop("extends", None)
    located.spellings.pop(("extends",), None)
    if base_name is None:
        return located
    here = doc.positions.get(("extends",), (str(path), 1, 1))
    if not isinstance(base_name, str) or not base_name:
        raise _problem(here, "extends", "expected the path of a base scenario file, e.g. base.yaml")
    base_path = _base_path(path, base_name, here)
    seen = (*chain, Path(os.path.realpath(path)))
    if Path(os.path.realpath(base_path)) in seen:
        written = Path(base_name).name
        last = written if written == base_path.name else f"{written} ({base_path.name})"
        cycle = " -> ".join([*(p.name for p in seen), last])
        raise _problem(here, "extends", f"extends cycle: {cycle}")
    if len(seen) > MAX_EXTENDS_DEPTH:
        raise _problem(here, "extends", f"more than {MAX_EXTENDS_DEPTH} levels of extends")
    base = _resolve_doc(base_path, _read_base(base_path, base_name, here), seen)
    return merge(base, located)


def _base_path(path: Path, base_name: str, here: Position) -> Path:
    """The base file ``extends`` names, checked to be a regular ``.yaml``/``.yml`` file."""
    joined = path.parent / base_name
    shown = os.path.relpath(os.path.realpath(joined))
    suffixes = " or ".join(BASE_SUFFIXES)
    if joined.suffix.lower() not in BASE_SUFFIXES:
        message = f"base scenario {base_name!r} is not a {suffixes} file; expected a file ending in"
        raise _problem(here, "extends", f"{message} {suffixes}")
    try:
        info = joined.stat()
    except FileNotFoundError:
        hint = suggest(joined.name, [p.name for p in joined.parent.glob("*.y*ml")])
        message = f"base scenario {base_name!r} not found ({shown}){hint}"
        raise _problem(here, "extends", message) from None
    except OSError as exc:
        loop = exc.errno == errno.ELOOP
        reason = "is a symbolic link loop" if loop else f"cannot be read ({exc.strerror})"
        raise _problem(here, "extends", f"base scenario {base_name!r} {reason}") from None
    if not stat.S_ISREG(info.st_mode):
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        message = f"base scenario {base_name!r} is {what}; expected a scenario file"
        raise _problem(here, "extends", message)
    if Path(shown).suffix.lower() not in BASE_SUFFIXES:
        message = f"base scenario {base_name!r} is a link to {shown}, which does not end in"
        raise _problem(here, "extends", f"{message} {suffixes}")
    return Path(shown)


def _read_base(base_path: Path, base_name: str, here: Position) -> YamlDoc:
    """Parse a base; a file that is not a scenario is blamed on ``extends``, its content unshown."""
    try:
        doc = load_yaml(base_path)
    except ScenarioError as exc:
        if all(p.line is None for p in exc.problems):
            raise  # the file as a whole (too large, empty): nothing of its content is shown
        if _SCENARIO_KEYS.intersection(top_level_keys(base_path)):
            raise
        raise _not_a_scenario(here, base_name) from None
    if not _SCENARIO_KEYS.intersection(doc.data):
        raise _not_a_scenario(here, base_name)
    return doc


def _not_a_scenario(here: Position, base_name: str) -> ScenarioError:
    """The error for a base that is no scenario: on the child's ``extends``, naming no content."""
    fields = ", ".join(["name", "start", "regions", "policy"])
    message = (
        f"base scenario {base_name!r} is not a scenario file (expected a YAML mapping with fields "
        f"such as {fields}); its content is not shown: validate it on its own to see why"
    )
    return _problem(here, "extends", message)


def _problem(pos: Position, path: str, message: str) -> ScenarioError:
    """A one-problem error at a position of a file."""
    return ScenarioError([Problem(pos[0], pos[1], pos[2], path, message)])


def merge(base: Located, child: Located) -> Located:
    """Deep-merge ``child`` over ``base``: mappings merge key by key, other values replace.

    A mapping whose ``dist`` (or growth ``model``) differs from the base's replaces it whole, so
    that the base's parameters (a PERT's ``mode``) do not leak into another distribution.
    """
    positions = dict(base.positions)
    key_positions = dict(base.key_positions)
    spellings = dict(base.spellings)

    def overlay(into: dict[str, Any], over: Mapping[str, Any], prefix: PathKey) -> dict[str, Any]:
        result = dict(into)
        for key, value in over.items():
            path = (*prefix, key)
            old = result.get(key)
            if isinstance(old, dict) and isinstance(value, dict) and not _retagged(old, value):
                result[key] = overlay(old, value, path)
            else:
                _forget(positions, path)
                _forget(key_positions, path)
                _forget(spellings, path)
                result[key] = value
        return result

    data = overlay(base.data, child.data, ())
    positions.update(child.positions)
    key_positions.update(child.key_positions)
    spellings.update(child.spellings)
    return Located(data, positions, key_positions, spellings)


def _retagged(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether ``new`` names another distribution or growth model than ``old``."""
    return any(
        isinstance(old.get(tag), str) and isinstance(new.get(tag), str) and old[tag] != new[tag]
        for tag in _TAGS
    )


def _is_tagged(node: Any) -> bool:
    """Whether ``node`` is a distribution or growth-model mapping (it has a ``dist``/``model``)."""
    return isinstance(node, dict) and any(isinstance(node.get(tag), str) for tag in _TAGS)


def _get(data: Any, path: PathKey) -> Any:
    for part in path:
        data = data[part]
    return data


def _forget(positions: dict[PathKey, Any], prefix: PathKey) -> None:
    for path in [p for p in positions if p[: len(prefix)] == prefix]:
        del positions[path]


@dataclass(frozen=True)
class Change:
    """A value to set at a parsed path; the problems it causes are blamed on ``source``.

    ``spellings`` are the written texts of version-dependent numbers inside the value, and
    ``shown`` the path as the user wrote it (for messages; ``dotted(path)`` when empty).
    """

    path: PathKey
    value: Any
    source: str
    spellings: Mapping[PathKey, str] = field(default_factory=dict)
    shown: str = ""


def apply_overrides(located: Located, overrides: Sequence[str]) -> None:
    """Apply ``dotted.path=value`` overrides in order; a bad path or value is a located problem."""
    problems: list[Problem] = []
    for text in overrides:
        try:
            change = parse_override(text)
        except ValueError as exc:
            problems.append(override_problem(text, exc))
            continue
        problems.extend(apply_changes(located, [change]))
    if problems:
        raise ScenarioError(problems)


def override_problem(text: str, error: ValueError) -> Problem:
    """The problem of a ``--set`` text that cannot be read, blamed on it and its path."""
    source = f"{SET_SOURCE} {_shorten(text)}"
    return Problem(source, None, None, _shorten(text.partition("=")[0].strip()), str(error))


def apply_changes(located: Located, changes: Sequence[Change]) -> list[Problem]:
    """Set each change's value in ``located`` (in order), blaming later problems on its source.

    Returns the changes that could not be set (a path the data does not have) as problems.
    """
    problems: list[Problem] = []
    for change in changes:
        path, source = change.path, (change.source, 0, 0)
        try:
            _set_path(located.data, path, change.value)
        except ValueError as exc:
            shown = change.shown or dotted(path)
            problems.append(Problem(change.source, None, None, shown, str(exc)))
            continue
        _forget(located.positions, path)
        _forget(located.key_positions, path)
        _forget(located.spellings, path)
        located.spellings.update({(*path, *inner): t for inner, t in change.spellings.items()})
        located.positions[path] = source
        # sections the override created, and a distribution it changed one parameter of, are
        # blamed on it too (e.g. 'study_months.p90=5' making p90 fall below the file's median)
        for end in range(1, len(path)):
            if path[:end] not in located.positions or _is_tagged(_get(located.data, path[:end])):
                located.positions[path[:end]] = source
    return problems


def resolve_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Located:
    """A scenario file read, inherited and overridden, not yet validated (kept to vary it)."""
    located = resolve_file(Path(path))
    apply_overrides(located, overrides)
    read_pipeline_file(located)  # deals_in_flight: {file: pipeline.xlsx} becomes its deals
    return located


def change_scenario(base: Located, changes: Sequence[Change], display: str) -> Scenario:
    """``base`` with ``changes`` set in a copy of its data, validated as a file with ``--set`` is.

    Nothing is read from disk: a study varies one resolved scenario point by point this way,
    with the same located errors (the file's lines, the change's source) as a file gives.
    """
    located = Located(
        copy.deepcopy(base.data),
        dict(base.positions),
        dict(base.key_positions),
        dict(base.spellings),
    )
    problems = apply_changes(located, changes)
    if problems:
        raise ScenarioError(problems)
    return validate(located, display)


def _shorten(text: str) -> str:
    """``text`` cut to ``MAX_SHOWN_SET_CHARS`` for a message (a long path or value)."""
    return shorten(text)


def parse_override(text: str) -> Change:
    """``path=value`` as a change blamed on ``--set path=value`` (ValueError if unreadable)."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"expected dotted.path=value, found {_shorten(text)!r}")
    path = parse_path(name)
    try:
        value, spellings = parse_value(raw)
    except ScenarioError as exc:
        raise ValueError(exc.problems[0].message) from None
    source = f"{SET_SOURCE} {_shorten(text)}"
    return Change(path, value, source, spellings, _shorten(name.strip()))


def _set_path(data: dict[str, Any], path: PathKey, value: Any) -> None:
    node: Any = data
    for depth, part in enumerate(path[:-1]):
        if isinstance(node, dict) and isinstance(part, str) and part not in node:
            name, step = dotted(path[: depth + 1]), path[depth + 1]
            if isinstance(step, int):
                raise ValueError(
                    f"{name} is not set, so it has no item [{step}]; set the whole list instead,"
                    f" e.g. {name}=[...]"
                )
            node[part] = {}  # a section the file leaves to its defaults; the schema checks names
        node = _child(node, part, path[:depth])
    last = path[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        node[last] = value
    else:
        raise ValueError(f"cannot set {last!r} under {dotted(path[:-1]) or 'the top level'}")


def _child(node: Any, part: str | int, parent: PathKey) -> Any:
    where = dotted(parent) or "the top level"
    if isinstance(node, dict):
        if part not in node:
            choices = [str(k) for k in node]
            raise ValueError(f"no {part!r} under {where}{suggest(str(part), choices)}")
        child = node[part]
    elif isinstance(node, list):
        if not isinstance(part, int) or not 0 <= part < len(node):
            raise ValueError(
                f"{where} is a list of {len(node)}; expected an index 0..{len(node) - 1}"
            )
        child = node[part]
    else:
        raise ValueError(f"{where} is a plain value, not a mapping; set it whole instead")
    if not isinstance(child, dict | list):
        raise ValueError(
            f"{dotted((*parent, part))} is a plain value ({child!r}); set it whole, e.g. "
            f"{dotted((*parent, part))}={{dist: fixed, value: {child!r}}}"
        )
    return child


def validate(located: Located, display: str) -> Scenario:
    """Validate resolved data against the schema and the cross-field checks."""
    while True:
        # calendar months and currencies resolved against the final start and money (a copy)
        data, found = prepare_inputs(located.data, Scenario)
        if found:
            raise ScenarioError(
                [_at(located.where(path), display, dotted(path), text) for path, text in found]
            )
        try:
            # strict: YAML already typed every value, so true/false or quoted text is never a
            # number; a number spelled '1e5' where text is wanted becomes its text, then retried
            scenario = Scenario.model_validate(data, strict=True)
            break
        except ValidationError as exc:
            errors = exc.errors()
            if not _restore_text(located, errors):
                raise ScenarioError([_locate(located, display, err) for err in errors]) from None
    findings = [*run_checks(scenario), *check_correlations(scenario), *check_deal_months(scenario)]
    if findings:
        raise ScenarioError(
            [_at(located.where(path), display, dotted(path), message) for path, message in findings]
        )
    values = count_values(scenario_to_data(scenario))
    if values > MAX_RESOLVED_VALUES:
        message = (
            f"the resolved scenario holds {values:,} values (defaults, extends and --set "
            f"included); expected at most {MAX_RESOLVED_VALUES:,}"
        )
        raise ScenarioError([Problem(display, None, None, "", message)])
    return scenario


def _restore_text(located: Located, errors: Sequence[Any]) -> bool:
    """Put back the written text of numbers where the schema wants text; whether any changed."""
    changed = False
    for err in errors:
        if err["type"] != "string_type":
            continue
        path = _existing_path(located.data, err["loc"])
        text = located.spellings.get(path)
        if text is not None and path and not isinstance(_get(located.data, path), str):
            _get(located.data, path[:-1])[path[-1]] = text
            changed = True
    return changed


def _existing_path(data: Any, loc: Sequence[str | int]) -> PathKey:
    """The longest start of a pydantic error location that names a value in ``data``."""
    path: list[str | int] = []
    for part in loc:
        if not _has_child(data, part):
            break
        data = data[part]
        path.append(part)
    return tuple(path)


def _data_path(data: Any, loc: tuple[str | int, ...]) -> tuple[PathKey, tuple[str | int, ...]]:
    """Split a pydantic error location into the data path and the schema path (with union tags)."""
    path: list[str | int] = []
    schema: list[str | int] = []
    node = data
    for part in loc:
        if _has_child(node, part):
            node = node[part]
            path.append(part)
            schema.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part in _TAG_VALUES:
            schema.append(part)
        else:
            path.append(part)
            schema.append(part)
            node = None
    return tuple(path), tuple(schema)


def _has_child(node: Any, part: str | int) -> bool:
    """Whether ``part`` names an existing key of a mapping or an index of a list."""
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


_TAG_VALUES = {tag for tags in _TAGS.values() for tag in tags}


def _locate(located: Located, display: str, err: Any) -> Problem:
    loc = tuple(p for p in err["loc"] if not _is_validator_name(p))
    in_key = loc[-1:] == ("[key]",)  # pydantic's marker for a bad mapping key (a region id)
    path, schema = _data_path(located.data, loc[:-1] if in_key else loc)
    kind = err["type"]
    written = located.spellings.get(_existing_path(located.data, loc))
    if kind in _NUMBER_ERRORS and written is not None and isinstance(err.get("input"), str):
        # '014' or '1:30': read as text because YAML 1.1 and 1.2 give different numbers
        pos = located.where(path)
        return _at(pos, display, dotted(path), ambiguous_number_message(written))
    if kind == "missing":
        # nothing is written for a missing field: point at the key of the mapping lacking it
        pos = located.where(path[:-1], key=True) if len(path) > 1 else None
    else:
        pos = located.where(path, key=in_key or kind == "extra_forbidden")
    return _at(pos, display, dotted(path), _message(err, schema))


def _is_validator_name(part: str | int) -> bool:
    """Whether a location part names a pydantic validator ('function-after[...]'), not a key."""
    return isinstance(part, str) and part.startswith("function-") and part.endswith("]")


def _at(pos: Position | None, display: str, path: str, message: str) -> Problem:
    """A problem at a position; line 0 marks a value that came from the command line."""
    if pos is None:
        return Problem(display, None, None, path, message)
    if pos[1] == 0:
        return Problem(pos[0], None, None, path, message)
    return Problem(pos[0], pos[1], pos[2], path, message)


def _message(err: Any, schema: tuple[str | int, ...]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    found = err.get("input")
    if kind == "extra_forbidden":
        name = str(schema[-1])
        valid = _field_names(schema[:-1])
        hint = suggest(name, valid)
        return f"unknown field {name!r} (expected one of: {', '.join(valid)}{hint})"
    if kind == "missing":
        described = _field_description(schema)
        return "required field is missing" + (f" (expected: {described})" if described else "")
    if kind == "union_tag_not_found":
        tag = ctx.get("discriminator", "").strip("'")
        return f"missing {tag!r} (expected one of: {', '.join(_TAGS.get(tag, ()))})"
    if kind == "union_tag_invalid":
        tag = ctx.get("discriminator", "").strip("'")
        choices = _TAGS.get(tag, ())
        return (
            f"{ctx.get('tag')!r} is not a known {tag} (expected one of: {', '.join(choices)}"
            f"{suggest(str(ctx.get('tag')), choices)})"
        )
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [c.strip(" '") for c in expected.replace(" or ", ",").split(",") if c.strip()]
        return (
            f"{found!r} is not allowed (expected one of: {', '.join(options)}"
            f"{suggest(str(found), options)})"
        )
    if kind == "string_pattern_mismatch":
        return (
            f"{found!r} is not a valid name (expected lower-case letters, digits and '_', "
            "starting with a letter)"
        )
    if kind == "dict_type" or kind == "model_type" or kind == "model_attributes_type":
        return f"expected a mapping of fields, found {_kind_of(found)}"
    if kind == "list_type":
        return f"expected a list, found {_kind_of(found)}"
    if kind in _NUMBER_ERRORS:
        noun = "a whole number" if kind.startswith("int") else "a number"
        return f"expected {noun}, found {_shown(found)}"
    if kind in {"bool_type", "bool_parsing"}:
        return f"expected true or false, found {found!r}"
    if kind in {"string_type"}:
        return f"expected text, found {_kind_of(found)}"
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        op = {
            "greater_than": ">",
            "greater_than_equal": ">=",
            "less_than": "<",
            "less_than_equal": "<=",
        }[kind]
        bound = next(iter(ctx.values()))
        return f"must be {op} {bound}; found {found!r}"
    if kind in {"too_short", "too_long", "string_too_short", "string_too_long"}:
        short = kind.endswith("short")
        limit = ctx.get("min_length" if short else "max_length")
        noun = ("character" if kind.startswith("string") else "item") + ("" if limit == 1 else "s")
        count = len(found) if isinstance(found, str) else ctx.get("actual_length")
        found_part = "" if count is None else f", found {count}"
        return f"expected {'at least' if short else 'at most'} {limit} {noun}{found_part}"
    if kind == "finite_number":
        return "must be a finite number; found infinity or NaN"
    message: str = err["msg"]
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def _shown(value: Any) -> str:
    """A wrong value as a message shows it: text and numbers themselves, else their kind."""
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return _kind_of(value)


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


def _schema_type(schema: tuple[str | int, ...]) -> Any:
    """The annotation reached by following a schema path (field names, keys, indices, tags)."""
    current: Any = Scenario
    for part in schema:
        current = _unwrap(current, part)
        if current is None:
            return None
        if isinstance(current, type) and issubclass(current, BaseModel):
            continue
        origin = typing.get_origin(current)
        if origin in (dict, list):
            continue
    return current


def _unwrap(annotation: Any, part: str | int) -> Any:
    """Step from an annotation into its child named ``part``."""
    annotation = _strip(annotation, part)
    if isinstance(part, str) and _tag_of(annotation) == part:
        return annotation  # the step chose a union member by its tag ('pert'), not a field
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        info = annotation.model_fields.get(str(part))
        if info is None:
            info = next((f for f in annotation.model_fields.values() if f.alias == part), None)
        return None if info is None else _strip(info.annotation, None)
    origin = typing.get_origin(annotation)
    if origin is dict:
        return _strip(typing.get_args(annotation)[1], None)
    if origin is list:
        return _strip(typing.get_args(annotation)[0], None)
    return None


def _strip(annotation: Any, tag: str | int | None) -> Any:
    """Remove Annotated and Optional wrappers; pick the union member a tag names."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [m for m in typing.get_args(annotation) if m is not type(None)]
            chosen = [m for m in members if tag is not None and _tag_of(m) == tag]
            if chosen:
                return chosen[0]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _tag_of(model: Any) -> str | None:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    for name in ("dist", "model"):
        info = model.model_fields.get(name)
        if info is not None:
            args = typing.get_args(info.annotation)
            if args:
                return str(args[0])
    return None


def _field_names(schema: tuple[str | int, ...]) -> list[str]:
    target = _schema_type(schema)
    target = _strip(target, schema[-1] if schema else None)
    if isinstance(target, type) and issubclass(target, BaseModel):
        return [info.alias or name for name, info in target.model_fields.items()]
    return []


def _field_description(schema: tuple[str | int, ...]) -> str:
    if not schema:
        return ""
    parent = _strip(_schema_type(schema[:-1]), schema[-2] if len(schema) > 1 else None)
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        info = parent.model_fields.get(str(schema[-1]))
        if info is not None and info.description:
            return info.description.rstrip(".")
        child = _strip(info.annotation, None) if info is not None else None
        if isinstance(child, type) and issubclass(child, BaseModel) and child.__doc__:
            return child.__doc__.strip().splitlines()[0].rstrip(".")
    return ""


def scenario_to_data(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain data (what ``scenario.yaml`` in a run directory holds)."""
    return scenario.model_dump(mode="json", by_alias=True)
