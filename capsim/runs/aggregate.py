"""Summaries and monthly bands computed from a run's Parquet parts, one table column at a time.

Nothing here holds every month of every replication of every table at once: the summary needs
the per-replication KPIs and a few columns of deals and our own queue requests; the fan chart
needs four timeseries columns; the regional stack is summed part by part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capsim.model.records import OWN
from capsim.runs.criticality import delay_causes_in, delay_column
from capsim.runs.kpis import SUMMARY_WAITS, Percentiles, wait_columns
from capsim.runs.rundir import RunDir, parquet_columns, read_parquet, read_table
from capsim.runs.tables import summarize
from capsim.scenario.schema import Scenario

#: Deal columns the summary reads besides the delays: identity, launch, power and end.
DEAL_COLUMNS_FOR_SUMMARY = [
    "kind",
    "region",
    "mw",
    "in_flight",
    "launched",
    "first_power",
    "months_to_first_power",
    "ended_month",
]
QUEUE_COLUMNS_FOR_SUMMARY = ["replication", "region", "applicant", *wait_columns(SUMMARY_WAITS)]


def summary_from_parts(
    run_dir: Path, scenario: Scenario, percentiles: Percentiles | None = None
) -> dict[str, Any]:
    """summary.json's contents from the parts of a run (percentiles: the scenario's if None)."""
    delay_columns = [
        delay_column(c) for c in delay_causes_in(parquet_columns(run_dir / "deals.parquet"))
    ]
    tables = {
        "kpis": read_table(run_dir, "kpis"),
        "milestones": read_table(run_dir, "milestones"),
        "deals": read_table(run_dir, "deals", [*DEAL_COLUMNS_FOR_SUMMARY, *delay_columns]),
        "queue": read_table(
            run_dir, "queue", QUEUE_COLUMNS_FOR_SUMMARY, filters=[("applicant", "==", OWN)]
        ),
    }
    return summarize(tables, scenario, percentiles)


BANDED = ("demand_mw", "capacity_mw", "energized_mw", "bridge_mw", "shortfall_mw")


def monthly_bands(run: RunDir, percentiles: Percentiles | None = None) -> pd.DataFrame:
    """Per month end: percentiles of demand, capacity and shortfall; shortfall probability.

    ``percentiles`` default to those of the run's scenario (a staged run's too).

    Rows are stored replication by replication, months in order (checked, not assumed), so each
    column reshapes to a (replications x months) array; one column is read at a time, so the
    memory needed stays a few columns' worth.
    """
    path = run.path / "timeseries.parquet"
    month = read_parquet(path, columns=["month"])["month"].to_numpy()
    months = int(month.max())
    replications = len(month) // months
    if (
        len(month) != replications * months
        or not (month.reshape(replications, months) == np.arange(1, months + 1)).all()
    ):
        raise ValueError(f"{path} is not stored replication by replication, month by month")
    del month
    chosen = percentiles or Percentiles.of(run.scenario)
    first_part = sorted(path.glob("part-*.parquet"))[0]
    dates = read_parquet(first_part, columns=["date"])["date"].to_numpy()[:months]
    out = pd.DataFrame({"date": dates})
    for column in BANDED:
        values = read_parquet(path, columns=[column])[column].to_numpy()
        grid = values.reshape(replications, months)
        for tag, q in chosen.quantiles.items():
            out[f"{column[:-3]}_{tag}_mw"] = np.quantile(grid, q, axis=0)
        if column == "shortfall_mw":
            out["shortfall_probability"] = (grid > 1e-6).mean(axis=0)
    out["replications"] = replications
    return out


def regional_means(run: RunDir) -> pd.DataFrame:
    """Mean energised MW per region and month end, summed part by part (stackable layers)."""
    folder = run.path / "regions.parquet"
    total: pd.DataFrame | None = None
    replications: set[int] = set()
    for part in sorted(folder.glob("part-*.parquet")):
        frame = read_parquet(part, columns=["replication", "date", "region", "energized_mw"])
        replications.update(int(r) for r in frame["replication"].unique())
        sums = frame.groupby(["date", "region"])["energized_mw"].sum()
        total = sums.to_frame() if total is None else total.add(sums.to_frame(), fill_value=0.0)
    if total is None:
        return pd.DataFrame(columns=["date"])
    means = (total["energized_mw"] / max(1, len(replications))).unstack("region").sort_index()
    return means.reset_index()
