"""The charts and documents of an optimisation directory (``capsim optimize``).

Three charts in the memo style: the optimisation history (each trial's objective, the best
feasible so far), the frontier (every full trial, the winner or Pareto set, and where validation
moved them: the winner's curse made visible) and lever importance. ``write_optimization_report``
reads a finished study directory back and writes ``report.html``, ``memo.pptx`` and
``tables.xlsx``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from capsim.errors import UsageError
from capsim.report import charts
from capsim.report.documents import ChartImage, Document, Table, write_document
from capsim.runs.kpis import lookup

if TYPE_CHECKING:
    from matplotlib.figure import Figure

GREY = "#777777"
CHART_TITLES = {
    "history": "Optimisation history",
    "frontier": "Trials, winner and validation",
    "importance": "Lever importance",
}


def _axis(name: str) -> tuple[str, float]:
    """Axis label and divisor for a figure column such as ``cash_cost_usd_mean``."""
    kpi, _, stat = name.rpartition("_")
    try:
        entry = lookup(kpi)
    except KeyError:
        return name, 1.0
    return f"{entry.label}, {stat} ({entry.display_unit})" if entry.display_unit else (
        f"{entry.label}, {stat}"
    ), entry.scale


def _label(manifest: dict[str, Any]) -> charts.RunLabel:
    """The footnote of the study's charts: base scenario, hash, seed, full replications."""
    return charts.RunLabel(
        str(manifest.get("scenario", "")),
        str(manifest.get("scenario_sha256", "")),
        int(manifest.get("seed", 0)),
        int(manifest["rungs"][-1]) if manifest.get("rungs") else 0,
        str(manifest.get("capsim_version", "")),
        datetime.now(UTC).strftime("%Y-%m-%d"),
    )


def _validated_figures(frontier: pd.DataFrame) -> list[str]:
    """The figure columns the frontier holds validated too (``X`` where ``X_validated`` is)."""
    return [
        c.removesuffix("_validated")
        for c in frontier.columns
        if c.endswith("_validated") and not c.startswith("feasible")
    ]


def _finish(
    fig: Figure, ax: Any, chart: str, ylabel: str, manifest: dict[str, Any], xlabel: str
) -> Figure:
    """Title (the chart's and the base scenario's name), labels, footnote and a boxed legend."""
    figure = charts.finish(
        fig,
        ax,
        f"{CHART_TITLES[chart]} ({manifest.get('scenario', '')})",
        ylabel,
        _label(manifest),
        xlabel=xlabel,
        legend=False,
    )
    _legend(ax)
    return figure


