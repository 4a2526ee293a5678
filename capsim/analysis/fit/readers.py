"""Queue files in, one table of requests out: the columns each format uses, dates, bad rows.

Three formats: ``gridstatus`` (the standard columns of that library's interconnection queues),
``queued-up`` (Berkeley Lab's "Queued Up" workbook) and ``csv`` (any table, with the columns
named per role by ``--columns role=COLUMN``). CSV, Parquet and Excel files are read. Every row
whose dates cannot be true (an outcome before the filing, anything after the as-of month, an
unreadable date, a status its dates contradict) is left out and reported with its row number.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from capsim.errors import UsageError
from capsim.runs.bookkeeping import file_sha256
from capsim.scenario.schema import month_index

#: The roles a column can play; ``--columns`` maps them to a file's column names.
ROLES: tuple[str, ...] = ("id", "mw", "filed", "withdrawn", "connected", "agreement", "status")
DATE_ROLES: tuple[str, ...] = ("filed", "withdrawn", "connected", "agreement")
FORMATS: tuple[str, ...] = ("gridstatus", "queued-up", "csv")

#: Each format's column for each role; the required ones must be in the file.
FORMAT_COLUMNS: dict[str, dict[str, str]] = {
    "gridstatus": {
        "id": "Queue ID",
        "mw": "Capacity (MW)",
        "filed": "Queue Date",
        "status": "Status",
        "withdrawn": "Withdrawn Date",
        "connected": "Actual Completion Date",
    },
    "queued-up": {
        "id": "q_id",
        "mw": "mw1",
        "filed": "q_date",
        "status": "q_status",
        "withdrawn": "wd_date",
        "connected": "on_date",
        "agreement": "ia_date",
    },
    "csv": {},
}
REQUIRED_ROLES: dict[str, tuple[str, ...]] = {
    "gridstatus": ("id", "mw", "filed", "status", "withdrawn", "connected"),
    "queued-up": ("id", "mw", "filed", "status", "withdrawn", "connected"),
    "csv": ("mw", "filed"),
}
#: Status words (lower case) and the outcome they mean.
STATUS_WORDS: dict[str, str] = {
    "active": "active",
    "suspended": "active",
    "pending": "active",
    "in progress": "active",
    "withdrawn": "withdrawn",
    "cancelled": "withdrawn",
    "canceled": "withdrawn",
    "deactivated": "withdrawn",
    "completed": "connected",
    "operational": "connected",
    "in service": "connected",
    "connected": "connected",
    "done": "connected",
}
#: Excel day numbers (days since 1899-12-30) read as dates: 1927 to 2201. Smaller numbers are
#: left to the text parser, so a bare year such as 2020 reads as that year, not as 1905.
_EXCEL_DAYS = (10_000.0, 110_000.0)
_EXCEL_ORIGIN = pd.Timestamp("1899-12-30")


@dataclass(frozen=True)
class BadRow:
    """A row left out of the fit, by its row number in the file, and why."""

    row: int
    reason: str

    def format(self, file: str) -> str:
        """``file:row N: reason``."""
        return f"{file}: row {self.row}: {self.reason}"


@dataclass(frozen=True)
class QueueData:
    """The requests a fit uses (one row each) and where they came from.

    ``requests`` has the columns ``row`` (the file's row number), ``id``, ``mw``, and the dates
    ``filed``, ``withdrawn``, ``connected``, ``agreement`` (NaT where not reached).
    ``as_of`` is the month the data are known to the end of ('YYYY-MM').
    """

    requests: pd.DataFrame
    bad_rows: list[BadRow]
    file: str
    sha256: str
    format: str
    columns: dict[str, str]
    filters: list[str]
    as_of: str
    rows_read: int
    rows_selected: int
    has_agreement: bool = field(default=False)

    @property
    def as_of_end(self) -> pd.Timestamp:
        """The instant the data end: the first day after the as-of month."""
        return month_start(self.as_of) + pd.offsets.MonthBegin(1)


def month_start(month: str) -> pd.Timestamp:
    """The first day of calendar month 'YYYY-MM'."""
    index = month_index(month)
    return pd.Timestamp(year=index // 12, month=index % 12 + 1, day=1)


def parse_month(text: str, option: str) -> str:
    """A 'YYYY-MM' option value, checked; a UsageError naming the option if it is not one."""
    try:
        month_index(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    return text


def parse_column_roles(pairs: Sequence[str]) -> dict[str, str]:
    """``--columns role=COLUMN`` values as a mapping; unknown roles list the valid ones."""
    roles: dict[str, str] = {}
    for pair in pairs:
        role, sep, column = pair.partition("=")
        role = role.strip()
        if not sep or not column.strip():
            raise UsageError(f"--columns {pair!r}: expected ROLE=COLUMN, e.g. mw='Capacity (MW)'")
        if role not in ROLES:
            hint = _suggest(role, ROLES)
            raise UsageError(
                f"--columns {pair!r}: unknown role {role!r}{hint}; valid roles: {', '.join(ROLES)}"
            )
        roles[role] = column.strip()
    return roles


def parse_where(pairs: Sequence[str]) -> dict[str, list[str]]:
    """``--where COLUMN=VALUE`` values by column; values given for one column are alternatives."""
    where: dict[str, list[str]] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep or not column.strip():
            raise UsageError(f"--where {pair!r}: expected COLUMN=VALUE, e.g. region=PJM")
        where.setdefault(column.strip(), []).append(value.strip())
    return where


def _suggest(word: str, choices: Sequence[str]) -> str:
    """'; did you mean X?' for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_table(path: Path) -> tuple[pd.DataFrame, int]:
    """A CSV, Parquet or Excel file as strings-or-values, and the file row of its first data row.

    For Excel, the first sheet (and header row among the first five) that holds the most columns
    of a known format is used, so a workbook with notes above the table still reads.
    """
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path), 1
        if suffix in (".xlsx", ".xlsm", ".xls"):
            return _read_excel(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False), 2
    except (ValueError, OSError, ImportError) as exc:
        raise UsageError(f"{path}: cannot read the file as {suffix or 'CSV'}: {exc}") from None


