"""What a queue fit shows people: charts of the data against the fitted model, and a report.

Each chart sets the data's nonparametric curve (Kaplan-Meier, Aalen-Johansen cumulative
incidence, empirical distribution, yearly counts) against the fitted figures, in the memo style
of ``report.charts``, with a footnote naming the file, its SHA-256 and the as-of month.
``write_fit`` stages grid.yaml, fit.json, the charts and report.md in a hidden sibling of the
output directory and renames it into place, so nothing is written on error.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from capsim.analysis.fit.censored import Estimate, cumulative_incidence, kaplan_meier
from capsim.analysis.fit.estimate import CONNECTED, WITHDRAWN, QueueFit, naive_weibull
from capsim.analysis.fit.fragment import fit_json, fragment_yaml, number
from capsim.errors import OutputError
from capsim.report.charts import FOOT_COLOR, LINESTYLES, PALETTE, _figure
from capsim.runs.publish import publish_directory, staging_sibling
from capsim.version import __version__

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: Latent draws used to trace the fitted model's cumulative incidence (fixed seed).
MODEL_DRAWS = 200_000
CHARTS: tuple[str, ...] = ("arrivals", "size", "withdrawal", "durations", "outcomes")


def footnote_text(fit: QueueFit, fitted_on: str) -> str:
    """One line naming the data: file, hash, as-of month, requests, fit date, version."""
    d = fit.data
    return (
        f"capsim {__version__} fit | {d.file} ({d.sha256[:12]}) | as of {d.as_of} | "
        f"{fit.counts['requests']} requests | fitted {fitted_on}"
    )


def _title_and_foot(fig: Figure, title: str, foot: str) -> Figure:
    """The bold title above a chart and the data's footnote under it."""
    fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    fig.supxlabel(foot, x=0.01, ha="left", fontsize=6, color=FOOT_COLOR)
    return fig


def _finish(fig: Figure, ax: Axes, title: str, xlabel: str, ylabel: str, foot: str) -> Figure:
    """Title, axis labels, legend and footnote, as every memo chart carries them."""
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=7, frameon=False)
    return _title_and_foot(fig, title, foot)


def _kaplan_meier_data(ax: Axes, months: np.ndarray, events: np.ndarray, label: str) -> np.ndarray:
    """The data's share done by months (Kaplan-Meier, censoring kept) with its light 95% band.

    Rows without a time are left out; returns a grid of months from zero to the last time, on
    which the fitted model is drawn against the data.
    """
    ok = np.isfinite(months)
    curve = kaplan_meier(months[ok], events[ok])
    x = curve["months"].to_numpy()
    ax.step(x, 1 - curve["survival"], where="post", color=PALETTE[7], lw=1.4, label=label)
    ax.fill_between(
        x,
        1 - curve["upper"].to_numpy(),
        1 - curve["lower"].to_numpy(),
        step="post",
        color=PALETTE[7],
        alpha=0.18,
        linewidth=0,
    )
    return np.linspace(0, max(float(x.max()), 1.0), 300)


def _fitted(
    ax: Axes, grid: np.ndarray, values: np.ndarray, label: str, color: str = PALETTE[0]
) -> None:
    """A fitted model's curve, dashed, over the data it was fitted to."""
    ax.plot(grid, values, color=color, ls=LINESTYLES[1], lw=1.3, label=label)


