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
    OWN,
    DealRow,
    EquipmentRow,
    HeadroomRow,
    QueueRow,
    RegionRow,
    TimeseriesRow,
)
from capsim.model.world import ReplicationResult
from capsim.runs.kpis import (
    COVERED_BY_HORIZON,
    KPIS,
    MONTHS_TO_FIRST_POWER,
    QUANTILES,
    QUEUE_WAITS,
    SHORTFALL_IN_YEAR,
    SUMMARY_WAITS,
)
from capsim.scenario.schema import Scenario

TEXT_COLUMNS = {"region", "applicant", "deal_id", "kind", "outcome", "pool", "buyer", "name"}
INTEGER_COLUMNS = {"replication", "month", "request_id", "units"}
BOOL_COLUMNS = {"in_flight"}

#: Unit of every KPI, so tables and charts can label them (from the catalogue in ``runs.kpis``).
KPI_UNITS = {kpi.name: kpi.unit for kpi in KPIS}

#: Deal fields that come before and after the per-stage entry months in the deals table.
_DEAL_HEAD = DealRow._fields[: DealRow._fields.index("stage_months")]
_DEAL_TAIL = DealRow._fields[DealRow._fields.index("stage_months") + 1 :]


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
        "timeseries": _table(results, "timeseries", TimeseriesRow._fields),
        "regions": _table(results, "regions", RegionRow._fields),
        "deals": _deals(results, stage_names),
        "queue": _table(results, "queue", QueueRow._fields),
        "equipment": _table(results, "equipment", EquipmentRow._fields),
        "headroom": _table(results, "headroom", HeadroomRow._fields),
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
    """Every deal stage of the scenario's kinds, each once, then construction and bridge."""
    names: list[str] = []
    for kind in scenario.deal_kinds.values():
        for stage in kind.stages:
            if stage.name not in names:
                names.append(stage.name)
    return [*names, "construction", "bridge"]


def _table(results: Iterable[ReplicationResult], attr: str, columns: Sequence[str]) -> pd.DataFrame:
    """One record list of every replication as a table, the named row fields as its columns."""
    rows: list[tuple[Any, ...]] = []
    for result in results:
        rep = result.replication
        rows.extend((rep, *row) for row in getattr(result.recorder, attr))
    table = pd.DataFrame.from_records(rows, columns=["replication", *columns])
    return table.astype({"replication": "int64"})


def _deals(results: Iterable[ReplicationResult], stage_names: list[str]) -> pd.DataFrame:
    """The deals table: a deal's fields with its stage-entry months spread over named columns."""
    rows = []
    for result in results:
        for deal in result.recorder.deals:
            record = deal._asdict()
            stages = deal.stage_months
            row: dict[str, Any] = {"replication": result.replication}
            row.update({k: record[k] for k in _DEAL_HEAD})
            for name in stage_names:
                row[f"entered_{name}"] = stages.get(name, math.nan)
            row.update({k: record[k] for k in _DEAL_TAIL})
            rows.append(row)
    columns = (
        ["replication", *_DEAL_HEAD] + [f"entered_{n}" for n in stage_names] + list(_DEAL_TAIL)
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
    """Mean, the summary percentiles (``QUANTILES``) and count of a column.

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
    """The headline KPIs with mean and percentiles (the contents of summary.json)."""
    kpis = tables["kpis"]
    summary: dict[str, Any] = {"kpis": {}, "shortfall_probability_by_year": {}}
    for kpi in KPIS:
        late = kpi.name == "covered_for_good_month"
        summary["kpis"][kpi.name] = {
            "unit": kpi.unit,
            **quantile_row(kpis[kpi.name], never_is_late=late),
        }
    summary["kpis"][COVERED_BY_HORIZON.name] = {
        "unit": COVERED_BY_HORIZON.unit,
        **quantile_row(kpis["covered_for_good_month"].notna().astype(float)),
    }
    for column in kpis.columns:
        if column.startswith(SHORTFALL_IN_YEAR.name):
            year = column.removeprefix(SHORTFALL_IN_YEAR.name)
            summary["shortfall_probability_by_year"][year] = float(kpis[column].mean())
    deals = tables["deals"]
    launched = deals[~deals["in_flight"].astype(bool)]
    summary[MONTHS_TO_FIRST_POWER.name] = {
        group: {
            str(k): _powered_only_row(g) for k, g in launched.groupby(group.removeprefix("by_"))
        }
        for group in ("by_kind", "by_region")
    }
    queue = tables["queue"]
    own = queue[queue["applicant"] == OWN]
    summary["queue_waits_months"] = {
        str(region): {wait.name: quantile_row(wait.months(g)) for wait in SUMMARY_WAITS}
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
        rows.append(
            {"kpi": f"shortfall_probability_{year}", "unit": SHORTFALL_IN_YEAR.unit, "mean": p}
        )
    for group, stats in summary[MONTHS_TO_FIRST_POWER.name].items():
        for key, values in stats.items():
            figures = {k: v for k, v in values.items() if k not in ("launched", "powered_share")}
            rows.append(
                {
                    "kpi": f"{MONTHS_TO_FIRST_POWER.name}_{group[3:]}_{key}",
                    "unit": MONTHS_TO_FIRST_POWER.unit,
                    **figures,
                }
            )
    for region, waits in summary["queue_waits_months"].items():
        for wait, values in waits.items():
            unit = QUEUE_WAITS[wait].kpi.unit
            rows.append({"kpi": f"{wait}_{region}", "unit": unit, **values})
    columns = ["kpi", "unit", "mean", *QUANTILES, "n"]
    return pd.DataFrame(rows).reindex(columns=columns)
