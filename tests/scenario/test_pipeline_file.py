"""Deals in flight read from a spreadsheet or CSV file, and the pipeline template.

A good file gives the same deals as YAML, every kind of bad row is a located error, and
``capsim template pipeline`` writes a template that loads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from capsim.cli.main import main
from capsim.errors import EXIT_BAD_INPUT, EXIT_OUTPUT, ScenarioError
from capsim.scenario.loader import load_scenario
from capsim.scenario.pipeline import COLUMNS, column_letter

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios" / "minimal.yaml"
HEADER = ["id", "kind", "region", "mw", "stage", "signed_month", "grid_request_month"]
GOOD_ROWS: list[list[Any]] = [
    ["syd_west", "greenfield", "au_nsw", 120, "due_diligence", None, "2025-06"],
    ["syd_east", "greenfield", "au_nsw", 80.5, "signed", "2025-11-15", None],
]
GOOD_YAML = """deals_in_flight:
  - {id: syd_west, kind: greenfield, region: au_nsw, mw: 120, stage: due_diligence,
     grid_request_month: 2025-06}
  - {id: syd_east, kind: greenfield, region: au_nsw, mw: 80.5, stage: signed,
     signed_month: 2025-11}
"""


def scenario_file(directory: Path, body: str, name: str = "pipe") -> Path:
    """A scenario extending the minimal example with ``body``."""
    path = directory / f"{name}.yaml"
    path.write_text(f"extends: {MINIMAL}\nname: {name}\n{body}", encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[list[Any]], sheet: str = "pipeline") -> Path:
    """A workbook whose sheet holds ``rows`` (the header first)."""
    book = Workbook()
    active = book.active
    assert active is not None
    active.title = sheet
    for row in rows:
        active.append(row)
    book.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    """A CSV file of ``rows`` (empty cells for None)."""
    lines = [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def errors_for(tmp_path: Path, file_name: str) -> list[str]:
    """The located messages of a scenario naming the pipeline file ``file_name``."""
    path = scenario_file(tmp_path, f"deals_in_flight: {{file: {file_name}}}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return caught.value.messages()


# --- good files ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_a_good_pipeline_file_gives_the_same_deals_as_yaml(tmp_path: Path, suffix: str) -> None:
    rows = [HEADER, *GOOD_ROWS]
    if suffix == "xlsx":
        write_xlsx(tmp_path / "pipeline.xlsx", rows)
    else:
        write_csv(tmp_path / "pipeline.csv", rows)
    from_file = load_scenario(
        scenario_file(tmp_path, f"deals_in_flight: {{file: pipeline.{suffix}}}\n", "from_file")
    )
    from_yaml = load_scenario(scenario_file(tmp_path, GOOD_YAML, "from_yaml"))
    assert from_file.deals_in_flight == from_yaml.deals_in_flight
    assert [d.id for d in from_file.deals_in_flight] == ["syd_west", "syd_east"]


def test_dates_columns_in_another_order_and_a_notes_column_are_read(tmp_path: Path) -> None:
    rows = [
        ["Notes", "STAGE", "mw", "region", "kind", "id", "signed_month"],
        ["late", "signed", 60, "au_nsw", "greenfield", "a_deal", dt.datetime(2025, 12, 24)],
        [None, None, None, None, None, None, None],
    ]
    write_xlsx(tmp_path / "pipeline.xlsx", rows)
    scenario = load_scenario(scenario_file(tmp_path, "deals_in_flight: {file: pipeline.xlsx}\n"))
    (deal,) = scenario.deals_in_flight
    assert (deal.id, deal.mw, deal.stage, deal.signed_month) == (
        "a_deal",
        60.0,
        "signed",
        "2025-12",
    )


def test_the_file_is_found_next_to_the_scenario_that_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bases").mkdir()
    write_csv(tmp_path / "bases" / "pipeline.csv", [HEADER, *GOOD_ROWS])
    scenario_file(tmp_path / "bases", "deals_in_flight: {file: pipeline.csv}\n", "base")
    child = tmp_path / "child.yaml"
    child.write_text("extends: bases/base.yaml\nname: child\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert len(load_scenario("child.yaml").deals_in_flight) == 2


def test_capsim_show_prints_the_deals_read_from_the_file(tmp_path: Path) -> None:
    write_csv(tmp_path / "pipeline.csv", [HEADER, *GOOD_ROWS])
    path = scenario_file(tmp_path, "deals_in_flight: {file: pipeline.csv}\n")
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 0, result.output
    assert "- id: syd_west\n  kind: greenfield\n  region: au_nsw\n  mw: 120.0\n" in result.output
    assert "  signed_month: 2025-11\n" in result.output


STAGES = ["sourcing", "due_diligence", "negotiation", "signed"]


@settings(max_examples=15)
@given(
    st.lists(
        st.tuples(st.sampled_from(STAGES), st.floats(0.001, 1e6, allow_nan=False)),
        max_size=5,
    )
)
def test_any_valid_pipeline_reads_as_the_same_deals_written_in_yaml(
    tmp_path_factory: pytest.TempPathFactory, deals: list[tuple[str, float]]
) -> None:
    directory = tmp_path_factory.mktemp("property")
    rows = [[f"deal_{i}", "greenfield", "au_nsw", mw, stage] for i, (stage, mw) in enumerate(deals)]
    write_csv(directory / "p.csv", [HEADER[:5], *rows])
    listed = "".join(
        f"  - {{id: {r[0]}, kind: {r[1]}, region: {r[2]}, mw: {r[3]!r}, stage: {r[4]}}}\n"
        for r in rows
    )
    yaml_body = f"deals_in_flight:\n{listed}" if rows else "deals_in_flight: []\n"
    from_file = load_scenario(scenario_file(directory, "deals_in_flight: {file: p.csv}\n", "a"))
    from_yaml = load_scenario(scenario_file(directory, yaml_body, "b"))
    assert from_file.deals_in_flight == from_yaml.deals_in_flight


# --- bad rows: one located error each --------------------------------------------------------

BAD_ROWS: list[tuple[int, Any, str]] = [
    (
        1,
        "greenfeld",
        "deal kind 'greenfeld' is not defined in the scenario (expected one of: "
        "greenfield; did you mean 'greenfield'?)",
    ),
    (2, "au_vic", "region 'au_vic' is not defined in the scenario (expected one of: au_nsw)"),
    (
        4,
        "due_dilligence",
        "greenfield deals have no stage 'due_dilligence' (expected one of: "
        "sourcing, due_diligence, negotiation, signed; did you mean 'due_diligence'?)",
    ),
    (3, -50, "mw must be above 0 (facility MW of the deal); found -50"),
    (3, "lots", "mw must be a number of MW above 0; found 'lots'"),
    (
        0,
        "Syd West",
        "'Syd West' is not a valid id (expected lower-case letters, digits and '_', "
        "starting with a letter (at most 40))",
    ),
    (
        6,
        "2025-13",
        "'2025-13' is not a date; expected a calendar month YYYY-MM or a date YYYY-MM-DD",
    ),
    (
        6,
        "2027-02",
        "2027-02 is after the scenario's start 2026-01; a deal in flight's dates are past",
    ),
]


@pytest.mark.parametrize(
    ("column", "value", "message"), BAD_ROWS, ids=[str(c[1]) for c in BAD_ROWS]
)
@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
def test_each_bad_cell_is_reported_with_sheet_row_column_and_choices(
    tmp_path: Path, suffix: str, column: int, value: Any, message: str
) -> None:
    bad = list(GOOD_ROWS[1])
    bad[column] = value
    rows = [HEADER, GOOD_ROWS[0], bad]
    name = f"pipeline.{suffix}"
    if suffix == "xlsx":
        write_xlsx(tmp_path / name, rows)
    else:
        write_csv(tmp_path / name, rows)
    sheet = "sheet 'pipeline', " if suffix == "xlsx" else ""
    letter = column_letter(column + 1)
    where = f"{tmp_path / name}:3:{column + 1}: {sheet}row 3, column {letter} ({HEADER[column]})"
    assert errors_for(tmp_path, name) == [f"{where}: {message}"]


def test_a_repeated_id_names_the_row_that_used_it_first(tmp_path: Path) -> None:
    write_csv(tmp_path / "p.csv", [HEADER, GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0]])
    assert errors_for(tmp_path, "p.csv") == [
        f"{tmp_path / 'p.csv'}:4:1: row 4, column A (id): id 'syd_west' is already used in row "
        "2; give each deal its own id"
    ]


def test_a_signed_month_on_a_deal_that_is_not_signed_is_refused(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "p.csv", [HEADER, ["a", "greenfield", "au_nsw", 10, "sourcing", "2025-01", None]]
    )
    (message,) = errors_for(tmp_path, "p.csv")
    assert message.startswith(f"{tmp_path / 'p.csv'}:2:6: row 2, column F (signed_month): a signed")


def test_every_bad_row_is_reported_at_once(tmp_path: Path) -> None:
    rows = [HEADER, ["a", "x", "au_nsw", 1, "signed"], ["b", "greenfield", "y", 0, "signed"]]
    write_csv(tmp_path / "p.csv", rows)
    assert [m.split(": ")[1] for m in errors_for(tmp_path, "p.csv")] == [
        "row 2, column B (kind)",
        "row 3, column C (region)",
        "row 3, column D (mw)",
    ]


def test_unknown_and_missing_columns_are_named(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "p.csv",
        [["id", "knd", "region", "mw", "stage"], ["a", "greenfield", "au_nsw", 1, "signed"]],
    )
    assert errors_for(tmp_path, "p.csv") == [
        f"{tmp_path / 'p.csv'}:1:2: row 1, column B: 'knd' is not a pipeline column (expected: "
        "id, kind, region, mw, stage, signed_month, grid_request_month, or notes); did you mean "
        "'kind'?"
    ]
    write_csv(tmp_path / "q.csv", [["id", "region", "mw"], ["a", "au_nsw", 1]])
    assert errors_for(tmp_path, "q.csv") == [
        f"{tmp_path / 'q.csv'}:1:1: row 1: the header lacks the column(s) kind, stage (expected: "
        "id, kind, region, mw, stage, signed_month, grid_request_month)"
    ]


def test_a_missing_or_wrong_file_is_blamed_on_the_scenario_line(tmp_path: Path) -> None:
    (message,) = errors_for(tmp_path, "nowhere.xlsx")
    assert message.startswith(f"{tmp_path / 'pipe.yaml'}:3:25: deals_in_flight.file: pipeline file")
    assert "not found" in message
    (tmp_path / "notes.txt").write_text("x")
    (message,) = errors_for(tmp_path, "notes.txt")
    assert "is not a .xlsx or .csv file" in message
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    (message,) = errors_for(tmp_path, "broken.xlsx")
    assert "cannot be read as an Excel workbook" in message


def test_the_schema_refuses_a_file_it_was_not_given_to_read() -> None:
    from pydantic import ValidationError

    from capsim.scenario.loader import scenario_to_data
    from capsim.scenario.schema import Scenario

    data = scenario_to_data(load_scenario(MINIMAL))
    data["deals_in_flight"] = {"file": "pipeline.xlsx"}
    with pytest.raises(ValidationError, match="a pipeline file is read when a scenario file"):
        Scenario.model_validate(data)


# --- the template ------------------------------------------------------------------------------


def test_the_template_has_a_header_an_example_and_notes_and_loads(tmp_path: Path) -> None:
    out = tmp_path / "pipeline.xlsx"
    result = CliRunner().invoke(
        main, ["template", "pipeline", "-o", str(out), "--scenario", str(MINIMAL)]
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == ["pipeline", "notes"]
    rows = list(book["pipeline"].iter_rows(values_only=True))
    assert list(rows[0]) == [c.name for c in COLUMNS]
    assert list(rows[1][:5]) == ["syd_west", "greenfield", "au_nsw", 120, "sourcing"]
    notes = {row[0]: row for row in book["notes"].iter_rows(values_only=True) if row[0]}
    assert notes["stage"][3] == "greenfield: sourcing, due_diligence, negotiation, signed"
    assert notes["mw"][1] == "yes" and notes["signed_month"][1] == "no"
    scenario = load_scenario(scenario_file(tmp_path, "deals_in_flight: {file: pipeline.xlsx}\n"))
    assert [d.id for d in scenario.deals_in_flight] == ["syd_west"]


def test_the_template_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "pipeline.csv"
    out.write_text("mine\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["template", "pipeline", "-o", str(out)])
    assert result.exit_code == EXIT_OUTPUT
    assert "already exists" in result.output and "--force" in result.output
    assert out.read_text(encoding="utf-8") == "mine\n"
    result = CliRunner().invoke(main, ["template", "pipeline", "-o", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(HEADER)
    assert [p.name for p in tmp_path.iterdir()] == ["pipeline.csv"]  # no staged file left over


def test_the_template_refuses_another_file_type(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["template", "pipeline", "-o", str(tmp_path / "p.ods")])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "expected a file ending in .xlsx or .csv" in result.output
    assert not (tmp_path / "p.ods").exists()
