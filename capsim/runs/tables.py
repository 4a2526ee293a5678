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

from capsim.model import delays
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
from capsim.runs.criticality import delay_column, delay_shares
from capsim.runs.fiscal import year_labels
from capsim.runs.kpis import (
    BEYOND_TOLERANCE_IN_YEAR,
    COVERED_BY_HORIZON,
    DEFAULT,
    KPIS,
    MONTHS_TO_FIRST_POWER,
    QUEUE_WAITS,
    SERVED_SHARE_IN_YEAR,
    SHORTFALL_IN_YEAR,
    SUMMARY_WAITS,
    Percentiles,
    yearly_columns,
)
from capsim.runs.milestones import PORTFOLIO, milestone_table, p_dates
from capsim.runs.survival import time_to_power_row
from capsim.scenario.schema import Scenario

TEXT_COLUMNS = {
    "region",
    "applicant",
    "deal_id",
    "kind",
    "outcome",
    "ended_reason",
    "competitor_class",
    "filed_for",
    "scope",
    "measure",
    "pool",
    "buyer",
    "name",
}
INTEGER_COLUMNS = {"replication", "month", "request_id", "units", "claimed_units"}
BOOL_COLUMNS = {"in_flight", "reserved"}

#: Timeseries columns of money actually paid (the unserved-demand penalty is not among them).
CASH_COLUMNS = (
    "capex_usd",
    "energy_usd",
    "bridge_premium_usd",
    "queue_fees_usd",
    "reservation_usd",
)

#: Unit of every KPI, so tables and charts can label them (from the catalogue in ``runs.kpis``).
KPI_UNITS = {kpi.name: kpi.unit for kpi in KPIS}

#: Deal fields that come before and after the per-stage entry months in the deals table.
_DEAL_HEAD = DealRow._fields[: DealRow._fields.index("stage_months")]
_DEAL_TAIL = DealRow._fields[DealRow._fields.index("stage_months") + 1 : -1]
assert DealRow._fields[-1] == "delays"


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
        "deals": _deals(results, stage_names, delay_causes(scenario)),
        "queue": _table(results, "queue", QueueRow._fields),
        "equipment": _table(results, "equipment", EquipmentRow._fields),
        "headroom": _table(results, "headroom", HeadroomRow._fields),
    }
    for name in ("timeseries", "regions"):
        table = out[name]
        table.insert(1, "date", dates[table["month"].to_numpy(dtype=int) - 1])
    out["kpis"] = replication_kpis(out["timeseries"], out["deals"], out["equipment"], scenario)
    out["milestones"] = milestone_table(out["timeseries"], out["regions"], scenario)
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


def delay_causes(scenario: Scenario) -> list[str]:
    """Every cause a deal of this scenario can be delayed by (``delay_<cause>_months`` columns)."""
    stages = [s.name for kind in scenario.deal_kinds.values() for s in kind.stages]
    return delays.causes(list(dict.fromkeys(stages)), list(scenario.equipment))


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


def _deals(
    results: Iterable[ReplicationResult], stage_names: list[str], causes: list[str]
) -> pd.DataFrame:
    """The deals table: a deal's fields, its stage-entry months and its delays by cause.

    Delays are filled for deals that got power (zero for a cause not on their path) and empty
    for the others.
    """
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
            powered = deal.first_power is not None
            for cause in causes:
                row[delay_column(cause)] = deal.delays.get(cause, 0.0) if powered else math.nan
            unknown = set(deal.delays) - set(causes)
            if unknown:
                raise ValueError(f"deal {deal.deal_id} has delay causes {sorted(unknown)} unlisted")
            rows.append(row)
    columns = (
        ["replication", *_DEAL_HEAD]
        + [f"entered_{n}" for n in stage_names]
        + list(_DEAL_TAIL)
        + [delay_column(c) for c in causes]
    )
    table = pd.DataFrame(rows, columns=columns)
    for column in ("signed", "grid_connected", "first_power", "full_power", "ended_month"):
        table[column] = table[column].astype("float64")
    table["months_to_first_power"] = table["first_power"] - table["launched"]
    return table


