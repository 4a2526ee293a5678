"""The charts of a study: the tornado or indices of a sensitivity study, a sweep's frontier."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from capsim.analysis.decide import SweepRequest
from capsim.analysis.experiment import Measure
from capsim.analysis.sensitivity import Analysis
from capsim.report import charts, charts_decision
from capsim.runs.store import scenario_sha256
from capsim.scenario.loader import scenario_to_data
from capsim.scenario.schema import Scenario
from capsim.version import __version__


def study_label(base: Scenario) -> charts.RunLabel:
    """The footnote of a study's charts: the base scenario, its hash and seed, today's date."""
    return charts.RunLabel(
        base.name,
        scenario_sha256(scenario_to_data(base)),
        base.seed,
        base.replications,
        __version__,
        datetime.now(UTC).strftime("%Y-%m-%d"),
    )


def sensitivity_chart(
    charts_dir: Path, analysis: Analysis, measure: Measure, base: Scenario
) -> None:
    """The tornado (one at a time) or the indices chart (Morris, Sobol) into ``charts_dir``."""
    label = study_label(base)
    if analysis.method == "oat":
        figure = charts_decision.tornado(analysis.table, measure.kpi, measure.unit, label)
        charts.save(figure, charts_dir, "tornado")
    else:
        figure = charts_decision.indices(
            analysis.table, analysis.method, measure.kpi, measure.unit, label
        )
        charts.save(figure, charts_dir, "indices")


def frontier_chart(
    charts_dir: Path, table: pd.DataFrame, request: SweepRequest, base: Scenario
) -> None:
    """Cost against risk for every strategy of a sweep, the frontier marked."""
    figure = charts_decision.frontier(
        table,
        (request.cost.name, request.cost.unit),
        (request.risk.name, request.risk.unit),
        study_label(base),
    )
    charts.save(figure, charts_dir, "frontier")
