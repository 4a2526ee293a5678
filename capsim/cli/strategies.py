"""``capsim strategies``: a base scenario and strategy variants, paired, as a Markdown memo.

Thin click command over ``analysis.strategies`` (load, run, compare) and ``report.strategies``
(the document); heavy modules load only when the command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from capsim.cli.support import (
    parse_percentiles,
    reports_errors,
    step_logger,
    workers_option,
)


def rerun_command(
    base: Path,
    variants: tuple[Path, ...],
    replications: int,
    seed: int,
    output: Path | None,
    percentiles: str | None,
) -> str:
    """The command that reproduces the document, with -n and --seed written out.

    ``--workers`` and ``--keep`` change no figure, so they are left out.
    """
    words = ["capsim", "strategies", str(base), *map(str, variants)]
    words += ["-n", str(replications), "--seed", str(seed)]
    if percentiles is not None:
        words += ["--percentiles", percentiles]
    if output is not None:
        words += ["-o", str(output)]
    return shlex.join(words)


@click.command()
@click.argument("base", type=click.Path(path_type=Path))
@click.argument(
    "variants", nargs=-1, required=True, metavar="VARIANT...", type=click.Path(path_type=Path)
)
@click.option(
    "-n",
    "--replications",
    type=click.IntRange(min=1),
    default=None,
    help="Replications per strategy (default: the base scenario's).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Root seed, the same for every strategy (default: the base scenario's).",
)
@workers_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the document to this Markdown file (replaced only on success).",
)
@click.option(
    "--keep",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="Keep the run directories in DIR (for capsim report); default: a temporary directory.",
)
@click.option(
    "--percentiles",
    default=None,
    metavar="LIST",
    help="Percentiles of the milestone dates shown, e.g. 50,80 (the default; P80 is always shown).",
)
@reports_errors
def strategies(
    base: Path,
    variants: tuple[Path, ...],
    replications: int | None,
    seed: int | None,
    workers: int | None,
    output: Path | None,
    keep: Path | None,
    percentiles: str | None,
) -> None:
    """Compare strategy VARIANTs (scenario files) with BASE, paired replication by replication.

    Every strategy runs with the base's seed and replications, so each replication differs only
    by the strategy. Prints the comparison as Markdown, and writes it to -o.
    """
    from capsim.analysis.strategies import load_strategies, run_strategies
    from capsim.report.strategies import check_output_file, strategies_markdown, write_markdown

    chosen = parse_percentiles(percentiles) if percentiles is not None else None
    strategy_set = load_strategies(base, variants, replications, seed, chosen)
    if output is not None:
        check_output_file(output)  # a bad -o fails before anything runs
    comparison = run_strategies(strategy_set, keep, workers, step_logger("strategies run"))
    command = rerun_command(
        base, variants, comparison.replications, comparison.seed, output, percentiles
    )
    text = strategies_markdown(comparison, command, kept=keep)
    if output is not None:
        write_markdown(text, output)
    click.echo(text, nl=False)
    if output is not None:
        click.echo(f"wrote {output}", err=True)
    if keep is not None:
        click.echo(f"run directories: {keep}", err=True)


COMMANDS: list[click.Command] = [strategies]
