"""Money written in the currency its source quotes, converted once to the reporting currency."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from tiny import GROWING, TINY

from capsim.cli.main import main
from capsim.errors import ScenarioError, UsageError
from capsim.report.currency import MONEY_KINDS, restated
from capsim.runs.kpis import CATALOGUE
from capsim.runs.rundir import RunDir
from capsim.runs.runner import RunOptions, run_scenario
from capsim.scenario.calendar import get_path, set_path, walk_marked
from capsim.scenario.loader import load_scenario, scenario_to_data
from capsim.scenario.money import MoneyAmount
from capsim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = ROOT / "scenarios" / "minimal.yaml"

JAPAN = """\
extends: {minimal}
money:
  fx: {{JPY: 0.0067, AUD: 0.65}}    # reference rates of the day the sources were read
regions:
  au_nsw:
    currency: AUD
    energy_usd_per_mwh: 146
    grid:
      queue:
        deposit_usd_per_mw: {{value: 10000, currency: USD}}
deal_kinds:
  greenfield:
    capex_usd_per_mw: {{value: 2.3e9, currency: JPY}}
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def japan(tmp_path: Path) -> Path:
    """minimal.yaml with a region priced in AUD, a capex quoted in JPY and a USD deposit."""
    return _write(tmp_path, "japan.yaml", JAPAN.format(minimal=MINIMAL))


def test_money_is_converted_exactly_to_the_reporting_currency(japan: Path) -> None:
    scenario = load_scenario(japan)
    region = scenario.regions["au_nsw"]
    assert region.energy_usd_per_mwh == 146 * 0.65  # the region's currency, AUD
    assert region.grid.queue.deposit_usd_per_mw == 10_000.0  # written in USD: unchanged
    assert scenario.deal_kinds["greenfield"].capex_usd_per_mw == 15_410_000.0  # 2.3e9 x 0.0067
    assert scenario.money.unserved_usd_per_mw_month == 250_000.0  # outside regions: USD
    assert scenario.money.currency == "USD" and region.currency is None


def test_a_rate_that_is_a_power_of_two_converts_without_rounding() -> None:
    data = copy.deepcopy(TINY)
    data["money"] = {"unserved_usd_per_mw_month": {"value": 12_800, "currency": "JPY"}}
    data["money"]["fx"] = {"JPY": 2.0**-7}
    data["regions"]["r1"]["currency"] = "JPY"
    data["regions"]["r1"]["energy_usd_per_mwh"] = 12_928
    scenario = Scenario.model_validate(data)
    assert scenario.money.unserved_usd_per_mw_month == 100.0
    assert scenario.regions["r1"].energy_usd_per_mwh == 101.0


def test_a_resolved_scenario_reads_back_without_converting_twice(japan: Path) -> None:
    scenario = load_scenario(japan)
    assert Scenario.model_validate(scenario_to_data(scenario)) == scenario


def test_a_reporting_currency_other_than_usd_takes_plain_numbers_as_its_own(
    japan: Path,
) -> None:
    scenario = load_scenario(japan, ["money.currency=JPY", "money.fx={USD: 150, AUD: 97}"])
    assert scenario.deal_kinds["greenfield"].capex_usd_per_mw == 2.3e9
    assert scenario.regions["au_nsw"].energy_usd_per_mwh == 146 * 97
    assert scenario.money.unserved_usd_per_mw_month == 250_000.0  # now yen


def test_every_money_field_is_marked() -> None:
    """The fields whose names carry a currency are exactly the fields converted."""
    data = scenario_to_data(
        load_scenario(MINIMAL, ["bridge.enabled=true", "bridge.max_mw_per_site=50"])
    )
    marked = {path[-1] for path, _ in walk_marked(data, Scenario, MoneyAmount)}
    assert marked == {
        "energy_usd_per_mwh",
        "deposit_usd_per_mw",
        "capex_usd_per_mw",
        "premium_usd_per_mwh",
        "unserved_usd_per_mw_month",
    }


def _problem(path: Path, overrides: list[str] | None = None) -> tuple[Any, ...]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides or [])
    (problem,) = info.value.problems
    return problem.line, problem.path, problem.message


def test_a_currency_without_a_rate_is_an_error_naming_the_known_ones(
    japan: Path, tmp_path: Path
) -> None:
    path = _write(tmp_path, "eur.yaml", JAPAN.format(minimal=MINIMAL).replace("JPY}", "EUR}"))
    assert _problem(path) == (
        13,
        "deal_kinds.greenfield.capex_usd_per_mw.currency",
        "no fx rate for EUR (known here: USD (reporting), AUD, JPY); add money.fx.EUR: the "
        "value of one EUR in USD",
    )


def test_an_unknown_currency_is_an_error_naming_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "yen.yaml", JAPAN.format(minimal=MINIMAL).replace("AUD\n", "yen\n"))
    assert _problem(path) == (
        6,
        "regions.au_nsw.currency",
        "'yen' is not a currency code; expected three capital letters such as USD or JPY "
        "(known here: USD (reporting), AUD, JPY)",
    )


