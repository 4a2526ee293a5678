"""``capsim fit`` (queue data in, a calibrated grid fragment out) and ``capsim export-queue``.

Thin click commands over ``analysis.fit`` (read, fit), ``report.fit`` (grid.yaml, fit.json,
charts, report) and ``runs.export_queue`` (a run's queue as a real queue file's snapshot).
Heavy modules load only when a command runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import click

from capsim.cli.support import reports_errors

_REGION_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: Rows left out that are printed; fit.json and the report list them all.
SHOWN_BAD_ROWS = 20


@click.command()
@click.argument("queue_file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["gridstatus", "queued-up", "csv"]),
    required=True,
    help="Column layout: gridstatus, Berkeley Lab queued-up, or csv with --columns.",
)
@click.option(
    "--columns",
    multiple=True,
    metavar="ROLE=COLUMN",
    help="Column of a role (id, mw, filed, withdrawn, connected, agreement, status).",
)
@click.option("--where", multiple=True, metavar="COLUMN=VALUE", help="Keep only matching rows.")
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM", help="Month the data end.")
@click.option("--region", default="fitted", show_default=True, help="Region id of the fragment.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Output DIR.")
@reports_errors
def fit(
    queue_file: Path,
    fmt: str,
    columns: tuple[str, ...],
    where: tuple[str, ...],
    as_of: str | None,
    region: str,
    output: Path,
) -> None:
    """Fit a region's grid queue to QUEUE_FILE (CSV, Parquet or Excel) and write DIR.

    DIR gets grid.yaml (a regions.<id>.grid fragment with calibration targets), fit.json,
    charts of the data against the fit and report.md. Rows with impossible dates are listed
    and left out; active requests are censored at the end of the --as-of month.
    """
    from capsim.analysis.fit.estimate import fit_queue
    from capsim.analysis.fit.readers import parse_column_roles, parse_month, parse_where, read_queue
    from capsim.errors import UsageError
    from capsim.report.fit import write_fit

    if not _REGION_ID.match(region):
        raise UsageError(
            f"--region {region!r}: expected a region id (a-z, 0-9, _; starting with a letter)"
        )
    roles = parse_column_roles(columns)
    filters = parse_where(where)
    month = parse_month(as_of, "--as-of") if as_of is not None else None
    data = read_queue(queue_file, fmt, roles, filters, month)
    for bad in data.bad_rows[:SHOWN_BAD_ROWS]:
        click.echo(f"left out: {bad.format(data.file)}", err=True)
    if len(data.bad_rows) > SHOWN_BAD_ROWS:
        more = len(data.bad_rows) - SHOWN_BAD_ROWS
        click.echo(f"left out: ... and {more} more rows (all listed in fit.json)", err=True)
    try:
        fitted = fit_queue(data)
    except ValueError as exc:
        raise UsageError(f"{queue_file}: {exc}") from None
    fitted_on = datetime.now(UTC).strftime("%Y-%m-%d")
    write_fit(fitted, region, output, fitted_on)
    w = fitted.withdrawal_weibull
    click.echo(
        f"{fitted.counts['requests']} requests as of {data.as_of} "
        f"({len(data.bad_rows)} rows left out); withdrawal {fitted.withdrawal_model} "
        f"(shape {w.shape.value:.3g}, scale {w.scale_months.value:.3g} months); "
        f"study median {fitted.study.median.value:.3g} months"
    )
    click.echo(f"wrote {output}", err=True)


@click.command("export-queue")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["gridstatus", "queued-up"]),
    required=True,
    help="Column layout of the snapshot.",
)
@click.option("--as-of", "as_of", default=None, metavar="YYYY-MM", help="Snapshot month.")
@click.option(
    "--replication",
    type=click.IntRange(min=0),
    default=None,
    help="Replication to export (default: the run's first).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="FILE to write (.csv, .parquet or .xlsx).",
)
@reports_errors
def export_queue(
    run_dir: Path, fmt: str, as_of: str | None, replication: int | None, output: Path
) -> None:
    """Write a run's queue as it stood at the end of --as-of (default: the run's last month).

    Requests filed later are dropped and outcomes reached later are shown as active, as a
    queue published that month shows them; capsim fit reads the file back.
    """
    from capsim.runs.export_queue import queue_snapshot, write_snapshot
    from capsim.runs.rundir import RunDir

    table = queue_snapshot(RunDir(run_dir), fmt, as_of, replication)
    write_snapshot(table, output)
    click.echo(f"wrote {output} ({len(table)} requests)", err=True)


COMMANDS: list[click.Command] = [fit, export_queue]
