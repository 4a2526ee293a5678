"""DataFrames -> matplotlib Figures, in one memo style; callers decide where to save them.

Charts read only the tables that ``results`` produces. Every chart carries a footnote naming
the run (scenario, hash, seed, replications, version, date) so a figure in a memo can be traced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Okabe-Ito palette: distinguishable for colour-blind readers and in grayscale by lightness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
DEMAND_COLOR = "#000000"
BRIDGE_COLOR = "#BBBBBB"


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


def _figure(width_in: float = 7.0, height_in: float = 4.2) -> tuple[Figure, Axes]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    return fig, ax


def _finish(fig: Figure, ax: Axes, title: str, ylabel: str, label: RunLabel) -> None:
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    ax.set_xlabel("month end")
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncols=2)
    fig.supxlabel(label.footnote(), x=0.01, ha="left", fontsize=6, color="#555555")


def capacity_vs_demand(bands: pd.DataFrame, regional: pd.DataFrame, label: RunLabel) -> Figure:
    """Energised capacity stacked by region (mean) plus bridge, against demand and capacity.

    With several replications, demand and total capacity show their median and P10-P90 band.
    """
    fig, ax = _figure()
    several = int(bands["replications"].max()) > 1
    dates = bands["date"]
    regions = [c for c in regional.columns if c != "date"]
    layers = [regional[c].to_numpy() for c in regions] + [bands["bridge_p50_mw"].to_numpy()]
    names = [*regions, "bridge power (median)"]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(regions))] + [BRIDGE_COLOR]
    ax.stackplot(regional["date"], *layers, labels=names, colors=colors, alpha=0.8, linewidth=0)
    ax.plot(dates, bands["demand_p50_mw"], color=DEMAND_COLOR, linewidth=2,
            label="demand (median)" if several else "demand")
    if several:
        ax.fill_between(dates, bands["demand_p10_mw"], bands["demand_p90_mw"],
                        color=DEMAND_COLOR, alpha=0.12, label="demand P10-P90")
        ax.plot(dates, bands["capacity_p50_mw"], color="#444444", linewidth=1.2,
                label="capacity (median)")
        ax.fill_between(dates, bands["capacity_p10_mw"], bands["capacity_p90_mw"],
                        facecolor="none", edgecolor="#444444", hatch="////", linewidth=0,
                        label="capacity P10-P90")
    ax.set_ylim(bottom=0)
    _finish(fig, ax, f"Capacity versus demand: {label.scenario}", "facility MW", label)
    return fig


def capacity_fan(bands: pd.DataFrame, label: RunLabel) -> Figure:
    """Demand and capacity by month: medians with P10-P90 bands (the Monte Carlo fan)."""
    fig, ax = _figure()
    dates = bands["date"]
    for name, color, style in (("demand", DEMAND_COLOR, "-"), ("capacity", PALETTE[0], "--")):
        ax.fill_between(dates, bands[f"{name}_p10_mw"], bands[f"{name}_p90_mw"], color=color,
                        alpha=0.15, label=f"{name} P10-P90")
        ax.plot(dates, bands[f"{name}_p50_mw"], color=color, linestyle=style, linewidth=2,
                label=f"{name} median")
    ax.set_ylim(bottom=0)
    _finish(fig, ax, f"Demand and capacity fan: {label.scenario}", "facility MW", label)
    return fig


def shortfall_probability(bands: pd.DataFrame, label: RunLabel) -> Figure:
    """Share of replications short of demand at each month end."""
    fig, ax = _figure()
    ax.step(bands["date"], bands["shortfall_probability"] * 100, where="post",
            color=PALETTE[5], linewidth=2, label="P(capacity < demand)")
    ax.set_ylim(0, 100)
    _finish(fig, ax, f"Probability of a shortfall by month: {label.scenario}", "% of replications",
            label)
    return fig


def save(fig: Figure, directory: Path, name: str) -> list[Path]:
    """Save a figure as PNG (300 dpi) and SVG; returns the two paths."""
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    fig.savefig(paths[0], dpi=300)
    fig.savefig(paths[1], metadata={"Date": None})
    return paths
