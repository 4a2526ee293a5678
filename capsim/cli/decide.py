"""``capsim sensitivity`` and ``capsim sweep``: what drives shortfall, and what buys it down.

Thin click commands: parse options, build the request, call ``capsim.decide``, print the
headline table and the experiment directory. Heavy modules are imported inside the commands so
that ``capsim --help`` stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from capsim.cli.support import (
    overrides,
    reports_errors,
    scheduler_option,
    step_logger,
    workers_option,
)
from capsim.runs.settings import DEFAULT_CHUNK_SIZE


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by both commands: replications, seed, overrides, executors, output."""
    options = [
        click.option(
            "-n",
            "--replications",
            type=click.IntRange(min=1),
            default=None,
            help="Replications per point (default: the scenario's).",
        ),
        click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=None,
            help="Root seed, the same for every point (default: the scenario's).",
        ),
        click.option(
            "--set",
            "sets",
            multiple=True,
            metavar="PATH=VALUE",
            help="Override a field of the base scenario.",
        ),
        workers_option,
        scheduler_option,
        click.option(
            "--chunk-size",
            type=click.IntRange(min=1),
            default=DEFAULT_CHUNK_SIZE,
            show_default=True,
            help="Replications per chunk.",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Path(path_type=Path),
            default=None,
            help="Experiment directory (default: results/<scenario>-<kind>-<time>).",
        ),
        click.option("--force", is_flag=True, help="Replace an existing output directory."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _setup(
    scenario_file: Path,
    sets: tuple[str, ...],
    replications: int | None,
    seed: int | None,
    workers: int | None,
    scheduler: str | None,
    chunk_size: int,
) -> Any:
    """The experiment setup from the shared options (base scenario, overrides, executors)."""
    from capsim.analysis.experiment import ExperimentSetup

    changes = overrides(sets, replications=replications, seed=seed)
    return ExperimentSetup(scenario_file, tuple(changes), workers, scheduler, chunk_size)


def _fmt(value: Any) -> str:
    """A table cell: NaN as '-', large numbers without decimals."""
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


@click.command()
@click.argument("scenario_file", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option(
    "--param",
    "params",
    multiple=True,
    required=True,
    metavar="PATH=LOW:HIGH",
    help="A numeric field and its range (repeat for each parameter).",
)
@click.option(
    "--method",
    type=click.Choice(["oat", "morris", "sobol"]),
    default="oat",
    show_default=True,
    help="One-at-a-time (tornado), Morris screening or Sobol.",
)
@click.option(
    "--sampling",
    type=click.Choice(["default", "lhs"]),
    default="default",
    show_default=True,
    help="Sobol design: quasi-random Sobol sequence or Latin hypercube.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=2),
    default=None,
    help="Morris trajectories (default 10) or Sobol base samples (default 16).",
)
@click.option(
    "--kpi",
    default="shortfall_mw_months",
    show_default=True,
    help="KPI to explain (a column of kpis.parquet, or shortfall_final_year).",
)
@click.option(
    "--stat",
    "stats",
    multiple=True,
    metavar="STAT",
    help="Statistic over replications: mean or a percentile such as p50, p80, p90 "
    "(default: p50 and the scenario's highest reported percentile for oat, mean otherwise).",
)
@_common
@reports_errors
def sensitivity(
    scenario_file: Path,
    params: tuple[str, ...],
    method: str,
    sampling: str,
    samples: int | None,
    kpi: str,
    stats: tuple[str, ...],
    replications: int | None,
    seed: int | None,
    sets: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    chunk_size: int,
    output: Path | None,
    force: bool,
) -> None:
    """What drives a KPI: vary each parameter over its range with the same seed everywhere."""
    from capsim.analysis.decide import SensitivityRequest, run_sensitivity

    setup = _setup(scenario_file, sets, replications, seed, workers, scheduler, chunk_size)
    request = SensitivityRequest(params, method, sampling, samples, kpi, stats)
    from capsim.report import studies

    outcome = run_sensitivity(setup, request, output, force, step_logger("points"), studies)
    table = outcome.table
    if method == "oat":
        columns = ["parameter", "output", "low", "high", "at_base", "at_low", "at_high", "swing"]
    elif method == "morris":
        columns = ["parameter", "output", "mu_star", "mu_star_conf", "sigma", "rank"]
    else:
        columns = ["parameter", "output", "S1", "S1_conf", "ST", "ST_conf", "rank"]
    click.echo("  ".join(columns))
    for row in table[columns].itertuples(index=False):
        click.echo("  ".join(_fmt(v) for v in row))
    click.echo(f"experiment directory: {outcome.directory}")


@click.command()
@click.argument("scenario_file", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option(
    "--grid",
    "grid",
    multiple=True,
    required=True,
    metavar="PATH=V1,V2,...",
    help="A field and the values to try (repeat; every combination runs).",
)
@click.option(
    "--cost",
    "cost",
    default="cash_cost_usd:p50",
    show_default=True,
    metavar="KPI[:STAT]",
    help="Cost axis of the frontier (total_cost_usd adds the notional unserved-demand penalty).",
)
@click.option(
    "--risk",
    "risk",
    default="shortfall_mw_months:p90",
    show_default=True,
    metavar="KPI[:STAT]",
    help="Risk axis of the frontier (any percentile, e.g. shortfall_mw_months:p80).",
)
@_common
@reports_errors
def sweep(
    scenario_file: Path,
    grid: tuple[str, ...],
    cost: str,
    risk: str,
    replications: int | None,
    seed: int | None,
    sets: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    chunk_size: int,
    output: Path | None,
    force: bool,
) -> None:
    """Compare strategies: every combination of the grid, cash cost against shortfall risk."""
    from capsim.analysis.decide import SweepRequest, run_sweep
    from capsim.analysis.experiment import parse_measure

    setup = _setup(scenario_file, sets, replications, seed, workers, scheduler, chunk_size)
    request = SweepRequest(grid, parse_measure(cost, "p50"), parse_measure(risk, "p90"))
    from capsim.report import studies

    outcome = run_sweep(setup, request, output, force, step_logger("points"), studies)
    table = outcome.table
    columns = ["label", request.cost.name, request.risk.name, "shortfall_final_year_mean"]
    click.echo("  ".join([*columns, "frontier"]))
    for row in table.itertuples(index=False):
        cells = [_fmt(getattr(row, c)) for c in columns]
        click.echo("  ".join([*cells, "*" if row.on_frontier else ""]))
    click.echo(f"experiment directory: {outcome.directory}")


COMMANDS = [sensitivity, sweep]