def test_a_missing_rate_for_a_region_currency_is_blamed_on_the_region(tmp_path: Path) -> None:
    path = _write(tmp_path, "nzd.yaml", JAPAN.format(minimal=MINIMAL).replace("AUD\n", "NZD\n"))
    line, where, message = _problem(path)
    assert (line, where) == (6, "regions.au_nsw.currency")
    assert message.startswith("no fx rate for NZD (known here: USD (reporting), AUD, JPY)")


def test_an_fx_distribution_is_refused_with_the_reason(japan: Path) -> None:
    change = "money.fx.JPY={dist: uniform, min: 0.006, max: 0.007}"
    line, where, message = _problem(japan, [change])
    assert (line, where) == (None, "money.fx.JPY")
    assert message.startswith("an fx rate is a fixed number")
    assert "cannot be drawn per replication" in message


def test_a_bad_reporting_currency_is_located(japan: Path) -> None:
    _, where, message = _problem(japan, ["money.currency=usd"])
    assert (where, message) == (
        "money.currency",
        "'usd' is not a currency code; expected three capital letters such as USD or JPY",
    )


# --- restating a run in another currency -------------------------------------------------------

#: One yen in dollars: a power of two, so that converting and restating are both exact.
JPY_IN_USD = 2.0**-7


def _growing(**money: Any) -> dict[str, Any]:
    """The tiny scenario as a growing market that pays for unserved demand, with ``money``."""
    data = copy.deepcopy(TINY)
    data["replications"] = 3
    data["regions"]["r1"]["grid"]["queue"]["deposit_usd_per_mw"] = 5_000
    for path, value in GROWING.items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    data["money"] = {"unserved_usd_per_mw_month": 20_000, **money}
    return data


def _in_yen(data: dict[str, Any]) -> dict[str, Any]:
    """The same scenario reporting in JPY: every amount written as the dollars it is."""
    yen = copy.deepcopy(data)
    for path, _ in list(walk_marked(yen, Scenario, MoneyAmount)):
        set_path(yen, path, {"value": get_path(yen, path), "currency": "USD"})
    yen["money"]["currency"] = "JPY"
    yen["money"]["fx"] = {"USD": 1 / JPY_IN_USD}
    return yen


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunDir, RunDir]:
    """The same scenario and seed run in USD (with a JPY rate) and in JPY."""
    root = tmp_path_factory.mktemp("currencies")
    usd = _growing(fx={"JPY": JPY_IN_USD})
    runs = []
    for name, data in (("usd", usd), ("jpy", _in_yen(usd))):
        scenario = Scenario.model_validate(data)
        run_scenario(scenario, RunOptions(output=root / name, workers=1, charts=False))
        runs.append(RunDir(root / name))
    return runs[0], runs[1]


def test_a_run_made_in_yen_says_so_in_its_summary(two_runs: tuple[RunDir, RunDir]) -> None:
    usd, jpy = two_runs
    assert usd.summary["report"]["currency"] == "USD"
    assert jpy.summary["report"]["currency"] == "JPY"
    assert jpy.summary["kpis"]["cash_cost_usd"]["unit"] == "JPY"
    assert jpy.summary["kpis"]["cost_per_delivered_mw_usd"]["unit"] == "JPY/MW"


def test_restating_a_run_in_yen_equals_the_run_made_in_yen(
    two_runs: tuple[RunDir, RunDir],
) -> None:
    usd, jpy = two_runs
    shown = restated(usd, "JPY")
    money = [name for name, kpi in CATALOGUE.items() if kpi.kind in MONEY_KINDS]
    assert shown.summary["kpis"]["cash_cost_usd"]["mean"] > 0  # the comparison is not vacuous
    for name in money:
        assert shown.summary["kpis"][name] == jpy.summary["kpis"][name], name
    pd.testing.assert_frame_equal(shown.table("kpis"), jpy.table("kpis"))
    pd.testing.assert_frame_equal(shown.table("timeseries"), jpy.table("timeseries"))
    assert shown.scenario.money == jpy.scenario.money
    assert shown.scenario.regions == jpy.scenario.regions


def test_restating_a_run_changes_nothing_on_disk(two_runs: tuple[RunDir, RunDir]) -> None:
    usd, _ = two_runs
    restated(usd, "JPY")
    assert RunDir(usd.path).summary == usd.summary
    assert restated(usd, "USD") is usd


def test_restating_in_a_currency_without_a_rate_names_the_known_ones(
    two_runs: tuple[RunDir, RunDir],
) -> None:
    usd, _ = two_runs
    with pytest.raises(
        UsageError, match=r"no fx rate for EUR \(known here: USD \(reporting\), JPY\)"
    ):
        restated(usd, "EUR")


@pytest.mark.slow
def test_report_currency_writes_documents_labelled_in_that_currency(
    two_runs: tuple[RunDir, RunDir],
) -> None:
    usd, _ = two_runs
    result = CliRunner().invoke(main, ["report", str(usd.path), "--currency", "JPY"])
    assert result.exit_code == 0, result.output
    html = (usd.path / "report.html").read_text(encoding="utf-8")
    assert "JPY" in html and "USD m" not in html and "USD bn" not in html
    assert RunDir(usd.path).summary["report"]["currency"] == "USD"  # the run itself unchanged
    bad = CliRunner().invoke(main, ["report", str(usd.path), "--currency", "EUR"])
    assert bad.exit_code == 2 and "no fx rate for EUR" in bad.output