def withdrawal_chart(fit: QueueFit, foot: str) -> Figure:
    """Share withdrawn by months since filing: Kaplan-Meier against Weibull and constant hazard.

    The curve is cause-specific: progress to agreement (or connection) censors, as in the fit.
    """
    fig, (ax,) = _figure()
    t = fit.durations
    grid = _kaplan_meier_data(
        ax, t.withdraw_months, t.withdraw_event, "data (Kaplan-Meier, censored)"
    )
    w, e = fit.withdrawal_weibull, fit.withdrawal_exponential
    _fitted(
        ax,
        grid,
        w.cdf(grid),
        f"Weibull shape {number(w.shape.value)}, scale {number(w.scale_months.value)} "
        f"mo (AIC {w.aic:.0f})",
    )
    ax.plot(
        grid,
        e.cdf(grid),
        color=PALETTE[1],
        ls=LINESTYLES[2],
        lw=1.3,
        label=f"constant {number(e.per_year.value)}/yr (AIC {e.aic:.0f})",
    )
    ax.set_ylim(0, 1)
    return _finish(
        fig,
        ax,
        "Withdrawal: data against the fitted hazards",
        "months since filing",
        "share withdrawn (without progress)",
        foot,
    )


def durations_chart(fit: QueueFit, foot: str) -> Figure:
    """Share past each step by months: study (to agreement) and works, data against lognormal."""
    t = fit.durations
    panels = [("study", t.study_months, t.study_event, fit.study, fit.study_label)]
    if fit.works is not None:
        panels.append(
            ("works", t.works_months, t.works_event, fit.works, "agreement to connection")
        )
    fig, axes = _figure(panels=len(panels))
    for ax, (name, months, events, model, label) in zip(axes, panels, strict=True):
        grid = _kaplan_meier_data(ax, months, events, "data (Kaplan-Meier)")
        _fitted(
            ax,
            grid,
            model.cdf(grid),
            f"lognormal median {number(model.median.value)}, P90 {number(model.p90.value)}",
        )
        ax.set_ylim(0, 1)
        ax.set_title(f"{name}: {label}", fontsize=8, loc="left")
        ax.set_xlabel("months", fontsize=9)
        ax.legend(loc="lower right", fontsize=7, frameon=False)
    axes[0].set_ylabel("share done (censoring accounted)", fontsize=9)
    return _title_and_foot(
        fig,
        "Study and works months: data against the fit"
        if fit.works is not None
        else "Months from filing to connection: data against the fit",
        foot,
    )


