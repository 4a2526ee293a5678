"""What the memo charts must show, checked on the matplotlib Figures themselves.

Stage counts in the funnel, honest capacity layers, no off series in legends, and words (not
an empty, 1970-dated axis) on a chart with nothing to show.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from chart_checks import legend_texts, nothing_to_show_texts
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from memo_runs import small_run

from capsim.model.records import BACKGROUND, OWN
from capsim.report import charts, charts_measures, charts_memo, suite
from capsim.runs.rundir import RunDir

matplotlib.use("Agg")

LABEL = charts.RunLabel("test", "0" * 64, 7, 3, "0.0.0", "2026-01-01")
MONTHS = 24
DATES = pd.date_range("2026-01-31", periods=MONTHS, freq="ME")
#: A minimal run with bridge power on, so the bridge layer has something to show.
BRIDGE_ON = (
    "bridge.enabled=true",
    "bridge.max_mw_per_site=50",
    "bridge.lead_time_months=3",
    "bridge.premium_usd_per_mwh=70",
)


def assert_no_1970_axis(fig: Figure) -> None:
    """No visible axes of the figure is a date axis around the 1970 epoch (an empty date axis)."""
    for ax in fig.axes:
        if not ax.axison:
            continue
        if isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter):
            low, high = (mdates.num2date(x).year for x in ax.get_xlim())
            assert low >= 2000 and high >= 2000, (low, high)


def bands(replications: int = 3, capacity_p50_mw: float = 100.0) -> pd.DataFrame:
    """Monthly bands of a run (demand and capacity percentiles, shortfall probability)."""
    demand_mw = np.linspace(100.0, 200.0, MONTHS)
    out = pd.DataFrame({"date": DATES})
    for name, mid_mw in (("demand", demand_mw), ("capacity", np.full(MONTHS, capacity_p50_mw))):
        out[f"{name}_p10_mw"] = mid_mw * 0.8
        out[f"{name}_p50_mw"] = mid_mw
        out[f"{name}_p90_mw"] = mid_mw * 1.2
    out["bridge_p50_mw"] = 0.0
    out["shortfall_probability"] = np.linspace(0.0, 1.0, MONTHS)
    out["replications"] = replications
    return out


def regional(**energised_mean_mw: float) -> pd.DataFrame:
    """Mean energised MW per region (one column each) and month end."""
    return pd.DataFrame(
        {"date": DATES, **{r: np.full(MONTHS, mw) for r, mw in energised_mean_mw.items()}}
    )


def funnel() -> pd.DataFrame:
    """A funnel table: 76.5 deals launched per replication, 40 of them lost before signing."""
    return pd.DataFrame(
        {
            "stage": ["launched", "signed", "connected", "energised"],
            "reached": [76.5, 30.0, 15.0, 15.0],
            "lost": [40.0, 3.0, 0.0, 0.0],
            "under_way": [6.5, 12.0, 0.0, 0.0],
        }
    )


def equipment(own_delivered_units: float) -> pd.DataFrame:
    """Equipment backlog of one pool: the factory's whole book and our orders."""
    frames = [
        pd.DataFrame(
            {
                "pool": "transformer",
                "orders": orders,
                "date": DATES,
                "backlog_units": np.full(MONTHS, backlog),
                "delivered_units": np.full(MONTHS, delivered),
            }
        )
        for orders, backlog, delivered in (("all", 8.0, 3.0), (OWN, 4.0, own_delivered_units))
    ]
    return pd.concat(frames, ignore_index=True)


def stack_top_mw(fig: Figure) -> pd.Series:
    """The top of the stacked layers (those the legend calls stacked) at each drawn date."""
    tops: dict[float, float] = {}
    for collection in fig.axes[0].collections:
        if "stacked" not in str(collection.get_label()):
            continue
        for x, y in collection.get_paths()[0].vertices:
            tops[float(x)] = max(tops.get(float(x), 0.0), float(y))
    top = pd.Series(tops).sort_index()
    top.index = pd.DatetimeIndex(mdates.num2date(top.index.to_numpy())).tz_localize(None)
    return top


# --- 1. the deal funnel: bars are stage counts, losses beside them ----------------------------


