"""DataFrames -> matplotlib Figures, in one memo style; callers decide where to save them.

Charts read only the tables that ``results``, ``aggregate`` and ``memo_data`` produce. Every chart
carries a title naming its subject, axis labels with units, calendar dates, fills told apart by
lightness and hatching (not hue alone, so they survive grayscale printing) and a footnote naming
the run (scenario, hash, seed, replications, version, date) so a figure in a memo can be traced.
``draw`` and ``draw_all`` build any chart of the suite from an open run (``RunDir``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

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
    """Year ticks on a calendar x axis."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


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
) -> Figure:
    """Energised capacity stacked by region (mean) plus bridge, against demand and capacity.

    With several replications, demand and total capacity show their median and P10-P90 band.
    ``names`` maps region ids to display names (e.g. from the run's scenario.yaml).
    """
    fig, (ax,) = _figure()
    names = names or {}
    several = int(bands["replications"].max()) > 1
    dates = pd.to_datetime(bands["date"])
    regions = [c for c in regional.columns if c != "date"]
    layers = [regional[c].to_numpy() for c in regions] + [bands["bridge_p50_mw"].to_numpy()]
    labels = [f"{names.get(r, r)} (mean)" for r in regions] + ["bridge power (median)"]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(regions))] + [BRIDGE_COLOR]
    stacks = ax.stackplot(
        pd.to_datetime(regional["date"]),
        *layers,
        labels=labels,
        colors=colors,
        alpha=0.75,
        linewidth=0,
    )
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
        ax.fill_between(
            dates,
            bands["demand_p10_mw"],
            bands["demand_p90_mw"],
            color=DEMAND_COLOR,
            alpha=0.12,
            label="demand P10-P90",
        )
        ax.plot(
            dates,
            bands["capacity_p50_mw"],
            color="#444444",
            linewidth=1.4,
            linestyle="--",
            label="capacity (median)",
        )
        ax.plot(
            dates,
            bands["capacity_p10_mw"],
            color="#444444",
            linewidth=0.8,
            linestyle=":",
            label="capacity P10 / P90",
        )
        ax.plot(dates, bands["capacity_p90_mw"], color="#444444", linewidth=0.8, linestyle=":")
    ax.set_ylim(bottom=0)
    date_axis(ax)
    return finish(fig, ax, f"Capacity versus demand: {label.scenario}", "facility MW", label)


def capacity_fan(bands: pd.DataFrame, label: RunLabel) -> Figure:
    """Demand and capacity by month: medians with P10-P90 bands (the Monte Carlo fan)."""
    fig, (ax,) = _figure()
    dates = pd.to_datetime(bands["date"])
    for name, color, style, hatch in (
        ("demand", DEMAND_COLOR, "-", ""),
        ("capacity", PALETTE[0], "--", "////"),
    ):
        ax.fill_between(
            dates,
            bands[f"{name}_p10_mw"],
            bands[f"{name}_p90_mw"],
            color=color,
            alpha=0.15,
            hatch=hatch,
            linewidth=0,
            label=f"{name} P10-P90",
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
    return finish(
        fig, ax, f"Demand and capacity, P10-P50-P90 fan: {label.scenario}", "facility MW", label
    )


def shortfall_probability(bands: pd.DataFrame, label: RunLabel) -> Figure:
    """Share of replications short of demand at each month end."""
    fig, (ax,) = _figure()
    ax.step(
        pd.to_datetime(bands["date"]),
        bands["shortfall_probability"] * 100,
        where="post",
        color=PALETTE[5],
        linewidth=2,
        label="P(capacity < demand)",
    )
    ax.axhline(50, color="#999999", linewidth=0.8, linestyle=":")
    ax.set_ylim(0, 100)
    date_axis(ax)
    return finish(
        fig,
        ax,
        f"Probability of a shortfall by month: {label.scenario}",
        "probability (% of replications)",
        label,
    )


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


def draw_capacity_vs_demand(run: RunDir, label: RunLabel) -> Figure:
    """capacity_vs_demand from an open run: its bands, regional means and region names."""
    from capsim.report.data import region_names
    from capsim.runs.aggregate import monthly_bands, regional_means

    return capacity_vs_demand(
        monthly_bands(run.path), regional_means(run.path), label, region_names(run)
    )


def draw_from_bands(
    chart: Callable[[pd.DataFrame, RunLabel], Figure],
) -> Callable[[RunDir, RunLabel], Figure]:
    """A drawer of a chart made from the run's monthly bands alone."""

    def drawer(run: RunDir, label: RunLabel) -> Figure:
        """``chart`` from the run's monthly bands."""
        from capsim.runs.aggregate import monthly_bands

        return chart(monthly_bands(run.path), label)

    return drawer


def draw_staged_run(staged: StagedRun) -> None:
    """The run's own charts (PNG and SVG) into a staged run, before it is published."""
    from capsim.runs.aggregate import monthly_bands, regional_means
    from capsim.version import __version__

    bands = monthly_bands(staged.directory)
    regional = regional_means(staged.directory)
    label = RunLabel(
        staged.scenario.name,
        staged.scenario_sha256,
        staged.scenario.seed,
        staged.replications,
        __version__,
        staged.run_date,
    )
    directory = staged.directory / "charts"
    directory.mkdir(exist_ok=True)
    names = {rid: region.name for rid, region in staged.scenario.regions.items()}
    save(capacity_vs_demand(bands, regional, label, names), directory, "capacity_vs_demand")
    save(capacity_fan(bands, label), directory, "capacity_fan")
    save(shortfall_probability(bands, label), directory, "shortfall_probability")
