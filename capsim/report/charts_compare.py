"""Charts that set several runs (scenarios or policies) side by side, in the memo style.

Each run gets its own colour and line style (so runs stay apart in grayscale); the footnote
names every run compared. Overlaid bands blur once a few runs share one axes, so from
``SMALL_MULTIPLES_FROM`` runs the capacity chart draws one small panel per run (shared axes,
the first run's median repeated in grey in every panel as the reference); shortfall curves,
thin lines without bands, are split the same way from ``SMALL_MULTIPLE_LINES_FROM`` runs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from capsim.report.charts import LINESTYLES, PALETTE, RunLabel, _figure, date_axis
from capsim.runs.kpis import DEFAULT, Percentiles

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Runs from which the capacity chart (median with its band) is drawn as small multiples.
SMALL_MULTIPLES_FROM = 3
#: Runs from which the shortfall-probability chart (lines only) is drawn as small multiples.
SMALL_MULTIPLE_LINES_FROM = 5
REFERENCE_COLOR = "#999999"


def _footnotes(fig: Figure, labels: list[RunLabel]) -> None:
    fig.supxlabel(
        "\n".join(label.footnote() for label in labels),
        x=0.01,
        ha="left",
        fontsize=5.5,
        color="#555555",
    )


def _finish(fig: Figure, ax: Axes, title: str, ylabel: str, labels: list[RunLabel]) -> Figure:
    fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_xlabel("month end (calendar date)", fontsize=9)
    ax.legend(loc="upper left", fontsize=7, frameon=False)
    date_axis(ax)
    _footnotes(fig, labels)
    return fig


def _grid(runs: int, runs_per_row: int = 3) -> tuple[Figure, list[Axes]]:
    """A constrained-layout grid of one small panel per run, sharing both axes.

    Cells left over in the last row are switched off; the first of them takes the legend.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    cols = min(runs, runs_per_row)
    rows = math.ceil(runs / cols)
    fig = Figure(figsize=(3.1 * cols + 0.6, 2.3 * rows + 1.2), layout="constrained")
    grid = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    axes = [ax for row in grid for ax in row]
    for ax in axes[runs:]:
        ax.set_axis_off()
    for i, ax in enumerate(axes[:runs]):
        if i + cols >= runs:  # nothing below: this panel carries the dates
            ax.xaxis.set_tick_params(labelbottom=True)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(labelsize=7)
    return fig, axes[:runs]


def _finish_grid(
    fig: Figure, axes: list[Axes], title: str, ylabel: str, labels: list[RunLabel]
) -> Figure:
    """Title, date axes, one legend and the footnotes of a small-multiples grid.

    The legend is taken from the second panel, which has every series including the first
    run's reference line; it goes in a spare cell of the grid, or else in the first panel.
    """
    fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    for ax in axes:
        date_axis(ax)
    fig.supylabel(ylabel, fontsize=9)
    handles, texts = axes[min(1, len(axes) - 1)].get_legend_handles_labels()
    spare = [ax for ax in fig.axes if ax not in axes and not ax.axison]
    if spare:
        spare[0].legend(handles, texts, loc="center", fontsize=7, frameon=False)
    else:
        axes[0].legend(handles, texts, loc="upper left", fontsize=6, frameon=False)
    _footnotes(fig, labels)
    return fig


def _capacity_band(
    ax: Axes,
    dates: pd.Series,
    table: pd.DataFrame,
    percentiles: Percentiles,
    color: str,
    alpha: float,
    label: str | None = None,
) -> None:
    """A run's capacity band, lowest to highest percentile, shaded without an edge."""
    ax.fill_between(
        dates,
        table[f"capacity_{percentiles.low}_mw"],
        table[f"capacity_{percentiles.high}_mw"],
        color=color,
        alpha=alpha,
        linewidth=0,
        label=label,
    )


def capacity_vs_demand(
    bands: dict[str, pd.DataFrame], labels: list[RunLabel], percentiles: Percentiles = DEFAULT
) -> Figure:
    """Median capacity with its band (lowest to highest percentile), and median demand, per run.

    ``percentiles`` are those the bands were computed at (``monthly_bands``). From
    ``SMALL_MULTIPLES_FROM`` runs, one panel per run.
    """
    if len(bands) >= SMALL_MULTIPLES_FROM:
        return _capacity_panels(bands, labels, percentiles)
    fig, (ax,) = _figure(height_in=4.2)
    for i, (name, table) in enumerate(bands.items()):
        color, style = PALETTE[i % len(PALETTE)], LINESTYLES[i % len(LINESTYLES)]
        dates = pd.to_datetime(table["date"])
        _capacity_band(ax, dates, table, percentiles, color, alpha=0.12)
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


def _capacity_panels(
    bands: dict[str, pd.DataFrame], labels: list[RunLabel], percentiles: Percentiles
) -> Figure:
    """One panel per run: its capacity median and band, its demand, the first run's median.

    Every panel draws its own run in the same colour (the panel's title names the run), so one
    legend reads for all.
    """
    fig, axes = _grid(len(bands))
    names = list(bands)
    first = bands[names[0]]
    color = PALETTE[0]
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        table = bands[name]
        dates = pd.to_datetime(table["date"])
        _capacity_band(
            ax,
            dates,
            table,
            percentiles,
            color,
            alpha=0.2,
            label=f"capacity {percentiles.band_label}",
        )
        if i:
            ax.plot(
                pd.to_datetime(first["date"]),
                first["capacity_p50_mw"],
                color=REFERENCE_COLOR,
                linestyle="--",
                linewidth=1,
                label=f"{names[0]}: capacity median",
            )
        ax.plot(
            dates, table["capacity_p50_mw"], color=color, linewidth=1.8, label="capacity median"
        )
        ax.plot(
            dates,
            table["demand_p50_mw"],
            color="black",
            linewidth=0.8,
            marker="o",
            markevery=12,
            markersize=2.5,
            label="demand median",
        )
        ax.set_title(name, loc="left", fontsize=8)
        ax.set_ylim(bottom=0)
    return _finish_grid(
        fig, axes, "Capacity versus demand, one panel per run", "facility MW", labels
    )


def shortfall_probability(bands: dict[str, pd.DataFrame], labels: list[RunLabel]) -> Figure:
    """Share of replications short of demand at each month end, one curve per run.

    From ``SMALL_MULTIPLE_LINES_FROM`` runs, one panel per run with the first run in grey.
    """
    title = "Probability of a shortfall by month, runs compared"
    ylabel = "probability (% of replications)"
    if len(bands) >= SMALL_MULTIPLE_LINES_FROM:
        fig, axes = _grid(len(bands))
        names = list(bands)
        first = bands[names[0]]
        for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
            if i:
                ax.step(
                    pd.to_datetime(first["date"]),
                    first["shortfall_probability"] * 100,
                    where="post",
                    color=REFERENCE_COLOR,
                    linestyle="--",
                    linewidth=1,
                    label=names[0],
                )
            ax.step(
                pd.to_datetime(bands[name]["date"]),
                bands[name]["shortfall_probability"] * 100,
                where="post",
                color=PALETTE[0],
                linewidth=1.6,
                label="this run",
            )
            ax.set_title(name, loc="left", fontsize=8)
            ax.set_ylim(0, 100)
        return _finish_grid(fig, axes, title, ylabel, labels)
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
    return _finish(fig, ax, title, ylabel, labels)
