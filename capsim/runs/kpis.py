"""The KPI catalogue: every headline figure's name, unit, label, display format and meaning.

One place says what each column of ``kpis.parquet`` and each entry of ``summary.json`` is, which
percentiles summaries report, and how each grid queue wait is measured, so the tables, the
summary and the CLI cannot drift apart. Imports no pandas at run time, so the CLI stays quick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

#: Percentiles every summary reports, over replications.
PERCENTILES: tuple[int, ...] = (10, 50, 90)
#: Summary key of each percentile and its quantile: ``{"p10": 0.1, "p50": 0.5, "p90": 0.9}``.
QUANTILES: dict[str, float] = {f"p{p}": p / 100 for p in PERCENTILES}
#: Column header of each percentile for people: ``{"p10": "P10", ...}``.
PERCENTILE_LABELS: dict[str, str] = {f"p{p}": f"P{p}" for p in PERCENTILES}

KpiKind = Literal[
    "mw", "mw_months", "usd", "usd_per_mw", "months", "month", "share", "probability", "count"
]

#: Per kind: the divisor of a value for display and the unit people see.
_DISPLAY: dict[str, tuple[float, str]] = {
    "mw": (1.0, "MW"),
    "mw_months": (1.0, "MW-months"),
    "usd": (1e6, "USD m"),
    "usd_per_mw": (1e6, "USD m"),
    "months": (1.0, "months"),
    "month": (1.0, "month"),
    "share": (1.0, ""),
    "probability": (1.0, ""),
    "count": (1.0, ""),
}


@dataclass(frozen=True)
class Kpi:
    """One headline figure: its column name, unit (as written to summaries), label and format."""

    name: str
    unit: str
    label: str
    kind: KpiKind
    description: str
    number_format: str = "{:,.0f}"

    @property
    def scale(self) -> float:
        """Divisor that turns a value into the display unit (USD into USD millions)."""
        return _DISPLAY[self.kind][0]

    @property
    def display_unit(self) -> str:
        """Unit people see next to the label ('' for shares, probabilities and counts)."""
        return _DISPLAY[self.kind][1]

    @property
    def title(self) -> str:
        """Label with its display unit, as a table row heading."""
        return f"{self.label} ({self.display_unit})" if self.display_unit else self.label

    def format(self, value: float | None) -> str:
        """One value in display units: '-' when empty, 'never' when past the horizon."""
        if value is None or math.isnan(value):
            return "-"
        if math.isinf(value):
            return "never"
        return self.number_format.format(value / self.scale)


#: Every per-replication KPI column of ``kpis.parquet`` (bar the per-year shortfall), in order.
KPIS: tuple[Kpi, ...] = (
    Kpi(
        "shortfall_mw_months",
        "MW-months",
        "shortfall",
        "mw_months",
        "Demand not covered, summed over the month ends of the horizon.",
    ),
    Kpi(
        "peak_shortfall_mw",
        "MW",
        "peak shortfall",
        "mw",
        "Largest month-end shortfall over the horizon.",
    ),
    Kpi(
        "covered_for_good_month",
        "months from start",
        "covered for good",
        "month",
        "First month from which demand is covered to the horizon (never if it is not).",
    ),
    Kpi(
        "energized_mw_at_horizon",
        "MW",
        "energised at horizon",
        "mw",
        "Energised capacity, existing included, at the last month end.",
    ),
    Kpi(
        "capacity_mw_at_horizon",
        "MW",
        "capacity at horizon",
        "mw",
        "Energised plus bridge capacity at the last month end.",
    ),
    Kpi(
        "demand_mw_at_horizon",
        "MW",
        "demand at horizon",
        "mw",
        "Facility demand at the last month end.",
    ),
    Kpi(
        "bridge_mw_months",
        "MW-months",
        "bridge",
        "mw_months",
        "Bridge power in use, summed over the month ends of the horizon.",
        "{:,.2f}",
    ),
    Kpi(
        "deals_launched",
        "deals",
        "deals launched",
        "count",
        "Deals launched during the run (deals in flight at the start not counted).",
    ),
    Kpi(
        "deals_signed",
        "deals",
        "deals signed",
        "count",
        "Deals that reached signature by the horizon.",
    ),
    Kpi(
        "deal_completion_rate",
        "fraction",
        "deal completion rate",
        "share",
        "Signed deals over deals that were signed or lost (deals still open left out).",
        "{:.2f}",
    ),
    Kpi("capex_usd", "USD", "capex", "usd", "Capital spent as phases energise."),
    Kpi("energy_usd", "USD", "energy cost", "usd", "Energy paid for capacity serving demand."),
    Kpi(
        "bridge_premium_usd",
        "USD",
        "bridge premium",
        "usd",
        "Premium paid for bridge power over grid energy.",
    ),
    Kpi(
        "unserved_usd",
        "USD",
        "unserved demand cost",
        "usd",
        "Lost margin on demand not covered.",
    ),
    Kpi(
        "total_cost_usd",
        "USD",
        "total cost",
        "usd",
        "Capex, energy, bridge premium and unserved cost over the horizon.",
    ),
    Kpi(
        "cost_npv_usd",
        "USD",
        "cost NPV",
        "usd",
        "Total cost discounted monthly to the start at the scenario's discount rate.",
    ),
    Kpi(
        "cost_per_delivered_mw_usd",
        "USD/MW",
        "cost per delivered MW",
        "usd_per_mw",
        "Capex over MW energised beyond the existing capacity (empty if none was delivered).",
        "{:,.1f}",
    ),
)

#: Share of replications covered for good within the horizon (in summary.json's ``kpis``).
COVERED_BY_HORIZON = Kpi(
    "covered_by_horizon",
    "probability",
    "covered by horizon",
    "probability",
    "Share of replications in which demand is covered for good before the horizon.",
    "{:.0%}",
)
#: Per-replication flag of a calendar year with any month-end shortfall; its mean is the
#: year's shortfall probability. ``name`` is the column prefix, the year follows it.
SHORTFALL_IN_YEAR = Kpi(
    "shortfall_in_",
    "probability",
    "P(shortfall)",
    "probability",
    "1 if the replication is short at any month end of the calendar year, else 0.",
    "{:.0%}",
)
#: Months from launch to first power of the deals that got power, by deal kind or region.
MONTHS_TO_FIRST_POWER = Kpi(
    "months_to_first_power_of_powered_deals",
    "months",
    "months to first power",
    "months",
    "Months from launch to first power over the deals that got power (others left out).",
)


@dataclass(frozen=True)
class QueueWait:
    """A wait of a grid connection request: months from one step's column to a later one's.

    A request that never reached the later step has no wait (NaN), so quantiles leave it out.
    """

    kpi: Kpi
    start: str
    end: str

    @property
    def name(self) -> str:
        """The wait's name, as keyed in summary.json."""
        return self.kpi.name

    def months(self, queue: pd.DataFrame) -> pd.Series:
        """Months of this wait for every request of a queue table."""
        return queue[self.end] - queue[self.start]