def replication_kpis(
    timeseries: pd.DataFrame, deals: pd.DataFrame, equipment: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """One row of headline KPIs per replication."""
    reserved = equipment[equipment["reserved"].astype(bool)] if len(equipment) else equipment
    unused_by_rep = (
        (reserved["units"] - reserved["claimed_units"]).groupby(reserved["replication"]).sum()
        if len(reserved)
        else pd.Series(dtype=float)
    )
    existing_mw = scenario.existing_mw
    monthly_discount = (1 + scenario.money.discount_rate_per_year) ** (1 / 12)
    tolerance = scenario.report.shortfall_tolerance
    rows = []
    for rep, ts in timeseries.groupby("replication", sort=True):
        ts = ts.sort_values("month")
        short = ts["shortfall_mw"].to_numpy()
        demand = ts["demand_mw"].to_numpy()
        beyond = np.maximum(0.0, short - tolerance * demand)
        months = ts["month"].to_numpy()
        cash = ts[list(CASH_COLUMNS)].sum(axis=1).to_numpy()
        penalty = ts["unserved_usd"].to_numpy()
        discount = monthly_discount**months
        last = ts.iloc[-1]
        rep_deals = deals[deals["replication"] == rep]
        signed = int(rep_deals["signed"].notna().sum())
        lost = int(rep_deals["outcome"].str.startswith("lost_at_").sum())
        delivered_mw = float(last["energized_mw"]) - existing_mw
        rows.append(
            {
                "replication": int(str(rep)),
                "served_share": served_share(demand, short),
                "committed_served_share": served_share(
                    ts["committed_demand_mw"].to_numpy(), ts["committed_shortfall_mw"].to_numpy()
                ),
                "committed_shortfall_mw_months": float(ts["committed_shortfall_mw"].sum()),
                "shortfall_mw_months": float(short.sum()),
                "shortfall_beyond_tolerance_mw_months": float(beyond.sum()),
                "peak_shortfall_mw": float(short.max()),
                "covered_for_good_month": covered_for_good(months, short),
                "energized_mw_at_horizon": float(last["energized_mw"]),
                "capacity_mw_at_horizon": float(last["capacity_mw"]),
                "demand_mw_at_horizon": float(last["demand_mw"]),
                "bridge_mw_months": float(ts["bridge_mw"].sum()),
                "flexible_mw_months": float(ts["flexible_mw"].sum()),
                "curtailed_mwh": float(ts["curtailed_mwh"].sum()),
                "reserved_units_unused": float(unused_by_rep.get(rep, 0.0)),
                "deals_launched": int((~rep_deals["in_flight"].astype(bool)).sum()),
                "deals_signed": signed,
                "deal_completion_rate": signed / (signed + lost) if signed + lost else math.nan,
                "capex_usd": float(ts["capex_usd"].sum()),
                "energy_usd": float(ts["energy_usd"].sum()),
                "bridge_premium_usd": float(ts["bridge_premium_usd"].sum()),
                "queue_fees_usd": float(ts["queue_fees_usd"].sum()),
                "reservation_usd": float(ts["reservation_usd"].sum()),
                "cash_cost_usd": float(cash.sum()),
                "cash_cost_npv_usd": float((cash / discount).sum()),
                "unserved_penalty_usd": float(penalty.sum()),
                "total_cost_usd": float(cash.sum() + penalty.sum()),
                "cost_npv_usd": float(((cash + penalty) / discount).sum()),
                "cost_per_delivered_mw_usd": float(ts["capex_usd"].sum()) / delivered_mw
                if delivered_mw > 1e-6
                else math.nan,
            }
        )
        years = year_labels(ts["date"], scenario.report.fiscal_year_start_month)
        for year in np.unique(years):
            inside = years == year
            row = rows[-1]
            row[f"{SHORTFALL_IN_YEAR.name}{year}"] = float((short[inside] > 1e-6).any())
            row[f"{BEYOND_TOLERANCE_IN_YEAR.name}{year}"] = float((beyond[inside] > 1e-6).any())
            row[f"{SERVED_SHARE_IN_YEAR.name}{year}"] = served_share(demand[inside], short[inside])
    return pd.DataFrame(rows)


def served_share(demand_mw: np.ndarray, shortfall_mw: np.ndarray) -> float:
    """MW-months served over MW-months demanded (1 when nothing is demanded)."""
    demanded = float(demand_mw.sum())
    return 1.0 if demanded <= 0 else float((demanded - shortfall_mw.sum()) / demanded)


def covered_for_good(months: np.ndarray, shortfall_mw: np.ndarray) -> float:
    """First month from which demand is covered to the horizon (NaN if it never is)."""
    short = np.flatnonzero(shortfall_mw > 1e-6)
    if len(short) == 0:
        return float(months[0])
    if short[-1] == len(months) - 1:
        return math.nan
    return float(months[short[-1] + 1])


def quantile_row(
    values: pd.Series, never_is_late: bool = False, percentiles: Percentiles = DEFAULT
) -> dict[str, float]:
    """Mean, the percentiles asked (the run's ``Percentiles``) and count of a column.

    NaNs are left out, unless ``never_is_late``: then a NaN means "not within the horizon" and
    ranks after every month, so quantiles past the covered share come out as infinity (null in
    JSON) instead of silently describing only the lucky replications.
    """
    raw = values.astype(float)
    clean = raw.fillna(math.inf) if never_is_late else raw.dropna()
    quantiles = percentiles.quantiles
    if clean.empty:
        return {"mean": math.nan, **{k: math.nan for k in quantiles}, "n": 0}
    array = clean.to_numpy()
    row = {"mean": float(array.mean())}
    method = "inverted_cdf" if never_is_late else "linear"
    for key, q in quantiles.items():
        row[key] = float(np.quantile(array, q, method=method))  # type: ignore[call-overload]
    row["n"] = int(clean.size)
    return row


def summarize(
    tables: dict[str, pd.DataFrame], scenario: Scenario, percentiles: Percentiles | None = None
) -> dict[str, Any]:
    """The contents of summary.json: headline KPIs, per-year risks, P-dates, time to power.

    ``percentiles`` default to the scenario's ``report.percentiles``.
    """
    chosen = percentiles or Percentiles.of(scenario)
    kpis = tables["kpis"]
    summary: dict[str, Any] = {
        "report": {
            "percentiles": list(chosen.values),
            "shortfall_tolerance": scenario.report.shortfall_tolerance,
            "milestones_mw": scenario.milestones(),
            "currency": scenario.money.currency,
            "fiscal_year_start_month": scenario.report.fiscal_year_start_month,
        },
        "kpis": {},
    }
    currency = scenario.money.currency
    for kpi in KPIS:
        late = kpi.name == "covered_for_good_month"
        summary["kpis"][kpi.name] = {
            "unit": kpi.unit.replace("USD", currency),  # money in the reporting currency
            **quantile_row(kpis[kpi.name], never_is_late=late, percentiles=chosen),
        }
    summary["kpis"][COVERED_BY_HORIZON.name] = {
        "unit": COVERED_BY_HORIZON.unit,
        **quantile_row(kpis["covered_for_good_month"].notna().astype(float), percentiles=chosen),
    }
    for key, base in YEARLY_SUMMARY.items():
        summary[key] = {
            year: float(kpis[column].mean())
            for column, year in yearly_columns(base, list(kpis.columns)).items()
        }
    summary["p_dates"] = p_dates(tables["milestones"], scenario, chosen)
    deals = tables["deals"]
    launched = deals[~deals["in_flight"].astype(bool)]
    horizon = float(scenario.horizon_months)
    summary["time_to_power"] = {
        PORTFOLIO: time_to_power_row(launched, horizon),
        **{
            group: {str(k): time_to_power_row(g, horizon) for k, g in launched.groupby(column)}
            for group, column in (("by_kind", "kind"), ("by_region", "region"))
        },
    }
    summary[MONTHS_TO_FIRST_POWER.name] = {
        group: {
            str(k): _powered_only_row(g, chosen)
            for k, g in launched.groupby(group.removeprefix("by_"))
        }
        for group in ("by_kind", "by_region")
    }
    summary["criticality"] = delay_shares(deals)
    queue = tables["queue"]
    own = queue[queue["applicant"] == OWN]
    summary["queue_waits_months"] = {
        str(region): {
            wait.name: quantile_row(wait.months(g), percentiles=chosen) for wait in SUMMARY_WAITS
        }
        for region, g in own.groupby("region")
    }
    return summary


#: summary.json key of each per-year probability or share, and its KPI family.
YEARLY_SUMMARY = {
    "shortfall_probability_by_year": SHORTFALL_IN_YEAR,
    "beyond_tolerance_probability_by_year": BEYOND_TOLERANCE_IN_YEAR,
    "served_share_by_year": SERVED_SHARE_IN_YEAR,
}


def _powered_only_row(launched: pd.DataFrame, percentiles: Percentiles) -> dict[str, float]:
    """Months from launch to first power over the deals that got power, with the share that did.

    Deals that died or were still waiting at the horizon are not in these quantiles, so they
    understate the wait of a deal just launched; ``powered_share`` says how many are left out
    (``time_to_power`` gives the honest incidence).
    """
    powered = launched["first_power"].notna()
    row = quantile_row(launched.loc[powered, "months_to_first_power"], percentiles=percentiles)
    row["launched"] = len(launched)
    row["powered_share"] = float(powered.mean()) if len(launched) else math.nan
    return row


def summary_rows(summary: dict[str, Any]) -> pd.DataFrame:
    """summary.json flattened into one row per figure (the contents of summary.csv).

    P-dates hold calendar months ('YYYY-MM') in the percentile columns; shares and
    probabilities hold their value in ``mean``.
    """
    percentiles = Percentiles.of_summary(summary)
    rows = [{"kpi": name, **values} for name, values in summary["kpis"].items()]
    for key, base in YEARLY_SUMMARY.items():
        prefix = key.removesuffix("_by_year")
        for year, p in summary[key].items():
            rows.append({"kpi": f"{prefix}_{year}", "unit": base.unit, "mean": p})
    for entry in summary["p_dates"]:
        rows.append(
            {
                "kpi": f"p_date_{entry['scope']}_{entry['measure']}_{entry['mw']:g}",
                "unit": "YYYY-MM",
                "mean": None,
                **{k: entry[k] for k in percentiles.keys},
                "n": entry["replications"],
            }
        )
    ttp = summary["time_to_power"]
    scopes = [(PORTFOLIO, ttp[PORTFOLIO])]
    scopes += [(f"{g[3:]}_{k}", v) for g in ("by_kind", "by_region") for k, v in ttp[g].items()]
    for scope, row in scopes:
        rows.append(
            {"kpi": f"powered_share_{scope}", "unit": "fraction", "mean": row["powered_share"]}
        )
        rows.append(
            {
                "kpi": f"months_to_50pct_powered_{scope}",
                "unit": "months",
                "mean": row["months_to_50pct_powered"],
                "n": row["launched"],
            }
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
    for scope, held in summary["criticality"].items():
        for cause, values in held["causes"].items():
            rows.append(
                {"kpi": f"delay_share_{scope}_{cause}", "unit": "fraction", "mean": values["share"]}
            )
    for region, waits in summary["queue_waits_months"].items():
        for wait, values in waits.items():
            unit = QUEUE_WAITS[wait].kpi.unit
            rows.append({"kpi": f"{wait}_{region}", "unit": unit, **values})
    columns = ["kpi", "unit", "mean", *percentiles.keys, "n"]
    return pd.DataFrame(rows).reindex(columns=columns)
