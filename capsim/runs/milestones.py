"""P-dates: by which month a share of replications has reached each MW milestone.

Each replication's first month end at or above each milestone is kept (``milestones.parquet``:
one row per replication, scope, measure and level), so the P-dates of any percentile follow
from that small table without re-reading every month. A P80 date is the month by which 80% of
replications had reached the level; a quantile that lies past the horizon is ``null``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from capsim.runs.kpis import Percentiles
from capsim.scenario.schema import Scenario

#: Scope of the whole portfolio (the other scopes are region ids).
PORTFOLIO = "portfolio"
#: The measures milestones are read on: grid-energised MW, and that plus bridge (capacity).
MEASURES = ("energized_mw", "capacity_mw")
MILESTONE_COLUMNS = ["replication", "scope", "measure", "mw", "reached_month"]


def first_reached_month(months: np.ndarray, values_mw: np.ndarray, level_mw: float) -> float:
    """First month end whose value is at or above ``level_mw`` (NaN if none is)."""
    hits = np.flatnonzero(values_mw >= level_mw - 1e-9)
    return float(months[hits[0]]) if len(hits) else math.nan


def milestone_table(
    timeseries: pd.DataFrame, regions: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """Per replication, scope, measure and milestone: the first month end it was reached."""
    levels = scenario.milestones()
    rows: list[tuple[int, str, str, float, float]] = []
    if not levels:
        return pd.DataFrame(rows, columns=MILESTONE_COLUMNS)
    regional = regions.assign(capacity_mw=regions["energized_mw"] + regions["bridge_mw"])
    scopes: list[tuple[str, pd.DataFrame]] = [(PORTFOLIO, timeseries)]
    scopes += [(str(r), g) for r, g in regional.groupby("region", sort=False)]
    for scope, table in scopes:
        for rep, frame in table.groupby("replication", sort=True):
            frame = frame.sort_values("month")
            months = frame["month"].to_numpy()
            for measure in MEASURES:
                values = frame[measure].to_numpy()
                for level in levels:
                    month = first_reached_month(months, values, level)
                    rows.append((int(str(rep)), scope, measure, level, month))
    table = pd.DataFrame(rows, columns=MILESTONE_COLUMNS)
    return table.sort_values("replication", kind="stable").reset_index(drop=True)


def month_label(start: str, month: float) -> str:
    """Calendar month 'YYYY-MM' of month end ``month`` (1 = the start month)."""
    return str(pd.Period(start, freq="M") + (int(month) - 1))


def p_dates(
    milestones: pd.DataFrame, scenario: Scenario, percentiles: Percentiles
) -> list[dict[str, Any]]:
    """summary.json's ``p_dates``: one entry per scope, measure and MW level.

    Each percentile key holds the calendar month by which that share of replications had first
    reached the level (a replication that never does ranks after the horizon), or None.
    """
    out: list[dict[str, Any]] = []
    if milestones.empty:
        return out
    order = [PORTFOLIO, *scenario.regions]
    for scope in order:
        for measure in MEASURES:
            chosen = milestones[(milestones["scope"] == scope) & (milestones["measure"] == measure)]
            for level in sorted(float(mw) for mw in chosen["mw"].unique()):
                reached = chosen.loc[chosen["mw"] == level, "reached_month"].to_numpy(dtype=float)
                ranked = np.where(np.isnan(reached), math.inf, reached)
                entry: dict[str, Any] = {"scope": scope, "measure": measure, "mw": level}
                for key, q in percentiles.quantiles.items():
                    month = float(np.quantile(ranked, q, method="inverted_cdf"))
                    entry[key] = (
                        month_label(scenario.start, month) if math.isfinite(month) else None
                    )
                entry["never_share"] = float(np.isnan(reached).mean())
                entry["replications"] = len(reached)
                out.append(entry)
    return out
