"""Tables for memo charts and reports, read from a run a few columns at a time.

Every function takes an open run (``RunDir``) and returns a small, tidy DataFrame (or dict) that one
chart or report table needs, so ``charts`` stays pure and never touches files itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from capsim.model.records import OWN
from capsim.runs.kpis import HEADROOM_WAIT, STUDY_WAIT, Percentiles
from capsim.runs.rundir import RunDir
from capsim.runs.tables import CASH_COLUMNS

#: Deal stages of the funnel, in order, with the deals column that records entering each.
FUNNEL_STAGES = (
    ("launched", "launched"),
    ("signed", "signed"),
    ("connected", "grid_connected"),
    ("energised", "first_power"),
)
#: Timeseries column of the notional unserved-demand penalty (lost margin, not a payment).
PENALTY_COLUMN = "unserved_usd"
#: Cost categories of the breakdown: the cash paid, then the notional penalty.
COST_COLUMNS = (*CASH_COLUMNS, PENALTY_COLUMN)
#: What people see for each cost category.
COST_LABELS = {
    "capex_usd": "capex",
    "energy_usd": "energy",
    "bridge_premium_usd": "bridge premium",
    PENALTY_COLUMN: "unserved-demand penalty (notional)",
}


Table = TypeVar("Table", bound=Callable[..., pd.DataFrame])


def per_run(function: Table) -> Table:
    """Compute a table once per open run and hand each caller its own copy.

    The chart and its takeaway (and the documents) ask for the same table; the copy keeps one
    caller's changes from reaching another.
    """

    @functools.wraps(function)
    def shared(run: RunDir, *args: Any) -> pd.DataFrame:
        key = (function.__module__, function.__qualname__, args)
        return run.computed(key, lambda: function(run, *args)).copy()

    return shared  # type: ignore[return-value]


def run_percentiles(run: RunDir) -> Percentiles:
    """The percentiles the run's summary reports, which every table and takeaway follows."""
    return Percentiles.of_summary(run.summary)


def region_names(run: RunDir) -> dict[str, str]:
    """Region id -> display name from the run's scenario (the id itself when no name is given)."""
    return {str(key): str(region.name or key) for key, region in run.scenario.regions.items()}


def deals(run: RunDir, columns: list[str]) -> pd.DataFrame:
    """Some columns of deals.parquet."""
    return run.table("deals", columns)


@per_run
def funnel(run: RunDir) -> pd.DataFrame:
    """Mean deals per replication reaching each funnel stage, lost after it, still under way.

    A deal reaches a stage if it reached that stage or any later one (a colocation lease needs
    no grid connection, so it counts as connected when it is energised). Losses are final
    outcomes (``lost_at_<stage>``, withdrawals) of deals that stopped after the stage.
    Columns: stage, reached, lost, under_way (deals per replication).
    """
    columns = ["replication", "in_flight", "outcome", *(c for _, c in FUNNEL_STAGES)]
    table = deals(run, columns)
    table = table[~table["in_flight"].astype(bool)]
    replications = max(1, run.replications)
    outcome = table["outcome"].astype(str)
    lost = outcome.str.startswith("lost_at_") | outcome.str.endswith("withdrawn")
    reached = [
        table[[c for _, c in FUNNEL_STAGES[i:]]].notna().any(axis=1)
        for i in range(len(FUNNEL_STAGES))
    ]
    rows = []
    for i, (stage, _) in enumerate(FUNNEL_STAGES):
        stopped = reached[i] & ~reached[i + 1] if i + 1 < len(reached) else reached[i] & False
        rows.append(
            {
                "stage": stage,
                "reached": reached[i].sum() / replications,
                "lost": (stopped & lost).sum() / replications,
                "under_way": (stopped & ~lost).sum() / replications,
            }
        )
    return pd.DataFrame(rows)


@per_run
def queue_waits(run: RunDir) -> pd.DataFrame:
    """Study and headroom waits in months per request: region, applicant, wait, months."""
    columns = ["region", "applicant", "arrived", "study_start", "study_end", "headroom_granted"]
    table = run.table("queue", columns)
    study = pd.DataFrame(
        {
            "region": table["region"],
            "applicant": table["applicant"],
            "wait": "study",
            "months": STUDY_WAIT.months(table),
        }
    )
    headroom = pd.DataFrame(
        {
            "region": table["region"],
            "applicant": table["applicant"],
            "wait": "headroom",
            "months": HEADROOM_WAIT.months(table),
        }
    )
    out = pd.concat([study, headroom], ignore_index=True)
    return out[out["months"].notna()].reset_index(drop=True)


@per_run
def regional_quantiles(run: RunDir, percentiles: Percentiles | None = None) -> pd.DataFrame:
    """Percentiles of energised MW by region and month end (long form): ``p50_mw`` and so on.

    ``percentiles`` default to those the run reports (``run_percentiles``).
    """
    chosen = percentiles or run_percentiles(run)
    table = run.table("regions", ["date", "region", "energized_mw"])
    grouped = table.groupby(["region", "date"], sort=True)["energized_mw"]
    out = pd.DataFrame({f"{key}_mw": grouped.quantile(q) for key, q in chosen.quantiles.items()})
    return out.reset_index()


@per_run
def equipment_backlog(run: RunDir) -> pd.DataFrame:
    """Mean units on order (ordered, not yet delivered) and delivered to date, per month end.

    Columns: pool, orders (``all`` buyers or ``own``), date, backlog_units, delivered_units
    (cumulative), each the mean over replications. Orders placed before the start (the
    factory's initial backlog) count from month 0.
    """
    table = run.table("equipment", ["pool", "buyer", "units", "ordered", "delivered"])
    replications = max(1, run.replications)
    months = np.arange(1, run.horizon_months + 1, dtype=float)
    frames = []
    for pool, group in table.groupby("pool", sort=True):
        for orders, rows in (("all", group), (OWN, group[group["buyer"] == OWN])):
            ordered_units = _units_by(rows["ordered"], rows["units"], months)
            delivered_units = _units_by(rows["delivered"], rows["units"], months)
            frames.append(
                pd.DataFrame(
                    {
                        "pool": str(pool),
                        "orders": orders,
                        "month": months,
                        "backlog_units": (ordered_units - delivered_units) / replications,
                        "delivered_units": delivered_units / replications,
                    }
                )
            )
    columns = ["pool", "orders", "month", "backlog_units", "delivered_units"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    dates = run.month_end(out["month"]).to_numpy()
    out.insert(2, "date", pd.Series(dates, index=out.index, dtype="datetime64[ns]"))
    return out.drop(columns="month")


def _units_by(months_at: pd.Series, units: pd.Series, months: np.ndarray) -> np.ndarray:
    """Total units whose event month is at or before each of ``months`` (NaN: never)."""
    at = months_at.to_numpy(dtype=float)
    known = ~np.isnan(at)
    order = np.argsort(at[known])
    cumulative = np.concatenate([[0.0], np.cumsum(units.to_numpy(dtype=float)[known][order])])
    return cumulative[np.searchsorted(at[known][order], months, side="right")]


@per_run
def cumulative_costs(run: RunDir) -> pd.DataFrame:
    """Mean cumulative cost by category and month end (USD): date plus one column per category.

    The cash categories come first; ``PENALTY_COLUMN`` is the notional unserved-demand penalty.
    """
    table = run.table("timeseries", ["replication", "date", *COST_COLUMNS])
    means = table.groupby("date", sort=True)[list(COST_COLUMNS)].mean()
    return means.cumsum().reset_index()
