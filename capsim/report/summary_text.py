"""The executive summary of a run's memo: a few sentences and three headline figures.

Every figure is read from the run's summary (or, for the three-year shortfall risk, from the
per-replication KPIs) and formatted by ``kpi_display``; the KPI table of the report shows the same
``Figure`` objects, so a number in the summary and in the table is one computation.
"""

from __future__ import annotations

from dataclasses import dataclass

from capsim.report import data as memo_data
from capsim.report.charts_measures import cause_label
from capsim.runs.criticality import top_causes
from capsim.runs.kpi_display import memo_format
from capsim.runs.kpis import BEYOND_TOLERANCE_IN_YEAR, lookup, yearly_columns
from capsim.runs.rundir import RunDir

#: Calendar years from the start over which the near-term shortfall risk is stated.
RISK_YEARS = 3
#: The percentile the milestone dates are stated at (the run's highest if it does not report it).
MILESTONE_PERCENTILE = "p80"


@dataclass(frozen=True)
class Figure:
    """One stated figure: what it is, its display text, its unit and the value behind it."""

    label: str
    text: str
    unit: str
    value: float | None


@dataclass(frozen=True)
class ExecutiveSummary:
    """Sentences of the summary, its three headline figures, and the extra KPI-table rows."""

    sentences: list[str]
    headlines: list[Figure]
    risk: Figure
    #: The calendar years the near-term risk covers, e.g. '2026-2028'.
    risk_years: str


def kpi_figure(run: RunDir, name: str, stat: str) -> Figure:
    """A summary KPI statistic ('mean', 'p10'...) as the memo shows it."""
    kpi = lookup(name)
    value = run.summary["kpis"].get(name, {}).get(stat)
    number = None if value is None else float(value)
    display = memo_format(kpi)
    return Figure(kpi.label, display.format(number, run.scenario.start), display.unit, number)


def near_term_risk(run: RunDir) -> tuple[Figure, str]:
    """Chance of a shortfall beyond tolerance in any of the first ``RISK_YEARS`` calendar years.

    Computed from the per-replication yearly flags of ``kpis.parquet`` (a replication counts
    once, however many of those years are short).
    """
    kpis = run.table("kpis")
    years = yearly_columns(BEYOND_TOLERANCE_IN_YEAR, list(kpis.columns))
    first = sorted(years.items(), key=lambda item: int(item[1]))[:RISK_YEARS]
    tolerance = float(run.summary["report"]["shortfall_tolerance"])
    if not first:
        return Figure(f"P(shortfall beyond {tolerance:.0%} of demand)", "-", "%", None), ""
    columns = [column for column, _ in first]
    value = float((kpis[columns].fillna(0).max(axis=1) > 0).mean())
    span = f"{first[0][1]}-{first[-1][1]}" if len(first) > 1 else first[0][1]
    display = memo_format(BEYOND_TOLERANCE_IN_YEAR)
    figure = Figure(
        f"P(shortfall beyond {tolerance:.0%} of demand), {span}",
        display.format(value, run.scenario.start),
        display.unit,
        value,
    )
    return figure, span


def _milestones(run: RunDir) -> str:
    """The portfolio's energised-MW milestones at the milestone percentile, as one sentence."""
    rows = [
        row
        for row in run.summary.get("p_dates", [])
        if row.get("scope") == "portfolio" and row.get("measure") == "energized_mw"
    ]
    if not rows:
        return ""
    percentiles = memo_data.run_percentiles(run)
    key = MILESTONE_PERCENTILE if MILESTONE_PERCENTILE in percentiles.keys else percentiles.high
    heading = percentiles.labels[key]
    parts = []
    for row in rows:
        mw = f"{float(row['mw']):,.0f} MW"
        month = row.get(key)
        if month:
            when = _month_text(str(month))
            parts.append(f"{mw} by {when}")
        else:
            parts.append(f"{mw} not within the horizon")
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"At {heading} (a date met in {key[1:]}% of runs), the programme energises {listed}."


def _month_text(month: str) -> str:
    """'2029-08' as 'Aug 2029'."""
    from datetime import date

    year, number = (int(part) for part in month.split("-")[:2])
    return date(year, number, 1).strftime("%b %Y")


def _causes(run: RunDir) -> str:
    """What held the megawatts back: the top causes of MW-weighted delay to first power."""
    ranked = top_causes(run.summary.get("criticality", {}), "portfolio", 3)
    if not ranked:
        return ""
    parts = [f"{cause_label(cause)} {share:.0%}" for cause, share in ranked]
    return (
        "What held the megawatts back (share of the MW-weighted delay to first power): "
        f"{', '.join(parts)}."
    )


def executive_summary(run: RunDir) -> ExecutiveSummary:
    """Four to six sentences and three headline figures, all computed from the run."""
    served = kpi_figure(run, "served_share", "mean")
    served_low = kpi_figure(run, "served_share", memo_data.run_percentiles(run).low)
    cash = kpi_figure(run, "cash_cost_usd", "mean")
    cash_high = kpi_figure(run, "cash_cost_usd", memo_data.run_percentiles(run).high)
    risk, span = near_term_risk(run)
    labels = memo_data.run_percentiles(run).labels
    percentiles = memo_data.run_percentiles(run)
    sentences = [
        _milestones(run),
        f"On average {served.text} of the demand's MW-months is served "
        f"({labels[percentiles.low]} {served_low.text}).",
        f"The chance of a shortfall beyond the tolerated share of demand in {span} is {risk.text}.",
        _causes(run),
        f"Cash paid over the horizon averages USD {cash.text} bn "
        f"({labels[percentiles.high]} USD {cash_high.text} bn), before the notional "
        "unserved-demand penalty.",
    ]
    headlines = [
        Figure("of demand served (mean)", served.text, served.unit, served.value),
        Figure(
            f"chance of a shortfall beyond tolerance, {span}",
            risk.text,
            risk.unit,
            risk.value,
        ),
        Figure("mean cash cost over the horizon", f"USD {cash.text} bn", cash.unit, cash.value),
    ]
    return ExecutiveSummary([s for s in sentences if s], headlines, risk, span)
