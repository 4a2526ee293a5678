"""Decision charts: tornado (one-at-a-time), sensitivity indices, and the cost-risk frontier.

Pure functions from result tables to matplotlib Figures in the memo style of ``capsim.charts``:
a title, axis labels with units, a footnote naming the run, and fills that stay apart in
grayscale (lightness, hatching and marker shape, not hue alone). Parameters are shown by the
readable labels the caller gives (``capsim.report.studies.parameter_labels``), never by dotted
path; legends sit outside the plotting area, so they cover no bar. Every number is written by
``number``. Callers save the figures with ``charts.save``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capsim.report.charts import RunLabel

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LIGHT = "#BBBBBB"
SPAN = "#DDDDDD"
DARK = "#333333"
MID = "#777777"
MILLION = 1e6
#: Vertical offset of the low and high markers within a tornado row, so equal changes stay apart.
MARKER_OFFSET = 0.13
LOW_NAME = "parameter at its low bound (± paired SE)"
HIGH_NAME = "parameter at its high bound (± paired SE)"
SPAN_NAME = "range of the two changes and base"
#: Height of the legend's row above the plots, and the gid that finds its axes.
LEGEND_ROW_IN = 0.3
LEGEND_GID = "legend-row"
#: Height of one line of the frontier's key (6.5 pt text), to size the figure to its key.
KEY_LINE_IN = 0.125


def number(value: float) -> str:
    """The one number format of the decision charts: 3 significant figures, thousands separated.

    ``8490.05`` -> ``8,490``; ``12.345`` -> ``12.3``; ``0.05`` -> ``0.05``; NaN -> ``n/a``.
    """
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _tick_format(value: float, _position: float | None = None) -> str:
    """Axis ticks in the charts' number format (exact zero without a sign)."""
    return number(0.0 if value == 0 else value)


