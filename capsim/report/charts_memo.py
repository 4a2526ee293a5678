"""The rest of the memo chart suite: time to power, funnel, queue waits, regions, equipment, cost.

Each chart is a pure function from the small tables of ``memo_data`` to a Figure in the style of
``capsim.charts``; each ``draw_<name>(run, label)`` reads those tables from an open run (a
``RunDir``) for ``charts.draw``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capsim.model.records import BACKGROUND, OWN
from capsim.report import data as memo_data
from capsim.report.charts import (
    HATCHES,
    LINESTYLES,
    PALETTE,
    RunLabel,
    _figure,
    date_axis,
    finish,
    footnote,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from capsim.runs.rundir import RunDir

BILLION = 1e9
OWN_COLOR, OTHER_COLOR = PALETTE[0], "#BBBBBB"


def _cdf(ax: Axes, table: pd.DataFrame, by: str, names: Mapping[str, str]) -> None:
    """Empirical CDFs of months to first power, one line per group, styled apart."""
    for i, (key, group) in enumerate(table.groupby(by, sort=True)):
        months = np.sort(group["months_to_first_power"].to_numpy(dtype=float))
        share = np.arange(1, len(months) + 1) / len(months) * 100
        ax.step(
            months,
            share,
            where="post",
            color=PALETTE[i % len(PALETTE)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            linewidth=1.6,
            label=f"{names.get(str(key), str(key))} (n={len(months)})",
        )
    ax.set_ylim(0, 100)
    ax.set_xlim(left=0)
    ax.set_xlabel("months from deal launch to first power", fontsize=9)
    ax.legend(loc="lower right", fontsize=7, frameon=False)


def time_to_power(
    table: pd.DataFrame, label: RunLabel, names: Mapping[str, str] | None = None
) -> Figure:
    """Cumulative share of powered deals by months from launch, by region and by deal kind."""
    fig, axes = _figure(panels=2)
    if table.empty:
        for ax in axes:
            ax.text(0.5, 0.5, "no deal reached first power", ha="center", transform=ax.transAxes)
    else:
        _cdf(axes[0], table, "region", names or {})
        _cdf(axes[1], table, "kind", {})
    axes[0].set_title("by region", fontsize=9, loc="left")
    axes[1].set_title("by deal kind", fontsize=9, loc="left")
    axes[0].set_ylabel("deals powered within (% of powered deals)", fontsize=9)
    fig.suptitle(
        f"Time to power: months from launch to first power, {label.scenario}",
        x=0.01,
        ha="left",
        fontsize=10,
        fontweight="bold",
    )
    footnote(fig, label)
    return fig


def deal_funnel(table: pd.DataFrame, label: RunLabel) -> Figure:
    """Deals per replication launched, signed, connected and energised, with losses between."""
    fig, (ax,) = _figure()
    stages = list(table["stage"])[::-1]
    rows = table.set_index("stage").loc[stages]
    y = np.arange(len(stages))
    ax.barh(y, rows["reached"], color=PALETTE[0], label="reached stage")
    left = rows["reached"].to_numpy()
    ax.barh(
        y,
        rows["lost"],
        left=left,
        color="#FFFFFF",
        edgecolor="#333333",
        hatch="////",
        label="lost before next stage",
    )
    ax.barh(
        y,
        rows["under_way"],
        left=left + rows["lost"].to_numpy(),
        color="#CCCCCC",
        edgecolor="#999999",
        label="still under way at horizon",
    )
    for yi, value in zip(y.tolist(), rows["reached"].tolist(), strict=True):
        ax.text(
            value / 2,
            yi,
            f"{value:.1f}",
            va="center",
            ha="center",
            color="white",
            fontsize=8,
            fontweight="bold",
        )
    ax.set_yticks(y, [s.replace("_", " ") for s in stages], fontsize=9)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    ax.grid(axis="y", visible=False)
    finish(
        fig,
        ax,
        f"Deal funnel: deals reaching each stage, {label.scenario}",
        "stage",
        label,
        xlabel="deals per replication (mean)",
        legend=False,
    )
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    return fig


def queue_waits(
    table: pd.DataFrame, label: RunLabel, names: Mapping[str, str] | None = None
) -> Figure:
    """Median (P10-P90 whiskers) study and headroom waits by region, ours against competitors'."""
    names = names or {}
    fig, axes = _figure(panels=2)
    regions = sorted(table["region"].unique()) if not table.empty else []
    y = np.arange(len(regions))
    for ax, wait in zip(axes, ("study", "headroom"), strict=True):
        for j, (applicant, text, color, hatch) in enumerate(
            ((OWN, "ours", OWN_COLOR, ""), (BACKGROUND, "competitors", OTHER_COLOR, "////"))
        ):
            subset = table[(table["wait"] == wait) & (table["applicant"] == applicant)]
            grouped = subset.groupby("region")["months"]
            stats = pd.DataFrame({q: grouped.quantile(q) for q in (0.1, 0.5, 0.9)})
            stats = stats.reindex(regions)
            offset = y + (0.2 if j == 0 else -0.2)
            ax.barh(
                offset,
                stats[0.5],
                height=0.38,
                color=color,
                hatch=hatch,
                edgecolor="#333333",
                linewidth=0.5,
                label=f"{text} (median)",
            )
            ax.errorbar(
                stats[0.5],
                offset,
                xerr=[stats[0.5] - stats[0.1], stats[0.9] - stats[0.5]],
                fmt="none",
                ecolor="#333333",
                elinewidth=0.8,
                capsize=2,
            )
        ax.set_yticks(y, [names.get(r, r) for r in regions], fontsize=8)
        ax.set_xlabel(f"{wait} wait, months", fontsize=9)
        ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
        ax.grid(axis="y", visible=False)
        ax.set_xlim(left=0)
    axes[0].set_title("study wait: arrival to study start", fontsize=8, loc="left")
    axes[1].set_title("headroom wait: study end to headroom", fontsize=8, loc="left")
    axes[1].tick_params(labelleft=False)
    axes[0].set_ylabel("grid region", fontsize=9)
    axes[0].legend(loc="lower right", fontsize=7, frameon=False)
    fig.suptitle(
        f"Grid queue waits by region, ours vs competitors' (median, P10-P90): {label.scenario}",
        x=0.01,
        ha="left",
        fontsize=10,
        fontweight="bold",
    )
    footnote(fig, label)
    return fig


