"""Deals in flight read from a spreadsheet: ``deals_in_flight: {file: pipeline.xlsx}``.

A deal team keeps its pipeline in a workbook; the scenario names the file (``.xlsx`` or
``.csv``, relative to the scenario file that names it) and the loader reads it here into the
same list of deals a file would spell out in YAML, before validation. Every bad cell is reported
with its file, sheet, row and column and the valid choices (unknown kind, region or stage, a
size that is not positive, an id used twice, a date that is not one), all at once.

The columns are ``id``, ``kind``, ``region``, ``mw``, ``stage`` and, optionally,
``signed_month`` and ``grid_request_month`` (a calendar month 'YYYY-MM' or a date); a column
named ``notes`` is ignored. ``pipeline_template`` builds the template ``capsim template
pipeline`` writes from ``COLUMNS``.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capsim.errors import Problem, ScenarioError
from capsim.scenario.schema import DEAL_KINDS, SIGNED, Scenario, month_index
from capsim.scenario.yamlio import PathKey, Position

if TYPE_CHECKING:
    from capsim.scenario.loader import Located

#: Endings of the files a pipeline may be kept in.
SUFFIXES = (".xlsx", ".csv")
#: Name of the sheet read (else the first sheet that is not the notes sheet).
SHEET = "pipeline"
NOTES_SHEET = "notes"
#: Largest pipeline file read (bytes) and most rows (the schema allows 1,000 deals).
MAX_FILE_BYTES = 20_000_000
MAX_ROWS = 1_000
#: A column that is read for people only, never for the model.
IGNORED_COLUMN = "notes"
_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


@dataclass(frozen=True)
class Column:
    """One column of the pipeline sheet: its header, whether it must be there, what it holds."""

    name: str
    required: bool
    meaning: str
    valid: str
    example: str | float


COLUMNS: tuple[Column, ...] = (
    Column(
        "id",
        True,
        "Identifier of the deal, unique in the pipeline.",
        "lower-case letters, digits and '_', starting with a letter (at most 40)",
        "syd_west",
    ),
    Column(
        "kind",
        True,
        "Deal kind: the way the deal gets power.",
        "a deal kind defined in the scenario: " + ", ".join(DEAL_KINDS),
        "greenfield",
    ),
    Column(
        "region",
        True,
        "Region the deal is in.",
        "a region id defined under regions: in the scenario",
        "au_nsw",
    ),
    Column("mw", True, "Facility MW of the deal.", "a number above 0 (MW)", 120),
    Column(
        "stage",
        True,
        "Stage the deal is in at the scenario's start month.",
        "a stage name of the deal's kind in the scenario, or 'signed'",
        "due_diligence",
    ),
    Column(
        "signed_month",
        False,
        "When the deal was signed (recorded; the deal starts at its stage).",
        "empty, a calendar month YYYY-MM or a date, not after the start; stage 'signed' only",
        "",
    ),
    Column(
        "grid_request_month",
        False,
        "When its grid connection request was filed (recorded).",
        "empty, a calendar month YYYY-MM or a date, not after the start",
        "",
    ),
)
_BY_NAME = {column.name: column for column in COLUMNS}
_MONTH_COLUMNS = ("signed_month", "grid_request_month")
#: Columns are read in this order, so a stage is checked against the row's kind.
_ORDER = {column.name: index for index, column in enumerate(COLUMNS)}


@dataclass(frozen=True)
class Cell:
    """A value read from the sheet and where it is (row and column numbers from 1)."""

    value: Any
    row: int
    column: int


@dataclass(frozen=True)
class Sheet:
    """The rows of a pipeline file: the header's columns and each data row's cells by column."""

    display: str
    sheet: str | None
    header: dict[str, int]
    rows: list[dict[str, Cell]]


def read_pipeline_file(located: Located) -> None:
    """Replace ``deals_in_flight: {file: ...}`` in resolved data by the deals the file lists.

    Every cell's position is recorded, so later checks (unknown references, sizes that do not
    fit) point at the cell too. A bad file or bad rows raise a ``ScenarioError`` naming them all.
    """
    spec = located.data.get("deals_in_flight")
    if not isinstance(spec, dict):
        return
    where = located.where(("deals_in_flight",)) or ("", 0, 0)
    path = _file_path(spec, located.where(("deals_in_flight", "file")) or where)
    sheet = _read(path, where)
    deals, positions = _deals(sheet, located.data)
    located.data["deals_in_flight"] = deals
    for key in [k for k in located.positions if k[:1] == ("deals_in_flight",)]:
        del located.positions[key]
    located.positions[("deals_in_flight",)] = where
    located.positions.update(positions)


def _problem(where: Position, path: str, message: str) -> ScenarioError:
    """A one-problem error at a position of the scenario (line 0: a command-line value)."""
    line = where[1] or None
    return ScenarioError([Problem(where[0], line, where[2] if line else None, path, message)])


def _file_path(spec: dict[str, Any], where: Position) -> Path:
    """The pipeline file ``{file: ...}`` names, relative to the scenario file that names it."""
    extra = sorted(str(key) for key in spec if key != "file")
    if extra or not isinstance(spec.get("file"), str) or not spec["file"].strip():
        message = (
            "expected a list of deals or {file: pipeline.xlsx} (a .xlsx or .csv file next to the "
            "scenario)" + (f"; found the field(s) {', '.join(extra)}" if extra else "")
        )
        raise _problem(where, "deals_in_flight", message)
    name = str(spec["file"]).strip()
    base = Path(where[0]).parent if where[1] else Path()
    path = base / name
    if path.suffix.lower() not in SUFFIXES:
        message = f"pipeline file {name!r} is not a .xlsx or .csv file; save it as one of these"
        raise _problem(where, "deals_in_flight.file", message)
    if not path.is_file():
        message = (
            f"pipeline file {name!r} not found ({path}); write one with "
            f"'capsim template pipeline -o {name}'"
        )
        raise _problem(where, "deals_in_flight.file", message)
    if path.stat().st_size > MAX_FILE_BYTES:
        message = f"pipeline file {name!r} is larger than {MAX_FILE_BYTES:,} bytes; refused"
        raise _problem(where, "deals_in_flight.file", message)
    return path


def _read(path: Path, where: Position) -> Sheet:
    """The header and data rows of a pipeline file (blank rows skipped)."""
    if path.suffix.lower() == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            message = (
                f"pipeline file {path} is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8"
            )
            raise _problem(where, "deals_in_flight.file", message) from None
        return _sheet(str(path), None, csv.reader(io.StringIO(text, newline="")))
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        book = load_workbook(path, read_only=True, data_only=True)
        try:
            names = [n for n in book.sheetnames if n != NOTES_SHEET] or book.sheetnames
            name = SHEET if SHEET in book.sheetnames else names[0]
            return _sheet(str(path), name, book[name].iter_rows(values_only=True))
        finally:
            book.close()
    except ScenarioError:
        raise
    except Exception as exc:  # a damaged workbook fails in many ways; each is the user's file
        message = f"pipeline file {path} cannot be read as an Excel workbook ({type(exc).__name__})"
        raise _problem(where, "deals_in_flight.file", message) from None


def _sheet(display: str, sheet: str | None, rows: Iterable[Iterable[Any]]) -> Sheet:
    """Split rows into the header (first non-blank row) and the data rows, checking the header."""
    header: dict[str, int] = {}
    data: list[dict[str, Cell]] = []
    for number, raw in enumerate(rows, start=1):
        values = [_blank_to_none(v) for v in raw]
        if all(v is None for v in values):
            continue
        if not header:
            header = _header(display, sheet, number, values)
            continue
        if len(data) >= MAX_ROWS:
            where = _where(sheet, number, 1, "")
            message = f"more than {MAX_ROWS:,} deals; split the pipeline or keep the live deals"
            raise ScenarioError([Problem(display, number, 1, where, message)])
        data.append(
            {
                name: Cell(values[index - 1] if index <= len(values) else None, number, index)
                for name, index in header.items()
            }
        )
    if not header:
        message = f"no header row; expected the columns {', '.join(c.name for c in COLUMNS)}"
        raise ScenarioError([Problem(display, None, None, _sheet_name(sheet), message)])
    return Sheet(display, sheet, header, data)


def _header(display: str, sheet: str | None, row: int, values: list[Any]) -> dict[str, int]:
    """Column number of each known header; unknown or missing columns are located problems."""
    problems: list[Problem] = []
    header: dict[str, int] = {}
    names = [c.name for c in COLUMNS]
    for index, value in enumerate(values, start=1):
        if value is None:
            continue
        name = str(value).strip().lower()
        if name == IGNORED_COLUMN:
            continue
        if name not in _BY_NAME or name in header:
            what = "is named twice" if name in header else "is not a pipeline column"
            expected = f"(expected: {', '.join(names)}, or notes){_hint(name, names)}"
            message = f"{str(value)!r} {what} {expected}"
            problems.append(Problem(display, row, index, _where(sheet, row, index, ""), message))
            continue
        header[name] = index
    missing = [c.name for c in COLUMNS if c.required and c.name not in header]
    if missing and not problems:
        message = (
            f"the header lacks the column(s) {', '.join(missing)} (expected: {', '.join(names)})"
        )
        problems.append(Problem(display, row, 1, _where(sheet, row, None, ""), message))
    if problems:
        raise ScenarioError(problems)
    return header


def _deals(
    sheet: Sheet, data: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[PathKey, Position]]:
    """Each row as a deal mapping, and every cell's position; every bad cell is a problem."""
    kinds, regions, stages = _choices(data)
    start = data.get("start") if isinstance(data.get("start"), str) else None
    problems: list[Problem] = []
    deals: list[dict[str, Any]] = []
    positions: dict[PathKey, Position] = {}
    first_row: dict[str, int] = {}
    for i, row in enumerate(sheet.rows):
        deal: dict[str, Any] = {}
        for name, cell in sorted(row.items(), key=lambda item: _ORDER[item[0]]):
            positions[("deals_in_flight", i, name)] = (sheet.display, cell.row, cell.column)
            try:
                value = _value(name, cell.value, deal, kinds, regions, stages, start)
            except ValueError as exc:
                where = _where(sheet.sheet, cell.row, cell.column, name)
                problems.append(Problem(sheet.display, cell.row, cell.column, where, str(exc)))
                continue
            if value is not None:
                deal[name] = value
        any_cell = next(iter(row.values()))
        positions[("deals_in_flight", i)] = (sheet.display, any_cell.row, 1)
        if isinstance(deal.get("id"), str):
            earlier = first_row.setdefault(deal["id"], any_cell.row)
            if earlier != any_cell.row:
                cell = row["id"]
                where = _where(sheet.sheet, cell.row, cell.column, "id")
                message = (
                    f"id {deal['id']!r} is already used in row {earlier}; give each deal its own id"
                )
                problems.append(Problem(sheet.display, cell.row, cell.column, where, message))
        _check_signed(sheet, row, deal, problems)
        deals.append(deal)
    if problems:
        raise ScenarioError(problems)
    return deals, positions


