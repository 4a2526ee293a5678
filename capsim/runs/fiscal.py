"""Where years are cut: calendar years, or fiscal years that start in another month.

``report.fiscal_year_start_month`` says in which calendar month a year of the per-year tables
begins (1: calendar years). A fiscal year is named by the calendar year in which it ends, so
with April (4) the months Apr 2027-Mar 2028 are ``FY2028``; calendar years keep their plain
number (``2028``), so that a scenario that does not ask for fiscal years reports as before.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: The month calendar years start in (the default of ``report.fiscal_year_start_month``).
CALENDAR = 1
_LABEL = re.compile(r"^(FY)?\d{4}$")


def year_of(year: int, month: int, start_month: int = CALENDAR) -> int:
    """The (fiscal) year a calendar month belongs to: the calendar year in which it ends."""
    return year + 1 if start_month != CALENDAR and month >= start_month else year


def year_label(year: int, start_month: int = CALENDAR) -> str:
    """How a year is written: '2028' for calendar years, 'FY2028' for fiscal ones."""
    return str(year) if start_month == CALENDAR else f"FY{year}"


def year_labels(dates: pd.Series, start_month: int = CALENDAR) -> np.ndarray:
    """The year label of every date of a column (month ends of a monthly table)."""
    import numpy as np
    import pandas as pd

    stamps = pd.to_datetime(dates)
    years = stamps.dt.year.to_numpy()
    if start_month != CALENDAR:
        years = years + (stamps.dt.month.to_numpy() >= start_month)
    return np.array([year_label(int(y), start_month) for y in years], dtype=object)


def is_year_label(text: str) -> bool:
    """Whether ``text`` names a year as the per-year tables do ('2028' or 'FY2028')."""
    return _LABEL.match(text) is not None


def year_heading(start_month: int = CALENDAR) -> str:
    """The heading of a per-year column: 'year', or 'fiscal year' when years are fiscal."""
    return "year" if start_month == CALENDAR else "fiscal year"
