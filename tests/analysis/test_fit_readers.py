"""Reading queue files: each format's columns, dates in any form, bad rows by row number."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from capsim.analysis.fit.estimate import durations
from capsim.analysis.fit.readers import (
    parse_column_roles,
    parse_dates,
    read_queue,
)
from capsim.errors import UsageError

HEADER = (
    "Queue ID,Capacity (MW),Queue Date,Status,Withdrawn Date,Actual Completion Date,"
    "Proposed Completion Date,State\n"
)
GRIDSTATUS_CSV = (
    HEADER
    + """\
A,100,2020-01-15,Active,,,2026-01-01,TX
B,50,01/03/2020,Withdrawn,2021-06-01,,,TX
C,20,2020-05-01,Withdrawn,2019-12-01,,,TX
D,30,2020-06-01,Completed,,2022-01-10,,TX
E,0,2020-07-01,Active,,,,TX
F,10,2024-03-01,Active,,,,TX
G,10,not a date,Active,,,,TX
H,10,2020-08-01,Completed,,,,TX
I,10,2020-09-01,Withdrawn,2021-01-01,,2030-01-01,CA
J,10,2020-09-01,Retired,,,,CA
"""
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    """A small file in the test's folder."""
    path = tmp_path / name
    path.write_text(text)
    return path


def test_gridstatus_rows_with_impossible_dates_are_left_out_by_row_number(tmp_path: Path) -> None:
    """Rows 4, 6-9 and 11 cannot be true as of 2023-12; the rest are read, proposed dates aside."""
    data = read_queue(write(tmp_path, "q.csv", GRIDSTATUS_CSV), "gridstatus", as_of="2023-12")
    reasons = {bad.row: bad.reason for bad in data.bad_rows}
    assert sorted(reasons) == [4, 6, 7, 8, 9, 11]
    assert "before the filing date" in reasons[4]
    assert "positive number of MW" in reasons[6]
    assert "after --as-of 2023-12" in reasons[7]
    assert "not a date" in reasons[8]
    assert "connected without a date" in reasons[9]
    assert "unknown status Retired" in reasons[11]
    assert data.requests["id"].tolist() == ["A", "B", "D", "I"]
    assert data.requests["row"].tolist() == [2, 3, 5, 10]
    assert data.requests["filed"].iloc[1] == pd.Timestamp("2020-01-03")
    assert not data.has_agreement


def test_the_as_of_month_defaults_to_the_latest_date(tmp_path: Path) -> None:
    """Without --as-of, the data run to the end of the month of their latest date."""
    text = GRIDSTATUS_CSV.splitlines()
    data = read_queue(
        write(tmp_path, "q.csv", "\n".join([text[0], text[1], text[4]])), "gridstatus"
    )
    assert data.as_of == "2022-01"
    assert data.as_of_end == pd.Timestamp("2022-02-01")


def test_where_keeps_matching_rows_and_an_empty_selection_is_an_error(tmp_path: Path) -> None:
    """--where State=ca keeps the Californian rows (case aside); a value no row has says so."""
    path = write(tmp_path, "q.csv", GRIDSTATUS_CSV)
    data = read_queue(path, "gridstatus", where={"State": ["ca"]}, as_of="2023-12")
    assert data.rows_selected == 2
    assert data.requests["id"].tolist() == ["I"]
    assert data.filters == ["State=ca"]
    with pytest.raises(UsageError, match="no rows left after --where State=NY"):
        read_queue(path, "gridstatus", where={"State": ["NY"]})


def test_missing_columns_are_named_with_the_closest_one(tmp_path: Path) -> None:
    """A misspelt column is named, with the file's closest column suggested."""
    path = write(tmp_path, "q.csv", GRIDSTATUS_CSV.replace("Capacity (MW)", "Capacity MW"))
    with pytest.raises(UsageError) as caught:
        read_queue(path, "gridstatus")
    message = str(caught.value)
    assert "'Capacity (MW)' (mw)" in message
    assert "did you mean 'Capacity MW'?" in message


