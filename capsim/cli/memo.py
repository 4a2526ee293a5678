"""``capsim report`` and ``capsim compare``: memo documents from finished runs.

Thin click commands over ``report.write_report`` and ``compare.compare_runs``; heavy libraries
(pandas, matplotlib, python-pptx, openpyxl) load only when a command runs, so ``--help`` is fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from capsim.cli.support import parse_percentiles, percentiles_option, reports_errors


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@percentiles_option
@reports_errors
def report(run_dir: Path, percentiles: str | None) -> None:
    """Write report.html, memo.pptx and tables.xlsx into the run directory RUN_DIR.

    With --percentiles, the documents report those percentiles, computed in memory: the run's
    own files (summary.json included) stay as they are.
    """
    from capsim.report.memo import write_report

    chosen = parse_percentiles(percentiles) if percentiles is not None else None
    for path in write_report(run_dir, chosen):
        click.echo(f"wrote {path}")


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory to write compare.html, compare.pptx and compare.xlsx into.",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it already exists.")
@reports_errors
def compare(run_dirs: tuple[Path, ...], output: Path, force: bool) -> None:
    """Compare two or more runs side by side (differences against the first RUN_DIR)."""
    from capsim.report.compare import compare_runs

    for path in compare_runs(list(run_dirs), output, force=force):
        click.echo(f"wrote {path}")


COMMANDS: list[click.Command] = [report, compare]
