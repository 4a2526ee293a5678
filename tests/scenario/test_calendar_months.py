"""Calendar months where a month is meant: 'YYYY-MM' in offset fields, resolved after extends."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from tiny import TINY, changed

from capsim.cli.main import main
from capsim.errors import ScenarioError
from capsim.scenario.calendar import (
    OffsetFromStart,
    calendar_index,
    calendar_month,
    month_text,
    offset_months,
    offset_of,
)
from capsim.scenario.dists import Fixed, Pert
from capsim.scenario.loader import load_scenario, scenario_to_data
from capsim.scenario.schema import HeadroomUpgrade, Scenario

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios" / "minimal.yaml"

DATED = """\
extends: {minimal}
regions:
  au_nsw:
    grid:
      upgrades:
        - {{name: substation, mw: 400, month: 2027-12}}
        - {{name: line, mw: 800, month: 30}}
        - {{name: bank, mw: 100, month: {{dist: pert, min: 2027-03, mode: 2027-09, max: 2028-06}}}}
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _upgrades(scenario: Scenario) -> list[HeadroomUpgrade]:
    return scenario.regions["au_nsw"].grid.upgrades


@pytest.fixture
def dated(tmp_path: Path) -> Path:
    """minimal.yaml (start 2026-01) with a dated upgrade, an offset one and dated PERT bounds."""
    return _write(tmp_path, "dated.yaml", DATED.format(minimal=MINIMAL))


def test_a_calendar_month_becomes_its_offset_from_start(dated: Path) -> None:
    upgrades = _upgrades(load_scenario(dated))
    assert upgrades[0].month == Fixed(value=24.0)  # the end of 2027-12: model month 24
    assert upgrades[1].month == Fixed(value=30.0)
    assert upgrades[2].month == Pert(dist="pert", min=15.0, mode=21.0, max=30.0)


def test_a_dated_upgrade_keeps_its_calendar_month_when_a_variant_moves_start(
    dated: Path, tmp_path: Path
) -> None:
    variant = _write(tmp_path, "later.yaml", "extends: dated.yaml\nstart: 2027-01\n")
    upgrades = _upgrades(load_scenario(variant))
    assert upgrades[0].month == Fixed(value=12.0)  # still the end of 2027-12
    assert upgrades[2].month == Pert(dist="pert", min=3.0, mode=9.0, max=18.0)


def test_an_offset_keeps_its_offset_when_a_variant_moves_start(dated: Path, tmp_path: Path) -> None:
    variant = _write(tmp_path, "later.yaml", "extends: dated.yaml\nstart: 2027-01\n")
    assert _upgrades(load_scenario(variant))[1].month == Fixed(value=30.0)


def test_dates_are_resolved_against_a_start_set_on_the_command_line(dated: Path) -> None:
    scenario = load_scenario(dated, ["start=2026-07"])
    assert _upgrades(scenario)[0].month == Fixed(value=18.0)


def test_a_date_can_be_set_on_the_command_line(tmp_path: Path) -> None:
    scenario = load_scenario(MINIMAL, ["regions.au_nsw.grid.upgrades[0].month=2026-04"])
    assert _upgrades(scenario)[0].month == Fixed(value=4.0)


def test_a_date_before_start_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "early.yaml", DATED.format(minimal=MINIMAL).replace("2027-12", "2025-12")
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.path) == (
        str(path),
        6,
        "regions.au_nsw.grid.upgrades[0].month",
    )
    assert problem.message == (
        "2025-12 is before start (2026-01); expected a calendar month from 2026-01 to 2033-12, "
        "or a number of months from start"
    )


def test_a_date_after_end_is_an_error_at_its_bound(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "late.yaml", DATED.format(minimal=MINIMAL).replace("2028-06", "2034-01")
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.path) == (8, "regions.au_nsw.grid.upgrades[2].month.max")
    assert "2034-01 is after end (2033-12)" in problem.message


def test_a_date_set_on_the_command_line_out_of_range_blames_the_set() -> None:
    change = "regions.au_nsw.grid.upgrades[0].month=2040-01"
    with pytest.raises(ScenarioError) as info:
        load_scenario(MINIMAL, [change])
    (problem,) = info.value.problems
    assert problem.file == f"--set {change}" and "after end (2033-12)" in problem.message


