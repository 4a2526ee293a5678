"""Decision charts: tornado (one-at-a-time), sensitivity indices, and the cost-risk frontier.

Pure functions from result tables to matplotlib Figures in the memo style of ``capsim.charts``:
a title, axis labels with units, a footnote naming the run, and fills that stay apart in
grayscale (lightness and hatching, not hue alone). Callers save them with ``charts.save``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capsim.report.charts import RunLabel

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LIGHT = "#BBBBBB"
DARK = "#333333"
MID = "#777777"
MILLION = 1e6


def _figure(panels: int, rows: int) -> tuple[Figure, list[Axes]]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    height_in = max(3.0, 1.2 + 0.42 * rows)
    fig = Figure(figsize=(max(7.0, 4.2 * panels), height_in), layout="constrained")
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes


def _footnote(fig: Figure, label: RunLabel, extra: str = "") -> None:
    text = label.footnote() + (f" | {extra}" if extra else "")
    fig.supxlabel(text, x=0.01, ha="left", fontsize=6, color="#555555")


def _scaled(unit: str) -> tuple[float, str]:
    """Divide USD figures by a million so axes stay readable."""
    return (MILLION, "USD m") if unit == "USD" else (1.0, unit)


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:,.0f}"


def tornado(table: pd.DataFrame, kpi: str, unit: str, label: RunLabel) -> Figure:
    """Change in the KPI from base when each parameter alone goes to its low or high bound.

    One panel per statistic (e.g. P50 and P90); parameters sorted by swing, largest on top.
    """
    outputs = list(dict.fromkeys(table["output"]))
    parameters = list(dict.fromkeys(table.sort_values("rank", kind="stable")["parameter"]))
    fig, axes = _figure(len(outputs), len(parameters))
    scale, shown_unit = _scaled(unit)
    positions = np.arange(len(parameters))[::-1]
    for ax, output in zip(axes, outputs, strict=True):
        rows = table[table["output"] == output].set_index("parameter").loc[parameters]
        low = rows["change_at_low"].to_numpy(dtype=float) / scale
        high = rows["change_at_high"].to_numpy(dtype=float) / scale
        ax.barh(
            positions,
            low,
            height=0.6,
            color=LIGHT,
            edgecolor=DARK,
            hatch="///",
            linewidth=0.6,
            label="parameter at LOW",
        )
        ax.barh(
            positions,
            high,
            height=0.6,
            color=DARK,
            edgecolor=DARK,
            linewidth=0.6,
            label="parameter at HIGH",
            alpha=0.85,
        )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(
            positions,
            [
                f"{name}\n({_number(r.low)} to {_number(r.high)})"
                for name, r in zip(parameters, rows.itertuples(), strict=True)
            ],
            fontsize=7,
        )
        base = float(rows["at_base"].iloc[0]) / scale if len(rows) else float("nan")
        ax.set_title(f"{output}\nbase {_number(base)} {shown_unit}", loc="left", fontsize=8)
        ax.set_xlabel(f"change from base ({shown_unit})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    axes[0].legend(loc="best", fontsize=7, frameon=False)
    fig.suptitle(
        f"What drives {kpi}: one parameter at a time ({label.scenario})",
        x=0.01,
        ha="left",
        fontsize=10,
    )
    _footnote(fig, label, "same seed in every run (common random numbers)")
    return fig


def indices(table: pd.DataFrame, method: str, kpi: str, unit: str, label: RunLabel) -> Figure:
    """Global sensitivity indices with confidence intervals, most influential on top.

    Sobol: first-order S1 and total ST (share of variance, 0-1). Morris: mu* (mean absolute
    elementary effect, in the KPI's unit) and sigma.
    """
    outputs = list(dict.fromkeys(table["output"]))
    first = table[table["output"] == outputs[0]].sort_values("rank", kind="stable")
    parameters = list(first["parameter"])
    fig, axes = _figure(len(outputs), len(parameters))
    positions = np.arange(len(parameters))[::-1]
    series: tuple[tuple[str, str, str, str], ...]
    if method == "sobol":
        series = (("S1", "first order S1", LIGHT, "///"), ("ST", "total ST", DARK, ""))
        xlabel = "share of variance (fraction)"
    else:
        series = (("mu_star", "mu* (mean |effect|)", DARK, ""),)
        xlabel = f"mean absolute effect mu* ({unit})"
    height = 0.8 / len(series)
    for ax, output in zip(axes, outputs, strict=True):
        rows = table[table["output"] == output].set_index("parameter").loc[parameters]
        for k, (column, name, color, hatch) in enumerate(series):
            offset = (k - (len(series) - 1) / 2) * height
            ax.barh(
                positions - offset,
                rows[column].to_numpy(dtype=float),
                height=height,
                xerr=rows[f"{column}_conf"].to_numpy(dtype=float),
                color=color,
                edgecolor=DARK,
                hatch=hatch,
                linewidth=0.6,
                label=name,
                error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "black"},
            )
        if method == "morris":
            ax.scatter(
                rows["sigma"].to_numpy(dtype=float),
                positions,
                marker="D",
                s=18,
                color=LIGHT,
                edgecolor="black",
                zorder=3,
                label="sigma (interactions)",
            )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(positions, parameters, fontsize=7)
        ax.set_title(output, loc="left", fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    axes[0].legend(loc="best", fontsize=7, frameon=False)
    title = "Sobol indices" if method == "sobol" else "Morris screening"
    fig.suptitle(f"{title} of {kpi} ({label.scenario})", x=0.01, ha="left", fontsize=10)
    _footnote(fig, label, "bars: 95% confidence intervals")
    return fig


def frontier(
    table: pd.DataFrame,
    cost: tuple[str, str],
    risk: tuple[str, str],
    label: RunLabel,
    label_column: str = "label",
) -> Figure:
    """Cost against shortfall risk per strategy; the Pareto frontier joined and labelled.

    ``cost`` and ``risk`` are (column, unit). Frontier strategies are filled black and joined in
    order of cost; dominated ones (another strategy is at least as good on both axes and better
    on one) are hollow grey.
    """
    fig, (ax,) = _figure(1, 8)
    fig.set_size_inches(7.0, 4.6)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.6)
    (cost_column, cost_unit), (risk_column, risk_unit) = cost, risk
    cost_scale, cost_shown = _scaled(cost_unit)
    risk_scale, risk_shown = _scaled(risk_unit)
    x = table[cost_column].to_numpy(dtype=float) / cost_scale
    y = table[risk_column].to_numpy(dtype=float) / risk_scale
    on = table["on_frontier"].to_numpy(dtype=bool)
    ax.scatter(x[~on], y[~on], s=28, facecolor="white", edgecolor=MID, label="dominated")
    ax.scatter(x[on], y[on], s=36, color="black", label="Pareto frontier", zorder=3)
    order = np.argsort(x[on], kind="stable")
    ax.plot(x[on][order], y[on][order], color="black", linewidth=1)
    middle = float(np.nanmean(x)) if len(x) else 0.0
    for xi, yi, text in zip(x[on], y[on], table.loc[on, label_column], strict=True):
        right = xi > middle  # labels on the right half point left, so they stay inside
        ax.annotate(
            str(text),
            (xi, yi),
            xytext=(-5 if right else 5, 5),
            textcoords="offset points",
            fontsize=6,
            ha="right" if right else "left",
        )
    ax.set_xlabel(f"{cost_column} ({cost_shown})")
    ax.set_ylabel(f"{risk_column} ({risk_shown})")
    ax.set_title(f"Cost against shortfall risk by strategy ({label.scenario})", loc="left")
    ax.legend(loc="best", fontsize=7, frameon=False)
    _footnote(fig, label, "lower-left is better; same seed in every strategy")
    return fig
