"""Calendar months where a scenario means a month: 'YYYY-MM' written for an offset from ``start``.

A field marked ``OFFSET_FROM_START`` in the schema holds months from the scenario's start (a
number or a distribution). Analysts may write a calendar month there instead (``month:
2027-12``), or calendar bounds of a distribution (``{dist: pert, min: 2027-03, mode: 2027-09,
max: 2028-06}``). ``resolve_months`` turns those into offsets against the final ``start``, after
``extends`` and ``--set``, so a dated value keeps its calendar month when a variant moves the
start, while a number keeps its offset. Durations (``study_months``) are not dates.

A calendar month stands for the end of that month, the instant its month-end row of every
monthly table shows: ``2027-12`` from a start of ``2026-01`` is 24 months (model month 24 is
December 2027), so an upgrade dated 2027-12 is in service in December 2027's row.

``walk_marked`` finds every value of a marked field in plain scenario data; ``money`` uses it too.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from capsim.scenario.dists import AnyDist, NonNegativeDist

#: A scenario path: keys and list indices from the top.
Path = tuple[str | int, ...]
#: A problem found in plain data: where (a path) and what.
Finding = tuple[Path, str]

_MONTH_TEXT = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
#: Distribution parameters that are positions on the time axis (a calendar month may stand
#: there); spreads such as ``sd`` and the ``weights`` of a choice stay numbers.
DATED_PARAMETERS = ("value", "min", "mode", "max", "mean", "median", "p90")
DATED_LISTS = ("values", "samples")


@dataclass(frozen=True)
class OffsetFromStart:
    """Schema marker: the field holds months from the scenario's start (a date may be written)."""


#: The marker put in a field's ``Annotated`` metadata.
OFFSET_FROM_START = OffsetFromStart()


def calendar_index(text: str) -> int | None:
    """Months since year 0 of a 'YYYY-MM' text, or None if the text is no calendar month."""
    match = _MONTH_TEXT.match(text)
    if match is None:
        return None
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def month_text(index: int) -> str:
    """'YYYY-MM' of a month counted from year 0 (the inverse of ``calendar_index``)."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def calendar_month(start: str, offset_months: float) -> str:
    """The calendar month a time ``offset_months`` from the start of ``start`` falls in.

    As everywhere in capsim's outputs, model month m is the m-th calendar month and ends at
    time m: 23.5 and 24 from 2026-01 are both in 2027-12 (times up to 1 are in the start month).
    """
    first = calendar_index(start)
    if first is None:
        raise ValueError(f"{start!r} is not a calendar month 'YYYY-MM'")
    return month_text(first + max(0, math.ceil(offset_months) - 1))


def offset_of(start: str, month: str) -> int:
    """Months from the start of ``start`` to the end of calendar ``month`` (24 for 2027-12).

    A value dated ``month`` is in place by that month's end, as its month-end row shows.
    """
    first, index = calendar_index(start), calendar_index(month)
    if first is None or index is None:
        raise ValueError(f"expected calendar months 'YYYY-MM', found {start!r} and {month!r}")
    return index - first + 1


# --- finding marked fields in plain data ----------------------------------------------------


def _strip(annotation: Any) -> Any:
    """An annotation without its ``Annotated`` wrapper."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The members of a union (the annotation itself when it is none)."""
    annotation = _strip(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_strip(m) for m in typing.get_args(annotation) if m is not type(None)]
    return [annotation]


def walk_marked(
    data: Any, annotation: Any, marker: type, path: Path = ()
) -> Iterator[tuple[Path, list[Path]]]:
    """Every value in ``data`` whose schema field carries a ``marker`` instance.

    Yields the value's path and the paths of the models enclosing it (outermost first), so a
    caller can read context such as a region's default currency. Data the schema does not
    describe is skipped (validation reports it later).
    """
    yield from _walk(data, annotation, marker, path, [])


def _walk(
    data: Any, annotation: Any, marker: type, path: Path, owners: list[Path]
) -> Iterator[tuple[Path, list[Path]]]:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            if isinstance(data, dict):
                yield from _walk_model(data, member, marker, path, [*owners, path])
            continue
        origin = typing.get_origin(member)
        if origin is dict and isinstance(data, dict):
            value_type = typing.get_args(member)[1]
            for key, value in data.items():
                yield from _walk(value, value_type, marker, (*path, key), owners)
        elif origin is list and isinstance(data, list):
            item_type = typing.get_args(member)[0]
            for index, value in enumerate(data):
                yield from _walk(value, item_type, marker, (*path, index), owners)


def _walk_model(
    data: Mapping[str, Any], model: type[BaseModel], marker: type, path: Path, owners: list[Path]
) -> Iterator[tuple[Path, list[Path]]]:
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in data:
            continue
        if any(isinstance(m, marker) for m in info.metadata):
            yield (*path, key), owners
        else:
            yield from _walk(data[key], info.annotation, marker, (*path, key), owners)


def get_path(data: Any, path: Path) -> Any:
    """The value at ``path`` in plain data."""
    for part in path:
        data = data[part]
    return data


def set_path(data: Any, path: Path, value: Any) -> None:
    """Replace the value at ``path`` in plain data (the path exists)."""
    get_path(data, path[:-1])[path[-1]] = value


# --- calendar months to offsets ---------------------------------------------------------------