def test_funnel_bars_are_stage_counts_and_losses_are_never_stacked_on_them() -> None:
    fig = charts_memo.deal_funnel(funnel(), LABEL)
    ax = fig.axes[0]
    bars = [patch for patch in ax.patches if isinstance(patch, Rectangle)]
    assert len(bars) == len(ax.patches) == 8
    assert all(bar.get_x() == 0 for bar in bars)
    assert max(bar.get_x() + bar.get_width() for bar in bars) == 76.5
    containers = {c.get_label(): c for c in ax.containers}
    stage_bars = containers[charts_memo.FUNNEL_STAGE_LABEL]
    widths = [bar.get_width() for bar in stage_bars]
    assert widths == [15.0, 15.0, 30.0, 76.5]  # energised at the bottom, launched on top
    lost_bars = containers[charts_memo.FUNNEL_LOST_LABEL]
    assert [bar.get_width() for bar in lost_bars] == [0.0, 0.0, 3.0, 40.0]


def test_funnel_launched_row_reads_the_mean_deals_launched_of_a_run() -> None:
    run = RunDir(small_run())
    fig = suite.draw("deal_funnel", run, LABEL)
    launched_mean = float(run.table("kpis", ["deals_launched"])["deals_launched"].mean())
    ax = fig.axes[0]
    row = float(ax.get_yticks()[[t.get_text() for t in ax.get_yticklabels()].index("launched")])
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    in_row = [p for p in bars if abs(p.get_y() + p.get_height() / 2 - row) < 0.5]
    assert in_row
    assert max(p.get_x() + p.get_width() for p in in_row) == pytest.approx(launched_mean)


# --- 2. capacity versus demand: the legend says what is stacked and what is a median -----------


def test_capacity_legend_tells_stacked_means_from_the_capacity_median() -> None:
    fig = charts.capacity_vs_demand(
        bands(), regional(a=40.0, b=30.0), LABEL, {"a": "Region A", "b": "Region B"}
    )
    texts = legend_texts(fig)
    assert "Region A energised (mean, stacked)" in texts
    assert "Region B energised (mean, stacked)" in texts
    assert "total capacity (median)" in texts
    assert not [t for t in texts if "stacked" in t and "median" in t]


def test_capacity_stack_top_is_the_mean_total_capacity_of_the_run() -> None:
    run = RunDir(small_run(sets=BRIDGE_ON))
    fig = suite.draw("capacity_vs_demand", run, LABEL)
    assert "bridge power (mean, stacked)" in legend_texts(fig)
    timeseries = run.table("timeseries", ["date", "capacity_mw"])
    mean_capacity_mw = timeseries.groupby("date")["capacity_mw"].mean()
    top = stack_top_mw(fig).reindex(pd.DatetimeIndex(mean_capacity_mw.index))
    assert np.allclose(top.to_numpy(), mean_capacity_mw.to_numpy())


# --- 3. series that are off stay out of legends -------------------------------------------------


def test_bridge_and_bridge_premium_stay_out_of_legends_when_the_bridge_is_off() -> None:
    run = RunDir(small_run())
    assert not run.scenario.bridge.enabled
    for name in suite.CHART_NAMES:
        texts = legend_texts(suite.draw(name, run, LABEL))
        assert not [t for t in texts if "bridge" in t], (name, texts)


def test_a_bridge_of_zero_mw_everywhere_is_not_drawn() -> None:
    zero_mw = pd.Series(0.0, index=DATES)
    fig = charts.capacity_vs_demand(bands(), regional(a=40.0), LABEL, bridge_mean_mw=zero_mw)
    assert not [t for t in legend_texts(fig) if "bridge" in t]


def test_zero_cost_categories_stay_out_of_the_cost_legend() -> None:
    costs = pd.DataFrame(
        {
            "date": DATES,
            "capex_usd": np.linspace(0, 1e9, MONTHS),
            "energy_usd": np.linspace(0, 5e8, MONTHS),
            "bridge_premium_usd": 0.0,
            "unserved_usd": 1e-7,  # floating noise, not a cost
        }
    )
    assert legend_texts(charts_memo.cost_breakdown(costs, LABEL)) == ["capex", "energy"]


def test_zero_regions_are_named_in_a_note_not_the_legend() -> None:
    fig = charts.capacity_vs_demand(bands(), regional(a=40.0, idle=0.0), LABEL)
    texts = legend_texts(fig)
    assert not [t for t in texts if "idle" in t]
    assert any("idle" in t.get_text() for t in fig.axes[0].texts)
    quantiles = pd.concat(
        [
            pd.DataFrame(
                {"region": region, "date": DATES, "p10_mw": mw, "p50_mw": mw, "p90_mw": mw}
            )
            for region, mw in (("a", 40.0), ("idle", 0.0))
        ],
        ignore_index=True,
    )
    fig = charts_memo.regional_capacity(quantiles, LABEL)
    assert legend_texts(fig) == ["a (median)"]
    assert any("idle" in t.get_text() for t in fig.axes[0].texts)