def _check_signed(
    sheet: Sheet, row: dict[str, Cell], deal: dict[str, Any], problems: list[Problem]
) -> None:
    """A signed month fits only a deal at stage 'signed'."""
    if "signed_month" in deal and deal.get("stage") not in (None, SIGNED):
        cell = row["signed_month"]
        where = _where(sheet.sheet, cell.row, cell.column, "signed_month")
        message = (
            f"a signed month is given but the stage is {deal['stage']!r}; set the stage to "
            "'signed' or leave signed_month empty"
        )
        problems.append(Problem(sheet.display, cell.row, cell.column, where, message))


def _choices(data: dict[str, Any]) -> tuple[list[str], list[str] | None, dict[str, list[str]]]:
    """Deal kinds, regions and each kind's stages as the scenario data defines them."""
    defined = data.get("deal_kinds")
    kinds = (
        [k for k in defined if k in DEAL_KINDS] if isinstance(defined, dict) else list(DEAL_KINDS)
    )
    regions = [str(r) for r in data["regions"]] if isinstance(data.get("regions"), dict) else None
    stages: dict[str, list[str]] = {}
    for kind in kinds:
        spec = defined.get(kind) if isinstance(defined, dict) else None
        listed = spec.get("stages") if isinstance(spec, dict) else None
        if isinstance(listed, list):
            names = [s.get("name") for s in listed if isinstance(s, dict)]
            stages[kind] = [n for n in names if isinstance(n, str)] + [SIGNED]
    return kinds, regions, stages


