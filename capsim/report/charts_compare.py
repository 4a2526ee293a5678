"""Charts that overlay several runs (scenarios or policies) in the memo style of ``capsim.charts``.

Each run gets its own colour and line style (so runs stay apart in grayscale); the footnote
names every run compared.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from capsim.report.charts import LINESTYLES, PALETTE, RunLabel, _figure, date_axis
from capsim.runs.kpis import DEFAULT, Percentiles

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _finish(fig: Figure, ax: Axes, title: str, ylabel: str, labels: list[RunLabel]) -> Figure:
    fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_xlabel("month end (calendar date)", fontsize=9)
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    date_axis(ax)
    fig.supxlabel(
        "\n".join(label.footnote() for label in labels),
        x=0.01,
        ha="left",
        fontsize=5.5,
        color="#555555",
    )
    return fig


def capacity_vs_demand(
    bands: dict[str, pd.DataFrame], labels: list[RunLabel], percentiles: Percentiles = DEFAULT
) -> Figure:
    """Median capacity with its band (lowest to highest percentile), and median demand, per run.

    ``percentiles`` are those the bands were computed at (``monthly_bands``).
    """
    fig, (ax,) = _figure(height_in=4.2)
    for i, (name, table) in enumerate(bands.items()):
        color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
        dates = pd.to_datetime(table["date"])
        ax.fill_between(
            dates,
            table[f"capacity_{percentiles.low}_mw"],
            table[f"capacity_{percentiles.high}_mw"],
            color=color,
            alpha=0.12,
            linewidth=0,
        )
        ax.plot(
            dates,
            table["capacity_p50_mw"],
            color=color,
            linestyle=style,
            linewidth=2,
            label=f"{name}: capacity median ({percentiles.band_label} shaded)",
        )
        ax.plot(
            dates,
            table["demand_p50_mw"],
            color=color,
            linestyle=style,
            linewidth=0.9,
            marker="o",
            markevery=12,
            markersize=3,
            label=f"{name}: demand median",
        )
    ax.set_ylim(bottom=0)
    return _finish(fig, ax, "Capacity versus demand, runs compared", "facility MW", labels)


def shortfall_probability(bands: dict[str, pd.DataFrame], labels: list[RunLabel]) -> Figure:
    """Share of replications short of demand at each month end, one curve per run."""
    fig, (ax,) = _figure(height_in=4.2)
    for i, (name, table) in enumerate(bands.items()):
        ax.step(
            pd.to_datetime(table["date"]),
            table["shortfall_probability"] * 100,
            where="post",
            color=PALETTE[i % len(PALETTE)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            linewidth=1.8,
            label=name,
        )
    ax.set_ylim(0, 100)
    return _finish(
        fig,
        ax,
        "Probability of a shortfall by month, runs compared",
        "probability (% of replications)",
        labels,
    )