def test_zero_losses_deliveries_waits_and_shortfalls_stay_out_of_legends() -> None:
    texts = legend_texts(charts_memo.deal_funnel(funnel().assign(lost=0.0), LABEL))
    assert charts_memo.FUNNEL_LOST_LABEL not in texts
    texts = legend_texts(charts_memo.equipment_backlog(equipment(own_delivered_units=0.0), LABEL))
    assert "transformer: on order" in texts
    assert not [t for t in texts if "delivered" in t]
    waits = pd.DataFrame(
        {"region": "a", "applicant": BACKGROUND, "wait": ["study", "headroom"], "months": 5.0}
    )
    assert legend_texts(charts_memo.queue_waits(waits, LABEL)) == ["competitors (median)"]
    never_short = bands().assign(shortfall_probability=0.0)
    assert legend_texts(charts.shortfall_probability(never_short, LABEL)) == []


# --- 4. nothing to show: words, no empty axis, no 1970 ---------------------------------------


def test_equipment_chart_of_a_scenario_without_pools_says_so() -> None:
    run = RunDir(small_run(sets=("equipment={}",)))
    fig = suite.draw("equipment_backlog", run, LABEL)
    assert nothing_to_show_texts(fig) == ["No equipment pools in this scenario"]
    assert not any(ax.axison for ax in fig.axes)
    assert_no_1970_axis(fig)


EMPTY_BANDS = bands().iloc[0:0]
EMPTY_CHARTS: dict[str, Callable[[], Figure]] = {
    "capacity_vs_demand": lambda: charts.capacity_vs_demand(
        EMPTY_BANDS, pd.DataFrame(columns=["date"]), LABEL
    ),
    "capacity_fan": lambda: charts.capacity_fan(EMPTY_BANDS, LABEL),
    "shortfall_probability": lambda: charts.shortfall_probability(EMPTY_BANDS, LABEL),
    "time_to_power": lambda: charts_measures.time_to_power([], [], LABEL),
    "delay_causes": lambda: charts_measures.delay_causes(
        pd.DataFrame(columns=["scope", "cause", "share"]), LABEL
    ),
    "kpi_distributions": lambda: charts_measures.kpi_distributions(
        pd.DataFrame(columns=["served_share", "cash_cost_usd"]), LABEL
    ),
    "p_dates": lambda: charts_measures.p_dates([], LABEL),
    "deal_funnel": lambda: charts_memo.deal_funnel(funnel().assign(reached=0.0), LABEL),
    "queue_waits": lambda: charts_memo.queue_waits(
        pd.DataFrame(columns=["region", "applicant", "wait", "months"]), LABEL
    ),
    "regional_capacity": lambda: charts_memo.regional_capacity(
        pd.DataFrame(columns=["region", "date", "p50_mw", "p10_mw", "p90_mw"]), LABEL
    ),
    "equipment_backlog": lambda: charts_memo.equipment_backlog(equipment(0.0).iloc[0:0], LABEL),
    "cost_breakdown": lambda: charts_memo.cost_breakdown(
        pd.DataFrame(columns=["date", "capex_usd", "energy_usd", "unserved_usd"]), LABEL
    ),
}


@pytest.mark.parametrize("name", sorted(EMPTY_CHARTS))
def test_a_chart_with_nothing_to_show_says_so_in_words(name: str) -> None:
    fig = EMPTY_CHARTS[name]()
    messages = nothing_to_show_texts(fig)
    assert len(messages) == 1 and messages[0].startswith("No "), messages
    assert not any(ax.axison for ax in fig.axes)
    assert not legend_texts(fig)
    assert_no_1970_axis(fig)
    assert fig.get_suptitle() and LABEL.footnote() in fig.get_supxlabel()


def test_one_empty_panel_says_so_and_the_other_keeps_its_dates() -> None:
    never_ordered = equipment(own_delivered_units=0.0)
    never_ordered.loc[never_ordered["orders"] == OWN, "backlog_units"] = 0.0
    fig = charts_memo.equipment_backlog(never_ordered, LABEL)
    factory, ours = fig.axes
    assert factory.axison and not ours.axison
    assert nothing_to_show_texts(fig) == ["We placed no equipment orders"]
    assert_no_1970_axis(fig)


def test_every_chart_of_the_suite_is_checked_with_nothing_to_show() -> None:
    assert set(EMPTY_CHARTS) == set(suite.CHART_NAMES)