def _value(
    name: str,
    value: Any,
    deal: dict[str, Any],
    kinds: list[str],
    regions: list[str] | None,
    stages: dict[str, list[str]],
    start: str | None,
) -> Any:
    """A cell's value as the scenario field takes it; ValueError saying what is valid."""
    if name in _MONTH_COLUMNS:
        return None if value is None else _past_month(_month(value), start)
    if value is None:
        raise ValueError(f"{name} is empty; expected {_BY_NAME[name].valid}")
    if name == "mw":
        return _mw(value)
    text = _text(value, name)
    if name == "id":
        if not _ID.match(text):
            raise ValueError(f"{text!r} is not a valid id (expected {_BY_NAME['id'].valid})")
        return text
    if name == "kind":
        return _one_of(text, kinds, "deal kind")
    if name == "region":
        return text if regions is None else _one_of(text, regions, "region")
    kind_stages = stages.get(deal.get("kind", ""))
    if kind_stages is not None and text not in kind_stages:
        raise ValueError(
            f"{deal['kind']} deals have no stage {text!r} (expected one of: "
            f"{', '.join(kind_stages)}{_hint(text, kind_stages)})"
        )
    return text


def _text(value: Any, name: str) -> str:
    """A text cell, trimmed; a number where text belongs is refused."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text; found {value!r} (expected {_BY_NAME[name].valid})")
    return value.strip()


def _one_of(text: str, choices: list[str], what: str) -> str:
    """``text`` if it is one of ``choices``, else a ValueError listing them."""
    if text in choices:
        return text
    raise ValueError(
        f"{what} {text!r} is not defined in the scenario (expected one of: "
        f"{', '.join(choices)}{_hint(text, choices)})"
    )


def _mw(value: Any) -> float:
    """A size in MW above zero, from a number cell or a number written as text."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise ValueError(f"mw must be a number of MW above 0; found {value!r}")
    if number <= 0:
        raise ValueError(f"mw must be above 0 (facility MW of the deal); found {number:g}")
    return number