def model_incidence(fit: QueueFit, months: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """The fitted model's cumulative incidence of withdrawal and connection, by simulation.

    Latent withdrawal, study and works times are drawn from the fits (a fixed seed): a request
    withdraws if its withdrawal comes before its agreement, else connects after its works.
    """
    rng = np.random.default_rng(seed)
    if fit.withdrawal_model == "weibull":
        w = fit.withdrawal_weibull
        withdraw = w.scale_months.value * rng.weibull(w.shape.value, MODEL_DRAWS)
    else:
        withdraw = rng.exponential(1 / fit.withdrawal_exponential.rate_per_month.value, MODEL_DRAWS)
    study = np.exp(fit.study.mu + fit.study.sigma * rng.standard_normal(MODEL_DRAWS))
    works = (
        np.exp(fit.works.mu + fit.works.sigma * rng.standard_normal(MODEL_DRAWS))
        if fit.works is not None
        else np.zeros(MODEL_DRAWS)
    )
    gives_up = withdraw < study
    done_at = np.where(gives_up, withdraw, study + works)
    out = {}
    for name, mask in (("withdrawn", gives_up), ("connected", ~gives_up)):
        times = np.sort(done_at[mask])
        out[name] = np.searchsorted(times, months, side="right") / MODEL_DRAWS
    return out


def outcomes_chart(fit: QueueFit, foot: str) -> Figure:
    """Cumulative incidence of withdrawal and connection (Aalen-Johansen) against the model."""
    fig, (ax,) = _figure()
    t = fit.durations
    curve = cumulative_incidence(t.outcome_months, t.outcome_cause)
    x = curve["months"].to_numpy()
    grid = np.linspace(0, max(float(x.max()), 1.0), 300)
    model = model_incidence(fit, grid)
    for i, (cause, name) in enumerate(((WITHDRAWN, "withdrawn"), (CONNECTED, "connected"))):
        column = f"cause_{cause}"
        if column not in curve:
            continue
        ax.step(
            x,
            curve[column],
            where="post",
            color=PALETTE[i],
            lw=1.4,
            label=f"{name}: data (Aalen-Johansen)",
        )
        ax.plot(
            grid,
            model[name],
            color=PALETTE[i],
            ls=LINESTYLES[1],
            lw=1.2,
            label=f"{name}: fitted model",
        )
    ax.set_ylim(0, 1)
    return _finish(
        fig,
        ax,
        "Outcomes by months since filing: data against the fitted model",
        "months since filing",
        "share of requests (cumulative incidence)",
        foot,
    )


def size_chart(fit: QueueFit, foot: str) -> Figure:
    """Empirical distribution of request sizes against the fitted lognormal (log MW axis)."""
    fig, (ax,) = _figure()
    mw = np.sort(fit.data.requests["mw"].to_numpy(dtype=float))
    share = np.arange(1, mw.size + 1) / mw.size
    ax.step(mw, share, where="post", color=PALETTE[7], lw=1.4, label="data (empirical)")
    grid = np.geomspace(mw.min(), mw.max(), 300)
    ks_d = fit.size_ks[0]
    _fitted(
        ax,
        grid,
        fit.size.cdf(grid),
        f"lognormal median {number(fit.size.median.value)} MW, P90 "
        f"{number(fit.size.p90.value)} MW (KS D {ks_d:.3f})",
    )
    ax.set_xscale("log")
    ax.set_ylim(0, 1)
    return _finish(
        fig,
        ax,
        "Request size: data against the fitted lognormal",
        "MW requested (log scale)",
        "share of requests at or below",
        foot,
    )


def arrivals_chart(fit: QueueFit, foot: str) -> Figure:
    """Requests filed per year (partial years scaled by their exposure) and the fitted rate."""
    fig, (ax,) = _figure()
    years = fit.arrivals.years
    start_year = 1900 + years["start_months"].to_numpy() / 12.0
    rate = years["requests"] / years["exposure_years"]
    ax.bar(
        start_year + years["exposure_years"] / 2,
        rate,
        width=years["exposure_years"] * 0.9,
        color=PALETTE[4],
        edgecolor="#333333",
        linewidth=0.4,
        label="data: filings per year (by exposure)",
    )
    a = fit.arrivals
    ax.axhline(
        a.per_year.value,
        color=PALETTE[7],
        ls=LINESTYLES[1],
        lw=1.2,
        label=f"mean {number(a.per_year.value)}/yr",
    )
    ax.axhspan(a.per_year.lower, a.per_year.upper, color=PALETTE[7], alpha=0.12)
    if a.trend:
        end = start_year[-1] + years["exposure_years"].iloc[-1]
        ax.plot(
            [end],
            [a.latest_per_year.value],
            marker="o",
            color=PALETTE[5],
            label=f"trend rate at as-of {number(a.latest_per_year.value)}/yr",
        )
    ax.set_ylim(0, 1.35 * max(float(rate.max()), a.per_year.upper, a.latest_per_year.value))
    _finish(fig, ax, "Connection requests filed per year", "year filed", "requests per year", foot)
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncols=2)
    return fig


def draw_charts(fit: QueueFit, fitted_on: str) -> dict[str, Figure]:
    """Every chart of a fit by name."""
    foot = footnote_text(fit, fitted_on)
    return {
        "arrivals": arrivals_chart(fit, foot),
        "size": size_chart(fit, foot),
        "withdrawal": withdrawal_chart(fit, foot),
        "durations": durations_chart(fit, foot),
        "outcomes": outcomes_chart(fit, foot),
    }


def _row(name: str, estimate: Estimate) -> str:
    """One Markdown table row: figure, estimate, 95% interval, unit."""
    return (
        f"| {name} | {number(estimate.value)} | {number(estimate.lower)} to "
        f"{number(estimate.upper)} | {estimate.unit} |"
    )