def test_a_duration_is_not_a_date(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(MINIMAL, ["regions.au_nsw.grid.queue.study_months=2027-01"])
    (problem,) = info.value.problems
    assert problem.path == "regions.au_nsw.grid.queue.study_months"
    assert "found text '2027-01'" in problem.message


def test_the_upgrade_month_is_the_only_offset_from_start_in_the_schema() -> None:
    """Every offset-from-start field carries the marker; today that is the upgrade month."""
    data = scenario_to_data(load_scenario(MINIMAL))
    assert offset_months(data, Scenario) == [
        ("regions", "au_nsw", "grid", "upgrades", 0, "month"),
        ("regions", "au_nsw", "grid", "upgrades", 1, "month"),
    ]
    marked = [
        (model.__name__, name)
        for model in _models(Scenario)
        for name, info in model.model_fields.items()
        if any(isinstance(m, OffsetFromStart) for m in info.metadata)
    ]
    assert marked == [("HeadroomUpgrade", "month")]


def _models(model: type, seen: list[type] | None = None) -> list[type]:
    """Every pydantic model reachable from ``model`` through its fields."""
    import typing

    from pydantic import BaseModel

    seen = [] if seen is None else seen
    if model in seen:
        return seen
    seen.append(model)

    def visit(annotation: object) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _models(annotation, seen)
        for arg in typing.get_args(annotation):
            visit(arg)

    for info in model.model_fields.values():  # type: ignore[attr-defined]
        visit(info.annotation)
    return seen


def test_a_resolved_scenario_reads_back_unchanged(dated: Path) -> None:
    scenario = load_scenario(dated)
    assert Scenario.model_validate(scenario_to_data(scenario)) == scenario


def test_the_schema_resolves_dates_of_data_built_in_code() -> None:
    upgrades = [{"mw": 10, "month": "2027-03"}]
    scenario = changed(TINY, **{"regions.r1.grid.upgrades": upgrades})
    assert scenario.regions["r1"].grid.upgrades[0].month == Fixed(value=15.0)


def test_show_prints_each_offset_with_its_calendar_month(dated: Path, tmp_path: Path) -> None:
    variant = _write(tmp_path, "later.yaml", "extends: dated.yaml\nstart: 2027-01\n")
    result = CliRunner().invoke(main, ["show", str(variant)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("# ")]
    assert notes == [
        "# calendar months of the offsets from start (2027-01):",
        "# regions.au_nsw.grid.upgrades[0].month: 12 months = 2027-12",
        "# regions.au_nsw.grid.upgrades[1].month: 30 months = 2029-06",
        "# regions.au_nsw.grid.upgrades[2].month: pert: min 3 = 2027-03, mode 9 = 2027-09, "
        "max 18 = 2028-06",
    ]


@given(
    start=st.integers(min_value=1900 * 12, max_value=2200 * 12 + 11),
    offset=st.integers(min_value=0, max_value=600),
)
def test_a_month_and_its_offset_name_each_other(start: int, offset: int) -> None:
    start_text = month_text(start)
    assert calendar_index(start_text) == start
    assert calendar_month(start_text, offset + 1) == month_text(start + offset)
    assert calendar_month(start_text, offset + 0.5) == month_text(start + offset)
    assert offset_of(start_text, month_text(start + offset)) == offset + 1


def test_an_upgrade_dated_june_is_in_service_in_june_s_month_end_row() -> None:
    from capsim.model.world import simulate
    from capsim.runs.tables import frames

    upgrade = {"name": "bank", "mw": 1000, "month": "2026-06"}
    scenario = changed(
        TINY, **{"regions.r1.grid.headroom_mw": 0, "regions.r1.grid.upgrades": [upgrade]}
    )
    tables = frames([simulate(scenario, 0)], scenario)
    assert list(tables["headroom"]["in_service_month"]) == [6.0]
    regions = tables["regions"]
    first = regions.loc[regions["headroom_mw"] > 0, "date"].min()
    assert first == pd.Timestamp("2026-06-30")
