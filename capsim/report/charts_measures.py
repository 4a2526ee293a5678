"""The measure charts: time to power, delay causes, KPI spreads and P-dates, with their takeaways.

Each chart is a pure function from a small table (``data_measures``) or a part of the summary to a
Figure in the style of ``capsim.report.charts``; each ``draw_<name>(run, label)`` reads it from an
open run, and each ``<name>_takeaway(run)`` states in one sentence what the chart shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capsim.model.delays import GRID_CAUSES, SITE_CAUSES
from capsim.report import data as memo_data
from capsim.report import data_measures
from capsim.report.charts import (
    FOOT_COLOR,
    HATCHES,
    LINESTYLES,
    PALETTE,
    ZERO_TOLERANCE,
    RunLabel,
    _figure,
    date_axis,
    footnote,
    nothing_to_show,
)
from capsim.report.data_measures import Incidence
from capsim.runs.criticality import top_causes
from capsim.runs.kpis import DEFAULT, Percentiles, lookup
from capsim.runs.milestones import PORTFOLIO

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from capsim.runs.rundir import RunDir

#: The gid prefix of each incidence curve (``incidence-kind-greenfield``), so tests can find it.
INCIDENCE_GID = "incidence"
#: The gid of each P-date marker series (``p-date-p80``).
P_DATE_GID = "p-date"
#: Cause families of the delay chart: colour map of each, in path order.
CAUSE_FAMILIES = (
    ("deal", "Blues"),
    ("site", "Oranges"),
    ("equipment", "Purples"),
    ("grid", "Greens"),
)
#: A delay share at least this large has its percentage written on its bar segment.
SEGMENT_LABEL_MIN_SHARE = 0.07
#: With at most this many milestones, each P-date row carries its dates in words.
P_DATE_TEXT_MAX_LEVELS = 6
P_DATE_MARKERS = ("<", "s", "D", "^", "v", "p", "h", ">", "*")
MILLION = 1e6


def _title(fig: Figure, text: str) -> None:
    """The memo-style bold title at the top left."""
    fig.suptitle(text, x=0.01, ha="left", fontsize=10, fontweight="bold")


# --- time to power: cumulative incidence of first power ----------------------------------------


def _incidence_panel(
    ax: Axes, groups: Sequence[Incidence], kind: str, names: Mapping[str, str]
) -> None:
    """One step curve per group (percent of launched deals with power by months since launch)."""
    unpowered: list[str] = []
    for i, group in enumerate(groups):
        name = names.get(group.name) or group.name
        if group.plateau <= ZERO_TOLERANCE:
            unpowered.append(name)
            continue
        months = np.concatenate(([0.0], group.curve["months"].to_numpy(dtype=float)))
        share = np.concatenate(([0.0], group.curve["power_incidence"].to_numpy(dtype=float)))
        ax.step(
            months,
            share * 100,
            where="post",
            color=PALETTE[i % len(PALETTE)],
            linestyle=LINESTYLES[i % len(LINESTYLES)],
            linewidth=1.6,
            label=f"{name} (n={group.launched:,}, {group.powered_share:.0%} powered)",
            gid=f"{INCIDENCE_GID}-{kind}-{group.name}",
        )
    ax.axhline(50, color="#999999", linewidth=0.8, linestyle=":")
    ax.text(
        0.99,
        50,
        "half of launched deals",
        transform=ax.get_yaxis_transform(),
        ha="right",
        va="bottom",
        fontsize=6.5,
        color=FOOT_COLOR,
    )
    ax.set_ylim(0, 100)
    ax.set_xlim(left=0)
    ax.set_xlabel("months since launch", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=6.5, frameon=False)
    if unpowered:
        ax.text(
            0.99,
            0.02,
            "no deal powered: " + ", ".join(unpowered),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=6.5,
            color=FOOT_COLOR,
        )


def time_to_power(
    by_kind: Sequence[Incidence],
    by_region: Sequence[Incidence],
    label: RunLabel,
    names: Mapping[str, str] | None = None,
) -> Figure:
    """Cumulative incidence of first power by months since launch, per deal kind and per region.

    Deals that die compete with power and live deals are censored (Aalen-Johansen), so each
    curve's plateau is the share of launched deals that ever get power. The region panel is
    drawn only with more than one region; with nothing powered the chart says so in words.
    """
    title = f"Time to power: share of launched deals with power, {label.scenario}"
    ylabel = "launched deals with power (%)"
    launched = sum(g.launched for g in by_kind)
    if launched == 0 or all(g.plateau <= ZERO_TOLERANCE for g in by_kind):
        fig, (ax,) = _figure()
        message = (
            "No deals launched in this run"
            if launched == 0
            else f"No deal of the {launched:,} launched reached first power in this run"
        )
        nothing_to_show(ax, message)
        ax.set_xlabel("months since launch", fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        _title(fig, title)
        footnote(fig, label)
        return fig
    panels = [("kind", by_kind, "by deal kind")]
    if len(by_region) > 1:
        panels.append(("region", by_region, "by region"))
    fig, axes = _figure(panels=len(panels))
    for ax, (kind, groups, heading) in zip(axes, panels, strict=True):
        shown = (names or {}) if kind == "region" else {g.name: _kind(g.name) for g in groups}
        _incidence_panel(ax, groups, kind, shown)
        ax.set_title(heading, fontsize=9, loc="left")
    if len(axes) > 1:
        axes[1].tick_params(labelleft=False)
    axes[0].set_ylabel(ylabel, fontsize=9)
    _title(fig, title)
    footnote(fig, label)
    return fig


def draw_time_to_power(run: RunDir, label: RunLabel) -> Figure:
    """time_to_power from an open run: launched deals pooled over replications."""
    deals = data_measures.launched_deals(run)
    horizon = float(run.horizon_months)
    return time_to_power(
        data_measures.incidence_by(deals, "kind", horizon),
        data_measures.incidence_by(deals, "region", horizon),
        label,
        memo_data.region_names(run),
    )


def time_to_power_takeaway(run: RunDir) -> str:
    """How soon half of the launched deals of the fastest kind have power, and the slowest kind.

    Read from the summary's Aalen-Johansen incidence, so deals that die or wait count too.
    """
    by_kind: dict[str, dict[str, Any]] = run.summary["time_to_power"]["by_kind"]
    rows = {k: v for k, v in by_kind.items() if int(v.get("launched") or 0) > 0}
    if not rows:
        return "No deals launched in this run."
    plateau = {k: _finite(v.get("power_incidence_at_horizon")) or 0.0 for k, v in rows.items()}
    half = {
        k: float(v["months_to_50pct_powered"])
        for k, v in rows.items()
        if _finite(v.get("months_to_50pct_powered")) is not None
    }
    slow = min(plateau, key=plateau.__getitem__)
    if not half:
        best = max(plateau, key=plateau.__getitem__)
        if plateau[best] <= 0:
            return "No launched deal reached first power within the horizon."
        return (
            f"No deal kind reaches 50% powered: at best {plateau[best]:.0%} of launched "
            f"{_kind(best)} deals get power within the horizon, "
            f"{1 - plateau[best]:.0%} never do."
        )
    fast = min(half, key=half.__getitem__)
    text = (
        f"Half of launched {_kind(fast)} deals have power within {half[fast]:.0f} months; "
        f"{1 - plateau[fast]:.0%} never do within the horizon"
    )
    if slow != fast:
        text += (
            f", against {1 - plateau[slow]:.0%} of {_kind(slow)} deals, the kind that fares worst"
        )
    return text + "."


def _kind(kind: str) -> str:
    """A deal kind as people write it ('onsite generation')."""
    return kind.replace("_", " ")


def _finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# --- delay causes: what held the megawatts back -------------------------------------------------


def cause_label(cause: str) -> str:
    """A delay cause as people read it: 'headroom wait', 'stage: due diligence'."""
    for prefix in ("stage", "equipment"):
        if cause.startswith(f"{prefix}_"):
            return f"{prefix}: {cause.removeprefix(prefix + '_').replace('_', ' ')}"
    return cause.replace("_", " ")


def cause_family(cause: str) -> str:
    """The family of a delay cause: deal, site, equipment or grid."""
    if cause.startswith("equipment_"):
        return "equipment"
    if cause in SITE_CAUSES:
        return "site"
    if cause in GRID_CAUSES:
        return "grid"
    return "deal"


def cause_styles(causes: Sequence[str]) -> dict[str, tuple[tuple[float, ...], str]]:
    """Colour and hatch of each cause: a hue per family, lightness and hatching within it.

    Made once per chart from every cause drawn, so a cause looks the same on every bar.
    """
    import matplotlib

    styles: dict[str, tuple[tuple[float, ...], str]] = {}
    for family, cmap_name in CAUSE_FAMILIES:
        members = [c for c in causes if cause_family(c) == family]
        cmap = matplotlib.colormaps[cmap_name]
        shades = np.linspace(0.85, 0.4, len(members)) if len(members) > 1 else [0.65] * len(members)
        for j, (cause, shade) in enumerate(zip(members, shades, strict=True)):
            styles[cause] = (tuple(cmap(float(shade))), HATCHES[j % 3])
    return styles


def delay_causes(
    shares: pd.DataFrame, label: RunLabel, names: Mapping[str, str] | None = None
) -> Figure:
    """MW-weighted share of the delay to first power by cause: one stacked bar per scope.

    ``shares`` has rows of scope, cause, share (``data_measures.delay_share_table``); the
    portfolio's bar is on top, each region's under it (left out when the portfolio is one
    region); regions of ``names`` with no bar are named above. Causes that held no deal back
    stay out of the legend.
    """
    names = names or {}
    title = f"What delayed first power: share of MW-weighted months by cause, {label.scenario}"
    xlabel = "share of the MW-weighted months from launch to first power (%)"
    ylabel = "portfolio and grid region"
    if shares.empty:
        fig, (ax,) = _figure()
        nothing_to_show(ax, "No deal reached first power in this run: no delay to split")
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        _title(fig, title)
        footnote(fig, label)
        return fig
    scopes = list(dict.fromkeys(shares["scope"]))
    only_region = ""
    if len(scopes) == 2 and scopes[0] == PORTFOLIO:
        only_region, scopes = scopes[1], scopes[:1]
    table = shares.pivot_table(index="scope", columns="cause", values="share", sort=False)
    table = table.reindex(index=scopes, columns=list(dict.fromkeys(shares["cause"]))).fillna(0.0)
    causes = [c for c in table.columns if (table[c] > ZERO_TOLERANCE).any()]
    styles = cause_styles(causes)
    fig, (ax,) = _figure(height_in=2.4 + 0.35 * len(scopes) + 0.13 * math.ceil(len(causes) / 3))
    y = -np.arange(len(scopes), dtype=float)
    if len(scopes) > 1:
        y[1:] -= 0.4
    left = np.zeros(len(scopes))
    for cause in causes:
        share = table[cause].to_numpy(dtype=float)
        color, hatch = styles[cause]
        ax.barh(
            y,
            share * 100,
            left=left * 100,
            height=0.7,
            color=color,
            hatch=hatch,
            edgecolor="white",
            linewidth=0.5,
            label=cause_label(cause),
        )
        for yi, start, width in zip(y, left, share, strict=True):
            if width >= SEGMENT_LABEL_MIN_SHARE:
                dark = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2] < 0.5
                ax.text(
                    (start + width / 2) * 100,
                    yi,
                    f"{width:.0%}",
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if dark else "black",
                    bbox={"facecolor": color, "edgecolor": "none", "pad": 0.5},
                )
        left += share
    ticks = ["portfolio" if scope == PORTFOLIO else (names.get(scope) or scope) for scope in scopes]
    if only_region:
        ticks[0] += f"\n({names.get(only_region) or only_region})"
    ax.set_yticks(y, ticks, fontsize=8)
    ax.set_xlim(0, 100)
    margin = 0.5 if len(scopes) > 1 else 0.9
    ax.set_ylim(y.min() - margin, margin)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    unpowered = [names[r] or r for r in names if r not in scopes and r != only_region]
    if unpowered:
        ax.set_title("no deal powered in " + ", ".join(unpowered), fontsize=7, loc="right")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16 - 0.06 * (len(scopes) < 3)),
        ncols=3,
        fontsize=6.5,
        frameon=False,
        handlelength=1.6,
        columnspacing=1.2,
    )
    _title(fig, title)
    footnote(fig, label)
    return fig


def draw_delay_causes(run: RunDir, label: RunLabel) -> Figure:
    """delay_causes from an open run's summary (``criticality``)."""
    shares = data_measures.delay_share_table(run.summary["criticality"])
    return delay_causes(shares, label, memo_data.region_names(run))


