"""The KPI catalogue: every headline figure's name, unit, label, display format and meaning.

One place says what each column of ``kpis.parquet`` and each entry of ``summary.json`` is, which
percentiles summaries report, and how each grid queue wait is measured, so the tables, the
summary and the CLI cannot drift apart. Imports no pandas at run time, so the CLI stays quick.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from capsim.runs.fiscal import is_year_label
from capsim.scenario.schema import DEFAULT_PERCENTILES, Scenario

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Percentiles:
    """The percentiles over replications a run reports (the scenario's ``report.percentiles``).

    Summary keys are ``p10``, ``p50``...; people see ``P10``, ``P50``...; the median is always
    among them, and bands run from the lowest to the highest.
    """

    values: tuple[int, ...] = DEFAULT_PERCENTILES

    def __post_init__(self) -> None:
        if 50 not in self.values or list(self.values) != sorted(set(self.values)):
            raise ValueError(f"percentiles {self.values} must increase and include 50")
        if not all(1 <= p <= 99 for p in self.values):
            raise ValueError(f"percentiles {self.values} must lie between 1 and 99")

    @classmethod
    def of(cls, scenario: Scenario) -> Percentiles:
        """The percentiles a scenario asks for."""
        return cls(tuple(scenario.report.percentiles))

    @classmethod
    def of_summary(cls, summary: Mapping[str, Any]) -> Percentiles:
        """The percentiles a summary.json reports (its ``report.percentiles``)."""
        return cls(tuple(summary["report"]["percentiles"]))

    @classmethod
    def parse(cls, text: str) -> Percentiles:
        """Percentiles from '10,50,80,90'; ValueError saying what is wrong otherwise."""
        try:
            values = tuple(int(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise ValueError(
                f"percentiles {text!r} are not whole numbers; expected e.g. '10,50,80,90'"
            ) from None
        return cls(values)

    @property
    def keys(self) -> tuple[str, ...]:
        """Summary keys: ``("p10", "p50", ...)``."""
        return tuple(f"p{p}" for p in self.values)

    @property
    def quantiles(self) -> dict[str, float]:
        """Summary key of each percentile and its quantile: ``{"p10": 0.1, ...}``."""
        return {f"p{p}": p / 100 for p in self.values}

    @property
    def labels(self) -> dict[str, str]:
        """Heading of each percentile for people: ``{"p10": "P10", ...}``."""
        return {f"p{p}": f"P{p}" for p in self.values}

    @property
    def low(self) -> str:
        """Key of the lowest percentile (the bottom of every band)."""
        return f"p{self.values[0]}"

    @property
    def high(self) -> str:
        """Key of the highest percentile (the top of every band)."""
        return f"p{self.values[-1]}"

    @property
    def band_label(self) -> str:
        """How people read the band, e.g. 'P10-P90'."""
        return f"P{self.values[0]}-P{self.values[-1]}"


#: The percentiles reported when nothing says otherwise.
DEFAULT = Percentiles()

KpiKind = Literal[
    "mw",
    "mw_months",
    "mwh",
    "usd",
    "usd_per_mw",
    "months",
    "month",
    "share",
    "probability",
    "count",
]

#: Per kind: the divisor of a value for display and the unit people see.
_DISPLAY: dict[str, tuple[float, str]] = {
    "mw": (1.0, "MW"),
    "mw_months": (1.0, "MW-months"),
    "mwh": (1e3, "GWh"),
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
        "served_share",
        "fraction",
        "served share",
        "share",
        "Demand-weighted share served: MW-months served over MW-months demanded.",
        "{:.1%}",
    ),
    Kpi(
        "committed_served_share",
        "fraction",
        "committed served share",
        "share",
        "Share of committed demand's MW-months served (committed demand is served first).",
        "{:.1%}",
    ),
    Kpi(
        "committed_shortfall_mw_months",
        "MW-months",
        "committed shortfall",
        "mw_months",
        "Committed demand not covered, summed over the month ends of the horizon.",
    ),
    Kpi(
        "shortfall_mw_months",
        "MW-months",
        "shortfall",
        "mw_months",
        "Demand not covered, summed over the month ends of the horizon.",
    ),
    Kpi(
        "shortfall_beyond_tolerance_mw_months",
        "MW-months",
        "shortfall beyond tolerance",
        "mw_months",
        "Shortfall above the tolerated share of demand, summed over the month ends.",
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
        "flexible_mw_months",
        "MW-months",
        "flexible (non-firm) connection",
        "mw_months",
        "Non-firm connected MW before curtailment, summed over the month ends.",
        "{:,.2f}",
    ),
    Kpi(
        "curtailed_mwh",
        "MWh",
        "curtailed energy",
        "mwh",
        "Energy of flexible connections curtailed over the horizon.",
    ),
    Kpi(
        "reserved_units_unused",
        "units",
        "reserved equipment units unused",
        "count",
        "Units reserved ahead of need that no deal had claimed by the horizon.",
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
        "queue_fees_usd",
        "USD",
        "queue deposits and fees",
        "usd",
        "Grid queue deposits and milestone payments of our requests, less refunds.",
    ),
    Kpi(
        "reservation_usd",
        "USD",
        "factory slot deposits",
        "usd",
        "Deposits paid on equipment units reserved ahead of need.",
    ),
    Kpi(
        "cash_cost_usd",
        "USD",
        "cash cost",
        "usd",
        "Money actually paid over the horizon: capex, energy, bridge premium, queue fees "
        "and slot deposits.",
    ),
    Kpi(
        "cash_cost_npv_usd",
        "USD",
        "cash cost NPV",
        "usd",
        "Cash cost discounted monthly to the start at the scenario's discount rate.",
    ),
    Kpi(
        "unserved_penalty_usd",
        "USD",
        "unserved-demand penalty",
        "usd",
        "Notional lost margin on demand not covered (not a payment).",
    ),
    Kpi(
        "total_cost_usd",
        "USD",
        "total cost including the penalty",
        "usd",
        "Cash cost plus the unserved-demand penalty over the horizon.",
    ),
    Kpi(
        "cost_npv_usd",
        "USD",
        "total cost NPV including the penalty",
        "usd",
        "Total cost (penalty included) discounted monthly to the start.",
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
#: Per-replication flag of a calendar year with any month-end shortfall, however small; its
#: mean is the year's probability of any shortfall. ``name`` is the column prefix, the year
#: follows it.
SHORTFALL_IN_YEAR = Kpi(
    "shortfall_in_",
    "probability",
    "P(any shortfall)",
    "probability",
    "1 if the replication is short by any amount at any month end of the year, else 0.",
    "{:.0%}",
)
#: Per-replication flag of a calendar year in which some month's shortfall exceeds the
#: tolerated share of demand; its mean is the year's probability of a real shortfall.
BEYOND_TOLERANCE_IN_YEAR = Kpi(
    "beyond_tolerance_in_",
    "probability",
    "P(shortfall beyond tolerance)",
    "probability",
    "1 if some month end of the year is short by more than the tolerated share, else 0.",
    "{:.0%}",
)
#: Per-replication served share of one calendar year.
SERVED_SHARE_IN_YEAR = Kpi(
    "served_share_in_",
    "fraction",
    "served share",
    "share",
    "MW-months served over MW-months demanded in the calendar year.",
    "{:.1%}",
)
#: Every per-year KPI family, each a column prefix followed by the year.
YEARLY: tuple[Kpi, ...] = (SHORTFALL_IN_YEAR, BEYOND_TOLERANCE_IN_YEAR, SERVED_SHARE_IN_YEAR)
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
        *YEARLY,
        MONTHS_TO_FIRST_POWER,
        *(w.kpi for w in QUEUE_WAITS.values()),
    )
}


def wait_columns(waits: Sequence[QueueWait]) -> list[str]:
    """Queue table columns the given waits need, each once, in first-use order."""
    return list(dict.fromkeys(c for w in waits for c in (w.start, w.end)))


def in_year(base: Kpi, year: int | str) -> Kpi:
    """A per-year KPI of one year (a column of ``kpis.parquet``), e.g. 2028's or FY2028's."""
    return Kpi(
        f"{base.name}{year}",
        base.unit,
        f"{base.label} {year}",
        base.kind,
        base.description,
        base.number_format,
    )


def shortfall_in_year(year: int | str) -> Kpi:
    """The per-year any-shortfall KPI of one calendar year."""
    return in_year(SHORTFALL_IN_YEAR, year)


def yearly_columns(base: Kpi, columns: Sequence[str]) -> dict[str, str]:
    """The year of every column of ``columns`` in a per-year family: ``{column: year}``."""
    out = {}
    for column in columns:
        year = column.removeprefix(base.name)
        if year != column and is_year_label(year):
            out[column] = year
    return out


def lookup(name: str) -> Kpi:
    """The catalogue entry of a KPI column or summary key; KeyError if it has none."""
    if name in CATALOGUE:
        return CATALOGUE[name]
    for base in YEARLY:
        year = name.removeprefix(base.name)
        if year != name and is_year_label(year):
            return in_year(base, year)
    raise KeyError(f"no KPI {name!r} in the catalogue")