def resolve_months(data: dict[str, Any], model: type[BaseModel]) -> list[Finding]:
    """Turn every calendar month written in an offset field of ``data`` into months from start.

    ``data`` (plain, resolved: ``extends`` and ``--set`` applied) is changed in place. A month
    before ``start`` or after ``end`` is a problem at its path; so is any date when ``start`` or
    ``end`` is no calendar month (the schema reports those). Returns the problems found.
    """
    start_text, end_text = data.get("start"), data.get("end")
    first = calendar_index(start_text) if isinstance(start_text, str) else None
    last = calendar_index(end_text) if isinstance(end_text, str) else None
    problems: list[Finding] = []
    for path, _ in list(walk_marked(data, model, OffsetFromStart)):
        value = get_path(data, path)
        for where, text in _dated(value, path):
            index = calendar_index(text)
            if index is None:
                continue  # not a date: the schema says what it expected
            if first is None or last is None:
                problems.append((where, f"{text} cannot be placed: start and end must be valid"))
            elif not first <= index <= last:
                side = "before start" if index < first else "after end"
                problems.append(
                    (
                        where,
                        f"{text} is {side} ({month_text(first if index < first else last)}); "
                        f"expected a calendar month from {month_text(first)} to "
                        f"{month_text(last)}, or a number of months from start",
                    )
                )
            else:
                set_path(data, where, index - first + 1)  # the end of that month: offset_of
    return problems


def _dated(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """The texts written where a month may stand: the value, a distribution's positions."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key in DATED_PARAMETERS:
            if isinstance(value.get(key), str):
                yield (*path, key), value[key]
        for key in DATED_LISTS:
            items = value.get(key)
            if isinstance(items, list):
                for index, item in enumerate(items):
                    if isinstance(item, str):
                        yield (*path, key, index), item


def offset_months(data: Mapping[str, Any], model: type[BaseModel]) -> list[Path]:
    """Paths of every offset-from-start field present in (resolved) plain data, in order."""
    return [path for path, _ in walk_marked(data, model, OffsetFromStart)]


def describe_offset(spec: Mapping[str, Any], start: str) -> str:
    """An offset value (plain data of a distribution) with the calendar months it stands for.

    ``{dist: fixed, value: 24}`` from 2026-01 reads '24 months = 2027-12'; a distribution shows
    each position: 'pert: min 15 = 2027-03, mode 21 = 2027-09, max 30 = 2028-06'.
    """
    if spec.get("dist") == "fixed":
        return f"{spec['value']:g} months = {calendar_month(start, float(spec['value']))}"
    parts = [
        f"{key} {spec[key]:g} = {calendar_month(start, float(spec[key]))}"
        for key in DATED_PARAMETERS
        if isinstance(spec.get(key), int | float)
    ]
    return f"{spec.get('dist')}: " + ", ".join(parts)


def _keep(value: Any) -> Any:
    """Pass a value on unchanged (the JSON Schema of a month field names the forms it takes)."""
    return value


#: Text of a calendar month as the JSON Schema describes it.
MonthText = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]

#: A position on the time axis as a file may write it: months from start or a calendar month.
MonthOrNumber = float | MonthText


class DatedDistribution(BaseModel):
    """A distribution over months whose positions are calendar months ('YYYY-MM').

    Only for the JSON Schema (editors): the loader turns each date into months from start and
    the distribution is then checked as the one its ``dist`` names.
    """

    model_config = ConfigDict(extra="forbid")

    dist: Literal["fixed", "uniform", "triangular", "pert", "normal", "lognormal", "choice"]
    value: MonthOrNumber | None = Field(default=None, description="Fixed month.")
    min: MonthOrNumber | None = Field(default=None, description="Earliest month.")
    mode: MonthOrNumber | None = Field(default=None, description="Most likely month.")
    max: MonthOrNumber | None = Field(default=None, description="Latest month.")
    mean: MonthOrNumber | None = Field(default=None, description="Mean month (normal).")
    sd: float | None = Field(default=None, description="Spread in months (normal).")
    median: MonthOrNumber | None = Field(default=None, description="Median month (lognormal).")
    p90: MonthOrNumber | None = Field(default=None, description="P90 month (lognormal).")
    values: list[MonthOrNumber] | None = Field(default=None, description="Months (choice).")
    weights: list[float] | None = Field(default=None, description="Weights (choice).")


MonthOffsetDist = Annotated[
    NonNegativeDist,
    OFFSET_FROM_START,
    BeforeValidator(_keep, json_schema_input_type=float | MonthText | AnyDist | DatedDistribution),
]
"""A field type: months from the scenario start (a number, 'YYYY-MM' or a distribution)."""


def month_notes(data: Mapping[str, Any], model: type[BaseModel]) -> list[str]:
    """YAML comment lines giving each offset field of resolved data with its calendar month.

    ``capsim show`` prints them under the resolved scenario, e.g.
    ``# regions.jp.grid.upgrades[0].month: 24 months = 2027-12``.
    """
    start = str(data["start"])
    lines = []
    for path in offset_months(data, model):
        spec = get_path(data, path)
        if isinstance(spec, Mapping):
            lines.append(f"# {dotted_path(path)}: {describe_offset(spec, start)}")
    if not lines:
        return []
    return [f"# calendar months of the offsets from start ({start}):", *lines]


def dotted_path(path: Path) -> str:
    """A path as people write it: 'regions.jp.grid.upgrades[0].month'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
