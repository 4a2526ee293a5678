"""Scenario text in workbooks stays text: never a live formula, never a write failure."""

from __future__ import annotations

import math
import numbers
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook  # type: ignore[import-untyped]

from capsim.report.documents import write_xlsx
from capsim.report.memo import workbook_sheets
from capsim.runs.rundir import RunDir

ROOT = Path(__file__).resolve().parents[2]
FORMULA_LIKE = ["=1+2", "+A1", "-2+3", "@SUM(A1:A3)", '=HYPERLINK("x","y")', "\t=1", "\r=1"]


def _cells(path: Path) -> list[Any]:
    """Every non-empty cell of every sheet of a workbook."""
    book = load_workbook(path)
    return [
        cell
        for sheet in book
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


@pytest.fixture(scope="module")
def injected_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run (with its report) whose region and upgrade names look like formulas."""
    folder = tmp_path_factory.mktemp("formula_text")
    data = yaml.safe_load((ROOT / "scenarios/minimal.yaml").read_text(encoding="utf-8"))
    data["regions"]["au_nsw"]["name"] = "=1+2"
    data["regions"]["au_nsw"]["grid"]["upgrades"][0]["name"] = "@SUM(A1:A3)"
    data["regions"]["au_nsw"]["grid"]["upgrades"][1]["name"] = "-2+3"
    scenario = folder / "formula_text.yaml"
    scenario.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out = folder / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "capsim",
            "run",
            str(scenario),
            "-n",
            "2",
            "--workers",
            "1",
            "--report",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_no_cell_of_a_report_workbook_is_a_formula(injected_run: Path) -> None:
    cells = _cells(injected_run / "tables.xlsx")
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    leading = [c for c in cells if isinstance(c.value, str) and c.value[:1] in "=+-@"]
    assert {c.value[:1] for c in leading} >= {"=", "@"}
    assert all(c.data_type == "s" and c.quotePrefix for c in leading)
    values = {c.value for c in cells}
    assert "=1+2" in values  # the region's name, exactly as written


def test_report_workbook_holds_the_tables_text_as_typed_and_numbers_unchanged(
    injected_run: Path,
) -> None:
    book = load_workbook(injected_run / "tables.xlsx")
    for name, frame in workbook_sheets(RunDir(injected_run)).items():
        sheet = book[name[:31]]
        rows = list(sheet.iter_rows(values_only=True))
        assert list(rows[0]) == [str(c) for c in frame.columns]
        assert len(rows) == len(frame) + 1
        for got, want in zip(rows[1:], frame.itertuples(index=False), strict=True):
            for cell, value in zip(got, want, strict=True):
                _assert_same_value(cell, value)


def _assert_same_value(cell: Any, value: Any) -> None:
    """A workbook cell holds a table's value: text exactly as typed, numbers equal."""
    if isinstance(value, str):
        assert cell == value
    elif value is None or value is pd.NaT:
        assert cell is None
    elif isinstance(value, numbers.Real) and not math.isfinite(value):
        assert cell is None
    elif isinstance(value, numbers.Real):  # a number (to the 15-16 digits a workbook keeps)
        assert isinstance(cell, numbers.Real) and cell == pytest.approx(value, rel=1e-14)
    else:
        assert cell is not None


def test_formula_like_text_is_written_as_text_and_numbers_stay_numbers(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    frame = pd.DataFrame(
        {
            "=label": FORMULA_LIKE,
            "number": [-1.5, 2, -3, 0.25, 1e300, -0.0, 7],
            "plain": ["a", "b-c", "x=y", "", "1+1", "@", "-"],
        }
    )
    write_xlsx({"sheet": frame}, path)
    cells = _cells(path)
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    book = load_workbook(path)
    sheet = book["sheet"]
    assert sheet["A1"].value == "=label" and sheet["A1"].quotePrefix
    assert [sheet.cell(row=r, column=1).value for r in range(2, 9)] == FORMULA_LIKE
    assert all(sheet.cell(row=r, column=1).quotePrefix for r in range(2, 9))
    numbers = [sheet.cell(row=r, column=2) for r in range(2, 9)]
    assert [c.value for c in numbers] == [-1.5, 2, -3, 0.25, 1e300, -0.0, 7]
    assert all(c.data_type == "n" and not c.quotePrefix for c in numbers)
    assert sheet["C3"].value == "b-c" and not sheet["C3"].quotePrefix
    assert sheet["C8"].value == "-" and sheet["C8"].quotePrefix


def test_control_characters_in_text_are_written_escaped_not_refused(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    write_xlsx(
        {"sheet": pd.DataFrame({"name": ["bell\x07", "=esc\x1b[2J", "tab\tand\nline"]})}, path
    )
    sheet = load_workbook(path)["sheet"]
    assert [sheet.cell(row=r, column=1).value for r in range(2, 5)] == [
        "bell\\x07",
        "=esc\\x1b[2J",
        "tab\tand\nline",
    ]
    assert sheet["A3"].data_type == "s"