def history_chart(trials: pd.DataFrame, manifest: dict[str, Any]) -> Figure:
    """Each trial's first objective by trial number; the best feasible full trial so far."""
    name = manifest["minimize"][0]
    label, scale = _axis(name)
    fig, (ax,) = charts._figure()
    done = trials[trials["state"] == "complete"]
    full = done[done["full"]]
    early = done[~done["full"]]
    ax.scatter(
        early["trial"],
        early[name] / scale,
        s=14,
        color=GREY,
        marker="x",
        label="stopped early (on fewer replications)",
    )
    feasible = full[full["feasible"]]
    broken = full[~full["feasible"]]
    ax.scatter(
        broken["trial"],
        broken[name] / scale,
        s=22,
        facecolor="white",
        edgecolor="black",
        label="full, breaks a limit",
    )
    ax.scatter(
        feasible["trial"],
        feasible[name] / scale,
        s=22,
        color=charts.PALETTE[0],
        label="full, meets every limit",
    )
    if len(feasible):
        best = feasible.set_index("trial")[name].reindex(trials["trial"]).cummin().ffill() / scale
        ax.step(
            best.index,
            best.to_numpy(),
            where="post",
            color=charts.PALETTE[0],
            linewidth=1,
            label="best so far",
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _finish(fig, ax, "history", label, manifest, xlabel="trial")


def frontier_chart(
    trials: pd.DataFrame, frontier: pd.DataFrame, manifest: dict[str, Any]
) -> Figure | None:
    """Full trials on the first objective against the second (or the first limit).

    The winner or Pareto points are joined to where validation put them; None when there is no
    second axis.
    """
    x_name = manifest["minimize"][0]
    others = [c for c in _validated_figures(frontier) if c != x_name]
    if not others:
        return None
    y_name = others[0]
    (x_label, x_scale), (y_label, y_scale) = _axis(x_name), _axis(y_name)
    fig, (ax,) = charts._figure()
    full = trials[(trials["state"] == "complete") & trials["full"]]
    ax.scatter(
        full[x_name] / x_scale,
        full[y_name] / y_scale,
        s=16,
        facecolor="white",
        edgecolor=GREY,
        label="full trials",
    )
    x0 = frontier[x_name].to_numpy(dtype=float) / x_scale
    y0 = frontier[y_name].to_numpy(dtype=float) / y_scale
    x1 = frontier[f"{x_name}_validated"].to_numpy(dtype=float) / x_scale
    y1 = frontier[f"{y_name}_validated"].to_numpy(dtype=float) / y_scale
    ax.scatter(x0, y0, s=30, color="black", label="winner or Pareto point, in-sample", zorder=3)
    ax.scatter(
        x1,
        y1,
        s=30,
        marker="s",
        facecolor=charts.PALETTE[1],
        edgecolor="black",
        label="the same, validated (fresh seed)",
        zorder=3,
    )
    for a, b, c, d in zip(x0, y0, x1, y1, strict=True):
        ax.annotate(
            "", (c, d), (a, b), arrowprops={"arrowstyle": "->", "color": "black", "lw": 0.8}
        )
    bound = _bound(manifest, y_name)
    if bound is not None:
        ax.axhline(
            bound / y_scale, color=charts.PALETTE[5], linestyle="--", linewidth=1, label="limit"
        )
    return _finish(fig, ax, "frontier", y_label, manifest, xlabel=x_label)


def _legend(ax: Any) -> None:
    """The legend where it hides the fewest points, on a white box."""
    ax.legend(loc="best", fontsize=7, framealpha=0.9, edgecolor="none")


def _bound(manifest: dict[str, Any], name: str) -> float | None:
    """The bound of the limit on column ``name``, if one is set."""
    for text in manifest.get("subject_to", []):
        left, _, right = text.replace(">=", "<=").partition("<=")
        if left.replace(":", "_") == name:
            return float(right)
    return None


def importance_chart(importance: pd.DataFrame, manifest: dict[str, Any]) -> Figure:
    """Each lever's importance to the first objective, as horizontal bars."""
    fig, (ax,) = charts._figure()
    first = importance[importance["objective"] == manifest["minimize"][0]]
    if first.empty:
        charts.nothing_to_show(ax, "too few distinct trials to rank the levers")
    else:
        ordered = first.sort_values("importance")
        ax.barh(ordered["lever"], ordered["importance"], color=charts.PALETTE[0])
        ax.set_xlim(0, max(1.0, float(ordered["importance"].max())))
        ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    return charts.finish(
        fig,
        ax,
        f"{CHART_TITLES['importance']} for {manifest['minimize'][0]}",
        "",
        _label(manifest),
        xlabel="share of importance (PED-ANOVA)",
        legend=False,
    )


def optimization_charts(
    charts_dir: Path,
    trials: pd.DataFrame,
    frontier: pd.DataFrame,
    importance: pd.DataFrame,
    manifest: dict[str, Any],
) -> list[str]:
    """Draw the study's charts into ``charts_dir`` (PNG and SVG); returns their names."""
    drawn = {
        "history": history_chart(trials, manifest),
        "frontier": frontier_chart(trials, frontier, manifest),
        "importance": importance_chart(importance, manifest),
    }
    names = []
    for name, figure in drawn.items():
        if figure is not None:
            charts.save(figure, charts_dir, name)
            names.append(name)
    return names


def _summary(manifest: dict[str, Any], frontier: pd.DataFrame) -> pd.DataFrame:
    """The chosen strategies: lever values, in-sample and validated figures."""
    rows = []
    for record in frontier.to_dict("records"):
        for name in _validated_figures(frontier):
            rows.append(
                {
                    "trial": record["trial"],
                    "chosen": bool(record["chosen"]),
                    "figure": name,
                    "in_sample": record[name],
                    "validated": record[f"{name}_validated"],
                    "change": record[f"{name}_validated"] - record[name],
                }
            )
    return pd.DataFrame(rows)


def write_optimization_report(directory: Path) -> list[Path]:
    """``report.html``, ``memo.pptx`` and ``tables.xlsx`` for a finished optimisation directory."""
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        raise UsageError(f"{directory} holds no finished optimisation (no manifest.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("kind") != "optimize":
        raise UsageError(f"{directory} is not an optimisation directory")
    trials = pd.read_parquet(directory / "trials.parquet")
    frontier = pd.read_parquet(directory / "frontier.parquet")
    importance = pd.read_parquet(directory / "importance.parquet")
    levers = ", ".join(lever["path"] for lever in manifest["levers"])
    doc = Document(
        title=f"Optimisation of {manifest['scenario']}",
        subtitle=(
            f"minimise {', '.join(manifest['minimize'])}"
            + (f" subject to {', '.join(manifest['subject_to'])}" if manifest["subject_to"] else "")
            + f"; levers {levers}; {manifest['sampler']}, {manifest['trials_finished']} trials"
        ),
        method_note=(
            f"{manifest['verdict']}. Trials used seed {manifest['seed']} (common random numbers) "
            f"and successive halving over {manifest['rungs']} replications "
            f"({manifest['search_replications']} replications in all); the chosen strategies were "
            f"run again with seed {manifest['validation_seed']} and "
            f"{manifest['validation_replications']} replications."
        ),
    )
    doc.tables.append(
        Table(
            "Chosen strategies: in-sample and validated",
            _summary(manifest, frontier),
            "validated: a fresh seed and more replications; the difference is the "
            "winner's curse plus sampling noise",
        )
    )
    doc.tables.append(Table("Frontier", frontier))
    doc.appendix.append(Table("Every trial", trials))
    for name in manifest.get("charts", []):
        png = directory / "charts" / f"{name}.png"
        if png.exists():
            doc.charts.append(ChartImage(name, CHART_TITLES.get(name, name), "", png.read_bytes()))
    sheets = {"frontier": frontier, "trials": trials, "importance": importance}
    return write_document(doc, sheets, directory, "report")


__all__ = ["optimization_charts", "write_optimization_report"]
