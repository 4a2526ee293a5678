"""The rest of the memo chart suite: funnel, queue waits, regions, equipment, cost.

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
    MW_ZERO_TOLERANCE,
    PALETTE,
    USD_ZERO_TOLERANCE,
    RunLabel,
    _figure,
    always_zero,
    axes_note,
    date_axis,
    finish,
    footnote,
    nothing_to_show,
)
from capsim.runs.kpis import DEFAULT, Percentiles

if TYPE_CHECKING:
    from matplotlib.container import BarContainer
    from matplotlib.figure import Figure

    from capsim.runs.rundir import RunDir

BILLION = 1e9
OWN_COLOR, OTHER_COLOR = PALETTE[0], "#BBBBBB"
#: Deal funnel geometry (in stage rows): the stage count's bar and the thinner losses bar under it.
FUNNEL_STAGE_OFFSET, FUNNEL_STAGE_HEIGHT = 0.12, 0.46
FUNNEL_LOST_OFFSET, FUNNEL_LOST_HEIGHT = 0.24, 0.18
FUNNEL_STAGE_LABEL = "deals entering the stage"
FUNNEL_LOST_LABEL = "deals lost after the stage"


def deal_funnel(table: pd.DataFrame, label: RunLabel) -> Figure:
    """Mean deals per replication entering each stage, with the deals lost after it beside.

    Each stage's bar is its count alone (the launched bar is the mean deals launched); losses
    are a thinner hatched bar under it, never stacked on it, and the deals still under way at
    the horizon are written next to the losses.
    """
    fig, (ax,) = _figure()
    title = f"Deal funnel: deals entering each stage, {label.scenario}"
    xlabel = "deals per replication (mean)"
    if table.empty or always_zero(table["reached"]):
        nothing_to_show(ax, "No deals launched in this run")
        return finish(fig, ax, title, "stage", label, xlabel=xlabel)
    stages = list(table["stage"])[::-1]
    rows = table.set_index("stage").loc[stages]
    y = np.arange(len(stages), dtype=float)
    reached_deals = rows["reached"].to_numpy(dtype=float)
    lost_deals = rows["lost"].to_numpy(dtype=float)
    under_way_deals = rows["under_way"].to_numpy(dtype=float)
    ax.barh(
        y + FUNNEL_STAGE_OFFSET,
        reached_deals,
        height=FUNNEL_STAGE_HEIGHT,
        color=PALETTE[0],
        label=FUNNEL_STAGE_LABEL,
    )
    ax.barh(
        y - FUNNEL_LOST_OFFSET,
        lost_deals,
        height=FUNNEL_LOST_HEIGHT,
        color="#FFFFFF",
        edgecolor="#333333",
        linewidth=0.6,
        hatch="////",
        label="_nolegend_" if always_zero(lost_deals) else FUNNEL_LOST_LABEL,
    )
    pad = reached_deals.max() * 0.01
    for yi, reached, lost, under_way in zip(
        y.tolist(),
        reached_deals.tolist(),
        lost_deals.tolist(),
        under_way_deals.tolist(),
        strict=True,
    ):
        ax.text(
            reached + pad,
            yi + FUNNEL_STAGE_OFFSET,
            f"{reached:.1f}",
            va="center",
            ha="left",
            fontsize=8,
            fontweight="bold",
        )
        parts = [f"{lost:.1f} lost"] if lost > 0 else []
        parts += [f"{under_way:.1f} still under way at horizon"] if under_way > 0 else []
        if parts:
            ax.text(
                lost + pad,
                yi - FUNNEL_LOST_OFFSET,
                ", ".join(parts),
                va="center",
                ha="left",
                fontsize=7,
                color="#333333",
            )
    ax.set_xlim(0, reached_deals.max() * 1.3)
    ax.set_yticks(y, [s.replace("_", " ") for s in stages], fontsize=9)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    ax.grid(axis="y", visible=False)
    finish(fig, ax, title, "stage", label, xlabel=xlabel, legend=False)
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    return fig


def queue_waits(
    table: pd.DataFrame,
    label: RunLabel,
    names: Mapping[str, str] | None = None,
    percentiles: Percentiles = DEFAULT,
) -> Figure:
    """Median study and headroom waits by region, ours against competitors', with whiskers.

    The whiskers span the band of ``percentiles`` (lowest to highest). An applicant with no wait
    in any region stays out of the legend; a panel (or the whole chart) with no waits says so.
    """
    names = names or {}
    band = percentiles.band_label
    title = f"Grid queue waits by region, ours vs competitors' (median, {band}): {label.scenario}"
    if table.empty:
        fig, (ax,) = _figure()
        nothing_to_show(ax, "No grid queue requests in this run")
        return finish(fig, ax, title, "grid region", label, xlabel="wait, months")
    fig, axes = _figure(panels=2)
    regions = sorted(table["region"].unique())
    y = np.arange(len(regions))
    drawn: dict[str, BarContainer] = {}
    for ax, wait in zip(axes, ("study", "headroom"), strict=True):
        ax.set_xlabel(f"{wait} wait, months", fontsize=9)
        waits = table[table["wait"] == wait]
        if waits.empty:
            nothing_to_show(ax, f"No request reached\nthe {wait} stage")
            continue
        for j, (applicant, text, color, hatch) in enumerate(
            ((OWN, "ours", OWN_COLOR, ""), (BACKGROUND, "competitors", OTHER_COLOR, "////"))
        ):
            grouped = waits[waits["applicant"] == applicant].groupby("region")["months"]
            low_q, high_q = (percentiles.quantiles[k] for k in (percentiles.low, percentiles.high))
            stats = pd.DataFrame({q: grouped.quantile(q) for q in (low_q, 0.5, high_q)})
            stats = stats.reindex(regions)
            if stats[0.5].isna().all():
                continue
            offset = y + (0.2 if j == 0 else -0.2)
            drawn[f"{text} (median)"] = ax.barh(
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
                xerr=[stats[0.5] - stats[low_q], stats[high_q] - stats[0.5]],
                fmt="none",
                ecolor="#333333",
                elinewidth=0.8,
                capsize=2,
            )
        ax.set_yticks(y, [names.get(r, r) for r in regions], fontsize=8)
        ax.set_ylim(-0.6, len(regions) - 0.4)
        ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
        ax.grid(axis="y", visible=False)
        ax.set_xlim(left=0)
    axes[0].set_title("study wait: arrival to study start", fontsize=8, loc="left")
    axes[1].set_title("headroom wait: study end to headroom", fontsize=8, loc="left")
    shown = [ax for ax in axes if ax.axison]
    if len(shown) == len(axes):
        axes[1].tick_params(labelleft=False)
    (shown or axes)[0].set_ylabel("grid region", fontsize=9)
    if drawn and shown:
        shown[0].legend(
            list(drawn.values()), list(drawn), loc="lower right", fontsize=7, frameon=False
        )
    fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    footnote(fig, label)
    return fig


def regional_capacity(
    table: pd.DataFrame,
    label: RunLabel,
    names: Mapping[str, str] | None = None,
    percentiles: Percentiles = DEFAULT,
) -> Figure:
    """Median energised MW by region and month end, with a light band of ``percentiles`` each.

    A region with no energised capacity in any replication is named in a note, not the legend.
    """
    names = names or {}
    fig, (ax,) = _figure()
    band = percentiles.band_label
    title = f"Energised capacity by region (median, {band} shaded): {label.scenario}"
    ylabel = "energised facility MW"
    if table.empty:
        nothing_to_show(ax, "No regional capacity recorded in this run")
        return finish(fig, ax, title, ylabel, label)
    idle_regions: list[str] = []
    for i, (region, group) in enumerate(table.groupby("region", sort=True)):
        name = names.get(str(region)) or str(region)
        low, high = f"{percentiles.low}_mw", f"{percentiles.high}_mw"
        if always_zero(group[["p50_mw", high]].to_numpy(), MW_ZERO_TOLERANCE):
            idle_regions.append(name)
            continue
        dates = pd.to_datetime(group["date"])
        color = PALETTE[i % len(PALETTE)]
        ax.fill_between(dates, group[low], group[high], color=color, alpha=0.12, linewidth=0)
        ax.plot(
            dates,
            group["p50_mw"],
            color=color,
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            linewidth=1.8,
            label=f"{name} (median)",
        )
    if not ax.has_data():
        nothing_to_show(ax, "No capacity energised in any region")
        return finish(fig, ax, title, ylabel, label)
    if idle_regions:
        axes_note(ax, "no capacity energised: " + ", ".join(idle_regions))
    ax.set_ylim(bottom=0)
    date_axis(ax)
    return finish(fig, ax, title, ylabel, label)


def equipment_backlog(
    table: pd.DataFrame, label: RunLabel, empty_message: str = "No equipment orders in this run"
) -> Figure:
    """Units on order and delivered to date, per pool: the factories' whole book and ours.

    Pools and series that stay at zero are left out; with nothing to draw, the chart (or our
    panel) says so in words: ``empty_message`` when the table is empty or all zero.
    """
    title = f"Long-lead equipment: order backlog and deliveries, {label.scenario}"
    xlabel, ylabel = "month end (calendar date)", "units (mean over replications)"
    value_columns = ["backlog_units", "delivered_units"]
    if table.empty or always_zero(table[value_columns].to_numpy(dtype=float)):
        fig, (ax,) = _figure()
        nothing_to_show(ax, empty_message)
        return finish(fig, ax, title, ylabel, label, xlabel=xlabel)
    fig, axes = _figure(panels=2)
    for i, (pool, group) in enumerate(table.groupby("pool", sort=True)):
        color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
        text = str(pool).replace("_", " ")
        every = group[group["orders"] == "all"]
        own = group[group["orders"] == OWN]
        if not always_zero(every["backlog_units"]):
            axes[0].plot(
                pd.to_datetime(every["date"]),
                every["backlog_units"],
                color=color,
                linestyle=style,
                linewidth=1.6,
                label=text,
            )
        if not always_zero(own["backlog_units"]):
            axes[1].plot(
                pd.to_datetime(own["date"]),
                own["backlog_units"],
                color=color,
                linestyle=style,
                linewidth=1.6,
                label=f"{text}: on order",
            )
        if not always_zero(own["delivered_units"]):
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
    for ax, message in zip(
        axes, ("No units on order at any factory", "We placed no equipment orders"), strict=True
    ):
        ax.set_xlabel(xlabel, fontsize=9)
        if not ax.has_data():
            nothing_to_show(ax, message)
            continue
        ax.set_ylim(bottom=0)
        date_axis(ax)
        ax.legend(loc="upper left", fontsize=6, frameon=False)
    axes[0].set_ylabel(ylabel, fontsize=9)
    fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    footnote(fig, label)
    return fig


COST_LABELS = {
    "capex_usd": "capex",
    "energy_usd": "energy",
    "bridge_premium_usd": "bridge premium",
    "unserved_usd": "unserved demand",
}


def cost_breakdown(table: pd.DataFrame, label: RunLabel) -> Figure:
    """Mean cumulative spend by category (capex, energy, bridge premium, unserved demand).

    A category that stays at zero (e.g. the bridge premium with bridge power off) is left out.
    """
    fig, (ax,) = _figure()
    title = f"Cumulative cost by category (mean of replications): {label.scenario}"
    ylabel = "cumulative cost, USD billion"
    columns = [
        c
        for c in COST_LABELS
        if c in table.columns and not always_zero(table[c].to_numpy(), USD_ZERO_TOLERANCE)
    ]
    if table.empty or not columns:
        nothing_to_show(ax, "No cost recorded in this run")
        return finish(fig, ax, title, ylabel, label)
    colors = {c: PALETTE[i] for i, c in enumerate(COST_LABELS)}
    hatches = {c: HATCHES[i % len(HATCHES)] for i, c in enumerate(COST_LABELS)}
    stacks = ax.stackplot(
        pd.to_datetime(table["date"]),
        *[table[c].to_numpy(dtype=float) / BILLION for c in columns],
        labels=[COST_LABELS[c] for c in columns],
        colors=[colors[c] for c in columns],
        alpha=0.8,
        linewidth=0,
    )
    for column, stack in zip(columns, stacks, strict=True):
        stack.set_hatch(hatches[column])
        stack.set_edgecolor("#FFFFFF")
    ax.set_ylim(bottom=0)
    date_axis(ax)
    return finish(fig, ax, title, ylabel, label)


def draw_deal_funnel(run: RunDir, label: RunLabel) -> Figure:
    """deal_funnel from an open run."""
    return deal_funnel(memo_data.funnel(run), label)


def draw_queue_waits(run: RunDir, label: RunLabel) -> Figure:
    """queue_waits from an open run, whiskers at the percentiles it reports."""
    return queue_waits(
        memo_data.queue_waits(run),
        label,
        memo_data.region_names(run),
        memo_data.run_percentiles(run),
    )


def draw_regional_capacity(run: RunDir, label: RunLabel) -> Figure:
    """regional_capacity from an open run, bands at the percentiles it reports."""
    percentiles = memo_data.run_percentiles(run)
    return regional_capacity(
        memo_data.regional_quantiles(run, percentiles),
        label,
        memo_data.region_names(run),
        percentiles,
    )


def draw_equipment_backlog(run: RunDir, label: RunLabel) -> Figure:
    """equipment_backlog from an open run; says when the scenario has no equipment pools."""
    message = (
        "No equipment pools in this scenario"
        if not run.scenario.equipment
        else "No equipment orders in this run"
    )
    return equipment_backlog(memo_data.equipment_backlog(run), label, empty_message=message)


def draw_cost_breakdown(run: RunDir, label: RunLabel) -> Figure:
    """cost_breakdown from an open run, labelled in the run's reporting currency."""
    from capsim.report.currency import currency_of, relabel_figure

    figure = cost_breakdown(memo_data.cumulative_costs(run), label)
    return relabel_figure(figure, currency_of(run.summary))
