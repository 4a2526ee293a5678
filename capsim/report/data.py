"""Tables for memo charts and reports, read from a run directory a few columns at a time.

Every function takes a run directory and returns a small, tidy DataFrame (or dict) that one
chart or report table needs, so ``charts`` stays pure and never touches files itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capsim.errors import UsageError
from capsim.runs.store import read_manifest, read_summary

#: Deal stages of the funnel, in order, with the deals column that records entering each.
FUNNEL_STAGES = (
    ("launched", "launched"),
    ("signed", "signed"),
    ("connected", "grid_connected"),
    ("energised", "first_power"),
)
COST_COLUMNS = ("capex_usd", "energy_usd", "bridge_premium_usd", "unserved_usd")


def check_run_dir(run_dir: Path) -> Path:
    """The run directory, if it is a complete capsim run; a UsageError naming what is missing."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir} is not a directory (expected a capsim run directory)")
    for needed in ("manifest.json", "summary.json", "scenario.yaml", "timeseries.parquet"):
        if not (run_dir / needed).exists():
            raise UsageError(f"{run_dir} is not a complete capsim run (no {needed})")
    return run_dir


def manifest(run_dir: Path) -> dict[str, Any]:
    """The run's manifest.json."""
    return read_manifest(run_dir)


def summary(run_dir: Path) -> dict[str, Any]:
    """The run's summary.json (headline KPIs with mean and quantiles)."""
    return read_summary(run_dir)


def scenario_data(run_dir: Path) -> dict[str, Any]:
    """The resolved scenario that ran, as plain data (scenario.yaml)."""
    import yaml

    data = yaml.safe_load((run_dir / "scenario.yaml").read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def region_names(run_dir: Path) -> dict[str, str]:
    """Region id -> display name from scenario.yaml (the id itself when no name is given)."""
    regions = scenario_data(run_dir).get("regions") or {}
    return {str(key): str((value or {}).get("name") or key) for key, value in regions.items()}


def month_to_date(run_dir: Path, months: pd.Series) -> pd.Series:
    """Model months (floats from the scenario start) -> calendar dates (start + months)."""
    start = pd.Timestamp(str(scenario_data(run_dir).get("start", "2026-01")) + "-01")
    days = months.astype(float) * (365.25 / 12)
    return start + pd.to_timedelta(days, unit="D")


def deals(run_dir: Path, columns: list[str]) -> pd.DataFrame:
    """Some columns of deals.parquet."""
    return pd.read_parquet(run_dir / "deals.parquet", columns=columns)


def time_to_power(run_dir: Path) -> pd.DataFrame:
    """Months from launch to first power of deals launched in the run that reached power."""
    table = deals(run_dir, ["region", "kind", "in_flight", "months_to_first_power"])
    powered = table[~table["in_flight"].astype(bool) & table["months_to_first_power"].notna()]
    return powered[["region", "kind", "months_to_first_power"]].reset_index(drop=True)


def funnel(run_dir: Path) -> pd.DataFrame:
    """Mean deals per replication reaching each funnel stage, lost after it, still under way.

    A deal reaches a stage if it reached that stage or any later one (a colocation lease needs
    no grid connection, so it counts as connected when it is energised). Losses are final
    outcomes (``lost_at_<stage>``, withdrawals) of deals that stopped after the stage.
    Columns: stage, reached, lost, under_way (deals per replication).
    """
    columns = ["replication", "in_flight", "outcome", *(c for _, c in FUNNEL_STAGES)]
    table = deals(run_dir, columns)
    table = table[~table["in_flight"].astype(bool)]
    replications = max(1, int(manifest(run_dir).get("replications", 1)))
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


def queue_waits(run_dir: Path) -> pd.DataFrame:
    """Study and headroom waits in months per request: region, applicant, wait, months."""
    columns = ["region", "applicant", "arrived", "study_start", "study_end", "headroom_granted"]
    table = pd.read_parquet(run_dir / "queue.parquet", columns=columns)
    study = pd.DataFrame(
        {
            "region": table["region"],
            "applicant": table["applicant"],
            "wait": "study",
            "months": table["study_start"] - table["arrived"],
        }
    )
    headroom = pd.DataFrame(
        {
            "region": table["region"],
            "applicant": table["applicant"],
            "wait": "headroom",
            "months": table["headroom_granted"] - table["study_end"],
        }
    )
    out = pd.concat([study, headroom], ignore_index=True)
    return out[out["months"].notna()].reset_index(drop=True)


def regional_quantiles(run_dir: Path) -> pd.DataFrame:
    """Median, P10 and P90 of energised MW by region and month end (long form)."""
    table = pd.read_parquet(run_dir / "regions.parquet", columns=["date", "region", "energized_mw"])
    grouped = table.groupby(["region", "date"], sort=True)["energized_mw"]
    out = grouped.quantile(0.5).rename("p50_mw").to_frame()
    out["p10_mw"] = grouped.quantile(0.1)
    out["p90_mw"] = grouped.quantile(0.9)
    return out.reset_index()


def equipment_backlog(run_dir: Path) -> pd.DataFrame:
    """Mean units on order (ordered, not yet delivered) and delivered to date, per month end.

    Columns: pool, orders (``all`` buyers or ``own``), date, backlog_units, delivered_units
    (cumulative), each the mean over replications. Orders placed before the start (the
    factory's initial backlog) count from month 0.
    """
    table = pd.read_parquet(
        run_dir / "equipment.parquet", columns=["pool", "buyer", "units", "ordered", "delivered"]
    )
    data = scenario_data(run_dir)
    replications = max(1, int(manifest(run_dir).get("replications", 1)))
    months = np.arange(1, _horizon_months(data) + 1, dtype=float)
    frames = []
    for pool, group in table.groupby("pool", sort=True):
        for orders, rows in (("all", group), ("own", group[group["buyer"] == "own"])):
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
    out.insert(2, "date", _month_end(data, out["month"]))
    return out.drop(columns="month")


def _units_by(months_at: pd.Series, units: pd.Series, months: np.ndarray) -> np.ndarray:
    """Total units whose event month is at or before each of ``months`` (NaN: never)."""
    at = months_at.to_numpy(dtype=float)
    known = ~np.isnan(at)
    order = np.argsort(at[known])
    cumulative = np.concatenate([[0.0], np.cumsum(units.to_numpy(dtype=float)[known][order])])
    return cumulative[np.searchsorted(at[known][order], months, side="right")]


def cumulative_costs(run_dir: Path) -> pd.DataFrame:
    """Mean cumulative spend by category and month end (USD): date plus one column per cost."""
    table = pd.read_parquet(
        run_dir / "timeseries.parquet", columns=["replication", "date", *COST_COLUMNS]
    )
    means = table.groupby("date", sort=True)[list(COST_COLUMNS)].mean()
    return means.cumsum().reset_index()


def _horizon_months(data: dict[str, Any]) -> int:
    start = pd.Period(str(data.get("start", "2026-01")), freq="M")
    end = pd.Period(str(data.get("end", data.get("start", "2026-01"))), freq="M")
    return max(1, (end - start).n + 1)


def _month_end(data: dict[str, Any], months: pd.Series) -> pd.Series:
    first = pd.Period(str(data.get("start", "2026-01")), freq="M")
    return pd.Series(
        [(first + int(m) - 1).to_timestamp(how="end").normalize() for m in months],
        index=months.index,
        dtype="datetime64[ns]",
    )