STUDY_WAIT = QueueWait(
    Kpi(
        "study_wait",
        "months",
        "study wait",
        "months",
        "Months from filing a connection request to the start of its study.",
        "{:,.1f}",
    ),
    start="arrived",
    end="study_start",
)
CONNECTION_WAIT = QueueWait(
    Kpi(
        "connection_wait",
        "months",
        "connection wait",
        "months",
        "Months from the end of a request's study to its connection (headroom and works).",
        "{:,.1f}",
    ),
    start="study_end",
    end="connected",
)
HEADROOM_WAIT = QueueWait(
    Kpi(
        "headroom_wait",
        "months",
        "headroom wait",
        "months",
        "Months from the end of a request's study to the grid granting it headroom.",
        "{:,.1f}",
    ),
    start="study_end",
    end="headroom_granted",
)
STUDY_DURATION = QueueWait(
    Kpi(
        "study_months",
        "months",
        "study duration",
        "months",
        "Months a request's study took, from its start to its end.",
        "{:,.1f}",
    ),
    start="study_start",
    end="study_end",
)
REQUEST_TO_STUDY_END = QueueWait(
    Kpi(
        "request_to_study_end_months",
        "months",
        "request to study end",
        "months",
        "Months from filing a connection request to the end of its study.",
        "{:,.1f}",
    ),
    start="arrived",
    end="study_end",
)
REQUEST_TO_CONNECTION = QueueWait(
    Kpi(
        "request_to_connection_months",
        "months",
        "request to connection",
        "months",
        "Months from filing a connection request to its connection.",
        "{:,.1f}",
    ),
    start="arrived",
    end="connected",
)
#: The queue waits summary.json reports per region for our requests, in order.
SUMMARY_WAITS: tuple[QueueWait, ...] = (STUDY_WAIT, CONNECTION_WAIT)
#: Every queue wait, by name (calibration targets measure the last three).
QUEUE_WAITS: dict[str, QueueWait] = {
    w.name: w
    for w in (
        STUDY_WAIT,
        CONNECTION_WAIT,
        HEADROOM_WAIT,
        STUDY_DURATION,
        REQUEST_TO_STUDY_END,
        REQUEST_TO_CONNECTION,
    )
}

#: Every catalogue entry by name (the per-year shortfall under its column prefix).
CATALOGUE: dict[str, Kpi] = {
    k.name: k
    for k in (
        *KPIS,
        COVERED_BY_HORIZON,
        SHORTFALL_IN_YEAR,
        MONTHS_TO_FIRST_POWER,
        *(w.kpi for w in QUEUE_WAITS.values()),
    )
}


def wait_columns(waits: Sequence[QueueWait]) -> list[str]:
    """Queue table columns the given waits need, each once, in first-use order."""
    return list(dict.fromkeys(c for w in waits for c in (w.start, w.end)))


def shortfall_in_year(year: int | str) -> Kpi:
    """The per-year shortfall KPI of one calendar year (a column of ``kpis.parquet``)."""
    base = SHORTFALL_IN_YEAR
    return Kpi(
        f"{base.name}{year}",
        base.unit,
        f"{base.label} {year}",
        base.kind,
        base.description,
        base.number_format,
    )


def lookup(name: str) -> Kpi:
    """The catalogue entry of a KPI column or summary key; KeyError if it has none."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    year = name.removeprefix(SHORTFALL_IN_YEAR.name)
    if year != name and year.isdigit():
        return shortfall_in_year(year)
    raise KeyError(f"no KPI {name!r} in the catalogue")
