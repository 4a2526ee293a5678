"""Dotted scenario paths: ``policy.reserve_margin``, ``demand.shocks[0].rate_per_year``.

The one reader of the paths that ``--set``, ``--param``, ``--grid`` and the Python API take. A
path is field names joined by dots, each optionally followed by list indexes in brackets; a part
written as digits alone (``shocks.0``) is an index too. The result is a tuple of keys (text) and
indexes (integers), as ``yamlio.dotted`` renders back. A bad path is a ``PathError`` saying what
is wrong and at which character.
"""

from __future__ import annotations

from capsim.scenario.yamlio import MAX_DEPTH, PathKey, dotted

#: Longest path text repeated in a message (longer ones are cut, marked with '...').
MAX_SHOWN_CHARS = 200
_SPECIAL = ".[]"


class PathError(ValueError):
    """A dotted path that cannot be read; the message names the path and the character."""


def shorten(text: str) -> str:
    """``text`` cut to ``MAX_SHOWN_CHARS`` for a message (a long path or value)."""
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "..."


def check_depth(text: str) -> None:
    """Refuse a path nested deeper than a file may be, before reading it part by part."""
    levels = text.count(".") + text.count("[") + 1
    if levels > MAX_DEPTH:
        raise PathError(
            f"path has {levels} levels; scenario fields nest at most {MAX_DEPTH} deep, as in files"
        )


def parse_path(text: str) -> PathKey:
    """The keys and indexes of a dotted path (``a.b[0].c`` -> ``("a", "b", 0, "c")``).

    Surrounding spaces are ignored; an empty part, a space inside, an unclosed or misplaced
    bracket or an index that is not a whole number is a ``PathError``.
    """
    check_depth(text)
    name = text.strip()
    if not name:
        raise PathError("empty path; expected a dotted path such as policy.reserve_margin")
    parts: list[str | int] = []
    at = 0
    while True:
        end = at
        while end < len(name) and name[end] not in _SPECIAL:
            end += 1
        key = name[at:end]
        if not key:
            raise PathError(_at(name, at, "empty part"))
        space = next((i for i, c in enumerate(key) if c.isspace()), None)
        if space is not None:
            raise PathError(_at(name, at + space, "space"))
        parts.append(int(key) if key.isdigit() else key)
        at = end
        while at < len(name) and name[at] == "[":
            close = name.find("]", at)
            if close < 0:
                raise PathError(_at(name, at, "unclosed '['"))
            index = name[at + 1 : close].strip()
            if not index.isdigit():
                found = repr(index) if index else "nothing"
                message = f"list index must be a whole number >= 0, found {found}"
                raise PathError(_at(name, at + 1, message))
            parts.append(int(index))
            at = close + 1
        if at == len(name):
            return tuple(parts)
        if name[at] != ".":
            raise PathError(_at(name, at, f"unexpected {name[at]!r}; expected '.' or '['"))
        at += 1


def format_path(path: PathKey) -> str:
    """A parsed path written back as text (``("a", 0, "b")`` -> ``a[0].b``)."""
    return dotted(path)


def _at(name: str, index: int, what: str) -> str:
    """A message naming what is wrong, the path and the (1-based) character where it is."""
    return f"{what} in path {shorten(name)!r} at character {index + 1}"
