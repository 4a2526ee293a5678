"""``capsim optimize``: search a scenario's levers for the strategy that minimises a KPI.

Thin click command over ``analysis.optimize`` (the study) and ``report.optimize`` (its charts);
heavy modules load only when the command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from capsim.cli.support import (
    overrides,
    reports_errors,
    scheduler_option,
    step_logger,
    workers_option,
)


@click.command()
@click.argument("scenario_file", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option(
    "--lever",
    "levers",
    multiple=True,
    required=True,
    metavar="PATH=LOW:HIGH|PATH=A,B,C",
    help="A numeric field and its range, or a field and its choices (repeat for each lever).",
)
@click.option(
    "--minimize",
    "minimize",
    multiple=True,
    required=True,
    metavar="KPI[:STAT]",
    help="Objective (mean or a percentile such as p90); two or more give a Pareto set.",
)
@click.option(
    "--subject-to",
    "subject_to",
    multiple=True,
    metavar="KPI:STAT<=VALUE",
    help="A limit on a KPI statistic, <= or >= (repeat), e.g. served_share:p10>=0.95.",
)
@click.option(
    "--trials",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Strategies to try in all (a resumed study counts those already tried).",
)
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Replications of a trial that reaches the last rung (default: the scenario's).",
)
@click.option(
    "--first-replications",
    type=click.IntRange(min=1),
    default=None,
    help="Replications of the first rung (default: 4, or -n if smaller).",
)
@click.option(
    "--validation-replications",
    type=click.IntRange(min=1),
    default=None,
    help="Replications of the out-of-sample check of the winner (default: twice -n).",
)
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a field.")
@workers_option
@scheduler_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Study directory (holds the Optuna study, so it can be resumed).",
)
@click.option("--resume", is_flag=True, help="Continue the study already in the output directory.")
@reports_errors
def optimize(
    scenario_file: Path,
    levers: tuple[str, ...],
    minimize: tuple[str, ...],
    subject_to: tuple[str, ...],
    trials: int,
    replications: int | None,
    first_replications: int | None,
    validation_replications: int | None,
    sets: tuple[str, ...],
    workers: int | None,
    scheduler: str | None,
    output: Path,
    resume: bool,
) -> None:
    """Search the LEVERs of SCENARIO for the strategy that minimises the objective(s).

    One objective uses TPE, several NSGA-II. Every trial uses the scenario's seed; replications
    are added by successive halving; the winner is re-run with a fresh seed to validate it.
    """
    from capsim.analysis.experiment import ExperimentSetup
    from capsim.analysis.optimize import OptimizeRequest, run_optimization
    from capsim.report import optimize as charts

    setup = ExperimentSetup(
        scenario_file, tuple(overrides(sets, replications=replications)), workers, scheduler
    )
    request = OptimizeRequest(
        levers, minimize, subject_to, trials, first_replications, validation_replications
    )
    try:
        outcome = run_optimization(setup, request, output, resume, step_logger("trials"), charts)
    except KeyboardInterrupt:
        if (output / "study.db").exists():
            click.echo(f"the study is kept in {output}; continue it with --resume", err=True)
        raise
    manifest = outcome.manifest
    click.echo(manifest["verdict"])
    frontier = outcome.frontier
    for row in frontier.to_dict("records"):
        mark = "*" if row["chosen"] else " "
        values = ", ".join(
            f"{p}={_shown(row[p])}" for p in (lever["path"] for lever in manifest["levers"])
        )
        click.echo(f"{mark} trial {row['trial']}: {values}")
        for name in _figure_columns(frontier):
            click.echo(
                f"    {name}: in-sample {row[name]:,.6g} ({row['replications']} replications), "
                f"validated {row[name + '_validated']:,.6g} "
                f"({row['validation_replications']} replications, "
                f"seed {manifest['validation_seed']})"
            )
    click.echo(
        f"{manifest['trials_finished']} trials, {manifest['search_replications']} replications "
        f"in the search, {manifest['wall_seconds']:,.1f} s"
    )
    click.echo(f"study directory: {outcome.directory}")


def _figure_columns(frontier: object) -> list[str]:
    """The objective and limit columns of the frontier table (those with a validated twin)."""
    columns = list(getattr(frontier, "columns", []))
    return [
        c.removesuffix("_validated")
        for c in columns
        if c.endswith("_validated") and not c.startswith("feasible")
    ]


def _shown(value: object) -> str:
    """A lever value for the terminal: floats to four significant figures."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


COMMANDS: list[click.Command] = [optimize]
