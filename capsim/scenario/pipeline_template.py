"""The pipeline template ``capsim template pipeline`` writes: header, an example, notes.

The columns, their meaning and valid values come from ``pipeline.COLUMNS``, the same list the
reader checks a file against, so the template and the reader cannot disagree. Given a
scenario, the example row and the notes use its kinds, regions and stages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from capsim.scenario.pipeline import COLUMNS, NOTES_SHEET, SHEET, column_letter
from capsim.scenario.schema import SIGNED, Scenario

if TYPE_CHECKING:
    from openpyxl import Workbook  # type: ignore[import-untyped]


def template_rows(scenario: Scenario | None = None) -> Iterator[list[Any]]:
    """The header row, then one example row (taken from ``scenario`` when one is given)."""
    yield [c.name for c in COLUMNS]
    example = {c.name: c.example for c in COLUMNS}
    if scenario is not None:
        kind_name, kind = next(iter(scenario.deal_kinds.items()))
        example["kind"] = kind_name
        example["region"] = next(iter(scenario.regions))
        example["stage"] = kind.stages[0].name
    yield [example[c.name] for c in COLUMNS]


def template_notes(scenario: Scenario | None = None) -> list[list[str]]:
    """The notes sheet: each column, whether it is required, its meaning and valid values."""
    valid = {c.name: c.valid for c in COLUMNS}
    if scenario is not None:
        valid["kind"] = "one of: " + ", ".join(scenario.deal_kinds)
        valid["region"] = "one of: " + ", ".join(scenario.regions)
        valid["stage"] = "; ".join(
            f"{name}: {', '.join([s.name for s in kind.stages] + [SIGNED])}"
            for name, kind in scenario.deal_kinds.items()
        )
    rows = [["column", "required", "meaning", "valid values"]]
    rows += [[c.name, "yes" if c.required else "no", c.meaning, valid[c.name]] for c in COLUMNS]
    rows.append(["notes", "no", "Free text for people; capsim ignores this column.", "anything"])
    rows.append([])
    rows.append(
        [
            "How to use",
            "",
            "One deal per row on the 'pipeline' sheet, below the header; replace the example row "
            "with your deals. Name the file in the "
            "scenario as deals_in_flight: {file: pipeline.xlsx} (a path relative to the scenario "
            "file); capsim show prints the deals it read.",
            "",
        ]
    )
    return rows


def template_workbook(scenario: Scenario | None = None) -> Workbook:
    """The pipeline template: a 'pipeline' sheet (header and an example) and a 'notes' sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET
    for row in template_rows(scenario):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[column_letter(index)].width = max(14, len(column.name) + 4)
    notes = book.create_sheet(NOTES_SHEET)
    for row in template_notes(scenario):
        notes.append(row)
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (20, 10, 60, 70), strict=True):
        notes.column_dimensions[letter].width = width
    return book
