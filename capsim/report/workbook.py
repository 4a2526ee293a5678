"""Tables as an Excel workbook an analyst can use as it opens.

Every numeric cell gets a number format (a column's own from ``frame.attrs["number_formats"]``,
else one read from its type and header: thousands separators, percentages, dates), dates are
real dates, header rows are bold and frozen, and columns are as wide as their content. Text
that a spreadsheet would run as a formula (``=1+2``) stays text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pathlib import Path

#: Spreadsheet formats by kind of column.
WHOLE = "#,##0"
DECIMAL = "#,##0.00"
PERCENT = "0.0%"
DATE = "yyyy-mm-dd"
#: Key of a DataFrame's ``attrs`` that maps column names to spreadsheet number formats.
FORMATS_KEY = "number_formats"
#: Key of a DataFrame's ``attrs`` with one number format per row (rows of different units),
#: used for the columns without a declared format.
ROW_FORMATS_KEY = "row_number_formats"
#: Leading characters that make a spreadsheet read a text cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Rows read to size a column (a deal table may hold 200,000).
WIDTH_SAMPLE_ROWS = 2000
MIN_WIDTH, MAX_WIDTH = 8, 70


def column_format(frame: pd.DataFrame, column: Any) -> str | None:
    """The number format of a column: its declared one, else from its type and header."""
    declared = frame.attrs.get(FORMATS_KEY, {})
    if column in declared:
        return str(declared[column])
    series = frame[column]
    header = str(column).lower()
    if pd.api.types.is_datetime64_any_dtype(series):
        return DATE
    if pd.api.types.is_bool_dtype(series):
        return WHOLE
    if pd.api.types.is_integer_dtype(series):
        return "0" if header in ("year", "replication", "chunk") else WHOLE
    if pd.api.types.is_float_dtype(series):
        if "(%)" in header or "(fraction)" in header or "probability" in header:
            return PERCENT
        return DECIMAL
    if series.map(lambda v: isinstance(v, dt.date)).any():
        return DATE
    return DECIMAL if series.map(_is_number).any() else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def excel_value(value: Any) -> Any:
    """Plain Python values for openpyxl; NaN and infinity become empty cells."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_row(
    sheet: Any, row: int, values: Sequence[Any], formats: Sequence[str | None] = ()
) -> None:
    """Write one row in which text such as ``=1+2`` stays text and numbers get their format.

    Such text is stored as a string with a quote prefix, so no spreadsheet runs it as a formula.
    """
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            value = _NOT_IN_XML.sub(lambda m: ascii(m.group())[1:-1], value)
        cell = sheet.cell(row=row, column=column, value=value)
        if isinstance(value, str):
            if value.startswith(FORMULA_PREFIXES):
                cell.data_type = "s"
                cell.quotePrefix = True
        elif value is not None and column <= len(formats) and formats[column - 1]:
            cell.number_format = formats[column - 1]
        elif isinstance(value, dt.date):
            cell.number_format = DATE
        elif _is_number(value):
            cell.number_format = DECIMAL if isinstance(value, float) else WHOLE


def _width(frame: pd.DataFrame, column: Any, number_format: str | None) -> float:
    """A column's width in characters: its header or its longest sampled value."""
    sample = frame[column].head(WIDTH_SAMPLE_ROWS)
    longest = 0
    for value in sample:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        if isinstance(value, float | int) and not isinstance(value, bool):
            text = f"{value:,.2f}" if number_format != PERCENT else f"{value:.1%}"
        elif isinstance(value, dt.date | pd.Timestamp):
            text = "2030-12-31"
        else:
            text = str(value)
        longest = max(longest, len(text))
    header = len(str(column))
    return float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2, min(header + 2, 40))))


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """One sheet per table: formats on every number, fitted widths, bold frozen header."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name[:31])
        formats = [column_format(frame, c) for c in frame.columns]
        declared = frame.attrs.get(FORMATS_KEY, {})
        by_row = frame.attrs.get(ROW_FORMATS_KEY)
        write_row(sheet, 1, [str(c) for c in frame.columns])
        for number, row in enumerate(frame.itertuples(index=False), start=2):
            row_formats = formats
            if by_row is not None:
                row_formats = [
                    f if c in declared else by_row[number - 2]
                    for c, f in zip(frame.columns, formats, strict=True)
                ]
            write_row(sheet, number, [excel_value(v) for v in row], row_formats)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A2"
        for i, column in enumerate(frame.columns, start=1):
            letter = sheet.cell(row=1, column=i).column_letter
            sheet.column_dimensions[letter].width = _width(frame, column, formats[i - 1])
    book.save(str(path))
