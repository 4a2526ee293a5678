"""Tests for capsim.loader: the bad-scenario table, ``extends`` merging and ``--set`` overrides."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from capsim.cli.main import main
from capsim.errors import EXIT_BAD_INPUT, ScenarioError
from capsim.scenario.dists import Fixed, LogNormal, Pert, Uniform
from capsim.scenario.loader import load_scenario, resolve_file
from capsim.scenario.schema import DemandShock, HeadroomUpgrade, LogisticGrowth

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios" / "minimal.yaml"
CASES = Path(__file__).resolve().parent / "bad_scenarios"
CASE_NAMES = sorted(path.stem for path in CASES.glob("*.yaml"))


def overrides_of(name: str) -> list[str]:
    """The ``--set`` overrides of a case: one per non-blank line of ``NAME.set``."""
    path = CASES / f"{name}.set"
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- the bad-scenario table ----------------------------------------------------------------------


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_scenario_reports_exactly_the_expected_lines(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CASES)
    expected = (CASES / f"{name}.expected").read_text(encoding="utf-8").splitlines()
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario(f"{name}.yaml", overrides_of(name))
    elapsed = time.perf_counter() - started
    assert type(info.value) is ScenarioError
    assert info.value.exit_code == EXIT_BAD_INPUT == 2
    assert info.value.messages() == expected
    assert all(problem.message for problem in info.value.problems)
    assert elapsed < 2.0, f"{name} took {elapsed:.2f} s; bad input must be refused quickly"


def test_bad_scenario_table_is_complete_and_covers_every_kind_of_problem() -> None:
    yamls = {path.stem for path in CASES.glob("*.yaml")}
    expected = {path.stem for path in CASES.glob("*.expected")}
    sets = {path.stem for path in CASES.glob("*.set")}
    assert yamls == expected, "every case needs both NAME.yaml and NAME.expected"
    assert sets <= yamls, "every NAME.set needs its NAME.yaml"
    for prefix in (
        "malformed_",
        "unknown_key_",
        "wrong_type_",
        "out_of_range_",
        "missing_required_",
        "inconsistent_",
        "undefined_region_in_",
        "extends_",
        "tag_",
        "set_",
    ):
        assert any(name.startswith(prefix) for name in yamls), prefix
    for name in ("empty", "not_utf8", "alias_bomb", "duplicate_key", "several_errors"):
        assert name in yamls


def test_not_utf8_fixture_really_is_not_utf8() -> None:
    data = (CASES / "not_utf8.yaml").read_bytes()
    assert b"\xe9" in data
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_several_errors_are_all_reported_at_once() -> None:
    lines = (CASES / "several_errors.expected").read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 5
    assert len({line.split(": ")[1] for line in lines}) == len(lines)  # all different fields


def test_validate_command_prints_the_lines_and_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES)
    result = CliRunner().invoke(main, ["validate", "several_errors.yaml"])
    assert result.exit_code == EXIT_BAD_INPUT
    expected = (CASES / "several_errors.expected").read_text(encoding="utf-8").splitlines()
    assert [f"error: {line}" for line in expected] == result.stderr.splitlines()


# --- extends -------------------------------------------------------------------------------------


@pytest.fixture
def base_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding ``base.yaml``, a copy of scenarios/minimal.yaml."""
    shutil.copy(MINIMAL, tmp_path / "base.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


CHILD = """\
extends: base.yaml
name: child
demand:
  pue: 1.3
regions:
  au_nsw:
    grid:
      upgrades:
        - {name: only, mw: 100, month: 12}
"""


def test_extends_merges_mappings_and_replaces_lists(base_dir: Path) -> None:
    (base_dir / "child.yaml").write_text(CHILD, encoding="utf-8")
    scenario = load_scenario("child.yaml")
    assert scenario.name == "child"
    assert scenario.demand.pue == Fixed(value=1.3)
    assert scenario.demand.it_mw_start == Fixed(value=60)  # sibling kept from the base
    assert scenario.demand.growth.model == "exponential"
    assert scenario.regions["au_nsw"].name == "Australia NSW"
    assert scenario.regions["au_nsw"].grid.headroom_mw == 400
    assert scenario.regions["au_nsw"].grid.upgrades == [
        HeadroomUpgrade(name="only", mw=100, month=Fixed(value=12))
    ]  # the base's two upgrades are replaced, not appended to


def test_extends_childs_positions_win_and_replaced_base_positions_are_forgotten(
    base_dir: Path,
) -> None:
    (base_dir / "child.yaml").write_text(CHILD, encoding="utf-8")
    located = resolve_file(Path("child.yaml"))
    assert "extends" not in located.data
    assert located.positions[("demand", "pue")] == ("child.yaml", 4, 8)
    assert located.positions[("demand", "it_mw_start")] == ("base.yaml", 11, 16)
    upgrades = ("regions", "au_nsw", "grid", "upgrades")
    assert located.positions[(*upgrades, 0, "mw")] == ("child.yaml", 9, 28)
    assert (*upgrades, 1) not in located.positions
    assert (*upgrades, 1, "mw") not in located.positions
    assert located.key_positions[("regions", "au_nsw", "grid")] == ("child.yaml", 7, 5)


def test_extends_error_in_a_childs_value_points_at_the_child(base_dir: Path) -> None:
    (base_dir / "child.yaml").write_text(
        "extends: base.yaml\nbuild:\n  construction_months: {mode: 30}\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario("child.yaml")
    assert info.value.messages() == [
        "child.yaml:3:24: build.construction_months: mode (30) is outside min..max (14..24); "
        "expected min <= mode <= max"
    ]


def test_extends_error_in_an_inherited_value_points_at_the_base(base_dir: Path) -> None:
    (base_dir / "child.yaml").write_text(
        "extends: base.yaml\ndeal_kinds:\n  greenfield:\n    size_mw: 30\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario("child.yaml")
    assert info.value.messages() == [
        "base.yaml:47:15: deal_kinds.greenfield.phase_mw: phase of 40 MW is larger than the "
        "largest deal of this kind (30 MW); expected phase_mw <= size_mw"
    ]


def test_extends_overriding_one_parameter_keeps_the_distribution(base_dir: Path) -> None:
    (base_dir / "child.yaml").write_text(
        "extends: base.yaml\nbuild:\n  permitting_months: {mode: 9}\n", encoding="utf-8"
    )
    scenario = load_scenario("child.yaml")
    assert scenario.build.permitting_months == Pert(dist="pert", min=4, mode=9, max=14)


def test_extends_another_dist_or_growth_model_replaces_the_base_mapping(base_dir: Path) -> None:
    (base_dir / "child.yaml").write_text(
        "extends: base.yaml\n"
        "build:\n"
        "  permitting_months: {dist: uniform, min: 2, max: 6}\n"
        "demand:\n"
        "  growth: {model: logistic, ceiling_it_mw: 500, steepness_per_year: 0.8}\n",
        encoding="utf-8",
    )
    scenario = load_scenario("child.yaml")
    assert scenario.build.permitting_months == Uniform(dist="uniform", min=2, max=6)
    assert scenario.demand.growth == LogisticGrowth(
        model="logistic", ceiling_it_mw=Fixed(value=500), steepness_per_year=Fixed(value=0.8)
    )


def test_extends_chain_of_three_files(base_dir: Path) -> None:
    (base_dir / "middle.yaml").write_text("extends: base.yaml\nseed: 11\nreplications: 3\n")
    (base_dir / "top.yaml").write_text("extends: middle.yaml\nreplications: 4\n")
    scenario = load_scenario("top.yaml")
    assert (scenario.seed, scenario.replications, scenario.name) == (11, 4, "minimal")


# --- --set overrides -----------------------------------------------------------------------------


def test_set_on_nested_paths() -> None:
    scenario = load_scenario(
        MINIMAL,
        ["policy.reserve_margin=0.3", "regions.au_nsw.grid.queue.study_slots=8", "seed=99"],
    )
    assert scenario.policy.reserve_margin == 0.3
    assert scenario.regions["au_nsw"].grid.queue.study_slots == 8
    assert scenario.seed == 99


def test_set_overrides_apply_in_order_and_the_last_wins() -> None:
    assert load_scenario(MINIMAL, ["seed=1", "seed=2"]).seed == 2


def test_set_value_may_contain_equals_signs() -> None:
    assert load_scenario(MINIMAL, ["description=a=b"]).description == "a=b"


@pytest.mark.parametrize(
    "path", ["demand.shocks[0].rate_per_year", "demand.shocks.0.rate_per_year"]
)
def test_set_list_item_by_index_in_either_spelling(path: str) -> None:
    scenario = load_scenario(
        MINIMAL,
        ["demand.shocks=[{name: launch, rate_per_year: 1, it_mw: 20}]", f"{path}=2.5"],
    )
    assert scenario.demand.shocks == [
        DemandShock(name="launch", rate_per_year=2.5, it_mw=Fixed(value=20))
    ]


def test_set_list_item_of_a_list_the_file_has() -> None:
    scenario = load_scenario(MINIMAL, ["regions.au_nsw.grid.upgrades[1].mw=900"])
    upgrades = scenario.regions["au_nsw"].grid.upgrades
    assert [upgrade.mw for upgrade in upgrades] == [400, 900]


def test_set_replaces_a_plain_number_with_a_distribution() -> None:
    scenario = load_scenario(
        MINIMAL,
        [
            "demand.it_mw_start={dist: fixed, value: 3}",
            "demand.pue={dist: pert, min: 1.1, mode: 1.2, max: 1.4}",
        ],
    )
    assert scenario.demand.it_mw_start == Fixed(value=3)
    assert scenario.demand.pue == Pert(dist="pert", min=1.1, mode=1.2, max=1.4)


def test_set_one_parameter_of_a_distribution() -> None:
    scenario = load_scenario(MINIMAL, ["regions.au_nsw.grid.queue.study_months.median=12"])
    assert scenario.regions["au_nsw"].grid.queue.study_months == LogNormal(
        dist="lognormal", median=12, p90=16
    )


def test_set_a_field_of_a_section_the_file_leaves_to_defaults() -> None:
    scenario = load_scenario(MINIMAL, ["bridge.enabled=true", "bridge.max_mw_per_site=50"])
    assert scenario.bridge.enabled is True
    assert scenario.bridge.max_mw_per_site == 50


def test_set_problem_caused_by_an_override_is_blamed_on_it() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(MINIMAL, ["bridge.enabled=true"])
    assert info.value.messages() == [
        "--set bridge.enabled=true: bridge.max_mw_per_site: bridge is enabled; "
        "expected max_mw_per_site > 0"
    ]


def test_set_is_not_blamed_for_a_problem_the_file_made(base_dir: Path) -> None:
    (base_dir / "child.yaml").write_text("extends: base.yaml\nbridge:\n  enabled: true\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario("child.yaml", ["bridge.premium_usd_per_mwh=5"])
    assert info.value.messages() == [
        "child.yaml:3:3: bridge.max_mw_per_site: bridge is enabled; expected max_mw_per_site > 0"
    ]


def test_set_replacing_a_mapping_forgets_the_files_key_positions() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(MINIMAL, ["regions.au_nsw.grid.queue={mode: serial}"])
    assert all(m.startswith("--set regions.au_nsw.grid.queue=") for m in info.value.messages())
    assert len(info.value.messages()) == 4  # study_slots, study_months, works_months, withdrawal


def test_set_does_not_change_the_file_or_a_later_load() -> None:
    load_scenario(MINIMAL, ["seed=123"])
    assert load_scenario(MINIMAL).seed == 7
