"""DataFrames -> matplotlib Figures, in one memo style; callers decide where to save them.

Charts read only the tables that ``results``, ``aggregate`` and ``memo_data`` produce. Every chart
carries a title naming its subject, axis labels with units, calendar dates, fills told apart by
lightness and hatching (not hue alone, so they survive grayscale printing) and a footnote naming
the run (scenario, hash, seed, replications, version, date) so a figure in a memo can be traced.
``draw`` and ``draw_all`` build any chart of the suite from an open run (``RunDir``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capsim.runs.kpis import DEFAULT, Percentiles

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

    from capsim.runs.rundir import RunDir
    from capsim.runs.runner import StagedRun

#: Okabe-Ito palette: distinguishable for colour-blind readers and in grayscale by lightness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
#: Line styles and hatches that keep series apart when printed in grayscale.
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 1)))
HATCHES = ("", "////", "....", "\\\\\\\\", "xxxx", "----", "++++", "oo")
DEMAND_COLOR = "#000000"
BRIDGE_COLOR = "#BBBBBB"
FOOT_COLOR = "#555555"
#: Half a letter/A4 page wide stays legible: 6.5 x 3.8 in with 8-9 pt text.
WIDTH_IN, HEIGHT_IN = 6.5, 3.8
#: A series whose absolute values never exceed its tolerance counts as off (kept out of legends):
#: counts (deals, units) and shares, MW (the model's shortfall threshold) and USD (a dollar).
ZERO_TOLERANCE = 1e-9
MW_ZERO_TOLERANCE = 1e-6
USD_ZERO_TOLERANCE = 1.0
#: The gid of the text an empty chart shows in place of its axes, so it can be found again.
NOTHING_TO_SHOW_GID = "nothing-to-show"


@dataclass(frozen=True)
class RunLabel:
    """What the footnote of every chart says about the run it came from."""

    scenario: str
    sha256: str
    seed: int
    replications: int
    version: str
    run_date: str

    def footnote(self) -> str:
        """One line naming the run."""
        return (
            f"capsim {self.version} | scenario {self.scenario} ({self.sha256[:12]}) | "
            f"seed {self.seed} | {self.replications} replications | run {self.run_date}"
        )


def _figure(
    width_in: float = WIDTH_IN, height_in: float = HEIGHT_IN, panels: int = 1
) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure with ``panels`` side-by-side axes in the memo style."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.tick_params(labelsize=8)
    return fig, axes


def date_axis(ax: Axes) -> None:
    """Year ticks on a calendar x axis; axes without data keep a plain axis (no 1970 dates)."""
    import matplotlib.dates as mdates

    if not ax.has_data():
        return
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def always_zero(values: ArrayLike, tolerance: float = ZERO_TOLERANCE) -> bool:
    """True when a series is empty, all NaN or within ``tolerance`` of zero throughout.

    Such a series is off (a disabled bridge, a pool never ordered from), so it stays out of legends.
    """
    array = np.asarray(values, dtype=float)
    finite = array[np.isfinite(array)]
    return bool(finite.size == 0 or np.abs(finite).max() <= tolerance)


def nothing_to_show(ax: Axes, message: str) -> None:
    """Say in words, in the axes area, that a chart has no data, in place of an empty axis."""
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        message,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=10,
        color=FOOT_COLOR,
        gid=NOTHING_TO_SHOW_GID,
    )


def axes_note(ax: Axes, text: str) -> None:
    """A small grey note in the top right of the axes (e.g. series left out because always zero)."""
    ax.text(
        0.99,
        0.98,
        text,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=7,
        color=FOOT_COLOR,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5},
    )


def finish(
    fig: Figure,
    ax: Axes,
    title: str,
    ylabel: str,
    label: RunLabel,
    xlabel: str = "month end (calendar date)",
    legend: bool = True,
) -> Figure:
    """Title, axis labels, legend and the run footnote: what every memo chart carries."""
    fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    ax.set_ylabel(ylabel, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=9)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=7, frameon=False, ncols=2)
    footnote(fig, label)
    return fig


def footnote(fig: Figure, label: RunLabel) -> None:
    """The run's footnote under the figure."""
    fig.supxlabel(label.footnote(), x=0.01, ha="left", fontsize=6, color=FOOT_COLOR)


