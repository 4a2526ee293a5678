"""tables.xlsx: a number format on every number, real dates, the monthly bands sheet."""

from __future__ import annotations

import datetime as dt

from documents_fixture import documented_run
from openpyxl import load_workbook

SHEETS = [
    "KPIs",
    "cost",
    "per year",
    "per region",
    "P-dates",
    "monthly bands",
    "delays by cause",
    "deals",
    "assumptions",
]


def test_every_numeric_cell_has_a_number_format_and_dates_are_dates() -> None:
    book = load_workbook(documented_run() / "tables.xlsx")
    assert book.sheetnames == SHEETS
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, bool) or cell.value is None:
                    continue
                if isinstance(cell.value, int | float | dt.date):
                    assert cell.number_format != "General", (sheet.title, cell.coordinate)
                if isinstance(cell.value, dt.datetime | dt.date):
                    assert cell.is_date, (sheet.title, cell.coordinate)


def test_monthly_bands_sheet_has_the_runs_percentiles_of_each_measure() -> None:
    book = load_workbook(documented_run() / "tables.xlsx")
    rows = list(book["monthly bands"].iter_rows(values_only=True))
    header = list(rows[0])
    for measure in ("demand", "capacity", "shortfall"):
        for p in (10, 50, 80, 90):
            assert f"{measure} P{p} (MW)" in header
    assert isinstance(rows[1][0], dt.datetime)
    assert len(rows) - 1 == 96  # Jan 2026 to Dec 2033


def test_kpi_sheet_dates_and_percentages_are_typed() -> None:
    book = load_workbook(documented_run() / "tables.xlsx")
    sheet = book["KPIs"]
    header = [c.value for c in sheet[1]]
    by_key = {row[header.index("key")].value: row for row in sheet.iter_rows(min_row=2)}
    served = by_key["served_share"][header.index("mean (unit)")]
    assert served.number_format.endswith("%") and 0 <= served.value <= 1
    cash = by_key["cash_cost_usd"][header.index("unit")]
    assert cash.value == "USD bn"
    widths = [d.width for d in sheet.column_dimensions.values()]
    assert max(widths) > 10  # fitted to the labels, not left at the default
