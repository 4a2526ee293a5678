"""The examples show a decision, and each strategy variant keeps the promise of its lever.

The APAC flagship and the US example start served and are in doubt in at least three of the
years 2028-2032; variants are compared with their base in paired runs (common random numbers).
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
EXAMPLES = ("apac_2026", "us_2026")
VARIANTS = sorted(p.name for example in EXAMPLES for p in SCENARIOS.glob(f"{example}_*.yaml"))


@cache
def tables(name: str, replications: int) -> dict[str, pd.DataFrame]:
    """The tables of the first ``replications`` replications of an example."""
    scenario = load_scenario(SCENARIOS / name, [f"replications={replications}"])
    return frames([simulate(scenario, r) for r in range(replications)], scenario)


def interval(differences: np.ndarray) -> tuple[float, float]:
    """Mean paired difference minus and plus three standard errors."""
    spread = 3 * float(differences.std(ddof=1)) / np.sqrt(len(differences))
    return float(differences.mean()) - spread, float(differences.mean()) + spread


def base_of(name: str) -> str:
    """The example a variant file extends ('us_2026_bridge.yaml' -> 'us_2026.yaml')."""
    return next(f"{example}.yaml" for example in EXAMPLES if name.startswith(example))


def paired(column: str, name: str, replications: int) -> np.ndarray:
    """Per replication: a variant's KPI minus its base's."""
    base = tables(base_of(name), replications)["kpis"][column].to_numpy()
    return tables(name, replications)["kpis"][column].to_numpy() - base


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_programme_starts_served(example: str) -> None:
    ts = tables(f"{example}.yaml", 20)["timeseries"]
    first = ts[ts["month"] == 1]
    served = 1 - first["shortfall_mw"] / first["demand_mw"]
    assert float(served.median()) >= 0.99


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_the_base_case_is_in_doubt_in_at_least_three_years_of_2028_to_2032(example: str) -> None:
    kpis = tables(f"{example}.yaml", 200)["kpis"]
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
        f"{example}_{lever}.yaml"
        for example in EXAMPLES
        for lever in ("flexible", "bridge", "fastest", "strategy", "queue_places")
        if (example, lever) != ("apac_2026", "queue_places")
    ],
)
def test_a_strategy_serves_more_than_the_base(name: str) -> None:
    assert interval(paired("served_share", name, REPLICATIONS))[0] > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("example", "flexible_share"),
    # In the US example the study queue binds more often than headroom, so a flexible offer
    # (which needs a studied request waiting for headroom) is taken in fewer replications.
    [("apac_2026", 0.9), ("us_2026", 0.25)],
)
def test_flexible_connection_curtails_and_bridge_burns_gas(
    example: str, flexible_share: float
) -> None:
    assert (
        tables(f"{example}_flexible.yaml", REPLICATIONS)["kpis"]["curtailed_mwh"] > 0
    ).mean() > flexible_share
    assert (
        tables(f"{example}_bridge.yaml", REPLICATIONS)["kpis"]["bridge_mw_months"] > 0
    ).mean() > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_held_queue_places_connect_sooner_than_new_filings(example: str) -> None:
    queue = tables(f"{example}_queue_places.yaml", REPLICATIONS)["queue"]
    own = queue[queue["applicant"] == "own"]
    taken = own[(own["filed_for"] == "buffer") & own["attached_at"].notna()]
    fresh = own[own["filed_for"] == "deal"]
    assert len(taken) > REPLICATIONS
    # A place connected before a deal took it over had no wait left: zero, not negative.
    wait_taken = (taken["connected"] - taken["attached_at"]).dropna().clip(lower=0)
    wait_fresh = (fresh["connected"] - fresh["arrived"]).dropna()
    assert wait_taken.median() < 0.85 * wait_fresh.median()


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_filing_at_due_diligence_connects_sooner_after_signing(example: str) -> None:
    def signing_to_grid(name: str) -> pd.Series:
        deals = tables(name, REPLICATIONS)["deals"]
        months = (deals["grid_connected"] - deals["signed"]).dropna()
        return months.groupby(deals["replication"]).median()

    shift = signing_to_grid(f"{example}_file_early.yaml") - signing_to_grid(f"{example}.yaml")
    assert interval(shift.dropna().to_numpy())[1] < 0


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_reserved_slots_are_claimed_and_shorten_equipment_waits(example: str) -> None:
    variant = tables(f"{example}_reserve_slots.yaml", REPLICATIONS)
    base = tables(f"{example}.yaml", REPLICATIONS)
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
@pytest.mark.parametrize("document", ["apac_decision.md", "us_decision.md"])
def test_the_decision_document_is_what_its_command_makes_today(
    tmp_path: Path, document: str
) -> None:
    from click.testing import CliRunner

    from capsim.cli.main import main

    committed = (ROOT / "docs" / document).read_text(encoding="utf-8")
    command = next(line for line in committed.splitlines() if line.startswith("- Command: "))
    words = command.removeprefix("- Command: `").removesuffix("`").split()
    assert words[:2] == ["capsim", "strategies"]
    out = tmp_path / document
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