def delay_causes_takeaway(run: RunDir) -> str:
    """The top cause of delay to first power in each region and in the portfolio."""
    criticality: dict[str, Any] = run.summary["criticality"]
    names = memo_data.region_names(run)
    parts = []
    for scope in criticality:
        top = top_causes(criticality, scope, count=1)
        if top and scope != PORTFOLIO:
            cause, share = top[0]
            parts.append(f"{names.get(scope) or scope} {cause_label(cause)} ({share:.0%})")
    top = top_causes(criticality, PORTFOLIO, count=1)
    if not top:
        return "No deal reached first power, so no delay can be attributed to a cause."
    cause, share = top[0]
    text = f"Top cause of delay to first power (MW-weighted): {cause_label(cause)} ({share:.0%})"
    if len(parts) > 1:
        text += "; by region: " + ", ".join(parts)
    return text + "."


# --- KPI distributions over replications --------------------------------------------------------


def _kpi_panels(tolerance: float) -> list[tuple[str, str, float, str]]:
    """Per panel: KPI column, heading, divisor to display units and the x axis label."""
    return [
        ("served_share", "served share", 0.01, "demand served (%)"),
        (
            "shortfall_beyond_tolerance_mw_months",
            f"shortfall beyond {tolerance:.0%} of demand",
            1.0,
            "MW-months",
        ),
        ("cash_cost_usd", "cash cost", MILLION, "USD m"),
    ]


