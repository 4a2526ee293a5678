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


def capacity_vs_demand(timeseries: pd.DataFrame, regions: pd.DataFrame, label: RunLabel) -> Figure:
    """Energised capacity stacked by region plus bridge, against demand (median, P10-P90 bands)."""
    fig, ax = _figure()
    several = timeseries["replication"].nunique() > 1
    by_month = timeseries.groupby("date")
    stacked = (
        regions.groupby(["date", "region"])["energized_mw"].median().unstack("region").sort_index()
    )
    bridge = by_month["bridge_mw"].median()
    layers = [stacked[c].to_numpy() for c in stacked.columns] + [bridge.to_numpy()]
    names = [str(c) for c in stacked.columns] + ["bridge power"]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(stacked.columns))] + [BRIDGE_COLOR]
    ax.stackplot(stacked.index, *layers, labels=names, colors=colors, alpha=0.85, linewidth=0)
    demand = by_month["demand_mw"]
    ax.plot(
        demand.median().index,
        demand.median().to_numpy(),
        color=DEMAND_COLOR,
        linewidth=2,
        label="demand (median)" if several else "demand",
    )
    if several:
        capacity = by_month["capacity_mw"]
        dates = demand.median().index
        ax.fill_between(
            dates,
            demand.quantile(0.1).to_numpy(),
            demand.quantile(0.9).to_numpy(),
            color=DEMAND_COLOR,
            alpha=0.12,
            label="demand P10-P90",
        )
        for q, tag in ((0.1, "capacity P10 / P90"), (0.9, None)):
            ax.plot(
                dates,
                capacity.quantile(q).to_numpy(),
                color="#444444",
                linestyle="--",
                linewidth=1,
                label=tag,
            )
    ax.set_title(f"Capacity versus demand: {label.scenario}", loc="left")
    ax.set_ylabel("facility MW")
    ax.set_xlabel("month end")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncols=2)
    fig.text(0.01, 0.005, label.footnote(), fontsize=6, color="#555555", ha="left", va="bottom")
    return fig


def save(fig: Figure, directory: Path, name: str) -> list[Path]:
    """Save a figure as PNG (300 dpi) and SVG; returns the two paths."""
    paths = [directory / f"{name}.png", directory / f"{name}.svg"]
    fig.savefig(paths[0], dpi=300)
    fig.savefig(paths[1], metadata={"Date": None})
    return paths
