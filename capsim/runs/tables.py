"""Records -> tidy DataFrames, per-replication KPIs and their quantiles.

Monthly tables get real calendar dates (month ends). KPIs are computed per replication first
(``kpis`` table), so that summaries need only that small table plus the deal and queue tables,
never every month of every replication at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from capsim.model.records import (
    DEAL_COLUMNS,
    EQUIPMENT_COLUMNS,
    HEADROOM_COLUMNS,
    QUEUE_COLUMNS,
    REGION_COLUMNS,
    TIMESERIES_COLUMNS,
)
from capsim.model.world import ReplicationResult
from capsim.scenario.schema import Scenario

TEXT_COLUMNS = {"region", "applicant", "deal_id", "kind", "outcome", "pool", "buyer", "name"}
INTEGER_COLUMNS = {"replication", "month", "request_id", "units"}
BOOL_COLUMNS = {"in_flight"}

QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}

#: Unit of every KPI, so tables and charts can label them.
KPI_UNITS = {
    "shortfall_mw_months": "MW-months",
    "peak_shortfall_mw": "MW",
    "covered_for_good_month": "months from start",
    "energized_mw_at_horizon": "MW",
    "capacity_mw_at_horizon": "MW",
    "demand_mw_at_horizon": "MW",
    "bridge_mw_months": "MW-months",
    "deals_launched": "deals",
    "deals_signed": "deals",
    "deal_completion_rate": "fraction",
    "capex_usd": "USD",
    "energy_usd": "USD",
    "bridge_premium_usd": "USD",
    "unserved_usd": "USD",
    "total_cost_usd": "USD",
    "cost_npv_usd": "USD",
    "cost_per_delivered_mw_usd": "USD/MW",
}


def month_end_dates(start: str, months: int) -> pd.DatetimeIndex:
    """Calendar month-end dates for months 1..``months`` of a run starting in ``start``."""
    first = pd.Period(start, freq="M")
    return pd.DatetimeIndex(
        [(first + k).to_timestamp(how="end").normalize() for k in range(months)]
    )


def frames(results: Sequence[ReplicationResult], scenario: Scenario) -> dict[str, pd.DataFrame]:
    """All output tables for a set of replications, with a ``replication`` column each."""
    dates = month_end_dates(scenario.start, scenario.horizon_months)
    stage_names = _stage_names(scenario)
    out = {
        "timeseries": _table(results, "timeseries", TIMESERIES_COLUMNS),
        "regions": _table(results, "regions", REGION_COLUMNS),
        "deals": _deals(results, stage_names),
        "queue": _table(results, "queue", QUEUE_COLUMNS),
        "equipment": _table(results, "equipment", EQUIPMENT_COLUMNS),
        "headroom": _table(results, "headroom", HEADROOM_COLUMNS),
    }
    for name in ("timeseries", "regions"):
        table = out[name]
        table.insert(1, "date", dates[table["month"].to_numpy(dtype=int) - 1])
    out["kpis"] = replication_kpis(out["timeseries"], out["deals"], scenario)
    return {name: typed(table) for name, table in out.items()}


def typed(table: pd.DataFrame) -> pd.DataFrame:
    """Give every column a fixed type, so that Parquet parts of any chunk share one schema."""
    types: dict[str, Any] = {}
    for column in table.columns:
        if column == "date":
            continue
        if column in TEXT_COLUMNS:
            types[column] = "str"
        elif column in INTEGER_COLUMNS:
            types[column] = "int64"
        elif column in BOOL_COLUMNS:
            types[column] = "bool"
        else:
            types[column] = "float64"
    return table.astype(types)


def _stage_names(scenario: Scenario) -> list[str]:
    names: list[str] = []
    for kind in scenario.deal_kinds.values():
        for stage in kind.stages:
            if stage.name not in names:
                names.append(stage.name)
    return [*names, "construction", "bridge"]


def _table(results: Iterable[ReplicationResult], attr: str, columns: Sequence[str]) -> pd.DataFrame:
    rows: list[tuple[Any, ...]] = []
    for result in results:
        rep = result.replication
        rows.extend((rep, *row) for row in getattr(result.recorder, attr))
    table = pd.DataFrame.from_records(rows, columns=["replication", *columns])
    return table.astype({"replication": "int64"})


def _deals(results: Iterable[ReplicationResult], stage_names: list[str]) -> pd.DataFrame:
    rows = []
    for result in results:
        for raw in result.recorder.deals:
            record = dict(zip(DEAL_COLUMNS, raw, strict=True))
            stages: dict[str, float] = record.pop("stage_months")  # type: ignore[assignment]
            row: dict[str, Any] = {"replication": result.replication}
            row.update({k: record[k] for k in DEAL_COLUMNS[:6]})
            for name in stage_names:
                row[f"entered_{name}"] = stages.get(name, math.nan)
            row.update({k: record[k] for k in DEAL_COLUMNS[7:]})
            rows.append(row)
    columns = (
        ["replication", *DEAL_COLUMNS[:6]]
        + [f"entered_{n}" for n in stage_names]
        + list(DEAL_COLUMNS[7:])
    )
    table = pd.DataFrame(rows, columns=columns)
    for column in ("signed", "grid_connected", "first_power", "full_power"):
        table[column] = table[column].astype("float64")
    table["months_to_first_power"] = table["first_power"] - table["launched"]
    return table


def replication_kpis(
    timeseries: pd.DataFrame, deals: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """One row of headline KPIs per replication."""
    existing_mw = sum(r.existing_mw for r in scenario.regions.values())
    monthly_discount = (1 + scenario.money.discount_rate_per_year) ** (1 / 12)
    rows = []
    for rep, ts in timeseries.groupby("replication", sort=True):
        ts = ts.sort_values("month")
        short = ts["shortfall_mw"].to_numpy()
        months = ts["month"].to_numpy()
        cost = ts[["capex_usd", "energy_usd", "bridge_premium_usd", "unserved_usd"]].sum(axis=1)
        last = ts.iloc[-1]
        rep_deals = deals[deals["replication"] == rep]
        signed = int(rep_deals["signed"].notna().sum())
        lost = int(rep_deals["outcome"].str.startswith("lost_at_").sum())
        delivered_mw = float(last["energized_mw"]) - existing_mw
        rows.append(
            {
                "replication": int(str(rep)),
                "shortfall_mw_months": float(short.sum()),
                "peak_shortfall_mw": float(short.max()),
                "covered_for_good_month": covered_for_good(months, short),
                "energized_mw_at_horizon": float(last["energized_mw"]),
                "capacity_mw_at_horizon": float(last["capacity_mw"]),
                "demand_mw_at_horizon": float(last["demand_mw"]),
                "bridge_mw_months": float(ts["bridge_mw"].sum()),
                "deals_launched": int((~rep_deals["in_flight"].astype(bool)).sum()),
                "deals_signed": signed,
                "deal_completion_rate": signed / (signed + lost) if signed + lost else math.nan,
                "capex_usd": float(ts["capex_usd"].sum()),
                "energy_usd": float(ts["energy_usd"].sum()),
                "bridge_premium_usd": float(ts["bridge_premium_usd"].sum()),
                "unserved_usd": float(ts["unserved_usd"].sum()),
                "total_cost_usd": float(cost.sum()),
                "cost_npv_usd": float((cost.to_numpy() / monthly_discount**months).sum()),
                "cost_per_delivered_mw_usd": float(ts["capex_usd"].sum()) / delivered_mw
                if delivered_mw > 1e-6
                else math.nan,
            }
        )
        for year, short_year in ts.groupby(ts["date"].dt.year)["shortfall_mw"]:
            rows[-1][f"shortfall_in_{year}"] = float((short_year > 1e-6).any())
    return pd.DataFrame(rows)


def covered_for_good(months: np.ndarray, shortfall_mw: np.ndarray) -> float:
    """First month from which demand is covered to the horizon (NaN if it never is)."""
    short = np.flatnonzero(shortfall_mw > 1e-6)
    if len(short) == 0:
        return float(months[0])
    if short[-1] == len(months) - 1:
        return math.nan
    return float(months[short[-1] + 1])


def quantile_row(values: pd.Series, never_is_late: bool = False) -> dict[str, float]:
    """Mean, P10, P50, P90 and count of a column.

    NaNs are left out, unless ``never_is_late``: then a NaN means "not within the horizon" and
    ranks after every month, so quantiles past the covered share come out as infinity (null in
    JSON) instead of silently describing only the lucky replications.
    """
    raw = values.astype(float)
    clean = raw.fillna(math.inf) if never_is_late else raw.dropna()
    if clean.empty:
        return {"mean": math.nan, **{k: math.nan for k in QUANTILES}, "n": 0}
    array = clean.to_numpy()
    row = {"mean": float(array.mean())}
    method = "inverted_cdf" if never_is_late else "linear"
    for key, q in QUANTILES.items():
        row[key] = float(np.quantile(array, q, method=method))  # type: ignore[call-overload]
    row["n"] = int(clean.size)
    return row


def summarize(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The headline KPIs with mean, P10, P50, P90 (the contents of summary.json)."""
    kpis = tables["kpis"]
    summary: dict[str, Any] = {"kpis": {}, "shortfall_probability_by_year": {}}
    for name, unit in KPI_UNITS.items():
        late = name == "covered_for_good_month"
        summary["kpis"][name] = {"unit": unit, **quantile_row(kpis[name], never_is_late=late)}
    summary["kpis"]["covered_by_horizon"] = {
        "unit": "probability",
        **quantile_row(kpis["covered_for_good_month"].notna().astype(float)),
    }
    for column in kpis.columns:
        if column.startswith("shortfall_in_"):
            summary["shortfall_probability_by_year"][column[-4:]] = float(kpis[column].mean())
    deals = tables["deals"]
    launched = deals[~deals["in_flight"].astype(bool)]
    summary["months_to_first_power_of_powered_deals"] = {
        group: {
            str(k): _powered_only_row(g) for k, g in launched.groupby(group.removeprefix("by_"))
        }
        for group in ("by_kind", "by_region")
    }
    queue = tables["queue"]
    own = queue[queue["applicant"] == "own"]
    summary["queue_waits_months"] = {
        str(region): {
            "study_wait": quantile_row(g["study_start"] - g["arrived"]),
            "connection_wait": quantile_row(g["connected"] - g["study_end"]),
        }
        for region, g in own.groupby("region")
    }
    return summary