def _display(value: float, divisor: float) -> str:
    """A KPI value in display units, with thousands separators."""
    shown = value / divisor
    return f"{shown:,.1f}" if divisor == 0.01 else f"{shown:,.0f}"


def kpi_distributions(
    samples: pd.DataFrame,
    label: RunLabel,
    percentiles: Percentiles = DEFAULT,
    shortfall_tolerance: float = 0.05,
) -> Figure:
    """Empirical CDFs over replications of served share, shortfall beyond tolerance, cash cost.

    Each panel marks the run's ``percentiles`` on its curve with their values; a KPI with the
    same value in every replication says so in words.
    """
    title = f"Spread over replications: served share, shortfall and cash cost, {label.scenario}"
    ylabel = "replications at or below (%)"
    if samples.empty:
        fig, (ax,) = _figure()
        nothing_to_show(ax, "No replications in this run")
        ax.set_xlabel("value", fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        _title(fig, title)
        footnote(fig, label)
        return fig
    fig, axes = _figure(panels=3)
    for ax, (column, heading, divisor, xlabel) in zip(
        axes, _kpi_panels(shortfall_tolerance), strict=True
    ):
        ax.set_title(heading, fontsize=8.5, loc="left")
        ax.set_xlabel(xlabel, fontsize=8.5)
        values = np.sort(samples[column].to_numpy(dtype=float))
        values = values[np.isfinite(values)]
        if values.size == 0:
            nothing_to_show(ax, "No values")
            continue
        if values[-1] - values[0] <= max(ZERO_TOLERANCE, abs(values[0]) * 1e-9):
            nothing_to_show(ax, f"{_display(values[0], divisor)} {xlabel}\nin every replication")
            continue
        share = np.arange(1, values.size + 1) / values.size * 100
        shown = values / divisor
        ax.step(
            np.concatenate(([shown[0]], shown)),
            np.concatenate(([0.0], share)),
            where="post",
            color=PALETTE[0],
            linewidth=1.5,
        )
        for key, q in percentiles.quantiles.items():
            at = float(np.quantile(values, q))
            below = q < 0.5
            ax.plot(at / divisor, q * 100, "o", color=PALETTE[5], markersize=3.5, zorder=3)
            ax.annotate(
                f"{percentiles.labels[key]} {_display(at, divisor)}",
                (at / divisor, q * 100),
                xytext=(3, -3) if below else (-3, 3),
                textcoords="offset points",
                ha="left" if below else "right",
                va="top" if below else "bottom",
                fontsize=6,
                color="#333333",
            )
        ax.set_ylim(0, 100)
        ax.margins(x=0.08)
        _thousands(ax)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel(ylabel, fontsize=9)
    for ax in axes[1:]:
        if ax.axison:
            ax.tick_params(labelleft=False)
    _title(fig, title)
    footnote(fig, label)
    return fig


def _thousands(ax: Axes) -> None:
    """At most four round x ticks with thousands separators, so three panels stay legible."""
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    ax.xaxis.set_major_locator(MaxNLocator(nbins=3, min_n_ticks=2))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def draw_kpi_distributions(run: RunDir, label: RunLabel) -> Figure:
    """kpi_distributions from an open run, marking the percentiles it reports."""
    from capsim.report.currency import currency_of, relabel_figure

    figure = kpi_distributions(
        data_measures.kpi_samples(run),
        label,
        memo_data.run_percentiles(run),
        float(run.summary["report"]["shortfall_tolerance"]),
    )
    return relabel_figure(figure, currency_of(run.summary))  # labels in the run's currency


def _risk_percentile(percentiles: Percentiles) -> int:
    """The percentile risk takeaways quote: P80 when reported, else the highest reported."""
    return 80 if 80 in percentiles.values else percentiles.values[-1]


def kpi_distributions_takeaway(run: RunDir) -> str:
    """What 80% of replications do no worse than: served share, shortfall and cash cost."""
    percentiles = memo_data.run_percentiles(run)
    level = _risk_percentile(percentiles)
    samples = data_measures.kpi_samples(run)
    if samples.empty:
        return "No replications in this run."
    served = samples["served_share"].dropna().to_numpy(dtype=float)
    kpis: dict[str, Any] = run.summary["kpis"]
    shortfall = _finite(kpis["shortfall_beyond_tolerance_mw_months"].get(f"p{level}"))
    cash = _finite(kpis["cash_cost_usd"].get(f"p{level}"))
    tolerance = float(run.summary["report"]["shortfall_tolerance"])
    served_text = f"{float(np.quantile(served, 1 - level / 100)):.0%}" if served.size else "n/a"
    mw_months = lookup("shortfall_beyond_tolerance_mw_months").format(shortfall)
    cash_text = lookup("cash_cost_usd").format(cash)
    return (
        f"In {level}% of replications (P{level}): served share at least {served_text}, "
        f"shortfall beyond {tolerance:.0%} of demand at most {mw_months} MW-months, "
        f"cash cost at most USD {cash_text} m."
    )


# --- P-dates: by when each MW milestone is energised ---------------------------------------------


def p_dates(
    entries: Sequence[Mapping[str, Any]],
    label: RunLabel,
    percentiles: Percentiles = DEFAULT,
    horizon_end: pd.Timestamp | None = None,
    start: pd.Timestamp | None = None,
) -> Figure:
    """Per MW milestone, the month each percentile of replications has it energised.

    Markers for each percentile on a date axis (from ``start`` when given), a bar from the
    earliest to the latest, a dashed tail to the horizon (``horizon_end``) where a percentile is
    past it, and the share of replications that never reach the level under its name.
    """
    title = f"P-dates: when energised capacity reaches each milestone, {label.scenario}"
    xlabel = "month by which that share of replications has the MW energised"
    ylabel = "energised MW milestone"
    dates = {
        float(e["mw"]): {
            k: _date_number(data_measures.month_end(e[k]))
            for k in percentiles.keys
            if e.get(k) is not None
        }
        for e in entries
    }
    horizon = None if horizon_end is None else _date_number(horizon_end)
    if not any(dates.values()):
        fig, (ax,) = _figure()
        if entries:
            levels = ", ".join(f"{float(e['mw']):,.0f}" for e in entries)
            message = f"No milestone ({levels} MW) energised\nby the horizon at any percentile"
        else:
            message = "No MW milestones in this run"
        nothing_to_show(ax, message)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_ylabel(ylabel, fontsize=9)
        _title(fig, title)
        footnote(fig, label)
        return fig
    fig, (ax,) = _figure(height_in=max(2.6, 1.6 + 0.45 * len(entries)))
    y = np.arange(len(entries), dtype=float)
    for yi, entry in zip(y, entries, strict=True):
        at = dates[float(entry["mw"])]
        if not at:
            ax.text(
                0.01,
                yi,
                "not energised by the horizon at any percentile",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=7,
                color=FOOT_COLOR,
            )
            continue
        first, last = min(at.values()), max(at.values())
        ax.plot([first, last], [yi, yi], color=PALETTE[0], linewidth=5, alpha=0.25, zorder=1)
        if len(at) < len(percentiles.keys) and horizon is not None:
            ax.plot([last, horizon], [yi, yi], color=PALETTE[0], linewidth=1, linestyle="--")
        if len(entries) <= P_DATE_TEXT_MAX_LEVELS:
            words = ", ".join(
                f"{percentiles.labels[k]} {entry[k] or 'past horizon'}" for k in percentiles.keys
            )
            ax.text(
                0.01,
                yi + 0.22,
                words,
                transform=ax.get_yaxis_transform(),
                va="bottom",
                fontsize=6,
                color="#333333",
            )
    for i, key in enumerate(percentiles.keys):
        xs = np.array([dates[float(e["mw"])].get(key, math.nan) for e in entries])
        if np.isnan(xs).all():
            continue
        median = key == "p50"
        ax.plot(
            xs,
            y,
            linestyle="none",
            marker="o" if median else P_DATE_MARKERS[i % len(P_DATE_MARKERS)],
            markersize=6 if median else 4.5,
            color="#000000" if median else PALETTE[(i + 1) % len(PALETTE)],
            label=percentiles.labels[key] + (" (median)" if median else ""),
            gid=f"{P_DATE_GID}-{key}",
            zorder=3,
        )
    if horizon is not None:
        ax.axvline(horizon, color="#999999", linewidth=0.8, linestyle=":")
        ax.text(
            horizon,
            0.02,
            "horizon ",
            transform=ax.get_xaxis_transform(),
            ha="right",
            va="bottom",
            rotation=90,
            fontsize=6.5,
            color=FOOT_COLOR,
        )
    ticks = []
    for entry in entries:
        tick = f"{float(entry['mw']):,.0f} MW"
        never = float(entry.get("never_share") or 0.0)
        if never > 0:
            tick += f"\nnever in {never:.0%}"
        ticks.append(tick)
    ax.set_yticks(y, ticks, fontsize=8)
    ax.set_ylim(-0.6, len(entries) - 0.25)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    if start is not None:
        ax.set_xlim(left=_date_number(start))
    date_axis(ax)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.legend(
        loc="lower right",
        fontsize=6.5,
        frameon=False,
        ncols=len(percentiles.keys),
        handletextpad=0.2,
        columnspacing=0.8,
        bbox_to_anchor=(1.0, 1.0),
        borderaxespad=0.1,
    )
    _title(fig, title)
    footnote(fig, label)
    return fig


def _date_number(date: pd.Timestamp) -> float:
    """A date as matplotlib's date number (days since its epoch), for a date axis."""
    import matplotlib.dates as mdates

    return float(mdates.date2num(date))  # type: ignore[no-untyped-call]


def draw_p_dates(run: RunDir, label: RunLabel) -> Figure:
    """p_dates from an open run's summary: the portfolio's energised-MW milestones."""
    horizon_end = run.month_end([run.horizon_months])[0]
    return p_dates(
        data_measures.portfolio_p_dates(run.summary),
        label,
        memo_data.run_percentiles(run),
        horizon_end,
        run.start.to_timestamp(),
    )


def p_dates_takeaway(run: RunDir) -> str:
    """The largest milestone energised by a date at P80 (or the highest percentile reported)."""
    percentiles = memo_data.run_percentiles(run)
    level = _risk_percentile(percentiles)
    key = f"p{level}"
    entries = data_measures.portfolio_p_dates(run.summary)
    if not entries:
        return "No MW milestones in this run."
    reached = [e for e in entries if e.get(key)]
    if not reached:
        lowest = entries[0]
        return (
            f"Not even {float(lowest['mw']):,.0f} MW is energised by the horizon at P{level} "
            f"({float(lowest['never_share']):.0%} of replications never reach it)."
        )
    best = reached[-1]
    text = f"{float(best['mw']):,.0f} MW energised by {best[key]} at P{level}"
    if best.get("p50") and level != 50:
        text += f" (P50 {best['p50']})"
    later = [e for e in entries if float(e["mw"]) > float(best["mw"])]
    if later:
        nxt = later[0]
        text += (
            f"; {float(nxt['mw']):,.0f} MW not by the horizon at P{level} "
            f"({float(nxt['never_share']):.0%} of replications never reach it)"
        )
    return text + "."
