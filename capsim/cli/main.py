"""The ``capsim`` command: parse options, call the library, print results.

This is the only module that turns errors into messages and exit codes: a ``CapsimError``
prints its located messages and exits with its code; Ctrl-C exits 130. No traceback reaches a
user for bad input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from capsim.cli.support import (
    overrides,
    parse_percentiles,
    percentiles_option,
    progress_reporter,
    reports_errors,
    scheduler_option,
    workers_option,
)
from capsim.runs.settings import DEFAULT_CHUNK_SIZE
from capsim.version import __version__

#: The KPIs printed after a run, in order; labels, units and formats come from ``runs.kpis``.
HEADLINE = (
    "served_share",
    "shortfall_mw_months",
    "shortfall_beyond_tolerance_mw_months",
    "peak_shortfall_mw",
    "covered_for_good_month",
    "energized_mw_at_horizon",
    "deal_completion_rate",
    "cash_cost_usd",
    "unserved_penalty_usd",
    "cost_per_delivered_mw_usd",
    "bridge_mw_months",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="capsim")
def main() -> None:
    """capsim: how much power will we have, where, when, and how likely are we to fall short."""


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a field.")
@reports_errors
def validate(files: tuple[Path, ...], sets: tuple[str, ...]) -> None:
    """Check scenario files; print every problem with file, line and field."""
    from capsim.errors import ScenarioError
    from capsim.scenario.loader import load_scenario

    failed: list[str] = []
    for path in files:
        try:
            scenario = load_scenario(path, sets)
        except ScenarioError as exc:
            failed.extend(exc.messages())
            continue
        click.echo(
            f"ok: {path} ({scenario.name}, {scenario.horizon_months} months, "
            f"{len(scenario.regions)} regions)"
        )
    if failed:
        from capsim.errors import EXIT_BAD_INPUT

        for line in failed:
            click.echo(f"error: {line}", err=True)
        sys.exit(EXIT_BAD_INPUT)


@main.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the JSON Schema to this file (default: print it).",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the Markdown field reference (docs/scenario_reference.md) to this file.",
)
@reports_errors
def schema(output: Path | None, reference: Path | None) -> None:
    """Write the JSON Schema of scenario files (for editor validation and completion)."""
    from capsim.scenario.json_schema import scenario_json_schema

    if reference is not None:
        from capsim.scenario.reference import scenario_reference_markdown

        reference.write_text(scenario_reference_markdown(), encoding="utf-8")
        click.echo(f"wrote {reference}")
        if output is None:
            return
    text = json.dumps(scenario_json_schema(), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a field.")
@reports_errors
def show(file: Path, sets: tuple[str, ...]) -> None:
    """Print the resolved scenario (inheritance and overrides applied)."""
    from capsim.runs.bookkeeping import resolved_scenario_text
    from capsim.scenario.calendar import month_notes
    from capsim.scenario.loader import load_scenario, scenario_to_data
    from capsim.scenario.schema import Scenario

    scenario = load_scenario(file, sets)
    data = scenario_to_data(scenario)
    click.echo(resolved_scenario_text(data), nl=False)
    for line in month_notes(data, Scenario):  # offsets from start with their calendar months
        click.echo(line)


@main.command()
@click.argument(
    "scenario_file", metavar="SCENARIO", required=False, type=click.Path(path_type=Path)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory (default: results/<scenario>-<timestamp>).",
)
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Monte Carlo replications (default: the scenario's).",
)
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root seed.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a field.")
@click.option("--force", is_flag=True, help="Replace an existing output directory.")
@workers_option
@scheduler_option
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=DEFAULT_CHUNK_SIZE,
    show_default=True,
    help="Replications per chunk (one Parquet part each).",
)
@click.option(
    "--until-converged",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="TOL",
    help="Stop once P50 and P90 of shortfall settle within TOL.",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="Finish an interrupted run (or repair a damaged one).",
)
@click.option(
    "--report",
    "with_report",
    is_flag=True,
    help="Also write report.html, memo.pptx and tables.xlsx into the run directory.",
)
@click.option(
    "--charts/--no-charts",
    default=True,
    help="Draw every chart into charts/ (PNG at 300 dpi and SVG; a few seconds a run). "
    "--no-charts writes tables and summary only, e.g. for batches of runs.",
)
@percentiles_option
@reports_errors
def run(
    scenario_file: Path | None,
    output: Path | None,
    replications: int | None,
    seed: int | None,
    sets: tuple[str, ...],
    force: bool,
    workers: int | None,
    scheduler: str | None,
    chunk_size: int,
    until_converged: float | None,
    resume_dir: Path | None,
    with_report: bool,
    charts: bool,
    percentiles: str | None,
) -> None:
    """Simulate a scenario and write a run directory (tables, summary, charts)."""
    from capsim.errors import UsageError
    from capsim.runs.runner import RunOptions, resume_run, run_scenario

    inputs = (scenario_file,) if scenario_file is not None else ()
    from capsim.report.charts import draw_staged_run

    options = RunOptions(
        output=output,
        force=force,
        workers=workers,
        scheduler=scheduler,
        chunk_size=chunk_size,
        until_converged=until_converged,
        inputs=inputs,
        draw=draw_staged_run,
        charts=charts,
    )
    with progress_reporter() as progress:
        if resume_dir is not None:
            refuse_with_resume(click.get_current_context())
            outcome = resume_run(resume_dir, options, progress)
        else:
            if scenario_file is None:
                raise UsageError("missing SCENARIO (or --resume DIR)")
            from capsim.scenario.loader import load_scenario

            changes = overrides(sets, replications=replications, seed=seed)
            if percentiles is not None:
                chosen = parse_percentiles(percentiles)
                changes.append(f"report.percentiles=[{', '.join(map(str, chosen.values))}]")
            outcome = run_scenario(load_scenario(scenario_file, changes), options, progress)
    click.echo(format_headline(outcome.summary, outcome.manifest))
    if with_report:
        from capsim.report.memo import write_report

        for path in write_report(outcome.run_dir):
            click.echo(f"wrote {path}")
    click.echo(f"run directory: {outcome.run_dir}")


#: What a resumed run keeps from its first start, so these cannot be given with --resume.
FIXED_AT_START = (
    ("scenario_file", "SCENARIO"),
    ("output", "-o/--output"),
    ("replications", "-n"),
    ("seed", "--seed"),
    ("sets", "--set"),
    ("force", "--force"),
    ("chunk_size", "--chunk-size"),
    ("until_converged", "--until-converged"),
    ("percentiles", "--percentiles"),
    ("charts", "--charts/--no-charts"),
)


def refuse_with_resume(context: click.Context) -> None:
    """Refuse options that a resume would otherwise silently ignore (exit 2), naming them all."""
    from click.core import ParameterSource

    from capsim.errors import UsageError

    given = [
        flag
        for name, flag in FIXED_AT_START
        if context.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
    ]
    if given:
        raise UsageError(
            f"{', '.join(given)} cannot be combined with --resume: a resumed run keeps the "
            "scenario, output, replications, seed, overrides and chunking it started with "
            "(only --workers, --scheduler and --report apply)"
        )


def format_headline(summary: dict[str, Any], manifest: dict[str, Any]) -> str:
    """The short KPI table printed after a run: catalogue labels and units, one row per KPI.

    Then the per-year risks, the portfolio's P-dates and the causes that held most MW back.
    """
    from capsim.report.currency import currency_of, money_unit
    from capsim.runs.criticality import top_causes
    from capsim.runs.kpis import BEYOND_TOLERANCE_IN_YEAR, SHORTFALL_IN_YEAR, Percentiles, lookup

    percentiles = Percentiles.of_summary(summary)
    header = "".join(f"{label:>12}" for label in percentiles.labels.values())
    lines = [
        f"{manifest['scenario']}: {manifest['replications']} replications, "
        f"{manifest['events']:,} events in {manifest['wall_seconds']:.2f} s",
        f"{'KPI':<40}{header}",
    ]
    for key in HEADLINE:
        kpi = lookup(key)
        stats = summary["kpis"][key]
        cells = "".join(f"{kpi.format(stats[q]):>12}" for q in percentiles.keys)
        title = money_unit(kpi.title, currency_of(summary))  # the run's reporting currency
        lines.append(f"{title:<40}{cells}")
    tolerance = summary["report"]["shortfall_tolerance"]
    for base, key, label in (
        (SHORTFALL_IN_YEAR, "shortfall_probability_by_year", SHORTFALL_IN_YEAR.label),
        (
            BEYOND_TOLERANCE_IN_YEAR,
            "beyond_tolerance_probability_by_year",
            f"P(shortfall beyond {tolerance:.0%} of demand)",
        ),
    ):
        by_year = summary[key]
        if by_year:
            shown = ", ".join(f"{year}: {base.format(p)}" for year, p in by_year.items())
            lines.append(f"{label} by year: {shown}")
    dates = [
        entry
        for entry in summary["p_dates"]
        if entry["scope"] == "portfolio" and entry["measure"] == "energized_mw"
    ]
    for entry in dates:
        cells = ", ".join(
            f"{percentiles.labels[k]} {entry[k] or 'past horizon'}" for k in percentiles.keys
        )
        lines.append(f"energised {entry['mw']:,.0f} MW by: {cells}")
    held = top_causes(summary["criticality"], "portfolio")
    if held:
        shown = ", ".join(f"{cause.replace('_', ' ')} {share:.0%}" for cause, share in held)
        lines.append(f"delay to first power, MW-weighted: {shown}")
    return "\n".join(lines)


def _register_commands() -> None:
    """Add the commands that live in their own modules (each keeps its heavy imports lazy)."""
    from capsim.cli.check import COMMANDS as CHECK_COMMANDS
    from capsim.cli.decide import COMMANDS as DECIDE_COMMANDS
    from capsim.cli.fit import COMMANDS as FIT_COMMANDS
    from capsim.cli.memo import COMMANDS as MEMO_COMMANDS
    from capsim.cli.optimize import COMMANDS as OPTIMIZE_COMMANDS
    from capsim.cli.strategies import COMMANDS as STRATEGY_COMMANDS
    from capsim.cli.template import template

    for command in (
        *MEMO_COMMANDS,
        *CHECK_COMMANDS,
        *DECIDE_COMMANDS,
        *STRATEGY_COMMANDS,
        *OPTIMIZE_COMMANDS,
        *FIT_COMMANDS,
    ):
        main.add_command(command)
    main.add_command(template)


_register_commands()