def capacity_vs_demand(
    bands: pd.DataFrame,
    regional: pd.DataFrame,
    label: RunLabel,
    names: Mapping[str, str] | None = None,
    bridge_mean_mw: pd.Series | None = None,
    percentiles: Percentiles = DEFAULT,
) -> Figure:
    """Mean energised MW stacked by region (plus mean bridge MW), against demand and capacity.

    The stack holds means, so its top is the mean total capacity; the lines are the median (and
    the band of ``percentiles``) of demand and of total capacity, and the legend says which is
    which. ``names`` maps region ids to display names; ``bridge_mean_mw`` (mean bridge MW by
    month end) adds a bridge layer unless it is None or zero throughout. Always-zero regions are
    named in a note instead.
    """
    fig, (ax,) = _figure()
    title = f"Capacity versus demand: {label.scenario}"
    if bands.empty:
        nothing_to_show(ax, "No months simulated in this run")
        return finish(fig, ax, title, "facility MW", label)
    names = names or {}
    several = int(bands["replications"].max()) > 1
    dates = pd.DatetimeIndex(pd.to_datetime(bands["date"]))
    by_date = regional.set_index(pd.DatetimeIndex(pd.to_datetime(regional["date"])))
    by_date = by_date.drop(columns="date").reindex(dates).fillna(0.0)
    layers: list[np.ndarray] = []
    labels: list[str] = []
    colors: list[str] = []
    idle_regions: list[str] = []
    for i, region in enumerate(by_date.columns):
        energised_mean_mw = by_date[region].to_numpy(dtype=float)
        if always_zero(energised_mean_mw, MW_ZERO_TOLERANCE):
            idle_regions.append(names.get(str(region)) or str(region))
            continue
        layers.append(energised_mean_mw)
        labels.append(f"{names.get(str(region)) or region} energised (mean, stacked)")
        colors.append(PALETTE[i % len(PALETTE)])
    if bridge_mean_mw is not None:
        bridge_mw = bridge_mean_mw.reindex(dates).fillna(0.0).to_numpy(dtype=float)
        if not always_zero(bridge_mw, MW_ZERO_TOLERANCE):
            layers.append(bridge_mw)
            labels.append("bridge power (mean, stacked)")
            colors.append(BRIDGE_COLOR)
    if layers:
        stacks = ax.stackplot(dates, *layers, labels=labels, colors=colors, alpha=0.75, linewidth=0)
        for i, stack in enumerate(stacks):
            stack.set_hatch(HATCHES[i % len(HATCHES)])
            stack.set_edgecolor("#FFFFFF")
    ax.plot(
        dates,
        bands["demand_p50_mw"],
        color=DEMAND_COLOR,
        linewidth=2,
        label="demand (median)" if several else "demand",
    )
    if several:
        low, high = percentiles.low, percentiles.high
        ax.fill_between(
            dates,
            bands[f"demand_{low}_mw"],
            bands[f"demand_{high}_mw"],
            color=DEMAND_COLOR,
            alpha=0.12,
            label=f"demand {percentiles.band_label}",
        )
        ax.plot(
            dates,
            bands["capacity_p50_mw"],
            color="#444444",
            linewidth=1.4,
            linestyle="--",
            label="total capacity (median)",
        )
        ax.plot(
            dates,
            bands[f"capacity_{low}_mw"],
            color="#444444",
            linewidth=0.8,
            linestyle=":",
            label=f"total capacity {percentiles.labels[low]} / {percentiles.labels[high]}",
        )
        ax.plot(dates, bands[f"capacity_{high}_mw"], color="#444444", linewidth=0.8, linestyle=":")
    if idle_regions:
        axes_note(ax, "no capacity energised: " + ", ".join(idle_regions))
    ax.set_ylim(bottom=0)
    date_axis(ax)
    return finish(fig, ax, title, "facility MW", label)


def fan_name(percentiles: Percentiles) -> str:
    """The percentiles a fan draws, e.g. 'P10-P50-P90': the band's edges and the median."""
    labels = percentiles.labels
    return "-".join(dict.fromkeys((labels[percentiles.low], "P50", labels[percentiles.high])))


def capacity_fan(
    bands: pd.DataFrame, label: RunLabel, percentiles: Percentiles = DEFAULT
) -> Figure:
    """Demand and capacity by month: medians with bands from the lowest to the highest percentile.

    ``percentiles`` are those the bands were computed at (the run's, ``monthly_bands``).
    """
    fig, (ax,) = _figure()
    title = f"Demand and capacity, {fan_name(percentiles)} fan: {label.scenario}"
    if bands.empty:
        nothing_to_show(ax, "No months simulated in this run")
        return finish(fig, ax, title, "facility MW", label)
    dates = pd.to_datetime(bands["date"])
    for name, color, style, hatch in (
        ("demand", DEMAND_COLOR, "-", ""),
        ("capacity", PALETTE[0], "--", "////"),
    ):
        ax.fill_between(
            dates,
            bands[f"{name}_{percentiles.low}_mw"],
            bands[f"{name}_{percentiles.high}_mw"],
            color=color,
            alpha=0.15,
            hatch=hatch,
            linewidth=0,
            label=f"{name} {percentiles.band_label}",
        )
        ax.plot(
            dates,
            bands[f"{name}_p50_mw"],
            color=color,
            linestyle=style,
            linewidth=2,
            label=f"{name} median",
        )
    ax.set_ylim(bottom=0)
    date_axis(ax)
    return finish(fig, ax, title, "facility MW", label)


