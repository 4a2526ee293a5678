"""Sensitivity and sweep experiments from a scenario file to a published experiment directory.

What ``capsim sensitivity`` and ``capsim sweep`` call: check every input first (located errors
before any simulation), run the points with common random numbers, analyse, draw, and publish
the directory atomically. Nothing here prints; progress goes to an optional callback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from capsim.analysis.experiment import (
    RUNS,
    ExperimentSetup,
    ExperimentWriter,
    Measure,
    PointProgress,
    ScenarioEvaluator,
    base_manifest,
    check_measure,
    default_destination,
    kpi_table,
    load_points,
    resolve_parameters,
    run_points,
    statistic,
)
from capsim.analysis.sensitivity import Analysis, morris_indices, one_at_a_time, sobol_indices
from capsim.analysis.sweep import (
    combinations,
    mark_frontier,
    parse_axis,
    strategy_label,
    strategy_slug,
)
from capsim.errors import UsageError
from capsim.runs.kpis import Percentiles
from capsim.scenario.loader import scenario_to_data
from capsim.scenario.schema import Scenario

DEFAULT_SAMPLES = {"morris": 10, "sobol": 16}
#: The frontier's cost axis unless asked otherwise: median cash cost (no notional penalty).
DEFAULT_COST = Measure("cash_cost_usd", "p50")
#: The frontier's risk axis unless asked otherwise: P90 shortfall MW-months.
DEFAULT_RISK = Measure("shortfall_mw_months", "p90")


def sweep_measures(percentiles: Percentiles) -> tuple[Measure, ...]:
    """Columns every sweep table carries: cash cost, penalty and total, and shortfall risk.

    Shortfall is given at the median and at every higher percentile the base scenario reports.
    """
    upper = [key for key in percentiles.keys if int(key[1:]) >= 50]
    return (
        Measure("cash_cost_usd", "p50"),
        Measure("cash_cost_usd", "mean"),
        Measure("cash_cost_npv_usd", "p50"),
        Measure("capex_usd", "p50"),
        Measure("unserved_penalty_usd", "p50"),
        Measure("total_cost_usd", "p50"),
        Measure("cost_npv_usd", "p50"),
        *(Measure("shortfall_mw_months", key) for key in upper),
        Measure("shortfall_mw_months", "mean"),
        Measure("shortfall_final_year", "mean"),
    )


@dataclass(frozen=True)
class SensitivityRequest:
    """What to vary, how, and which KPI statistic(s) to explain."""

    params: tuple[str, ...]
    method: str = "oat"
    sampling: str = "default"
    samples: int | None = None
    kpi: str = "shortfall_mw_months"
    stats: tuple[str, ...] = ()


@dataclass(frozen=True)
class SweepRequest:
    """The grid and the cost and risk measures that define the frontier."""

    grid: tuple[str, ...]
    cost: Measure = DEFAULT_COST
    risk: Measure = DEFAULT_RISK


@dataclass(frozen=True)
class ExperimentOutcome:
    """Where an experiment went, its main table and its manifest."""

    directory: Path
    table: pd.DataFrame
    manifest: dict[str, Any]


class StudyCharts(Protocol):
    """Draws a study's chart into its charts folder; ``capsim.report.studies`` is one."""

    def sensitivity_chart(
        self, charts_dir: Path, analysis: Analysis, measure: Measure, base: Scenario
    ) -> None:
        """The tornado (one at a time) or the indices chart (Morris, Sobol)."""

    def frontier_chart(
        self, charts_dir: Path, table: pd.DataFrame, request: SweepRequest, base: Scenario
    ) -> None:
        """Cost against risk for every strategy of a sweep, the frontier marked."""


