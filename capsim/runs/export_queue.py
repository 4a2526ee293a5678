"""A run's grid queue as a snapshot in a real queue file's layout (gridstatus or "Queued Up").

A model queue can then be compared with a real one, or fitted back with ``capsim fit``. The
snapshot is taken as of a calendar month: requests filed after it are dropped, and outcomes
reached after it are shown as still active, as a queue published that month would show them.
Model months become calendar dates month by month (month 1.5 is the middle of the second
calendar month), so a month boundary of the model is the first day of a calendar month.
"""

from __future__ import annotations

import calendar
import math
from pathlib import Path

import numpy as np
import pandas as pd

from capsim.errors import OutputError, UsageError
from capsim.runs.publish import publish_file
from capsim.runs.rundir import RunDir
from capsim.scenario.schema import month_index

EXPORT_FORMATS: tuple[str, ...] = ("gridstatus", "queued-up")
#: The columns every gridstatus interconnection queue carries, in its order.
GRIDSTATUS_COLUMNS: tuple[str, ...] = (
    "Queue ID",
    "Project Name",
    "Interconnecting Entity",
    "County",
    "State",
    "Interconnection Location",
    "Transmission Owner",
    "Generation Type",
    "Capacity (MW)",
    "Summer Capacity (MW)",
    "Winter Capacity (MW)",
    "Queue Date",
    "Status",
    "Proposed Completion Date",
    "Withdrawn Date",
    "Withdrawal Comment",
    "Actual Completion Date",
)
QUEUED_UP_COLUMNS: tuple[str, ...] = (
    "q_id",
    "q_status",
    "q_date",
    "ia_date",
    "wd_date",
    "on_date",
    "prop_date",
    "q_year",
    "project_name",
    "entity",
    "region",
    "type_clean",
    "mw1",
)
_READ = [
    "replication",
    "request_id",
    "region",
    "applicant",
    "competitor_class",
    "filed_for",
    "mw",
    "arrived",
    "headroom_granted",
    "connected",
    "withdrawn",
]


def model_dates(start: str, months: pd.Series) -> pd.Series:
    """Model months (0 = the start of month ``start``) as calendar dates, floored to the day.

    The whole part counts calendar months; the fraction is a share of that month's days.
    """
    first = month_index(start)
    out: list[np.datetime64] = []
    for value in months.to_numpy(dtype=float):
        if math.isnan(value):
            out.append(np.datetime64("NaT", "ns"))
            continue
        whole = math.floor(value)
        year, month = divmod(first + whole, 12)
        days = calendar.monthrange(year, month + 1)[1]
        day = pd.Timestamp(year=year, month=month + 1, day=1)
        out.append((day + pd.Timedelta(days=(value - whole) * days)).floor("D").to_datetime64())
    return pd.Series(np.array(out, dtype="datetime64[ns]"), index=months.index)


def queue_snapshot(
    run: RunDir, fmt: str, as_of: str | None = None, replication: int | None = None
) -> pd.DataFrame:
    """One replication's queue as a ``fmt`` table as of the end of month ``as_of``.

    ``as_of`` defaults to the run's last month, ``replication`` to the run's first.
    """
    if fmt not in EXPORT_FORMATS:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")
    scenario = run.scenario
    chosen_as_of = as_of or scenario.end
    try:
        cut_months = month_index(chosen_as_of) - month_index(scenario.start) + 1
    except ValueError as exc:
        raise UsageError(f"--as-of: {exc}") from None
    if not 1 <= cut_months <= scenario.horizon_months:
        raise UsageError(
            f"--as-of {chosen_as_of}: outside the run's months {scenario.start} to {scenario.end}"
        )
    queue = run.table("queue", _READ)
    available = sorted(int(r) for r in queue["replication"].unique())
    if not available:
        raise UsageError(f"{run.path}: the run's queue table is empty")
    rep = available[0] if replication is None else replication
    if rep not in available:
        raise UsageError(
            f"--replication {rep}: not in the run (replications {available[0]} to {available[-1]})"
        )
    rows = queue[(queue["replication"] == rep) & (queue["arrived"] < cut_months)]
    rows = rows.sort_values(["region", "arrived", "request_id"]).reset_index(drop=True)

    def seen(column: str) -> pd.Series:
        values = rows[column].astype(float)
        return model_dates(scenario.start, values.where(values < cut_months))

    filed = model_dates(scenario.start, rows["arrived"].astype(float))
    withdrawn, connected, agreement = seen("withdrawn"), seen("connected"), seen("headroom_granted")
    ids = rows["region"] + "-" + rows["request_id"].astype(str)
    kind = rows["competitor_class"].where(rows["competitor_class"] != "", rows["applicant"])
    outcome = np.where(
        withdrawn.notna(), "withdrawn", np.where(connected.notna(), "done", "active")
    )
    if fmt == "gridstatus":
        words = {"withdrawn": "Withdrawn", "done": "Completed", "active": "Active"}
        table = pd.DataFrame(
            {
                "Queue ID": ids,
                "Project Name": rows["applicant"] + " " + rows["request_id"].astype(str),
                "Interconnecting Entity": rows["applicant"],
                "Interconnection Location": rows["region"],
                "Generation Type": kind,
                "Capacity (MW)": rows["mw"].astype(float),
                "Queue Date": filed,
                "Status": [words[o] for o in outcome],
                "Withdrawn Date": withdrawn,
                "Actual Completion Date": connected,
            }
        )
        return table.reindex(columns=list(GRIDSTATUS_COLUMNS))
    words = {"withdrawn": "withdrawn", "done": "operational", "active": "active"}
    table = pd.DataFrame(
        {
            "q_id": ids,
            "q_status": [words[o] for o in outcome],
            "q_date": filed,
            "ia_date": agreement,
            "wd_date": withdrawn,
            "on_date": connected,
            "q_year": filed.dt.year,
            "project_name": rows["applicant"] + " " + rows["request_id"].astype(str),
            "entity": rows["applicant"],
            "region": rows["region"],
            "type_clean": kind,
            "mw1": rows["mw"].astype(float),
        }
    )
    return table.reindex(columns=list(QUEUED_UP_COLUMNS))


def write_snapshot(table: pd.DataFrame, path: Path) -> None:
    """Write a snapshot as CSV, Parquet or Excel (by suffix), whole or not at all."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".xlsx"):
        raise UsageError(f"-o {path}: expected a .csv, .parquet or .xlsx file")
    if path.is_dir():
        raise OutputError(f"-o {path}: is a directory")

    def write(staged: Path) -> None:
        if suffix == ".csv":
            table.to_csv(staged, index=False, date_format="%Y-%m-%d")
        elif suffix == ".parquet":
            table.to_parquet(staged, index=False)
        else:
            table.to_excel(staged, index=False, engine="openpyxl")

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    publish_file(path, write)
