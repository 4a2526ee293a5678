"""``capsim template``: write a starting file an analyst fills in (the deal pipeline workbook).

``capsim template pipeline -o pipeline.xlsx`` writes a header row, one example row and a notes
sheet explaining each column and its valid values (``.csv``: the header and the example only).
With ``--scenario`` the example and the notes use that scenario's kinds, regions and stages.
An existing file is kept unless ``--force`` is given; the file appears whole or not at all.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import click

from capsim.cli.support import reports_errors

if TYPE_CHECKING:
    from capsim.scenario.schema import Scenario

#: The templates this command writes.
TEMPLATES = ("pipeline",)


@click.command()
@click.argument("what", type=click.Choice(TEMPLATES))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="File to write: .xlsx (with a notes sheet) or .csv.",
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Take the example and the valid kinds, regions and stages from this scenario.",
)
@click.option("--force", is_flag=True, help="Replace OUTPUT if it already exists.")
@reports_errors
def template(what: str, output: Path, scenario_file: Path | None, force: bool) -> None:
    """Write a template to fill in: WHAT is 'pipeline' (deals in flight, one per row)."""
    from capsim.errors import OutputError, UsageError
    from capsim.scenario.pipeline import SUFFIXES

    suffix = output.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"-o {output}: expected a file ending in .xlsx or .csv, found {suffix!r}")
    if output.exists() and not force:
        raise OutputError(f"{output} already exists; choose another name or add --force")
    scenario = None
    if scenario_file is not None:
        from capsim.scenario.loader import load_scenario

        scenario = load_scenario(scenario_file)
    content = _xlsx(scenario) if suffix == ".xlsx" else _csv(scenario)
    _write_whole(output, content)
    click.echo(f"wrote {output}")


def _xlsx(scenario: Scenario | None) -> bytes:
    """The pipeline workbook as bytes."""
    from capsim.scenario.pipeline_template import template_workbook

    buffer = io.BytesIO()
    template_workbook(scenario).save(buffer)
    return buffer.getvalue()


def _csv(scenario: Scenario | None) -> bytes:
    """The pipeline header and example row as CSV (UTF-8)."""
    from capsim.scenario.pipeline_template import template_rows

    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerows(template_rows(scenario))
    return text.getvalue().encode("utf-8")


def _write_whole(output: Path, content: bytes) -> None:
    """Write ``content`` to a hidden sibling, then rename it over ``output`` (never half a file)."""
    from capsim.runs.publish import publish_file

    publish_file(output, lambda staged: staged.write_bytes(content))


COMMANDS: list[click.Command] = [template]
