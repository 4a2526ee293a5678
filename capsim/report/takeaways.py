"""One-line takeaways for memo slides, computed from a run's results (never hand-written).

Each function reads what it needs from an open run (its summary or a ``memo_data`` table)
and states the figure a reader should leave the slide with.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from capsim.model.records import BACKGROUND, OWN
from capsim.report import data as memo_data
from capsim.runs.rundir import RunDir


def month_label(run: RunDir, month: float) -> str:
    """A model month (from the scenario start) as ``Mon YYYY`` of its month end."""
    return run.month_label(month)


def _number(value: float | None, digits: int = 0) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def _kpi(summary: dict[str, Any], name: str, stat: str) -> float | None:
    value = summary["kpis"].get(name, {}).get(stat)
    return None if value is None else float(value)


def capacity_vs_demand(run: RunDir) -> str:
    """High-percentile shortfall and the date by which capacity covers demand for good at P50.

    The figures are the KPI table's own (``summary_text.kpi_figure``).
    """
    from capsim.report.summary_text import kpi_figure

    percentiles = memo_data.run_percentiles(run)
    high = kpi_figure(run, "shortfall_mw_months", percentiles.high)
    covered = kpi_figure(run, "covered_for_good_month", "p50")
    if covered.text != "never":
        when = f"50% chance capacity covers demand for good by {covered.text}"
    else:
        share = kpi_figure(run, "covered_by_horizon", "mean").text
        when = f"capacity covers demand for good by the horizon in only {share} of runs"
    return f"{percentiles.labels[percentiles.high]} shortfall {high.text} {high.unit}; {when}."


def capacity_fan(run: RunDir) -> str:
    """Median capacity against median demand (and its band) at the horizon, as in the KPI table."""
    from capsim.report.summary_text import kpi_figure

    percentiles = memo_data.run_percentiles(run)
    capacity = kpi_figure(run, "capacity_mw_at_horizon", "p50")
    demand = kpi_figure(run, "demand_mw_at_horizon", "p50")
    low = kpi_figure(run, "demand_mw_at_horizon", percentiles.low)
    high = kpi_figure(run, "demand_mw_at_horizon", percentiles.high)
    return (
        f"At the horizon, median capacity {capacity.text} {capacity.unit} against median demand "
        f"{demand.text} {demand.unit} (demand {percentiles.band_label} "
        f"{low.text}-{high.text} {demand.unit})."
    )


def shortfall_probability(run: RunDir) -> str:
    """The year with the highest chance of a shortfall, and the chance in the final year."""
    by_year: dict[str, float] = run.summary["shortfall_probability_by_year"]
    if not by_year:
        return "No shortfall probabilities recorded."
    first, last = min(by_year), max(by_year)
    below = [y for y in sorted(by_year) if all(by_year[z] < 0.5 for z in by_year if z >= y)]
    after = f"below 50% from {below[0]} on" if below else "never below 50% for good"
    return (
        f"Chance of a shortfall: {by_year[first]:.0%} in {first}, {by_year[last]:.0%} in "
        f"{last}; {after}."
    )


def deal_funnel(run: RunDir) -> str:
    """How many launched deals per replication sign and energise."""
    table = memo_data.funnel(run).set_index("stage")["reached"]
    launched, signed, energised = (float(table[s]) for s in ("launched", "signed", "energised"))
    rate = energised / launched if launched else 0.0
    return (
        f"Of {launched:.1f} deals launched per replication, {signed:.1f} sign and "
        f"{energised:.1f} energise ({rate:.0%})."
    )


def queue_waits(run: RunDir) -> str:
    """The region where our median headroom wait is longest, against competitors'."""
    table = memo_data.queue_waits(run)
    headroom = table[table["wait"] == "headroom"]
    medians = headroom.groupby(["region", "applicant"])["months"].median().unstack()
    if OWN not in medians or medians[OWN].dropna().empty:
        return "None of our requests reached the headroom stage."
    names = memo_data.region_names(run)
    ours = medians[OWN].dropna()
    region = str(ours.idxmax())
    theirs = medians[BACKGROUND].get(region) if BACKGROUND in medians else None
    return (
        f"Our longest median headroom wait is in {names.get(region, region)}: "
        f"{float(ours[region]):.0f} months (competitors "
        f"{_number(None if theirs is None else float(theirs))})."
    )


def regional_capacity(run: RunDir) -> str:
    """The region with the most median energised capacity at the horizon."""
    table = memo_data.regional_quantiles(run)
    last = table[table["date"] == table["date"].max()]
    if last.empty:
        return "No regional capacity recorded."
    top = last.loc[last["p50_mw"].idxmax()]
    names = memo_data.region_names(run)
    return (
        f"At the horizon {names.get(str(top['region']), str(top['region']))} holds the most "
        f"energised capacity: median {top['p50_mw']:,.0f} MW of "
        f"{last['p50_mw'].sum():,.0f} MW (sum of regional medians)."
    )


def equipment_backlog(run: RunDir) -> str:
    """Our largest order book: which pool, how many units at its peak, and when."""
    table = memo_data.equipment_backlog(run)
    own = table[table["orders"] == OWN]
    if own.empty or own["backlog_units"].max() <= 0:
        return "We placed no long-lead equipment orders."
    peak = own.iloc[int(np.argmax(own["backlog_units"].to_numpy()))]
    pool = str(peak["pool"]).replace("_", " ")
    return (
        f"Our order book peaks at {float(peak['backlog_units']):.1f} {pool} units "
        f"on order (mean) in {pd.Timestamp(peak['date']).strftime('%b %Y')}."
    )


def cost_breakdown(run: RunDir) -> str:
    """Mean cash cost with the shares of capex and energy, and the notional penalty beside it.

    The unserved-demand penalty is lost margin, not money paid, so it is never mixed into the
    cash shares; the total including it is stated apart. The amounts are the KPI table's.
    """
    from capsim.report.summary_text import kpi_figure

    cash = kpi_figure(run, "cash_cost_usd", "mean")
    penalty = kpi_figure(run, "unserved_penalty_usd", "mean")
    total = kpi_figure(run, "total_cost_usd", "mean")
    if not (cash.value or penalty.value):
        return "No cost recorded."
    parts = []
    for name, label in (
        ("capex_usd", "capex"),
        ("energy_usd", "energy"),
        ("bridge_premium_usd", "bridge premium"),
    ):
        part = _kpi(run.summary, name, "mean")
        if cash.value and part is not None:
            parts.append(f"{label} {part / cash.value:.0%}")
    shares = f": {', '.join(parts)}" if parts else ""
    return (
        f"Mean cash cost USD {cash.text} bn{shares}; notional unserved-demand penalty "
        f"USD {penalty.text} bn (total cost including the penalty USD {total.text} bn)."
    )