def run_sensitivity(
    setup: ExperimentSetup,
    request: SensitivityRequest,
    output: Path | None,
    force: bool = False,
    progress: PointProgress | None = None,
    charts: StudyCharts | None = None,
) -> ExperimentOutcome:
    """One-at-a-time, Morris or Sobol sensitivity of a KPI to the declared parameter ranges.

    ``charts`` draws the study's chart (the analysis itself draws nothing).
    """
    if request.method not in DEFAULT_SAMPLES and request.method != "oat":
        raise UsageError(f"unknown method {request.method!r} (expected oat, morris or sobol)")
    if request.sampling == "lhs" and request.method != "sobol":
        raise UsageError(
            "--sampling lhs applies to --method sobol (Morris needs its own "
            "trajectories; one-at-a-time samples nothing)"
        )
    base = setup.load()
    high = Percentiles.of(base).high
    stats = request.stats or (("p50", high) if request.method == "oat" else ("mean",))
    measures = [check_measure(request.kpi, stat) for stat in dict.fromkeys(stats)]
    parameters = resolve_parameters(setup, request.params)
    if not parameters:
        raise UsageError("give at least one --param dotted.path=LOW:HIGH")
    samples = request.samples or DEFAULT_SAMPLES.get(request.method, 0)
    writer = ExperimentWriter(output or default_destination(base, "sensitivity"), force)
    try:
        evaluate = ScenarioEvaluator(setup, parameters, measures, writer.runs_dir, progress)
        outputs = [m.name for m in measures]
        analysis: Analysis
        if request.method == "oat":
            analysis = one_at_a_time(parameters, evaluate, outputs, evaluate.replicates)
        elif request.method == "morris":
            analysis = morris_indices(parameters, evaluate, samples, base.seed, outputs)
        else:
            analysis = sobol_indices(
                parameters, evaluate, samples, base.seed, outputs, request.sampling
            )
        points = analysis.points.assign(run_dir=[f"{RUNS}/{n}" for n in analysis.points["point"]])
        writer.table("sensitivity", analysis.table)
        writer.table("points", points)
        writer.text("scenario.yaml", _yaml(base))
        if charts is not None:
            charts.sensitivity_chart(writer.charts_dir, analysis, measures[0], base)
        manifest = {
            **base_manifest("sensitivity", setup, base),
            "method": request.method,
            "sampling": request.sampling if request.method == "sobol" else None,
            "samples": samples if request.method != "oat" else None,
            "kpi": request.kpi,
            "statistics": list(dict.fromkeys(stats)),
            "parameters": [
                {
                    "path": p.path,
                    "low": p.low,
                    "high": p.high,
                    "integer": p.integer,
                    "base_value": p.base,
                }
                for p in parameters
            ],
            "points": len(points),
            "tables": ["sensitivity", "points"],
            "charts": ["tornado" if request.method == "oat" else "indices"] if charts else [],
        }
        directory = writer.publish(manifest)
    except BaseException:
        writer.discard()
        raise
    return ExperimentOutcome(directory, analysis.table, manifest)


def _yaml(scenario: Scenario) -> str:
    from capsim.scenario.yamlio import dump_scenario_text

    return dump_scenario_text(scenario_to_data(scenario))


def run_sweep(
    setup: ExperimentSetup,
    request: SweepRequest,
    output: Path | None,
    force: bool = False,
    progress: PointProgress | None = None,
    charts: StudyCharts | None = None,
) -> ExperimentOutcome:
    """Every grid combination as a Monte Carlo batch; cost and risk per strategy; the frontier."""
    base = setup.load()
    axes = [parse_axis(text) for text in request.grid]
    settings = combinations(axes)
    overrides = [[f"{path}={value}" for path, value in s.items()] for s in settings]
    scenarios = load_points(setup, overrides)
    names = [strategy_slug(i, axes, s) for i, s in enumerate(settings)]
    measures = list(
        dict.fromkeys([*sweep_measures(Percentiles.of(base)), request.cost, request.risk])
    )
    writer = ExperimentWriter(output or default_destination(base, "sweep"), force)
    try:
        run_dirs = run_points(
            setup, list(zip(names, scenarios, strict=True)), writer.runs_dir, progress
        )
        rows = []
        for i, (chosen, name, run_dir) in enumerate(zip(settings, names, run_dirs, strict=True)):
            kpis = kpi_table(run_dir)
            rows.append(
                {
                    "strategy": i,
                    "label": strategy_label(axes, chosen),
                    **chosen,
                    **{m.name: statistic(kpis, m) for m in measures},
                    "run_dir": f"{RUNS}/{name}",
                }
            )
        table = mark_frontier(pd.DataFrame(rows), request.cost.name, request.risk.name)
        writer.table("strategies", table)
        writer.text("scenario.yaml", _yaml(base))
        if charts is not None:
            charts.frontier_chart(writer.charts_dir, table, request, base)
        manifest = {
            **base_manifest("sweep", setup, base),
            "grid": {a.path: list(a.values) for a in axes},
            "strategies": len(table),
            "cost": request.cost.name,
            "risk": request.risk.name,
            "frontier": [str(v) for v in table.loc[table["on_frontier"], "label"]],
            "tables": ["strategies"],
            "charts": ["frontier"] if charts else [],
        }
        directory = writer.publish(manifest)
    except BaseException:
        writer.discard()
        raise
    return ExperimentOutcome(directory, table, manifest)
