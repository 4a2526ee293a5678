"""The APAC flagship shows a decision, and each strategy variant keeps the promise of its lever.

It starts served and is in doubt in 2028-2032; variants are compared with the base in paired
runs (common random numbers).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from capsim.model.world import simulate
from capsim.runs.tables import frames
from capsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
VARIANTS = sorted(p.name for p in SCENARIOS.glob("apac_2026_*.yaml"))


@cache
def tables(name: str, replications: int) -> dict[str, pd.DataFrame]:
    """The tables of the first ``replications`` replications of an example."""
    scenario = load_scenario(SCENARIOS / name, [f"replications={replications}"])
    return frames([simulate(scenario, r) for r in range(replications)], scenario)


def interval(differences: np.ndarray) -> tuple[float, float]:
    """Mean paired difference minus and plus three standard errors."""
    spread = 3 * float(differences.std(ddof=1)) / np.sqrt(len(differences))
    return float(differences.mean()) - spread, float(differences.mean()) + spread


def paired(column: str, name: str, replications: int) -> np.ndarray:
    """Per replication: a variant's KPI minus the base's."""
    base = tables("apac_2026.yaml", replications)["kpis"][column].to_numpy()
    return tables(name, replications)["kpis"][column].to_numpy() - base


def test_the_programme_starts_served() -> None:
    ts = tables("apac_2026.yaml", 20)["timeseries"]
    first = ts[ts["month"] == 1]
    served = 1 - first["shortfall_mw"] / first["demand_mw"]
    assert float(served.median()) >= 0.99


@pytest.mark.slow
def test_the_base_case_is_in_doubt_in_at_least_three_years_of_2028_to_2032() -> None:
    kpis = tables("apac_2026.yaml", 200)["kpis"]
    years = range(2028, 2033)
    chance = {y: float(kpis[f"beyond_tolerance_in_{y}"].mean()) for y in years}
    # 200 replications: a standard error of at most 3.5 points on each probability.
    in_doubt = [y for y, p in chance.items() if 0.1 <= p <= 0.9]
    assert len(in_doubt) >= 3, chance


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_validates_and_runs(name: str) -> None:
    scenario = load_scenario(SCENARIOS / name, ["replications=1", "end=2027-12", "targets=[]"])
    result = simulate(scenario, 0)
    assert len(result.recorder.timeseries) == scenario.horizon_months


REPLICATIONS = 40


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "apac_2026_flexible.yaml",
        "apac_2026_bridge.yaml",
        "apac_2026_fastest.yaml",
        "apac_2026_strategy.yaml",
    ],
)
def test_a_strategy_serves_more_than_the_base(name: str) -> None:
    assert interval(paired("served_share", name, REPLICATIONS))[0] > 0


@pytest.mark.slow
def test_flexible_connection_curtails_and_bridge_burns_gas() -> None:
    assert (
        tables("apac_2026_flexible.yaml", REPLICATIONS)["kpis"]["curtailed_mwh"] > 0
    ).mean() > 0.9
    assert (
        tables("apac_2026_bridge.yaml", REPLICATIONS)["kpis"]["bridge_mw_months"] > 0
    ).mean() > 0.9


@pytest.mark.slow
def test_held_queue_places_connect_sooner_than_new_filings() -> None:
    queue = tables("apac_2026_queue_places.yaml", REPLICATIONS)["queue"]
    own = queue[queue["applicant"] == "own"]
    taken = own[(own["filed_for"] == "buffer") & own["attached_at"].notna()]
    fresh = own[own["filed_for"] == "deal"]
    assert len(taken) > REPLICATIONS
    # A place connected before a deal took it over had no wait left: zero, not negative.
    wait_taken = (taken["connected"] - taken["attached_at"]).dropna().clip(lower=0)
    wait_fresh = (fresh["connected"] - fresh["arrived"]).dropna()
    assert wait_taken.median() < 0.85 * wait_fresh.median()


@pytest.mark.slow
def test_filing_at_due_diligence_connects_sooner_after_signing() -> None:
    def signing_to_grid(name: str) -> pd.Series:
        deals = tables(name, REPLICATIONS)["deals"]
        months = (deals["grid_connected"] - deals["signed"]).dropna()
        return months.groupby(deals["replication"]).median()

    shift = signing_to_grid("apac_2026_file_early.yaml") - signing_to_grid("apac_2026.yaml")
    assert interval(shift.dropna().to_numpy())[1] < 0


@pytest.mark.slow
def test_reserved_slots_are_claimed_and_shorten_equipment_waits() -> None:
    variant = tables("apac_2026_reserve_slots.yaml", REPLICATIONS)
    base = tables("apac_2026.yaml", REPLICATIONS)
    equipment = variant["equipment"]
    reserved = equipment[equipment["reserved"].astype(bool)]
    assert reserved["claimed_units"].sum() > 0

    def waits(deals: pd.DataFrame) -> pd.Series:
        columns = ["delay_equipment_gas_turbine_months"]
        powered = deals[deals["first_power"].notna()]
        return powered[columns].sum(axis=1).groupby(powered["replication"]).mean()

    shift = (waits(variant["deals"]) - waits(base["deals"])).dropna().to_numpy()
    assert interval(shift)[1] < 0


@pytest.mark.slow
def test_the_decision_document_is_what_its_command_makes_today(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from capsim.cli.main import main

    committed = (ROOT / "docs" / "apac_decision.md").read_text(encoding="utf-8")
    command = next(line for line in committed.splitlines() if line.startswith("- Command: "))
    words = command.removeprefix("- Command: `").removesuffix("`").split()
    assert words[:2] == ["capsim", "strategies"]
    out = tmp_path / "apac_decision.md"
    args = [*words[2 : words.index("-o")], "--workers", "2", "-o", str(out)]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        result = CliRunner().invoke(main, ["strategies", *args])
    assert result.exit_code == 0, result.output

    def body(text: str) -> list[str]:
        """The document without its date and the output path its command names."""
        skipped = ("- Date: ", "- Command: ")
        return [line for line in text.splitlines() if not line.startswith(skipped)]

    assert body(out.read_text(encoding="utf-8")) == body(committed)