def _figure(panels: int, rows: int, width_in: float = 4.6) -> tuple[Figure, list[Axes]]:
    """A constrained-layout figure of ``panels`` side-by-side axes sharing their rows.

    A thin row above the panels holds the legend (``_legend_above``), so it never covers a bar.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    plot_in = max(1.6, 0.5 * rows + 0.9)
    fig = Figure(figsize=(max(7.5, 3.2 + width_in * panels), plot_in + 1.3), layout="constrained")
    grid = fig.add_gridspec(2, panels, height_ratios=(LEGEND_ROW_IN, plot_in))
    legend_row = fig.add_subplot(grid[0, :])
    legend_row.set_axis_off()
    legend_row.set_gid(LEGEND_GID)
    axes: list[Axes] = []
    for i in range(panels):
        ax = fig.add_subplot(grid[1, i], sharey=axes[0] if axes else None)
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.xaxis.set_major_formatter(FuncFormatter(_tick_format))
        if i:
            ax.tick_params(axis="y", labelleft=False)
        axes.append(ax)
    return fig, axes


def _footnote(fig: Figure, label: RunLabel, extra: str = "") -> None:
    text = label.footnote() + (f" | {extra}" if extra else "")
    fig.supxlabel(text, x=0.01, ha="left", fontsize=6, color="#555555")


def _legend_above(fig: Figure, axes: Sequence[Axes]) -> None:
    """One legend for every panel, in the row above the plots (so it never covers a bar).

    An error-bar entry is shown by its marker alone, so the legend reads cleanly.
    """
    from matplotlib.container import ErrorbarContainer

    handles, names = axes[0].get_legend_handles_labels()
    plain = [h[0] if isinstance(h, ErrorbarContainer) else h for h in handles]
    row = next(a for a in fig.axes if a.get_gid() == LEGEND_GID)
    row.legend(plain, names, loc="center left", ncols=len(names), fontsize=7, frameon=False)


def scaled_unit(unit: str) -> tuple[float, str]:
    """Divide USD figures by a million so axes stay readable."""
    return (MILLION, "USD m") if unit == "USD" else (1.0, unit)


def statistic_name(output: str, kpi: str) -> str:
    """``shortfall_mw_months_p90`` of ``shortfall_mw_months`` -> ``P90``; ``..._mean`` -> mean."""
    stat = output.removeprefix(f"{kpi}_")
    return stat.upper() if stat.startswith("p") and stat[1:].isdigit() else stat


def tornado(
    table: pd.DataFrame,
    kpi: str,
    unit: str,
    label: RunLabel,
    names: Mapping[str, str] | None = None,
    kpi_label: str = "",
) -> Figure:
    """Change in the KPI from base when each parameter alone goes to its low or high bound.

    One panel per statistic (e.g. P50 and P90); parameters sorted by swing, largest on top. Each
    row's bar spans the lowest to the highest of the changes at low, at base (zero) and at high,
    so a parameter whose bounds move the KPI the same way shows one bar to the farther change.
    Markers show the change at each bound, with the paired standard error
    (``se_change_at_low``/``_high``) as error bars where the table has it. ``names`` maps each
    dotted path to the row's label (default: the path).
    """
    names = names or {}
    outputs = list(dict.fromkeys(table["output"]))
    parameters = list(dict.fromkeys(table.sort_values("rank", kind="stable")["parameter"]))
    fig, axes = _figure(len(outputs), len(parameters))
    scale, shown_unit = scaled_unit(unit)
    positions = np.arange(len(parameters))[::-1].astype(float)
    for ax, output in zip(axes, outputs, strict=True):
        rows = table[table["output"] == output].set_index("parameter").loc[parameters]
        low = rows["change_at_low"].to_numpy(dtype=float) / scale
        high = rows["change_at_high"].to_numpy(dtype=float) / scale
        left = np.fmin(np.fmin(low, high), 0.0)
        right = np.fmax(np.fmax(low, high), 0.0)
        ax.barh(
            positions,
            right - left,
            left=left,
            height=0.62,
            color=SPAN,
            edgecolor=MID,
            linewidth=0.6,
            label=SPAN_NAME,
            gid="span",
        )
        for values, column, offset, marker, face, name in (
            (low, "se_change_at_low", MARKER_OFFSET, "o", "white", LOW_NAME),
            (high, "se_change_at_high", -MARKER_OFFSET, "D", "black", HIGH_NAME),
        ):
            errors = (
                rows[column].to_numpy(dtype=float) / scale
                if column in rows.columns
                else np.full(len(values), np.nan)
            )
            ax.errorbar(
                values,
                positions + offset,
                xerr=np.nan_to_num(errors, nan=0.0),
                fmt=marker,
                markersize=5,
                markerfacecolor=face,
                markeredgecolor="black",
                ecolor="black",
                elinewidth=0.9,
                capsize=2.5,
                label=name,
                zorder=3,
            )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(positions, [names.get(p, p) for p in parameters], fontsize=7)
        ax.set_ylim(-0.6, len(parameters) - 0.4)
        base = float(rows["at_base"].iloc[0]) / scale if len(rows) else math.nan
        stat = statistic_name(output, kpi)
        ax.set_title(
            f"{stat} of {kpi_label or kpi}: base {number(base)} {shown_unit}",
            loc="left",
            fontsize=8,
        )
        ax.set_xlabel(f"change from base ({shown_unit})", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    _legend_above(fig, axes)
    fig.suptitle(
        f"What drives {kpi_label or kpi}: one parameter at a time ({label.scenario})",
        x=0.01,
        ha="left",
        fontsize=10,
    )
    _footnote(
        fig,
        label,
        "same seed in every run (common random numbers); error bars: one paired standard error",
    )
    return fig


def indices(
    table: pd.DataFrame,
    method: str,
    kpi: str,
    unit: str,
    label: RunLabel,
    names: Mapping[str, str] | None = None,
    kpi_label: str = "",
) -> Figure:
    """Global sensitivity indices with confidence intervals, most influential on top.

    Sobol: first-order S1 and total ST (share of variance, 0-1). Morris: mu* (mean absolute
    elementary effect, in the KPI's unit) and sigma. ``names`` maps paths to row labels.
    """
    names = names or {}
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
    height = 0.8 / len(series) if method == "sobol" else 0.5
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
                positions - 0.38,  # under its bar, apart from the bar's interval
                marker="D",
                s=18,
                color=LIGHT,
                edgecolor="black",
                zorder=3,
                label="sigma (interactions)",
            )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(positions, [names.get(p, p) for p in parameters], fontsize=7)
        ax.set_title(f"{statistic_name(output, kpi)} of {kpi_label or kpi}", loc="left", fontsize=8)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    _legend_above(fig, axes)
    title = "Sobol indices" if method == "sobol" else "Morris screening"
    fig.suptitle(
        f"{title} of {kpi_label or kpi} ({label.scenario})", x=0.01, ha="left", fontsize=10
    )
    _footnote(fig, label, "bars: 95% confidence intervals")
    return fig


def frontier(
    table: pd.DataFrame,
    cost: tuple[str, str],
    risk: tuple[str, str],
    label: RunLabel,
    label_column: str = "label",
    axis_names: tuple[str, str] | None = None,
) -> Figure:
    """Cost against shortfall risk per strategy; the Pareto frontier joined and numbered.

    ``cost`` and ``risk`` are (column, unit); ``axis_names`` the readable names of the two
    axes (default: the columns). Frontier strategies are filled black, joined in order of cost
    and numbered; a key beside the plot names each number's strategies (strategies with the
    same cost and risk share a number), so labels never overprint. Dominated strategies
    (another is at least as good on both axes and better on one) are hollow grey.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    (cost_column, cost_unit), (risk_column, risk_unit) = cost, risk
    cost_name, risk_name = axis_names or (cost_column, risk_column)
    cost_scale, cost_shown = scaled_unit(cost_unit)
    risk_scale, risk_shown = scaled_unit(risk_unit)
    x = table[cost_column].to_numpy(dtype=float) / cost_scale
    y = table[risk_column].to_numpy(dtype=float) / risk_scale
    on = table["on_frontier"].to_numpy(dtype=bool)
    readable = [str(t).replace("_", " ").replace("=", ": ") for t in table.loc[on, label_column]]
    key = _frontier_key(x[on], y[on], readable)
    lines: list[str] = []
    for n, _, names in key:
        first, *rest = _key_lines(names)
        lines += [f"{n:>2}  {first}", *(f"     {line}" for line in rest)]
    plot_in = max(4.0, KEY_LINE_IN * (len(lines) + 2))  # the key never runs off the figure
    fig = Figure(figsize=(9.0, plot_in + 0.8), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(3.0, 1.25), height_ratios=(LEGEND_ROW_IN, plot_in))
    legend_row = fig.add_subplot(grid[0, :])
    legend_row.set_axis_off()
    legend_row.set_gid(LEGEND_GID)
    ax, side = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    side.set_axis_off()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(_tick_format))
    ax.scatter(x[~on], y[~on], s=30, facecolor="white", edgecolor=MID, label="dominated")
    ax.scatter(x[on], y[on], s=36, color="black", label="on the frontier", zorder=3)
    order = np.argsort(x[on], kind="stable")
    ax.plot(x[on][order], y[on][order], color="black", linewidth=1)
    for number_text, (xi, yi), _ in key:
        ax.annotate(
            number_text,
            (xi, yi),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=7,
            fontweight="bold",
        )
    ax.margins(x=0.08, y=0.12)
    ax.set_xlabel(f"{cost_name} ({cost_shown})", fontsize=8)
    ax.set_ylabel(f"{risk_name} ({risk_shown})", fontsize=8)
    ax.tick_params(labelsize=7)
    _legend_above(fig, [ax])
    side.text(
        0.0,
        1.0,
        "Frontier strategies\n" + "\n".join(lines),
        ha="left",
        va="top",
        fontsize=6.5,
        transform=side.transAxes,
        gid="frontier-key",
    )
    fig.suptitle(
        f"Cost against shortfall risk by strategy ({label.scenario})",
        x=0.01,
        ha="left",
        fontsize=10,
    )
    _footnote(fig, label, "lower-left is better; same seed in every strategy")
    return fig


def _key_lines(names: Sequence[str], width: int = 34) -> list[str]:
    """One number's strategies wrapped to ``width`` characters (continuations indented)."""
    import textwrap

    lines: list[str] = []
    for name in names:
        lines += textwrap.wrap(name, width, subsequent_indent="  ") or [""]
    return lines


def _frontier_key(
    x: np.ndarray, y: np.ndarray, labels: Sequence[str]
) -> list[tuple[str, tuple[float, float], list[str]]]:
    """Frontier points numbered in order of cost, strategies at the same point sharing one."""
    groups: dict[tuple[float, float], list[str]] = {}
    for xi, yi, text in sorted(zip(x, y, labels, strict=True), key=lambda t: (t[0], t[1])):
        groups.setdefault((float(xi), float(yi)), []).append(text)
    return [(str(i + 1), point, names) for i, (point, names) in enumerate(groups.items())]
