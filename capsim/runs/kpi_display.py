"""How memo documents show a KPI: GW, GW-months, USD bn, percentages and calendar dates.

The catalogue (``kpis``) keeps each KPI's model unit (MW, USD, months from the start); a memo
reads better in the units an investment committee uses. ``memo_format(kpi)`` gives the display
unit, the divisor, the text format and the spreadsheet number format of a KPI, so the report, the
deck and the workbook show one figure the same way, from the same function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from capsim.runs.kpis import Kpi

#: Spreadsheet format of calendar dates (a month end shown as its month).
EXCEL_DATE = "mmm yyyy"


@dataclass(frozen=True)
class MemoFormat:
    """A KPI's display: unit people see, divisor, Python text format, spreadsheet format.

    ``calendar`` marks KPIs counted in months from the scenario start, shown as calendar months.
    """

    unit: str
    scale: float
    text: str
    excel: str
    calendar: bool = False

    def value(self, value: float | None, start: str) -> float | date | None:
        """The figure in display units (a month-end date for calendar KPIs); None if empty.

        ``start`` is the scenario's first month ('YYYY-MM'). Infinity (never) stays infinity, and
        an empty calendar figure is infinity too (summary.json writes a month never reached as
        null).
        """
        if value is None or math.isnan(value):
            return math.inf if self.calendar else None
        if math.isinf(value):
            return value
        if self.calendar:
            return month_end(start, value)
        return value / self.scale

    def format(self, value: float | None, start: str) -> str:
        """One figure as text: '1.25', '78.6%', 'Aug 2029'; '-' if empty, 'never' if past."""
        shown = self.value(value, start)
        if shown is None:
            return "-"
        if isinstance(shown, date):
            return shown.strftime("%b %Y")
        if math.isinf(shown):
            return "never"
        return self.text.format(shown)


#: The memo display of each KPI kind.
_BY_KIND: dict[str, MemoFormat] = {
    "mw": MemoFormat("GW", 1e3, "{:,.2f}", "#,##0.00"),
    "mw_months": MemoFormat("GW-months", 1e3, "{:,.1f}", "#,##0.0"),
    "mwh": MemoFormat("GWh", 1e3, "{:,.1f}", "#,##0.0"),
    "usd": MemoFormat("USD bn", 1e9, "{:,.2f}", "#,##0.00"),
    "usd_per_mw": MemoFormat("USD m per MW", 1e6, "{:,.2f}", "#,##0.00"),
    "months": MemoFormat("months", 1.0, "{:,.1f}", "#,##0.0"),
    "month": MemoFormat("date", 1.0, "", EXCEL_DATE, calendar=True),
    "share": MemoFormat("%", 1.0, "{:.1%}", "0.0%"),
    "probability": MemoFormat("%", 1.0, "{:.0%}", "0%"),
    "count": MemoFormat("count", 1.0, "{:,.1f}", "#,##0.0"),
}


def memo_format(kpi: Kpi) -> MemoFormat:
    """The memo display of one catalogue KPI."""
    return _BY_KIND[kpi.kind]


def month_end(start: str, month: float) -> date:
    """Model month ``month`` (1 = the start month; fractions rounded up) as its month-end date."""
    year, first = (int(part) for part in start.split("-")[:2])
    index = first - 1 + max(0, math.ceil(month) - 1)
    year, number = year + index // 12, index % 12 + 1
    following = date(year + number // 12, number % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)