def test_queued_up_workbook_with_a_title_row_and_agreement_dates(tmp_path: Path) -> None:
    """A workbook with a title above the table is read; agreement dates split study and works."""
    table = pd.DataFrame(
        {
            "q_id": ["a", "b", "c", "d"],
            "q_status": ["operational", "withdrawn", "active", "suspended"],
            "q_date": pd.to_datetime(["2018-01-01", "2018-03-01", "2019-01-01", "2019-06-01"]),
            "ia_date": pd.to_datetime(["2019-01-01", None, "2020-01-01", None]),
            "wd_date": pd.to_datetime([None, "2018-09-01", None, None]),
            "on_date": pd.to_datetime(["2020-07-01", None, None, None]),
            "mw1": [100.0, 20.0, 50.0, 5.0],
        }
    )
    path = tmp_path / "queued_up.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="data", startrow=1, index=False)
        writer.sheets["data"].cell(row=1, column=1, value="Queued Up (made-up rows)")
    data = read_queue(path, "queued-up", as_of="2020-12")
    assert data.bad_rows == []
    assert data.requests["row"].tolist() == [3, 4, 5, 6]
    assert data.has_agreement
    times = durations(data)
    # Withdrawal: only b withdrew (before any agreement); a and c are censored at agreement.
    assert times.withdraw_event.tolist() == [False, True, False, False]
    assert times.study_event.tolist() == [True, False, True, False]
    assert times.works_event.tolist() == [True, False, False, False]
    assert times.works_months[0] == pytest.approx(547 / 30.4375)


def test_csv_format_takes_an_explicit_role_mapping(tmp_path: Path) -> None:
    """--format csv reads any column names given per role; unknown roles list the valid ones."""
    text = "key,size,opened,gone\nx,10,2021-02-03,\ny,20,2021-03-04,2021-09-04\n"
    roles = parse_column_roles(["id=key", "mw=size", "filed=opened", "withdrawn=gone"])
    data = read_queue(write(tmp_path, "q.csv", text), "csv", roles)
    assert data.requests["mw"].tolist() == [10.0, 20.0]
    assert data.as_of == "2021-09"
    with pytest.raises(UsageError, match="valid roles: id, mw, filed, withdrawn, connected"):
        parse_column_roles(["size=size"])
    with pytest.raises(UsageError, match="role 'filed'"):
        read_queue(write(tmp_path, "q.csv", text), "csv", {"mw": "size"})


def test_dates_are_read_in_any_common_form() -> None:
    """ISO, day-month-year text, US numbers and Excel day numbers all give 31 January 2020."""
    values = pd.Series(["2020-01-31", "31 Jan 2020", "01/31/2020", "43861", "", "soon"])
    dates, bad = parse_dates(values)
    assert dates.iloc[:4].tolist() == [pd.Timestamp("2020-01-31")] * 4
    assert pd.isna(dates.iloc[4])
    assert bad.tolist() == [False, False, False, False, False, True]


def test_parquet_with_time_zones_and_its_own_index_is_read(tmp_path: Path) -> None:
    """Zoned timestamps are read as their local dates; a table's own index does not matter."""
    table = pd.DataFrame(
        {
            "Queue ID": ["a", "b"],
            "Capacity (MW)": [10.0, 20.0],
            "Queue Date": pd.to_datetime(["2021-01-05 08:00", "2021-02-01 00:00"]).tz_localize(
                "US/Central"
            ),
            "Status": ["Active", "Withdrawn"],
            "Withdrawn Date": pd.to_datetime([None, "2021-05-01"]).tz_localize("US/Central"),
            "Actual Completion Date": pd.to_datetime([None, None]),
        },
        index=[7, 7],
    )
    path = tmp_path / "q.parquet"
    table.to_parquet(path)
    data = read_queue(path, "gridstatus")
    assert data.bad_rows == []
    assert data.requests["row"].tolist() == [1, 2]
    assert data.requests["filed"].tolist() == [
        pd.Timestamp("2021-01-05"),
        pd.Timestamp("2021-02-01"),
    ]
    assert data.as_of == "2021-05"
