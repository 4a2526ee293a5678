"""The measure charts draw what the run measured: incidence, delay shares, P-dates, percentiles.

Each chart is read back from its matplotlib Figure (curve points, bar widths, marker dates,
legend texts) and compared with the run's own tables and summary.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from chart_checks import legend_texts, nothing_to_show_texts
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from memo_runs import small_run

from capsim.report import charts, charts_measures, data_measures, suite
from capsim.report.data import region_names
from capsim.report.data_measures import Incidence
from capsim.report.memo import with_percentiles
from capsim.runs.kpis import Percentiles
from capsim.runs.rundir import RunDir
from capsim.runs.survival import cumulative_incidence, deal_outcomes

matplotlib.use("Agg")

LABEL = charts.RunLabel("test", "0" * 64, 7, 3, "0.0.0", "2026-01-01")
#: A run reporting the quartiles instead of the default percentiles.
QUARTILES = ("report.percentiles=[25, 50, 75]",)


def lines_by_gid(fig: Figure, prefix: str) -> dict[str, Line2D]:
    """Every line of the figure whose gid starts with ``prefix``, by gid."""
    return {
        str(line.get_gid()): line
        for ax in fig.axes
        for line in ax.get_lines()
        if str(line.get_gid() or "").startswith(prefix)
    }


def every_text(fig: Figure) -> list[str]:
    """Titles, legend entries and texts of a figure: everything it says in words."""
    texts = [fig.get_suptitle(), *legend_texts(fig)]
    for ax in fig.axes:
        texts += [ax.get_title(loc) for loc in ("left", "center", "right")]
        texts += [t.get_text() for t in ax.texts]
    return texts


# --- time to power --------------------------------------------------------------------------


def test_incidence_curves_equal_the_cumulative_incidence_of_the_runs_deals() -> None:
    run = RunDir(small_run("apac_2026"))
    fig = suite.draw("time_to_power", run, LABEL)
    deals = run.table("deals", ["kind", "region", "in_flight", "launched", "first_power"])
    deals = deals.join(run.table("deals", ["ended_month"]))
    launched = deals[~deals["in_flight"]]
    curves = lines_by_gid(fig, charts_measures.INCIDENCE_GID)
    checked = 0
    for column in ("kind", "region"):
        for key, group in launched.groupby(column):
            months, outcome = deal_outcomes(group, float(run.horizon_months))
            expected = cumulative_incidence(months, outcome)
            gid = f"{charts_measures.INCIDENCE_GID}-{column}-{key}"
            if expected["power_incidence"].iloc[-1] == 0:
                assert gid not in curves
                continue
            x, y = (np.asarray(a, dtype=float) for a in curves[gid].get_data())
            assert x[0] == 0 and y[0] == 0
            assert np.allclose(x[1:], expected["months"])
            assert np.allclose(y[1:], expected["power_incidence"] * 100)
            checked += 1
    assert checked >= 4
    summary = run.summary["time_to_power"]["by_kind"]
    for text in legend_texts(fig):
        kind = text.split(" (n=")[0].replace(" ", "_")
        if kind in summary:
            assert f"n={summary[kind]['launched']:,}" in text
            assert f"{summary[kind]['powered_share']:.0%} powered" in text


def test_a_kind_that_never_gets_power_stays_out_of_the_legend() -> None:
    months = np.array([3.0, 5.0, 8.0, 12.0])
    powered = Incidence("greenfield", cumulative_incidence(months, np.array([1, 1, 2, 0])), 4, 0.5)
    never = Incidence("expansion", cumulative_incidence(months, np.array([2, 2, 0, 0])), 4, 0.0)
    fig = charts_measures.time_to_power([never, powered], [], LABEL)
    assert [t.split(" (")[0] for t in legend_texts(fig)] == ["greenfield"]
    assert any("no deal powered: expansion" in t for t in every_text(fig))


def test_no_power_at_all_is_said_in_words() -> None:
    curve = cumulative_incidence(np.array([4.0, 6.0]), np.array([2, 0]))
    fig = charts_measures.time_to_power([Incidence("greenfield", curve, 2, 0.0)], [], LABEL)
    assert nothing_to_show_texts(fig) == [
        "No deal of the 2 launched reached first power in this run"
    ]
    assert not legend_texts(fig)


def test_time_to_power_takeaway_reads_the_incidence_of_the_summary() -> None:
    run = RunDir(small_run("apac_2026"))
    text = charts_measures.time_to_power_takeaway(run)
    by_kind = run.summary["time_to_power"]["by_kind"]
    half = {
        k: v["months_to_50pct_powered"]
        for k, v in by_kind.items()
        if v["months_to_50pct_powered"] is not None
    }
    if half:
        fast = min(half, key=half.__getitem__)
        assert text.startswith(
            f"Half of launched {fast.replace('_', ' ')} deals have power within "
            f"{half[fast]:.0f} months"
        )
    assert text.endswith(".") and "\n" not in text


# --- delay causes -----------------------------------------------------------------------------


def test_delay_bars_add_to_100_percent_and_match_the_summary() -> None:
    run = RunDir(small_run("apac_2026"))
    fig = suite.draw("delay_causes", run, LABEL)
    ax = fig.axes[0]
    criticality = run.summary["criticality"]
    names = {v: k for k, v in region_names(run).items()}
    rows = [t.get_text() for t in ax.get_yticklabels()]
    scopes = ["portfolio" if r == "portfolio" else names[r] for r in rows]
    assert scopes[0] == "portfolio" and len(scopes) == len(criticality)
    totals = np.zeros(len(scopes))
    for container in ax.containers:
        cause = next(
            c
            for c in criticality["portfolio"]["causes"]
            if charts_measures.cause_label(c) == container.get_label()
        )
        widths = np.array([bar.get_width() for bar in container])
        expected = [criticality[s]["causes"][cause]["share"] * 100 for s in scopes]
        assert np.allclose(widths, expected)
        totals += widths
    assert np.allclose(totals, 100.0)
    drawn = {c.get_label() for c in ax.containers}
    off = {
        charts_measures.cause_label(c)
        for c in criticality["portfolio"]["causes"]
        if all(criticality[s]["causes"][c]["share"] == 0 for s in scopes)
    }
    assert not drawn & off
    assert set(legend_texts(fig)) == drawn


def test_causes_have_readable_names_and_one_colour_on_every_bar() -> None:
    assert charts_measures.cause_label("headroom_wait") == "headroom wait"
    assert charts_measures.cause_label("stage_due_diligence") == "stage: due diligence"
    assert charts_measures.cause_label("equipment_transformer") == "equipment: transformer"
    shares = pd.DataFrame(
        {
            "scope": ["portfolio"] * 3 + ["a"] * 3 + ["b"] * 3,
            "cause": ["study", "headroom_wait", "permitting"] * 3,
            "share": [0.5, 0.5, 0.0, 0.25, 0.75, 0.0, 1.0, 0.0, 0.0],
        }
    )
    fig = charts_measures.delay_causes(shares, LABEL, {"a": "Region A", "b": "Region B"})
    ax = fig.axes[0]
    assert legend_texts(fig) == ["study", "headroom wait"]
    for container in ax.containers:
        assert len({bar.get_facecolor() for bar in container}) == 1
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["portfolio", "Region A", "Region B"]


def test_delay_takeaway_names_the_top_cause_of_each_region() -> None:
    run = RunDir(small_run("apac_2026"))
    text = charts_measures.delay_causes_takeaway(run)
    names = region_names(run)
    for scope, held in run.summary["criticality"].items():
        top = max(held["causes"], key=lambda c: held["causes"][c]["share"])
        shown = "" if scope == "portfolio" else f"{names[scope]} "
        assert f"{shown}{charts_measures.cause_label(top)} (" in text


# --- KPI distributions ------------------------------------------------------------------------


def test_kpi_panels_mark_the_runs_percentiles_at_their_values() -> None:
    run = RunDir(small_run("minimal", replications=5))
    percentiles = Percentiles.of(run.scenario)
    fig = suite.draw("kpi_distributions", run, LABEL)
    samples = data_measures.kpi_samples(run)
    for ax, (column, _, divisor, _) in zip(
        fig.axes, charts_measures._kpi_panels(0.05), strict=True
    ):
        if not ax.axison:
            assert len(set(samples[column])) == 1
            continue
        marks = [t.get_text() for t in ax.texts if t.get_text().startswith("P")]
        assert [m.split()[0] for m in marks] == list(percentiles.labels.values())
        for key, q in percentiles.quantiles.items():
            value = float(np.quantile(samples[column], q)) / divisor
            points = [
                line
                for line in ax.get_lines()
                if line.get_marker() == "o" and np.isclose(line.get_ydata()[0], q * 100)
            ]
            assert len(points) == 1 and np.isclose(points[0].get_xdata()[0], value), key


def test_a_kpi_equal_in_every_replication_is_said_in_words() -> None:
    samples = pd.DataFrame(
        {
            "served_share": [1.0, 1.0, 1.0],
            "shortfall_beyond_tolerance_mw_months": [0.0, 0.0, 0.0],
            "cash_cost_usd": [1e9, 2e9, 3e9],
        }
    )
    fig = charts_measures.kpi_distributions(samples, LABEL)
    assert nothing_to_show_texts(fig) == [
        "100.0 demand served (%)\nin every replication",
        "0 MW-months\nin every replication",
    ]
    assert fig.axes[2].axison


# --- P-dates ----------------------------------------------------------------------------------


def test_p_date_markers_are_the_summarys_dates() -> None:
    run = RunDir(small_run("minimal", replications=5))
    fig = suite.draw("p_dates", run, LABEL)
    entries = [
        e
        for e in run.summary["p_dates"]
        if e["scope"] == "portfolio" and e["measure"] == "energized_mw"
    ]
    assert entries
    markers = lines_by_gid(fig, charts_measures.P_DATE_GID)
    percentiles = Percentiles.of(run.scenario)
    for key in percentiles.keys:
        expected = [e[key] for e in entries]
        gid = f"{charts_measures.P_DATE_GID}-{key}"
        if all(d is None for d in expected):
            assert gid not in markers
            continue
        xs = np.asarray(markers[gid].get_xdata(orig=False), dtype=float)
        shown = [None if math.isnan(x) else mdates.num2date(x).strftime("%Y-%m") for x in xs]
        assert shown == expected, key
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    for entry, tick in zip(entries, ticks, strict=True):
        assert tick.startswith(f"{entry['mw']:,.0f} MW")
        assert ("never in" in tick) == (entry["never_share"] > 0)


def test_milestones_never_reached_are_said_in_words_without_a_1970_axis() -> None:
    entry: dict[str, Any] = {"mw": 600.0, "p10": None, "p50": None, "p90": None}
    fig = charts_measures.p_dates([{**entry, "never_share": 1.0}], LABEL)
    assert nothing_to_show_texts(fig) == [
        "No milestone (600 MW) energised\nby the horizon at any percentile"
    ]
    assert not any(ax.axison for ax in fig.axes)


def test_p_dates_takeaway_names_the_largest_milestone_energised_at_p80() -> None:
    summary = {
        "report": {"percentiles": [10, 50, 80, 90]},
        "p_dates": [
            {
                "scope": "portfolio",
                "measure": "energized_mw",
                "mw": mw,
                "p10": "2029-01",
                "p50": p50,
                "p80": p80,
                "p90": None,
                "never_share": never,
            }
            for mw, p50, p80, never in (
                (300.0, "2030-01", "2030-09", 0.0),
                (600.0, "2031-02", "2031-10", 0.15),
                (900.0, "2034-01", None, 0.4),
            )
        ],
    }
    text = charts_measures.p_dates_takeaway(SimpleNamespace(summary=summary))  # type: ignore[arg-type]
    assert text.startswith("600 MW energised by 2031-10 at P80 (P50 2031-02)")
    assert "900 MW not by the horizon at P80 (40% of replications never reach it)" in text


# --- percentile bands follow the run ----------------------------------------------------------


def test_bands_of_a_quartile_run_are_drawn_p25_to_p75() -> None:
    run = RunDir(small_run("minimal", sets=QUARTILES))
    assert Percentiles.of(run.scenario).values == (25, 50, 75)
    texts: list[str] = []
    for name in suite.CHART_NAMES:
        texts += every_text(suite.draw(name, run, LABEL))
    fan = legend_texts(suite.draw("capacity_fan", run, LABEL))
    assert "demand P25-P75" in fan and "capacity P25-P75" in fan
    stack = legend_texts(suite.draw("capacity_vs_demand", run, LABEL))
    assert "demand P25-P75" in stack and "total capacity P25 / P75" in stack
    assert "P25-P50-P75" in suite.draw("capacity_fan", run, LABEL).get_suptitle()
    assert "P25-P75" in suite.draw("regional_capacity", run, LABEL).get_suptitle()
    assert not [t for t in texts if "P10" in t or "P90" in t]


def test_a_report_at_other_percentiles_draws_its_bands_at_them() -> None:
    run = with_percentiles(RunDir(small_run("minimal")), Percentiles((25, 50, 75)))
    fan = legend_texts(suite.draw("capacity_fan", run, LABEL))
    assert "demand P25-P75" in fan and not [t for t in fan if "P10" in t]
    markers = lines_by_gid(suite.draw("p_dates", run, LABEL), charts_measures.P_DATE_GID)
    assert {gid.rsplit("-", 1)[1] for gid in markers} <= {"p25", "p50", "p75"}


def test_suite_titles_name_no_fixed_percentiles() -> None:
    titles = {spec.name: spec.title for spec in suite.SUITE}
    assert titles["capacity_fan"] == "Demand and capacity: percentile fan"
    assert not [t for t in titles.values() if "P10" in t or "P90" in t]
    assert {"time_to_power", "delay_causes", "kpi_distributions", "p_dates"} <= set(titles)
    assert data_measures.P_DATES_MEASURE == "energized_mw"