def _powered_only_row(launched: pd.DataFrame) -> dict[str, float]:
    """Months from launch to first power over the deals that got power, with the share that did.

    Deals that died or were still waiting at the horizon are not in these quantiles, so they
    understate the wait of a deal just launched; ``powered_share`` says how many are left out.
    """
    powered = launched["first_power"].notna()
    row = quantile_row(launched.loc[powered, "months_to_first_power"])
    row["launched"] = len(launched)
    row["powered_share"] = float(powered.mean()) if len(launched) else math.nan
    return row


def summary_rows(summary: dict[str, Any]) -> pd.DataFrame:
    """summary.json flattened into one row per figure (the contents of summary.csv)."""
    rows = [{"kpi": name, **values} for name, values in summary["kpis"].items()]
    for year, p in summary["shortfall_probability_by_year"].items():
        rows.append({"kpi": f"shortfall_probability_{year}", "unit": "probability", "mean": p})
    for group, stats in summary["months_to_first_power_of_powered_deals"].items():
        for key, values in stats.items():
            figures = {k: v for k, v in values.items() if k not in ("launched", "powered_share")}
            rows.append(
                {
                    "kpi": f"months_to_first_power_of_powered_deals_{group[3:]}_{key}",
                    "unit": "months",
                    **figures,
                }
            )
    for region, waits in summary["queue_waits_months"].items():
        for wait, values in waits.items():
            rows.append({"kpi": f"{wait}_{region}", "unit": "months", **values})
    columns = ["kpi", "unit", "mean", *QUANTILES, "n"]
    return pd.DataFrame(rows).reindex(columns=columns)
