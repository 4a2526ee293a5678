"""``capsim report`` and ``capsim compare``: memo documents from finished runs and studies.

Thin click commands over ``memo.write_report`` (a run), ``study_documents.write_study_report``
(a sensitivity study or a sweep) and ``compare.compare_runs``; heavy libraries (pandas,
matplotlib, python-pptx, openpyxl) load only when a command runs, so ``--help`` is fast.
"""

from __future__ import annotations

from pathlib import Path

import click

from capsim.cli.support import parse_percentiles, percentiles_option, reports_errors
from capsim.errors import UsageError

#: What ``capsim report`` accepts, for the message about a directory that is none of them.
REPORTABLE = (
    "a run directory (capsim run), a sensitivity study (capsim sensitivity), "
    "a sweep (capsim sweep) or an optimisation (capsim optimize)"
)
#: The manifest kind of an optimisation directory.
OPTIMIZE = "optimize"


@click.command()
@click.argument("directory", metavar="DIR", type=click.Path(path_type=Path))
@percentiles_option
# --- reporting currency ---
@click.option(
    "--currency",
    default=None,
    metavar="CODE",
    help="Runs only: restate the documents in this currency (e.g. JPY) by the scenario's "
    "money.fx rates (default: the run's reporting currency).",
)
# --- end reporting currency ---
@reports_errors
def report(directory: Path, percentiles: str | None, currency: str | None) -> None:
    """Write report.html, memo.pptx and tables.xlsx into DIR: a run, a study or an optimisation.

    What DIR is comes from its manifest.json. With --percentiles (runs only), the documents
    report those percentiles, computed in memory: the run's own files (summary.json included)
    stay as they are.
    """
    from capsim.report.study_documents import RUN, STUDY_KINDS, directory_kind

    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory; capsim report takes {REPORTABLE}")
    kind = directory_kind(directory)
    if kind == RUN:
        from capsim.report.memo import write_report

        chosen = parse_percentiles(percentiles) if percentiles is not None else None
        written = write_report(directory, chosen, currency)  # --currency: restated in memory
    elif kind in STUDY_KINDS:
        if percentiles is not None:
            raise UsageError(f"--percentiles applies to a run directory; {directory} is a {kind}")
        if currency is not None:  # --- reporting currency ---
            raise UsageError(f"--currency applies to a run directory; {directory} is a {kind}")
        from capsim.report.study_documents import write_study_report

        written = write_study_report(directory)
    elif kind == OPTIMIZE:
        if percentiles is not None or currency is not None:
            raise UsageError(
                f"--percentiles and --currency apply to a run directory; {directory} is an "
                "optimisation"
            )
        from capsim.report.optimize import write_optimization_report

        written = write_optimization_report(directory)
    else:
        found = (
            f"holds a {kind!r} (its manifest.json's kind)"
            if kind
            else "is not a complete capsim run, sensitivity study, sweep or optimisation (no "
            "manifest.json naming one)"
        )
        raise UsageError(f"{directory} {found}; capsim report takes {REPORTABLE}")
    for path in written:
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
