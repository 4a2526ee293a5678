"""Bad or surprising input gives a located error (exit 2) or the value meant, never a traceback.

Covers the stored copy of a resolved scenario reading back, YAML 1.1 spellings of numbers,
``extends`` links that loop, months outside what the outputs can hold, workloads that would run
for hours, ``--set`` paths nested too deep, the grid queue's ``headroom_order`` and a policy that
could never launch a deal; and the hypothesis profiles the test suite runs under.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import settings

from capsim.cli.main import main
from capsim.errors import EXIT_BAD_INPUT, Problem, ScenarioError
from capsim.scenario import loader
from capsim.scenario.checks import MAX_LAUNCHED_DEALS
from capsim.scenario.json_schema import scenario_json_schema
from capsim.scenario.loader import load_scenario, load_stored_scenario, scenario_to_data
from capsim.scenario.schema import Scenario
from capsim.scenario.yamlio import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_STORED_BYTES,
    dump_scenario_text,
    load_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios" / "minimal.yaml"
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))
MINIMAL_TEXT = MINIMAL.read_text(encoding="utf-8")


def minimal_with(tmp_path: Path, old: str, new: str, name: str = "scenario.yaml") -> Path:
    """A copy of minimal.yaml with one piece of text replaced (which must be there)."""
    assert old in MINIMAL_TEXT
    path = tmp_path / name
    path.write_text(MINIMAL_TEXT.replace(old, new, 1), encoding="utf-8")
    return path


def problems_of(path: Path, overrides: tuple[str, ...] = ()) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    assert info.value.exit_code == EXIT_BAD_INPUT
    return info.value.problems


def store_and_reload(scenario: Scenario, folder: Path) -> tuple[Path, Scenario]:
    """Write the scenario as a run stores it and read it back as a run resumes it."""
    stored = folder / "stored.yaml"
    stored.write_text(dump_scenario_text(scenario_to_data(scenario)), encoding="utf-8")
    return stored, load_stored_scenario(stored)


# --- the stored resolved scenario reads back ----------------------------------------------------


NUMBER_LIKE_TEXT = ["1e3", "0E0", "014", "1:30", "0o14", "0x1F", "1_000", "+1e5", ".5e3", "yes"]


@pytest.mark.parametrize("text", NUMBER_LIKE_TEXT)
def test_stored_scenario_with_text_that_looks_like_a_number_reads_back(
    text: str, tmp_path: Path
) -> None:
    scenario = load_scenario(MINIMAL).model_copy(update={"description": text})
    stored, again = store_and_reload(scenario, tmp_path)
    assert again == scenario
    assert again.description == text
    assert yaml.safe_load(stored.read_text(encoding="utf-8"))["description"] == text


@pytest.mark.slow
def test_stored_scenario_larger_than_a_scenario_file_reads_back(tmp_path: Path) -> None:
    # 90,000 samples written compactly in a flow list: under 1 MiB as written, but the block
    # layout of the stored copy takes about 13 bytes a sample
    samples = ", ".join(f"{1 + i % 9}.{i % 1000:03d}5" for i in range(90_000))
    path = minimal_with(tmp_path, "pue: 1.2", f"pue: {{dist: empirical, samples: [{samples}]}}")
    assert path.stat().st_size < MAX_FILE_BYTES
    scenario = load_scenario(path)
    stored, again = store_and_reload(scenario, tmp_path)
    assert MAX_FILE_BYTES < stored.stat().st_size < MAX_STORED_BYTES
    assert again == scenario
    # a hand-written file of that size is still refused: the larger bound is for stored copies
    assert "limited to 1048576 bytes" in problems_of(stored)[0].message


def test_resolved_scenario_that_could_not_be_stored_and_read_back_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = 0
    scenario = load_scenario(MINIMAL)
    pending: list[Any] = [scenario_to_data(scenario)]
    while pending:
        item = pending.pop()
        values += 1
        pending.extend(
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else []
        )
    monkeypatch.setattr(loader, "MAX_RESOLVED_VALUES", values - 1)
    [problem] = problems_of(MINIMAL)
    assert problem.file == str(MINIMAL)
    assert problem.message == (
        f"the resolved scenario holds {values:,} values (defaults, extends and --set included); "
        f"expected at most {values - 1:,}"
    )


def test_stored_copy_over_its_own_bound_is_refused(tmp_path: Path) -> None:
    stored = tmp_path / "stored.yaml"
    with stored.open("wb") as handle:
        handle.truncate(MAX_STORED_BYTES + 1)
    with pytest.raises(ScenarioError) as info:
        load_stored_scenario(stored)
    assert info.value.problems[0].message == (
        f"file is {MAX_STORED_BYTES + 1} bytes; stored resolved scenarios are limited to "
        f"{MAX_STORED_BYTES} bytes"
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_every_example_survives_the_stored_copy_round_trip(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    assert store_and_reload(scenario, tmp_path)[1] == scenario


# --- text the schema wants stays text; numbers stay numbers -------------------------------------


def test_text_fields_written_by_safe_dump_stay_text(tmp_path: Path) -> None:
    data = load_yaml(MINIMAL).data
    data["name"] = "1e3"
    data["description"] = "0E0"
    data["regions"]["au_nsw"]["name"] = "1e5"
    data["demand"]["shocks"] = [{"name": "0o14", "rate_per_year": 1, "it_mw": 5}]
    path = tmp_path / "dumped.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert "name: 1e3" in path.read_text(encoding="utf-8")  # PyYAML leaves it unquoted
    scenario = load_scenario(path)
    assert (scenario.name, scenario.description) == ("1e3", "0E0")
    assert scenario.regions["au_nsw"].name == "1e5"
    assert scenario.demand.shocks[0].name == "0o14"


def test_text_fields_set_on_the_command_line_stay_text() -> None:
    scenario = load_scenario(MINIMAL, ["description=1e5", "regions.au_nsw.name=0o14"])
    assert (scenario.description, scenario.regions["au_nsw"].name) == ("1e5", "0o14")


@pytest.mark.parametrize(
    ("written", "value"),
    [("1e6", 1e6), ("1.5e3", 1500.0), ("0x1F", 31), ("0o14", 12), ("1_000", 1000)],
)
def test_numbers_in_yaml_1_2_spellings_stay_numbers(
    written: str, value: float, tmp_path: Path
) -> None:
    path = minimal_with(
        tmp_path,
        "money:\n  unserved_usd_per_mw_month: 250000",
        f"money:\n  unserved_usd_per_mw_month: {written}",
    )
    assert load_scenario(path).money.unserved_usd_per_mw_month == value
    fixed = minimal_with(tmp_path, "max_live_deals: 6", f"max_live_deals: {written}", "b.yaml")
    if isinstance(value, int) and value <= 100:
        assert load_scenario(fixed).policy.max_live_deals == value


# --- YAML 1.1 surprises -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (
            "014",
            "'014' has a leading zero: YAML 1.1 reads it as octal (12), YAML 1.2 as 14; "
            "write 14, or 0o14 if octal is meant",
        ),
        (
            "1:30",
            "'1:30' is a base-60 number (90) in YAML 1.1 and text in YAML 1.2; "
            "write the number itself, e.g. 90",
        ),
        (
            "-1:30.5",
            "'-1:30.5' is a base-60 number (-90.5) in YAML 1.1 and text in YAML 1.2; "
            "write the number itself, e.g. -90.5",
        ),
    ],
)
def test_octal_and_base_60_numbers_are_refused_where_a_number_is_wanted(
    written: str, message: str, tmp_path: Path
) -> None:
    path = minimal_with(tmp_path, "max_live_deals: 6", f"max_live_deals: {written}")
    assert problems_of(path) == [Problem(str(path), 59, 19, "policy.max_live_deals", message)]
    [problem] = problems_of(MINIMAL, (f"policy.max_live_deals={written}",))
    assert (problem.file, problem.path, problem.message) == (
        f"--set policy.max_live_deals={written}",
        "policy.max_live_deals",
        message,
    )


def test_octal_and_base_60_spellings_are_text_where_text_is_wanted(tmp_path: Path) -> None:
    path = minimal_with(tmp_path, "name: minimal", "name: '014'")
    path.write_text(
        path.read_text(encoding="utf-8").replace("description: One", "description: 1:30\n# One"),
        encoding="utf-8",
    )
    scenario = load_scenario(path)
    assert (scenario.name, scenario.description) == ("014", "1:30")


def test_two_merge_keys_in_a_scenario_mapping_are_refused(tmp_path: Path) -> None:
    path = minimal_with(
        tmp_path, "policy:\n", "policy:\n  <<: {review_months: 6}\n  <<: {lookahead_months: 24}\n"
    )
    [problem] = problems_of(path)
    assert (problem.line, problem.column, problem.path) == (55, 3, "policy")
    assert problem.message.startswith("second '<<' merge key in one mapping")


# --- extends: links that loop -------------------------------------------------------------------


def test_extends_through_a_link_back_to_the_file_is_a_cycle(tmp_path: Path) -> None:
    child = tmp_path / "a.yaml"
    child.write_text("extends: link.yaml\nname: a\n", encoding="utf-8")
    (tmp_path / "link.yaml").symlink_to("a.yaml")
    [problem] = problems_of(child)
    assert (problem.file, problem.line, problem.column, problem.path) == (
        str(child),
        1,
        10,
        "extends",
    )
    assert problem.message == "extends cycle: a.yaml -> link.yaml (a.yaml)"


@pytest.mark.parametrize("links", [["self.yaml"], ["one.yaml", "two.yaml"]])
def test_extends_of_a_symbolic_link_loop_is_a_located_error(
    links: list[str], tmp_path: Path
) -> None:
    for name, target in zip(links, [*links[1:], links[0]], strict=True):
        (tmp_path / name).symlink_to(target)
    child = tmp_path / "child.yaml"
    child.write_text(f"name: child\nextends: {links[0]}\n", encoding="utf-8")
    assert problems_of(child) == [
        Problem(str(child), 2, 10, "extends", f"base scenario {links[0]!r} is a symbolic link loop")
    ]


def test_validating_a_symbolic_link_loop_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "self.yaml").symlink_to("self.yaml")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "self.yaml")])
    assert result.exit_code == EXIT_BAD_INPUT
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'self.yaml'}: cannot read file: it is a symbolic link loop"
    )


# --- months outside what the outputs can hold ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("9999-01", "9999-12"),
        ("0000-01", "0000-06"),
        ("0001-01", "2030-01"),
        ("2190-01", "2201-01"),
    ],
)
def test_months_outside_the_supported_range_are_refused_before_running(
    start: str, end: str, tmp_path: Path
) -> None:
    path = minimal_with(tmp_path, "start: 2026-01\nend: 2033-12", f"start: {start}\nend: {end}")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        main, ["run", str(path), "-n", "2", "--workers", "1", "-o", str(out)]
    )
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert lines and all("expected a month from 1900-01 to 2200-12" in line for line in lines)
    assert {line.split(": ")[2] for line in lines} <= {"start", "end"}
    assert not out.exists()


def test_months_at_the_edges_of_the_supported_range_validate(tmp_path: Path) -> None:
    for start, end in [("1900-01", "1903-12"), ("2151-01", "2200-12")]:
        path = minimal_with(tmp_path, "start: 2026-01\nend: 2033-12", f"start: {start}\nend: {end}")
        assert load_scenario(path).start == start


# --- workloads that would run for hours ---------------------------------------------------------


def test_policy_that_could_launch_millions_of_deals_is_refused(tmp_path: Path) -> None:
    overrides = (
        "policy.max_live_deals=10000",
        "policy.review_months=0.04",
        "deal_kinds.greenfield.stages=[{name: s, months: 0, success: 0}]",
    )
    started = time.perf_counter()
    [problem] = problems_of(MINIMAL, overrides)
    assert time.perf_counter() - started < 2
    assert (problem.file, problem.path) == (
        "--set policy.max_live_deals=10000",
        "policy.max_live_deals",
    )
    assert problem.message.startswith(
        "the policy could launch up to 24,000,000 deals per replication (10,000 live deals, each "
        "slot refilled up to 2,400 times over 96 months"
    )
    assert problem.message.endswith(
        f"expected at most {MAX_LAUNCHED_DEALS:,}: lower "
        "max_live_deals, review less often, or lengthen the shortest "
        "stage durations"
    )


def test_long_stages_bound_the_deals_a_large_pipeline_can_launch() -> None:
    # 1,000 slots, but a deal stays at least 12 months: 9 launches per slot over 96 months;
    # with a first stage of 1 month, a slot can be refilled at each of the 96 monthly reviews
    overrides = [
        "policy.max_live_deals=1000",
        "policy.review_months=1",
        "deal_kinds.greenfield.stages=[{name: s, months: 12, success: 0.5}]",
    ]
    assert load_scenario(MINIMAL, overrides).policy.max_live_deals == 1000
    [problem] = problems_of(
        MINIMAL,
        (
            "policy.max_live_deals=1000",
            "policy.review_months=1",
            "deal_kinds.greenfield.stages[0].months=1",
        ),
    )
    assert "up to 96,000 deals" in problem.message


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 5_000, 200_000])
def test_set_path_nested_deeper_than_a_file_may_be_is_refused_quickly(levels: int) -> None:
    name = "demand." + ".".join(["x"] * (levels - 1))
    started = time.perf_counter()
    [problem] = problems_of(MINIMAL, (f"{name}=1",))
    assert time.perf_counter() - started < 2
    assert problem.message == (
        f"path has {levels} levels; scenario fields nest at most {MAX_DEPTH} deep, as in files"
    )
    assert problem.file.startswith("--set demand.x.x")
    assert len(problem.format()) < 600


def test_set_path_at_the_nesting_limit_is_judged_by_the_schema() -> None:
    name = "demand." + ".".join(["x"] * (MAX_DEPTH - 1))
    [problem] = problems_of(MINIMAL, (f"{name}=1",))
    assert problem.message.startswith("unknown field 'x'")


# --- grid queue headroom order ------------------------------------------------------------------


def test_headroom_order_defaults_to_fifo_and_takes_first_fit() -> None:
    assert load_scenario(MINIMAL).regions["au_nsw"].grid.queue.headroom_order == "fifo"
    changed = load_scenario(MINIMAL, ["regions.au_nsw.grid.queue.headroom_order=first_fit"])
    assert changed.regions["au_nsw"].grid.queue.headroom_order == "first_fit"


def test_unknown_headroom_order_names_the_choices() -> None:
    [problem] = problems_of(MINIMAL, ("regions.au_nsw.grid.queue.headroom_order=lifo",))
    assert problem.path == "regions.au_nsw.grid.queue.headroom_order"
    assert problem.message == (
        "'lifo' is not allowed (expected one of: fifo, first_fit; did you mean 'fifo'?)"
    )


def test_headroom_order_is_in_the_json_schema_with_its_description() -> None:
    queue = scenario_json_schema()["$defs"]["Queue"]["properties"]["headroom_order"]
    assert queue["enum"] == ["fifo", "first_fit"]
    assert queue["default"] == "fifo"
    assert "head-of-line blocking" in queue["description"]


# --- a policy that could never launch a deal ----------------------------------------------------

COLOCATION = (
    "deal_kinds.colocation={size_mw: 20, stages: [{name: lease, months: 3, success: 0.9}], "
    "needs_grid: false, needs_build: false, uses_colocation: true, phase_mw: 20, "
    "months_between_phases: 0, capex_usd_per_mw: 0}"
)
SECOND_REGION = (
    "regions.au_vic={name: Victoria, energy_usd_per_mwh: 90, colocation: {available_mw: 50}, "
    "grid: {headroom_mw: 100, queue: {mode: serial, study_slots: 2, study_months: 10, "
    "works_months: 12, withdrawal_per_year: 0}, competitors: {arrivals_per_year: 1, mw: 50, "
    "withdrawal_per_year: 0.1}}}"
)


def test_policy_whose_weighted_kinds_fit_no_region_is_refused() -> None:
    [problem] = problems_of(MINIMAL, (COLOCATION, "policy.kind_weights={colocation: 1}"))
    assert problem.path == "policy.kind_weights"
    assert problem.message.startswith(
        "no weighted deal kind fits any weighted or region-bound region, so the policy could "
        "never launch a deal: every weighted kind (colocation) needs a colocation market, and "
        "none of au_nsw has one"
    )


def test_policy_with_some_pairing_that_fits_is_valid() -> None:
    # colocation fits nowhere, greenfield fits everywhere: the model skips the impossible pairs
    weights = "policy.kind_weights={colocation: 1, greenfield: 1}"
    both = load_scenario(MINIMAL, [COLOCATION, weights])
    assert both.policy.kind_weights == {"colocation": 1, "greenfield": 1}
    # only colocation, and only a region-bound region has a colocation market
    bound = load_scenario(
        MINIMAL,
        [
            COLOCATION,
            SECOND_REGION,
            "policy.kind_weights={colocation: 1}",
            "policy.region_weights={au_nsw: 1, au_vic: 0}",
            "demand.region_bound=[{region: au_vic, share: 0.2}]",
        ],
    )
    assert bound.policy.region_weights["au_vic"] == 0


# --- hypothesis profiles ------------------------------------------------------------------------


def test_ci_profile_draws_the_same_examples_every_run() -> None:
    ci = settings.get_profile("ci")
    assert ci.derandomize is True
    assert ci.deadline is None
    assert ci.print_blob is True
    assert ci.database is None
    dev = settings.get_profile("dev")
    assert (dev.derandomize, dev.deadline) == (False, None)


def test_profile_in_use_follows_the_ci_variable() -> None:
    in_ci = bool(os.environ.get("CI"))
    assert settings.default.derandomize is in_ci
    assert settings.default.deadline is None
