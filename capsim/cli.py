"""The ``capsim`` command: parse options, call the library, print results.

This is the only module that turns errors into messages and exit codes: a ``CapsimError``
prints its located messages and exits with its code; Ctrl-C exits 130. No traceback reaches a
user for bad input.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from capsim import __version__
from capsim.errors import EXIT_INTERRUPTED, CapsimError

F = TypeVar("F", bound=Callable[..., Any])

HEADLINE = (
    ("shortfall_mw_months", "shortfall (MW-months)"),
    ("peak_shortfall_mw", "peak shortfall (MW)"),
    ("covered_for_good_month", "covered for good (month)"),
    ("energized_mw_at_horizon", "energised at horizon (MW)"),
    ("deal_completion_rate", "deal completion rate"),
    ("capex_usd", "capex (USD m)"),
    ("cost_per_delivered_mw_usd", "cost per delivered MW (USD m)"),
    ("bridge_mw_months", "bridge (MW-months)"),
)


def reports_errors(command: F) -> F:
    """Print CapsimErrors as located messages and exit with their code, never a traceback."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except CapsimError as exc:
            for line in exc.messages():
                click.echo(f"error: {line}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)

    return wrapper  # type: ignore[return-value]


def _overrides(sets: Sequence[str], **named: Any) -> list[str]:
    extra = [f"{key}={value}" for key, value in named.items() if value is not None]
    return [*sets, *extra]


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
    from capsim.loader import load_scenario

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
@reports_errors
def schema(output: Path | None) -> None:
    """Write the JSON Schema of scenario files (for editor validation and completion)."""
    from capsim.schema_json import scenario_json_schema

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
    import yaml

    from capsim.loader import load_scenario, scenario_to_data

    scenario = load_scenario(file, sets)
    click.echo(
        yaml.safe_dump(scenario_to_data(scenario), sort_keys=False, allow_unicode=True), nl=False
    )


@main.command()
@click.argument("scenario_file", metavar="SCENARIO", type=click.Path(path_type=Path))
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
@reports_errors
def run(
    scenario_file: Path,
    output: Path | None,
    replications: int | None,
    seed: int | None,
    sets: tuple[str, ...],
    force: bool,
) -> None:
    """Simulate a scenario and write a run directory (tables, summary, charts)."""
    from capsim.loader import load_scenario
    from capsim.runner import run_scenario

    overrides = _overrides(sets, replications=replications, seed=seed)
    scenario = load_scenario(scenario_file, overrides)
    outcome = run_scenario(scenario, output=output, force=force)
    click.echo(format_headline(outcome.summary, outcome.manifest))
    click.echo(f"run directory: {outcome.run_dir}")


def format_headline(summary: dict[str, Any], manifest: dict[str, Any]) -> str:
    """The short KPI table printed after a run."""
    lines = [
        f"{manifest['scenario']}: {manifest['replications']} replications, "
        f"{manifest['events']:,} events in {manifest['wall_seconds']:.2f} s",
        f"{'KPI':<32}{'P10':>12}{'P50':>12}{'P90':>12}",
    ]
    for key, title in HEADLINE:
        stats = summary["kpis"][key]
        scale = 1e6 if key.endswith("_usd") else 1.0
        cells = "".join(_cell(stats[q], scale) for q in ("p10", "p50", "p90"))
        lines.append(f"{title:<32}{cells}")
    by_year = summary["shortfall_probability_by_year"]
    if by_year:
        shown = ", ".join(f"{year}: {p:.0%}" for year, p in by_year.items())
        lines.append(f"P(shortfall) by year: {shown}")
    return "\n".join(lines)


def _cell(value: float | None, scale: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>12}"
    return f"{value / scale:>12,.2f}" if abs(value / scale) < 10 else f"{value / scale:>12,.0f}"