def _month(value: Any) -> str:
    """A calendar month 'YYYY-MM' from a date cell or text 'YYYY-MM' / 'YYYY-MM-DD'."""
    if isinstance(value, dt.datetime | dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value).strip()
    match = _DATE.match(text)
    if match is not None:
        year, month, day = (int(g) if g else 1 for g in match.groups())
        try:
            dt.date(year, month, day)
        except ValueError:
            pass  # a month 13 or a 31st of June: not a date, said below
        else:
            return f"{year:04d}-{month:02d}"
    raise ValueError(
        f"{text!r} is not a date; expected a calendar month YYYY-MM or a date YYYY-MM-DD"
    )


def _past_month(month: str, start: str | None) -> str:
    """``month`` if it is not after the scenario's start, else a ValueError saying so."""
    problem = month_problem(month, start)
    if problem:
        raise ValueError(problem)
    return month


def month_problem(month: str, start: str | None) -> str:
    """Why a deal's past month cannot be (after the start month), or ''."""
    try:
        after = start is not None and month_index(month) > month_index(start)
    except ValueError:
        return ""
    if after:
        return f"{month} is after the scenario's start {start}; a deal in flight's dates are past"
    return ""


def check_deal_months(scenario: Scenario) -> list[tuple[PathKey, str]]:
    """Deals in flight: dates not after the start, and a signed month only for signed deals."""
    found: list[tuple[PathKey, str]] = []
    for i, deal in enumerate(scenario.deals_in_flight):
        for name in _MONTH_COLUMNS:
            month = getattr(deal, name)
            problem = month_problem(month, scenario.start) if month is not None else ""
            if problem:
                found.append((("deals_in_flight", i, name), problem))
        if deal.signed_month is not None and deal.stage != SIGNED:
            found.append(
                (
                    ("deals_in_flight", i, "signed_month"),
                    f"a signed month is given but the stage is {deal.stage!r}; set the stage to "
                    "'signed' or remove signed_month",
                )
            )
    return found


def _blank_to_none(value: Any) -> Any:
    """Empty cells and cells holding only spaces read as no value."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _where(sheet: str | None, row: int, column: int | None, name: str) -> str:
    """'sheet 'pipeline', row 3, column D (stage)': a cell as a spreadsheet user finds it."""
    parts = [_sheet_name(sheet)] if sheet is not None else []
    parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column_letter(column)}" + (f" ({name})" if name else ""))
    return ", ".join(parts)


def _sheet_name(sheet: str | None) -> str:
    """How a message names the sheet ('' for a CSV file)."""
    return f"sheet {sheet!r}" if sheet is not None else ""


def column_letter(column: int) -> str:
    """Spreadsheet letters of a column number (1 -> A, 27 -> AA)."""
    letters = ""
    while column > 0:
        column, remainder = divmod(column - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _hint(word: str, choices: Iterable[str]) -> str:
    """'; did you mean ...?' for a near miss, else ''."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""
