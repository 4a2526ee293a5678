"""Where a scenario's numbers come from: the comments written beside its values.

A scenario file says where each figure comes from in a YAML comment, on the value's own line
(``pue: 1.15   # Uptime Institute 2023-24``) or in the comment lines just above it. The YAML reader
drops comments, so this module reads them back from the text: ``read_provenance(path)`` maps the
dotted path of every commented value (``demand.pue``, ``demand.shocks[0].rate_per_year``) to its
comment, following ``extends`` so that a variant file inherits its base's sources, and a value it
sets again replaces the base's source (a value set without a comment has none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capsim.scenario.yamlio import PathKey, dotted, load_yaml

#: Most ``extends`` levels followed (the loader refuses deeper chains before this is read).
MAX_LEVELS = 16
#: Tags that make a mapping a distribution or growth model, replaced whole by a variant.
_TAGS = ("dist", "model")
#: Decoration around a section banner comment (``# --- Demand ---``).
_RULE = re.compile(r"^[-=#*\s]+|[-=#*\s]+$")


@dataclass(frozen=True)
class Comment:
    """The comment that gives a value's source: its text, and the file and line it stands on."""

    text: str
    file: str
    line: int


def read_provenance(path: str | Path) -> dict[str, Comment]:
    """Dotted field path -> its source comment, for a scenario file and the bases it extends."""
    return _read(Path(path), 0)


def to_data(comments: dict[str, Comment]) -> dict[str, dict[str, Any]]:
    """Plain JSON-ready data of a provenance map (what a run directory stores)."""
    return {path: {"text": c.text, "file": c.file, "line": c.line} for path, c in comments.items()}


def from_data(data: Any) -> dict[str, Comment]:
    """A provenance map back from ``to_data``'s form; entries of another shape are skipped."""
    if not isinstance(data, dict):
        return {}
    out = {}
    for path, entry in data.items():
        if isinstance(entry, dict) and isinstance(entry.get("text"), str):
            out[str(path)] = Comment(
                entry["text"], str(entry.get("file", "")), int(entry.get("line", 0))
            )
    return out


def _read(path: Path, level: int) -> dict[str, Comment]:
    """One file's comments laid over those of the base it extends."""
    doc = load_yaml(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    own = _comments(lines, doc.key_positions, doc.positions, path.name)
    base_name = doc.data.get("extends")
    if not isinstance(base_name, str) or level >= MAX_LEVELS:
        return own
    base = _read(path.parent / base_name, level + 1)
    for key in _replaced(doc.data, ()):
        prefix = dotted(key)
        for inherited in [
            p for p in base if p == prefix or p.startswith((prefix + ".", prefix + "["))
        ]:
            del base[inherited]
    base.pop("extends", None)
    own.pop("extends", None)
    return {**base, **own}


def _replaced(data: Any, prefix: PathKey) -> list[PathKey]:
    """Paths whose value a file sets whole (not merged key by key into the base's mapping)."""
    if not isinstance(data, dict) or (prefix and any(tag in data for tag in _TAGS)):
        return [prefix]
    out: list[PathKey] = []
    for key, value in data.items():
        out.extend(_replaced(value, (*prefix, key)))
    return out


def _comments(
    lines: list[str],
    key_positions: dict[PathKey, tuple[str, int, int]],
    positions: dict[PathKey, tuple[str, int, int]],
    file: str,
) -> dict[str, Comment]:
    """Every path's comment: on its own line, else the comment lines just above it.

    A line's comment belongs to the outermost value that starts on it (a flow mapping's comment
    is the mapping's, not its first field's).
    """
    starts: dict[PathKey, int] = {}
    for path, (_, line, _) in positions.items():
        if path:
            starts[path] = key_positions.get(path, (file, line, 0))[1]
    owner: dict[int, PathKey] = {}
    for path, line in sorted(starts.items(), key=lambda item: len(item[0])):
        owner.setdefault(line, path)
    out: dict[str, Comment] = {}
    for line, path in owner.items():
        text = _trailing_comment(lines[line - 1]) if line <= len(lines) else ""
        where = line
        if not text:
            text, where = _comment_above(lines, line)
        if text:
            out[dotted(path)] = Comment(text, file, where)
    return out


def _trailing_comment(line: str) -> str:
    """The comment at the end of a line of YAML ('' if none); ``#`` inside quotes is text."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return _clean(line[i + 1 :]) if line[:i].strip() else ""
    return ""


def _comment_above(lines: list[str], line: int) -> tuple[str, int]:
    """The block of whole-line comments right above ``line`` (no blank line between), joined."""
    block: list[str] = []
    index = line - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        block.insert(0, _clean(lines[index].strip()[1:]))
        index -= 1
    text = " ".join(part for part in block if part)
    return text, index + 2


def _clean(text: str) -> str:
    """A comment's text without banner rules or surrounding space."""
    return _RULE.sub("", text).strip()
