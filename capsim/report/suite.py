"""The chart suite as data: one ``ChartSpec`` per chart, in reading order.

A chart is declared once: its name (file name and key), the title slides and sections use, the
function that draws it from an open run and the function that writes its one-line takeaway. The
report, the deck, the API and ``charts/`` all read this list, so adding a chart is one entry here
(plus its draw and takeaway functions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from capsim.errors import UsageError
from capsim.report import charts, charts_measures, charts_memo, takeaways
from capsim.report.charts import RunLabel
from capsim.runs.rundir import RunDir

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ChartSpec:
    """One chart of the suite: what it is called, its title, how it is drawn and summarised."""

    name: str
    title: str
    draw: Callable[[RunDir, RunLabel], Figure]
    takeaway: Callable[[RunDir], str]


SUITE: tuple[ChartSpec, ...] = (
    ChartSpec(
        "capacity_vs_demand",
        "Capacity versus demand",
        charts.draw_capacity_vs_demand,
        takeaways.capacity_vs_demand,
    ),
    ChartSpec(
        "capacity_fan",
        "Demand and capacity: percentile fan",
        charts.draw_capacity_fan,
        takeaways.capacity_fan,
    ),
    ChartSpec(
        "shortfall_probability",
        "Probability of a shortfall by month",
        charts.draw_shortfall_probability,
        takeaways.shortfall_probability,
    ),
    ChartSpec(
        "kpi_distributions",
        "Served share, shortfall and cash cost across replications",
        charts_measures.draw_kpi_distributions,
        charts_measures.kpi_distributions_takeaway,
    ),
    ChartSpec(
        "p_dates",
        "P-dates: when each MW milestone is energised",
        charts_measures.draw_p_dates,
        charts_measures.p_dates_takeaway,
    ),
    ChartSpec(
        "time_to_power",
        "Time to power: share of launched deals with power",
        charts_measures.draw_time_to_power,
        charts_measures.time_to_power_takeaway,
    ),
    ChartSpec(
        "delay_causes",
        "What delayed first power, by cause",
        charts_measures.draw_delay_causes,
        charts_measures.delay_causes_takeaway,
    ),
    ChartSpec("deal_funnel", "Deal funnel", charts_memo.draw_deal_funnel, takeaways.deal_funnel),
    ChartSpec(
        "queue_waits",
        "Grid queue waits by region",
        charts_memo.draw_queue_waits,
        takeaways.queue_waits,
    ),
    ChartSpec(
        "regional_capacity",
        "Energised capacity by region",
        charts_memo.draw_regional_capacity,
        takeaways.regional_capacity,
    ),
    ChartSpec(
        "equipment_backlog",
        "Equipment order backlog and deliveries",
        charts_memo.draw_equipment_backlog,
        takeaways.equipment_backlog,
    ),
    ChartSpec(
        "cost_breakdown",
        "Cost breakdown",
        charts_memo.draw_cost_breakdown,
        takeaways.cost_breakdown,
    ),
)
#: The suite's chart names, in reading order.
CHART_NAMES: tuple[str, ...] = tuple(spec.name for spec in SUITE)
_BY_NAME = {spec.name: spec for spec in SUITE}


def chart_spec(name: str) -> ChartSpec:
    """The declared chart called ``name``; a UsageError listing the suite if there is none."""
    spec = _BY_NAME.get(name)
    if spec is None:
        raise UsageError(f"no chart {name!r} (expected one of: {', '.join(CHART_NAMES)})")
    return spec


def draw(name: str, run: RunDir, label: RunLabel | None = None) -> Figure:
    """Any chart of the suite from an open run; ``label`` overrides the footnote."""
    return chart_spec(name).draw(run, label or charts.run_label(run))


def draw_all(run: RunDir, directory: Path, label: RunLabel | None = None) -> list[Path]:
    """Save every chart of the suite as PNG and SVG into ``directory``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for spec in SUITE:
        paths.extend(charts.save(draw(spec.name, run, label), directory, spec.name))
    return paths
