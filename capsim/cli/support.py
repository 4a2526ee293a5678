"""What every capsim command shares: error reporting, overrides, progress display.

Command modules import from here (never from ``cli``), so that ``cli`` can register them all.
Only click and the standard library are imported at module level, to keep ``--help`` fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from capsim.errors import EXIT_INTERRUPTED, CapsimError

if TYPE_CHECKING:
    from capsim.runs.kpis import Percentiles

F = TypeVar("F", bound=Callable[..., Any])
LOG_EVERY_SECONDS = 10.0


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


def overrides(sets: Sequence[str], **named: Any) -> list[str]:
    """``--set`` overrides plus the named options given (``-n``, ``--seed``), applied last."""
    extra = [f"{key}={value}" for key, value in named.items() if value is not None]
    return [*sets, *extra]


@contextmanager
def progress_reporter() -> Iterator[Callable[[int, int, float], None]]:
    """A progress bar on a terminal; plain periodic lines otherwise."""
    if sys.stderr.isatty():
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("replications"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            transient=True,
        )
        task = bar.add_task("run", total=None, rate="")

        def show(done: int, total: int, seconds: float) -> None:
            rate = f"{done / seconds:,.1f}/s" if seconds > 0 else ""
            bar.update(task, completed=done, total=total, rate=rate)

        with bar:
            yield show
        return
    last = [0.0]

    def log(done: int, total: int, seconds: float) -> None:
        if seconds - last[0] >= LOG_EVERY_SECONDS or done == total:
            last[0] = seconds
            rate = done / seconds if seconds > 0 else 0.0
            left = (total - done) / rate if rate > 0 else 0.0
            click.echo(
                f"progress: {done}/{total} replications, {rate:,.1f}/s, about {left:,.0f} s left",
                err=True,
            )

    yield log


def step_logger(what: str) -> Callable[[int, int, float], None]:
    """Progress lines on stderr for a study's steps: one every 10 s at most, and one at the end.

    ``what`` names the steps as the line reads, e.g. 'points' or 'strategies run'.
    """
    last = [0.0]

    def log(done: int, total: int, seconds: float) -> None:
        if seconds - last[0] >= LOG_EVERY_SECONDS or done == total:
            last[0] = seconds
            click.echo(f"progress: {done}/{total} {what} in {seconds:,.0f} s", err=True)

    return log


#: ``--workers N``: local worker processes for a command that runs replications.
workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local worker processes (default: the machine's cores; 1 runs in-process).",
)
#: ``--scheduler ADDRESS``: the Dask cluster a command that runs replications may use.
scheduler_option = click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Dask scheduler to run on (default: $DASK_SCHEDULER_ADDRESS, else local).",
)

#: ``--percentiles 10,50,80,90``: the percentiles over replications to report.
percentiles_option = click.option(
    "--percentiles",
    default=None,
    metavar="LIST",
    help="Percentiles to report, e.g. 10,50,80,90 (default: the scenario's report.percentiles).",
)


def parse_percentiles(text: str) -> Percentiles:
    """The ``--percentiles`` value as ``Percentiles``; a UsageError (exit 2) saying why not."""
    from capsim.errors import UsageError
    from capsim.runs.kpis import Percentiles

    try:
        return Percentiles.parse(text)
    except ValueError as exc:
        raise UsageError(
            f"--percentiles: {exc}; expected whole numbers from 1 to 99, increasing, with 50"
        ) from None