def regional_capacity(
    table: pd.DataFrame, label: RunLabel, names: Mapping[str, str] | None = None
) -> Figure:
    """Median energised MW by region and month end, with a light P10-P90 band each."""
    names = names or {}
    fig, (ax,) = _figure()
    for i, (region, group) in enumerate(table.groupby("region", sort=True)):
        dates = pd.to_datetime(group["date"])
        color = PALETTE[i % len(PALETTE)]
        ax.fill_between(
            dates, group["p10_mw"], group["p90_mw"], color=color, alpha=0.12, linewidth=0
        )
        ax.plot(
            dates,
            group["p50_mw"],
            color=color,
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            linewidth=1.8,
            label=f"{names.get(str(region), str(region))} (median)",
        )
    ax.set_ylim(bottom=0)
    date_axis(ax)
    return finish(
        fig,
        ax,
        f"Energised capacity by region (median, P10-P90 shaded): {label.scenario}",
        "energised facility MW",
        label,
    )


def equipment_backlog(table: pd.DataFrame, label: RunLabel) -> Figure:
    """Units on order and delivered to date, per pool: the factories' whole book and ours."""
    fig, axes = _figure(panels=2)
    for i, (pool, group) in enumerate(table.groupby("pool", sort=True)):
        color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
        text = str(pool).replace("_", " ")
        every = group[group["orders"] == "all"]
        own = group[group["orders"] == OWN]
        axes[0].plot(
            pd.to_datetime(every["date"]),
            every["backlog_units"],
            color=color,
            linestyle=style,
            linewidth=1.6,
            label=text,
        )
        axes[1].plot(
            pd.to_datetime(own["date"]),
            own["backlog_units"],
            color=color,
            linestyle=style,
            linewidth=1.6,
            label=f"{text}: on order",
        )
        axes[1].plot(
            pd.to_datetime(own["date"]),
            own["delivered_units"],
            color=color,
            linestyle=style,
            linewidth=0.9,
            marker="o",
            markevery=12,
            markersize=3,
            label=f"{text}: delivered to date",
        )
    axes[0].set_title("factory order book, all buyers (on order)", fontsize=9, loc="left")
    axes[1].set_title("our orders", fontsize=9, loc="left")
    for ax in axes:
        ax.set_ylim(bottom=0)
        date_axis(ax)
        ax.set_xlabel("month end (calendar date)", fontsize=9)
        ax.legend(loc="upper left", fontsize=6, frameon=False)
    axes[0].set_ylabel("units (mean over replications)", fontsize=9)
    fig.suptitle(
        f"Long-lead equipment: order backlog and deliveries, {label.scenario}",
        x=0.01,
        ha="left",
        fontsize=10,
        fontweight="bold",
    )
    footnote(fig, label)
    return fig


COST_LABELS = {
    "capex_usd": "capex",
    "energy_usd": "energy",
    "bridge_premium_usd": "bridge premium",
    "unserved_usd": "unserved demand",
}


def cost_breakdown(table: pd.DataFrame, label: RunLabel) -> Figure:
    """Mean cumulative spend by category (capex, energy, bridge premium, unserved demand)."""
    fig, (ax,) = _figure()
    columns = [c for c in COST_LABELS if c in table.columns]
    stacks = ax.stackplot(
        pd.to_datetime(table["date"]),
        *[table[c].to_numpy() / BILLION for c in columns],
        labels=[COST_LABELS[c] for c in columns],
        colors=[PALETTE[i] for i in range(len(columns))],
        alpha=0.8,
        linewidth=0,
    )
    for i, stack in enumerate(stacks):
        stack.set_hatch(HATCHES[i % len(HATCHES)])
        stack.set_edgecolor("#FFFFFF")
    ax.set_ylim(bottom=0)
    date_axis(ax)
    return finish(
        fig,
        ax,
        f"Cumulative cost by category (mean of replications): {label.scenario}",
        "cumulative cost, USD billion",
        label,
    )


def draw_time_to_power(run: RunDir, label: RunLabel) -> Figure:
    """time_to_power from an open run."""
    return time_to_power(memo_data.time_to_power(run), label, memo_data.region_names(run))


def draw_deal_funnel(run: RunDir, label: RunLabel) -> Figure:
    """deal_funnel from an open run."""
    return deal_funnel(memo_data.funnel(run), label)


def draw_queue_waits(run: RunDir, label: RunLabel) -> Figure:
    """queue_waits from an open run."""
    return queue_waits(memo_data.queue_waits(run), label, memo_data.region_names(run))


def draw_regional_capacity(run: RunDir, label: RunLabel) -> Figure:
    """regional_capacity from an open run."""
    return regional_capacity(memo_data.regional_quantiles(run), label, memo_data.region_names(run))


def draw_equipment_backlog(run: RunDir, label: RunLabel) -> Figure:
    """equipment_backlog from an open run."""
    return equipment_backlog(memo_data.equipment_backlog(run), label)


def draw_cost_breakdown(run: RunDir, label: RunLabel) -> Figure:
    """cost_breakdown from an open run."""
    return cost_breakdown(memo_data.cumulative_costs(run), label)