def shortfall_probability(bands: pd.DataFrame, label: RunLabel) -> Figure:
    """Share of replications short of demand at each month end.

    When no replication ever falls short, the zero line carries no legend entry; a note says so.
    """
    fig, (ax,) = _figure()
    title = f"Probability of a shortfall by month: {label.scenario}"
    ylabel = "probability (% of replications)"
    if bands.empty:
        nothing_to_show(ax, "No months simulated in this run")
        return finish(fig, ax, title, ylabel, label)
    never_short = always_zero(bands["shortfall_probability"])
    ax.step(
        pd.to_datetime(bands["date"]),
        bands["shortfall_probability"] * 100,
        where="post",
        color=PALETTE[5],
        linewidth=2,
        label="_nolegend_" if never_short else "P(capacity < demand)",
    )
    ax.axhline(50, color="#999999", linewidth=0.8, linestyle=":")
    if never_short:
        axes_note(ax, "no replication falls short of demand in any month")
    ax.set_ylim(0, 100)
    date_axis(ax)
    return finish(fig, ax, title, ylabel, label)


def run_label(run: RunDir) -> RunLabel:
    """The footnote label of a run, from its manifest."""
    from capsim.version import __version__

    m = run.manifest
    return RunLabel(
        str(m["scenario"]),
        str(m["scenario_sha256"]),
        int(m["seed"]),
        int(m["replications"]),
        str(m.get("capsim_version", __version__)),
        str(m.get("started", ""))[:10],
    )


def save(fig: Figure, directory: Path, name: str) -> list[Path]:
    """Save a figure as PNG (300 dpi) and SVG; returns the two paths."""
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    fig.savefig(paths[0], dpi=300, metadata={"Software": None})
    fig.savefig(paths[1], metadata={"Date": None})
    return paths


def bridge_means(directory: Path) -> pd.Series:
    """Mean bridge MW over replications by month end, from a run's (or staging) timeseries.

    Stacked on the regional energised means, it makes the stack's top the mean total capacity.
    """
    from capsim.runs.rundir import read_table

    table = read_table(directory, "timeseries", ["date", "bridge_mw"])
    bridge_mean_mw = table.groupby("date", sort=True)["bridge_mw"].mean()
    bridge_mean_mw.index = pd.DatetimeIndex(bridge_mean_mw.index)
    return bridge_mean_mw


def draw_capacity_vs_demand(run: RunDir, label: RunLabel) -> Figure:
    """capacity_vs_demand from an open run: bands, regional and bridge means, region names."""
    from capsim.report.data import region_names, run_percentiles
    from capsim.runs.aggregate import monthly_bands, regional_means

    percentiles = run_percentiles(run)
    bridge = bridge_means(run.path) if run.scenario.bridge.enabled else None
    return capacity_vs_demand(
        monthly_bands(run, percentiles),
        regional_means(run),
        label,
        region_names(run),
        bridge_mean_mw=bridge,
        percentiles=percentiles,
    )


def draw_capacity_fan(run: RunDir, label: RunLabel) -> Figure:
    """capacity_fan from an open run, at the percentiles it reports."""
    from capsim.report.data import run_percentiles
    from capsim.runs.aggregate import monthly_bands

    percentiles = run_percentiles(run)
    return capacity_fan(monthly_bands(run, percentiles), label, percentiles)


def draw_shortfall_probability(run: RunDir, label: RunLabel) -> Figure:
    """shortfall_probability from an open run's monthly bands."""
    from capsim.report.data import run_percentiles
    from capsim.runs.aggregate import monthly_bands

    return shortfall_probability(monthly_bands(run, run_percentiles(run)), label)


def draw_staged_run(staged: StagedRun) -> None:
    """Every chart of the suite (PNG at 300 dpi and SVG) into a staged run, before it is published.

    The images are drawn at the size the report and the deck show them (``staged``).
    """
    from capsim.report.staged import draw_suite

    draw_suite(staged)