def report_markdown(fit: QueueFit, region: str, fitted_on: str) -> str:
    """A short report: data, every estimate with its interval, the charts, the rows left out."""
    d = fit.data
    w, e = fit.withdrawal_weibull, fit.withdrawal_exponential
    naive = naive_weibull(fit)
    rows = [
        _row("arrivals (mean)", fit.arrivals.per_year),
        _row("arrivals growth", fit.arrivals.growth_per_year),
        _row("size median", fit.size.median),
        _row("size P90", fit.size.p90),
        _row("withdrawal Weibull shape", w.shape),
        _row("withdrawal Weibull scale", w.scale_months),
        _row("withdrawal constant hazard", e.per_year),
        _row("study months median", fit.study.median),
        _row("study months P90", fit.study.p90),
    ]
    if fit.works is not None:
        rows += [
            _row("works months median", fit.works.median),
            _row("works months P90", fit.works.p90),
        ]
    left_out = [f"- {b.format(d.file)}" for b in d.bad_rows[:50]]
    if len(d.bad_rows) > 50:
        left_out.append(f"- ... and {len(d.bad_rows) - 50} more (all in fit.json)")
    lines = [
        f"# Queue fit: {d.file} as of {d.as_of}",
        "",
        f"File {d.file} (sha256 `{d.sha256}`), format {d.format}, filters "
        f"{', '.join(d.filters) or 'none'}. {fit.counts['requests']} requests used of "
        f"{d.rows_selected} selected ({d.rows_read} read): {fit.counts['withdrawn']} withdrawn, "
        f"{fit.counts['connected']} connected, {fit.counts['active']} still active at the end "
        f"of {d.as_of} (censored there). Fitted by capsim {__version__} on {fitted_on}; "
        f"the fragment for `regions.{region}.grid` is grid.yaml, every figure is in fit.json.",
        "",
        "| figure | estimate | 95% interval | unit |",
        "| --- | --- | --- | --- |",
        *rows,
        "",
        f"Withdrawal model chosen by AIC: **{fit.withdrawal_model}** (Weibull {w.aic:.1f}, "
        f"constant hazard {e.aic:.1f}; lower is better). Fitted on the withdrawn requests alone, "
        "ignoring the censored ones, the Weibull scale would be "
        f"{number(naive.scale_months.value)} months instead of "
        f"{number(w.scale_months.value)}: that is the bias censoring removes.",
        f"Study months measure {fit.study_label}.",
        f"Request sizes against the lognormal: Kolmogorov-Smirnov distance {fit.size_ks[0]:.3f} "
        f"(p {fit.size_ks[1]:.2f}, conservative since the fit used the same data).",
        "",
        *[f"![{name}]({name}.png)" for name in CHARTS],
        "",
        f"## Rows left out ({len(d.bad_rows)})",
        "",
        *(left_out or ["None."]),
        "",
    ]
    return "\n".join(lines)


def write_fit(fit: QueueFit, region: str, output: Path, fitted_on: str) -> Path:
    """Write grid.yaml, fit.json, the charts (PNG) and report.md to ``output``, whole or not at all.

    An existing ``output`` is replaced only once the new one is complete.
    """
    if output.exists() and not output.is_dir():
        raise OutputError(f"-o {output}: exists and is not a directory")
    staged = staging_sibling(output)
    try:
        shutil.rmtree(staged, ignore_errors=True)
        staged.mkdir(parents=True)
        (staged / "grid.yaml").write_text(fragment_yaml(fit, region, fitted_on), encoding="utf-8")
        payload = json.dumps(fit_json(fit, region, fitted_on), indent=2, allow_nan=True)
        (staged / "fit.json").write_text(payload + "\n", encoding="utf-8")
        for name, fig in draw_charts(fit, fitted_on).items():
            fig.savefig(staged / f"{name}.png", dpi=200, metadata={"Software": None})
        (staged / "report.md").write_text(report_markdown(fit, region, fitted_on), "utf-8")
        publish_directory(staged, output)
    except OSError as exc:
        shutil.rmtree(staged, ignore_errors=True)
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return output
