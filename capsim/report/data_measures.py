"""Tables for the measure charts (time to power, delay causes, KPI spreads, P-dates), from a run.

Each function reads a few columns of a run (or a part of its summary) and returns the small table
one chart needs, so ``charts_measures`` stays pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from capsim.report.data import per_run
from capsim.runs.milestones import PORTFOLIO
from capsim.runs.rundir import RunDir
from capsim.runs.survival import POWERED, cumulative_incidence, deal_outcomes

#: Deal columns the incidence of first power needs.
LAUNCH_COLUMNS = ["kind", "region", "in_flight", "launched", "first_power", "ended_month"]
#: KPI columns whose spread over replications the distribution chart draws, in panel order.
DISTRIBUTION_KPIS = ("served_share", "shortfall_beyond_tolerance_mw_months", "cash_cost_usd")
#: The milestone measure the P-dates chart reads: grid-energised MW (bridge power left out).
P_DATES_MEASURE = "energized_mw"


@dataclass(frozen=True)
class Incidence:
    """One group's cumulative incidence of first power, its launched deals and powered share."""

    name: str
    curve: pd.DataFrame
    launched: int
    powered_share: float

    @property
    def plateau(self) -> float:
        """Share of launched deals that ever get power within the horizon (the curve's end)."""
        return float(self.curve["power_incidence"].iloc[-1]) if len(self.curve) else 0.0


@per_run
def launched_deals(run: RunDir) -> pd.DataFrame:
    """Deals launched during the run (not in flight at the start), pooled over replications."""
    table = run.table("deals", LAUNCH_COLUMNS)
    return table[~table["in_flight"].astype(bool)].reset_index(drop=True)


def incidence_by(deals: pd.DataFrame, column: str, horizon_months: float) -> list[Incidence]:
    """Aalen-Johansen incidence of first power per value of ``column`` (``kind``, ``region``)."""
    out: list[Incidence] = []
    for key, group in deals.groupby(column, sort=True):
        months, outcome = deal_outcomes(group, horizon_months)
        share = float((outcome == POWERED).mean()) if len(outcome) else math.nan
        out.append(Incidence(str(key), cumulative_incidence(months, outcome), len(group), share))
    return out


def delay_share_table(criticality: dict[str, Any]) -> pd.DataFrame:
    """summary["criticality"] as rows of scope, cause, share (portfolio first), path order kept.

    Scopes with no powered deal or no delay at all are left out.
    """
    rows = []
    for scope, held in criticality.items():
        causes = held.get("causes", {})
        if int(held.get("powered_deals", 0)) == 0 or not any(
            float(v["share"]) > 0 for v in causes.values()
        ):
            continue
        rows += [
            {"scope": str(scope), "cause": str(c), "share": float(v["share"])}
            for c, v in causes.items()
        ]
    table = pd.DataFrame(rows, columns=["scope", "cause", "share"])
    first = table["scope"] == PORTFOLIO
    return pd.concat([table[first], table[~first]], ignore_index=True)


@per_run
def kpi_samples(run: RunDir) -> pd.DataFrame:
    """Per replication: served share, shortfall beyond tolerance (MW-months), cash cost (USD)."""
    return run.table("kpis", list(DISTRIBUTION_KPIS))


def portfolio_p_dates(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The summary's P-dates of the whole portfolio's energised MW, by increasing level."""
    entries = [
        e
        for e in summary.get("p_dates", [])
        if e["scope"] == PORTFOLIO and e["measure"] == P_DATES_MEASURE
    ]
    return sorted(entries, key=lambda e: float(e["mw"]))


def month_end(month: str) -> pd.Timestamp:
    """The month-end date of a 'YYYY-MM' month, as the run's monthly tables date it."""
    return pd.Period(month, freq="M").to_timestamp(how="end").normalize()
