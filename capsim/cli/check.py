"""``capsim check``: run a scenario and compare its calibration targets with the model.

Exit codes: 0 every target met, 1 a target missed, 2 bad input (the scenario or an option).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from capsim.cli.support import (
    overrides,
    progress_reporter,
    reports_errors,
    scheduler_option,
    workers_option,
)


@click.command()
@click.argument("scenario_file", metavar="SCENARIO", type=click.Path(path_type=Path))
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Monte Carlo replications (default: the scenario's).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root seed.")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a field (targets too: --set targets[0].max=40).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Keep the run directory under this folder (default: a temporary one, removed).",
)
@workers_option
@scheduler_option
@reports_errors
def check(
    scenario_file: Path,
    replications: int | None,
    seed: int | None,
    sets: tuple[str, ...],
    output: Path | None,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Run SCENARIO and compare each calibration target with the model.

    The model is shown at the scenario's report.percentiles and at each target's statistic.
    """
    from capsim.analysis.calibration import check_run, format_results
    from capsim.errors import EXIT_FAILURE, UsageError
    from capsim.runs.rundir import RunDir
    from capsim.runs.runner import RunOptions, run_scenario
    from capsim.scenario.loader import load_scenario

    scenario = load_scenario(scenario_file, overrides(sets, replications=replications, seed=seed))
    if not scenario.targets:
        raise UsageError(f"{scenario_file} declares no targets; add a 'targets:' list to check")
    with tempfile.TemporaryDirectory(prefix="capsim-check-") as scratch:
        root = output if output is not None else Path(scratch)
        from capsim.report.charts import draw_staged_run

        options = RunOptions(
            workers=workers,
            scheduler=scheduler,
            results_root=root,
            draw=draw_staged_run,
            charts=output is not None,  # a scratch run is deleted: no charts to draw
        )
        with progress_reporter() as progress:
            outcome = run_scenario(scenario, options, progress)
        results = check_run(RunDir(outcome.run_dir), scenario)
        click.echo(format_results(results, scenario.name, int(outcome.manifest["replications"])))
        if output is not None:
            click.echo(f"run directory: {outcome.run_dir}")
    if not all(r.passed for r in results):
        sys.exit(EXIT_FAILURE)


COMMANDS = [check]