def _read_excel(path: Path) -> tuple[pd.DataFrame, int]:
    """The sheet and header row of a workbook that carry the most known queue columns."""
    known = {c for columns in FORMAT_COLUMNS.values() for c in columns.values()}
    sheets = pd.read_excel(path, sheet_name=None, header=None, nrows=6)
    best: tuple[int, str, int] = (-1, "", 0)
    for name, head in sheets.items():
        for header in range(min(5, len(head))):
            found = len(known & {str(v).strip() for v in head.iloc[header].tolist()})
            if found > best[0]:
                best = (found, str(name), header)
    _, sheet, header = best
    table = pd.read_excel(path, sheet_name=sheet or 0, header=header)
    table.columns = [str(c).strip() for c in table.columns]
    return table, header + 2


def resolve_columns(
    table: pd.DataFrame, file: str, fmt: str, overrides: Mapping[str, str]
) -> dict[str, str]:
    """The column of each role for this file; missing required ones name the closest columns."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    columns = {**FORMAT_COLUMNS[fmt], **overrides}
    present = [str(c) for c in table.columns]
    missing: list[str] = []
    for role in REQUIRED_ROLES[fmt]:
        column = columns.get(role)
        if column is None:
            missing.append(f"role {role!r} (give --columns {role}=COLUMN)")
        elif column not in present:
            missing.append(f"{column!r} ({role}){_suggest(column, present)}")
    if missing:
        raise UsageError(
            f"{file}: columns missing for --format {fmt}: {'; '.join(missing)}; "
            f"the file has: {', '.join(present[:30])}"
        )
    return {role: column for role, column in columns.items() if column in present}


def select_rows(table: pd.DataFrame, file: str, where: Mapping[str, list[str]]) -> pd.DataFrame:
    """Rows whose columns equal a ``--where`` value (case-insensitive); empty is an error."""
    keep = pd.Series(True, index=table.index)
    present = [str(c) for c in table.columns]
    for column, values in where.items():
        if column not in present:
            raise UsageError(
                f"--where {column}=...: {file} has no column {column!r}{_suggest(column, present)}"
            )
        text = table[column].astype(str).str.strip().str.lower()
        keep &= text.isin([v.lower() for v in values])
    chosen = table[keep]
    if chosen.empty:
        said = ", ".join(f"{c}={'|'.join(v)}" for c, v in where.items())
        raise UsageError(f"{file}: no rows left after --where {said} (of {len(table)} rows)")
    return chosen


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates in any common form (ISO, US/European text, Excel day numbers) and unreadable flags.

    Empty cells are NaT and not flagged; a non-empty cell that is not a date is flagged.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = pd.to_datetime(values)
        if _has_tz(dates):
            dates = dates.dt.tz_localize(None)
        return dates.astype("datetime64[ns]").dt.floor("D"), pd.Series(False, index=values.index)
    text = values.astype(object).where(values.notna(), "")
    text = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    empty = text.map(lambda v: v == "" or v is None or (isinstance(v, float) and np.isnan(v)))
    numbers = pd.to_numeric(text.where(~empty), errors="coerce")
    serial = numbers.between(*_EXCEL_DAYS)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if serial.any():
        out[serial] = _EXCEL_ORIGIN + pd.to_timedelta(numbers[serial].astype(float), unit="D")
    rest = ~empty & ~serial
    if rest.any():
        parsed = pd.to_datetime(
            text[rest].astype(str), errors="coerce", format="mixed", utc=True
        ).dt.tz_localize(None)
        out[rest] = parsed
    bad = rest & out.isna()
    return out.dt.floor("D"), bad


def _has_tz(values: pd.Series) -> bool:
    """Whether a datetime column carries a time zone."""
    return getattr(values.dt, "tz", None) is not None


def read_queue(
    path: Path,
    fmt: str,
    columns: Mapping[str, str] | None = None,
    where: Mapping[str, list[str]] | None = None,
    as_of: str | None = None,
) -> QueueData:
    """Read a queue file into the requests a fit uses, leaving out (and listing) bad rows."""
    file = str(path)
    table, first_row = read_table(path)
    table = table.reset_index(drop=True)
    roles = resolve_columns(table, file, fmt, columns or {})
    rows_read = len(table)
    chosen = select_rows(table, file, where or {})
    rows = pd.Series(np.arange(rows_read)[table.index.get_indexer(chosen.index)] + first_row)
    chosen = chosen.reset_index(drop=True)
    bad: dict[int, str] = {}

    def flag(mask: pd.Series, reason: str) -> None:
        for i in np.flatnonzero(mask.to_numpy(dtype=bool)):
            bad.setdefault(int(rows[i]), reason)

    dates: dict[str, pd.Series] = {}
    for role in DATE_ROLES:
        if role in roles:
            parsed, unreadable = parse_dates(chosen[roles[role]])
            for i in np.flatnonzero(unreadable.to_numpy()):
                text = chosen[roles[role]].iloc[i]
                bad.setdefault(int(rows[i]), f"{roles[role]!r}: {text!s} is not a date")
            dates[role] = parsed
        else:
            dates[role] = pd.Series(pd.NaT, index=chosen.index, dtype="datetime64[ns]")
    mw = pd.to_numeric(chosen[roles["mw"]], errors="coerce")
    flag(~(mw > 0), f"{roles['mw']!r}: expected a positive number of MW")
    flag(dates["filed"].isna(), f"{roles['filed']!r}: no filing date")
    for role in ("withdrawn", "connected", "agreement"):
        flag(dates[role] < dates["filed"], f"{roles.get(role, role)!r} is before the filing date")
    flag(
        dates["withdrawn"].notna() & dates["connected"].notna(),
        "both a withdrawal and a connection date",
    )
    status = _statuses(chosen, roles, rows, bad)
    if status is not None:
        flag((status == "withdrawn") & dates["withdrawn"].isna(), "withdrawn without a date")
        flag((status == "connected") & dates["connected"].isna(), "connected without a date")
        flag(
            (status == "active") & (dates["withdrawn"].notna() | dates["connected"].notna()),
            "status active but a withdrawal or connection date is given",
        )
    chosen_as_of = as_of or _latest_month(dates, bad, rows)
    end = month_start(chosen_as_of) + pd.offsets.MonthBegin(1)
    for role in DATE_ROLES:
        flag(dates[role] >= end, f"{roles.get(role, role)!r} is after --as-of {chosen_as_of}")
    keep = ~rows.isin(list(bad)).to_numpy()
    ids = chosen[roles["id"]].astype(str) if "id" in roles else rows.astype(str)
    requests = pd.DataFrame(
        {
            "row": rows.to_numpy()[keep],
            "id": ids.to_numpy()[keep],
            "mw": mw.to_numpy(dtype=float)[keep],
            **{role: dates[role].to_numpy()[keep] for role in DATE_ROLES},
        }
    )
    filters = [f"{c}={'|'.join(v)}" for c, v in (where or {}).items()]
    return QueueData(
        requests=requests.reset_index(drop=True),
        bad_rows=[BadRow(row, reason) for row, reason in sorted(bad.items())],
        file=path.name,
        sha256=file_sha256(path),
        format=fmt,
        columns=roles,
        filters=filters,
        as_of=chosen_as_of,
        rows_read=rows_read,
        rows_selected=len(chosen),
        has_agreement="agreement" in roles and bool(dates["agreement"].notna().any()),
    )


def _statuses(
    chosen: pd.DataFrame, roles: Mapping[str, str], rows: pd.Series, bad: dict[int, str]
) -> pd.Series | None:
    """Each row's status as 'active', 'withdrawn' or 'connected'; unknown words are bad rows."""
    if "status" not in roles:
        return None
    words = chosen[roles["status"]].astype(str).str.strip().str.lower()
    status = words.map(STATUS_WORDS)
    for i in np.flatnonzero(status.isna().to_numpy()):
        known = ", ".join(sorted(STATUS_WORDS))
        bad.setdefault(
            int(rows[i]),
            f"{roles['status']!r}: unknown status {chosen[roles['status']].iloc[i]!s} "
            f"(known: {known})",
        )
    return status


def _latest_month(dates: Mapping[str, pd.Series], bad: Mapping[int, str], rows: pd.Series) -> str:
    """The month of the latest date among the good rows: the default as-of month."""
    good = ~rows.isin(list(bad)).to_numpy()
    latest = max(
        (series[good].max() for series in dates.values() if series[good].notna().any()),
        default=None,
    )
    if latest is None or pd.isna(latest):
        raise UsageError("no row has a readable filing date; nothing to fit")
    return f"{latest.year:04d}-{latest.month:02d}"
