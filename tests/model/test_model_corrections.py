"""Model rules pinned by traces and paired runs.

Bridge power on stranded sites, common random numbers, energy costed where it is served, stranded
sites releasing crews and equipment, the policy skipping impossible pairings, honest time-to-power
naming, and the order in which headroom is served.
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tiny import TINY, changed, tiny

from capsim.model.monitor import HOURS_PER_MONTH
from capsim.model.records import DealRow, QueueRow, RegionRow, TimeseriesRow
from capsim.model.world import simulate
from capsim.runs.tables import frames, summarize
from capsim.scenario.loader import load_scenario
from capsim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]


def _two_regions() -> dict[str, Any]:
    """TINY with a second region ``r2`` (same grid) and no policy deals unless asked for."""
    data = copy.deepcopy(TINY)
    data["regions"]["r2"] = copy.deepcopy(data["regions"]["r1"])
    data["regions"]["r2"]["name"] = "Region two"
    data["policy"]["max_live_deals"] = 1
    return data


def _queue(result: Any) -> pd.DataFrame:
    return pd.DataFrame(result.recorder.queue, columns=QueueRow._fields)


def _deals(result: Any) -> pd.DataFrame:
    return pd.DataFrame(result.recorder.deals, columns=DealRow._fields)


# --- bridge power only while a live request waits --------------------------------------------


def _stranding_bridge_scenario() -> Scenario:
    # One deal (a single review): its request never gets headroom and withdraws at a random
    # month (mean 12 months); the site is built at month 10 (phase 0), its bridge needs 2 months.
    return tiny(
        **{
            "policy.review_months": 120,
            "regions.r1.grid.headroom_mw": 0,
            "regions.r1.grid.queue.withdrawal_per_year": 1.0,
            "bridge": {
                "enabled": True,
                "max_mw_per_site": 1000,
                "lead_time_months": 2,
                "premium_usd_per_mwh": 50,
            },
        }
    )


def test_bridge_is_off_from_the_month_a_stranded_sites_request_withdraws() -> None:
    scenario = _stranding_bridge_scenario()
    bridged_before_withdrawal = 0
    for replication in range(12):
        result = simulate(scenario, replication)
        own = _queue(result)
        own = own[own["applicant"] == "own"]
        first = own.iloc[0]
        withdrawn = float(first["withdrawn"] or math.inf)
        series = pd.DataFrame(result.recorder.timeseries, columns=TimeseriesRow._fields)
        after = series[series["month"] >= withdrawn]
        assert (after["bridge_mw"] == 0.0).all(), (replication, withdrawn)
        assert (after["bridge_premium_usd"] == 0.0).all()
        before = series[series["month"] < withdrawn]
        bridged_before_withdrawal += int((before["bridge_mw"] > 0).any())
    # The check bites: in some replications the bridge ran before the request withdrew.
    assert bridged_before_withdrawal >= 2


def test_bridge_is_never_switched_on_after_the_request_withdrew() -> None:
    scenario = _stranding_bridge_scenario()
    for replication in range(12):
        result = simulate(scenario, replication, trace=True)
        trace = result.recorder.trace
        assert trace is not None
        withdrawn = [t for t, what, _ in trace if what == "withdrawn"]
        bridge_on = [t for t, what, _ in trace if what == "bridge_on"]
        if withdrawn and bridge_on:
            assert bridge_on[0] < withdrawn[0]


# --- common random numbers --------------------------------------------------------------------


def test_competitors_are_identical_whatever_our_policy_does() -> None:
    base = load_scenario(ROOT / "scenarios" / "apac_2026.yaml")
    data = base.model_dump(mode="json")
    data["policy"]["reserve_margin"] = float(data["policy"]["reserve_margin"]) + 0.5
    data["policy"]["max_live_deals"] = int(data["policy"]["max_live_deals"]) * 2
    bolder = Scenario.model_validate(data)
    first, second = (_queue(simulate(s, 3)) for s in (base, bolder))
    ours = [t.loc[t["applicant"] == "own", ["region", "mw", "arrived"]] for t in (first, second)]
    assert not ours[0].reset_index(drop=True).equals(ours[1].reset_index(drop=True))
    columns = ["region", "mw", "arrived"]
    theirs = [
        t[t["applicant"] == "background"].sort_values(["region", "arrived"])
        for t in (first, second)
    ]
    assert len(theirs[0]) > 100
    pd.testing.assert_frame_equal(
        theirs[0][columns].reset_index(drop=True), theirs[1][columns].reset_index(drop=True)
    )
    # Each competitor's own durations are its own: study length and withdrawal month agree
    # wherever both runs reached them.
    merged = theirs[0].merge(theirs[1], on=["region", "arrived", "mw"], suffixes=("_a", "_b"))
    assert len(merged) == len(theirs[0])
    studied = merged[merged["study_end_a"].notna() & merged["study_end_b"].notna()]
    serial = studied[
        studied["region"].isin(
            [n for n, r in base.regions.items() if r.grid.queue.mode == "serial"]
        )
    ]
    assert len(serial) > 20
    pd.testing.assert_series_equal(
        (serial["study_end_a"] - serial["study_start_a"]).reset_index(drop=True),
        (serial["study_end_b"] - serial["study_start_b"]).reset_index(drop=True),
        check_names=False,
    )
    both_gone = merged[merged["withdrawn_a"].notna() & merged["withdrawn_b"].notna()]
    assert len(both_gone) > 20
    assert (both_gone["withdrawn_a"] == both_gone["withdrawn_b"]).all()


def test_a_deals_durations_do_not_depend_on_deals_launched_after_it() -> None:
    # Random stage lengths and fates; one more live deal allowed: the first deal's durations and
    # fate stay the same, although the second deal draws its own in between.
    stages = [
        {"name": "sourcing", "months": {"dist": "exponential", "mean": 2}, "success": 0.9},
        {"name": "negotiation", "months": {"dist": "exponential", "mean": 3}, "success": 0.9},
    ]
    common = {
        "deal_team.size": 5,
        "build.crews": 10,
        "deal_kinds.greenfield.stages": stages,
        "build.construction_months": {"dist": "uniform", "min": 3, "max": 6},
    }
    for replication in range(5):
        one = simulate(tiny(**common), replication)
        two = simulate(tiny(**common, **{"policy.max_live_deals": 3}), replication)
        first = _deals(one).set_index("deal_id").loc["d0001"]
        again = _deals(two).set_index("deal_id").loc["d0001"]
        assert first["stage_months"] == again["stage_months"]
        assert first["outcome"] == again["outcome"]
        assert first["signed"] == again["signed"] or (
            pd.isna(first["signed"]) and pd.isna(again["signed"])
        )


# --- energy is paid where it is served --------------------------------------------------------


def _priced_regions(bound_share: float, demand_mw: float) -> Scenario:
    data = _two_regions()
    data["regions"]["r1"].update(existing_mw=100, energy_usd_per_mwh=100)
    data["regions"]["r2"].update(existing_mw=100, energy_usd_per_mwh=50)
    data["demand"]["it_mw_start"] = demand_mw
    if bound_share:
        data["demand"]["region_bound"] = [{"region": "r1", "share": bound_share}]
    data["policy"]["reserve_margin"] = 0
    data["policy"]["lookahead_months"] = 0
    return Scenario.model_validate(data)


def test_energy_is_costed_at_the_price_of_the_region_that_serves_the_demand() -> None:
    # 100 MW of demand, all bound to r1 (USD 100/MWh): r1 serves all of it, r2 (USD 50/MWh)
    # serves nothing. A portfolio-wide utilisation of 50% would give USD 5.475 m a month.
    rows = simulate(_priced_regions(1.0, 100), 0).recorder.timeseries
    energy = rows[0].energy_usd
    assert energy == pytest.approx(100 * 100 * HOURS_PER_MONTH)


def test_free_demand_is_spread_over_spare_capacity_in_proportion() -> None:
    # 130 MW: 100 bound to r1 (share 100/130) and 30 free. r1 has no spare; r2 serves the 30.
    rows = simulate(_priced_regions(100 / 130, 130), 0).recorder.timeseries
    energy = rows[0].energy_usd
    expected = (100 * 100 + 30 * 50) * HOURS_PER_MONTH
    assert energy == pytest.approx(expected)
    # With no bound demand, 150 MW over two regions of 100 MW is 75 MW served in each.
    rows = simulate(_priced_regions(0.0, 150), 0).recorder.timeseries
    energy = rows[0].energy_usd
    assert energy == pytest.approx((75 * 100 + 75 * 50) * HOURS_PER_MONTH)


# --- stranded sites give back crews and equipment ---------------------------------------------


def _in_flight(*deals: tuple[str, str, float]) -> list[dict[str, Any]]:
    return [
        {"id": i, "kind": "greenfield", "region": r, "mw": mw, "stage": "signed"}
        for i, r, mw in deals
    ]


def test_a_stranded_site_gives_its_crew_to_the_next_site_at_once() -> None:
    # Two signed sites in r1 with one crew: A takes the crew at month 1 (permitting 1) and would
    # hold it for 20 months. Both requests never get headroom and withdraw at random months.
    # When A's request withdraws first, B's construction starts that very month.
    data = copy.deepcopy(TINY)
    data["demand"]["it_mw_start"] = 0
    data["regions"]["r1"]["grid"]["headroom_mw"] = 0
    data["regions"]["r1"]["grid"]["queue"]["withdrawal_per_year"] = 1.0
    data["build"]["construction_months"] = 20
    data["deal_kinds"]["greenfield"]["phase_mw"] = 100
    data["deals_in_flight"] = _in_flight(("a", "r1", 100), ("b", "r1", 100))
    scenario = Scenario.model_validate(data)
    checked = 0
    for replication in range(20):
        result = simulate(scenario, replication)
        queue = _queue(result).set_index("deal_id")
        withdrawn_a, withdrawn_b = (
            float(queue.loc[d, "withdrawn"] or math.inf) for d in ("a", "b")
        )
        stages = {row.deal_id: row.stage_months for row in result.recorder.deals}
        if 1 < withdrawn_a < 21 and withdrawn_b > withdrawn_a:
            assert stages["b"]["construction"] == withdrawn_a
            checked += 1
    assert checked >= 3


def test_a_stranded_site_stops_drawing_equipment_so_a_live_site_gets_it() -> None:
    # One transformer a year from an empty factory; A (r1, never connected, withdraws early)
    # ordered first, B (r2, connected at month 6) second. Both sites are built at month 5.
    # If A's request has withdrawn before the first unit arrives at month 12, B takes it then
    # and energises at 12 instead of waiting for the second unit at 24.
    data = _two_regions()
    data["demand"]["it_mw_start"] = 0
    data["regions"]["r1"]["grid"]["headroom_mw"] = 0
    data["regions"]["r1"]["grid"]["queue"]["withdrawal_per_year"] = 6.0
    data["equipment"]["transformer"].update(
        lead_time_months=0, units_per_year=1, units_per_100mw={"greenfield": 2}
    )
    data["deal_kinds"]["greenfield"]["phase_mw"] = 50
    data["deals_in_flight"] = _in_flight(("a", "r1", 50), ("b", "r2", 50))
    scenario = Scenario.model_validate(data)
    checked = 0
    for replication in range(8):
        result = simulate(scenario, replication)
        queue = _queue(result).set_index("deal_id")
        deals = _deals(result).set_index("deal_id")
        if float(queue.loc["a", "withdrawn"] or math.inf) < 12:
            assert deals.loc["b", "first_power"] == 12.0
            checked += 1
    assert checked >= 6


# --- the policy skips a region where no weighted kind fits -----------------------------------


def test_a_region_without_a_fitting_kind_is_skipped_not_the_whole_review() -> None:
    data = _two_regions()
    data["regions"]["r1"]["colocation"] = {"available_mw": 10_000}
    kind = data["deal_kinds"]["greenfield"]
    kind.update(uses_colocation=True, needs_build=False, needs_grid=False, size_mw=10, phase_mw=10)
    data["deal_kinds"] = {"colocation": kind}
    data["equipment"] = {}
    data["deal_team"]["size"] = 50
    data["policy"].update(kind_weights={"colocation": 1}, max_live_deals=50, reserve_margin=0)
    both = simulate(changed(data, **{"policy.region_weights": {"r1": 1, "r2": 1}}), 0)
    only = simulate(changed(data, **{"policy.region_weights": {"r1": 1, "r2": 0}}), 0)
    launched = _deals(both)
    assert len(launched) == len(_deals(only)) >= 10
    assert set(launched["region"]) == {"r1"}


# --- honest names and clean tallies -----------------------------------------------------------


def test_time_to_power_summary_says_it_covers_powered_deals_only() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "apac_2026.yaml")
    results = [simulate(scenario, r) for r in range(2)]
    summary = summarize(frames(results, scenario), scenario)
    assert "months_to_first_power" not in summary
    by_kind = summary["months_to_first_power_of_powered_deals"]["by_kind"]
    for row in by_kind.values():
        assert 0.0 <= row["powered_share"] <= 1.0
        assert row["n"] <= row["launched"]
        assert row["n"] == pytest.approx(row["powered_share"] * row["launched"])


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_no_megawatt_tally_is_ever_negative(path: Path) -> None:
    scenario = load_scenario(path)
    result = simulate(scenario, 0)
    regions = pd.DataFrame(result.recorder.regions, columns=RegionRow._fields)
    mw_columns = [c for c in RegionRow._fields if c.endswith("_mw")]
    low = regions[mw_columns].min()
    assert (low >= 0).all(), low[low < 0]


# --- headroom order ---------------------------------------------------------------------------


def _headroom_race(order: str) -> list[tuple[float, str, str]]:
    # A (100 MW) filed before B (50 MW); 60 MW of headroom, +50 MW at month 10; two study
    # slots, studies of 4 months, works of 2.
    data = copy.deepcopy(TINY)
    data["demand"]["it_mw_start"] = 0
    grid = data["regions"]["r1"]["grid"]
    grid["headroom_mw"] = 60
    grid["upgrades"] = [{"name": "bank", "mw": 50, "month": 10}]
    grid["queue"].update(study_slots=2, headroom_order=order)
    data["equipment"] = {}
    data["deals_in_flight"] = _in_flight(("a", "r1", 100), ("b", "r1", 50))
    trace = simulate(Scenario.model_validate(data), 0, trace=True).recorder.trace
    assert trace is not None
    return [(t, what, who) for t, what, who in trace if what in ("connected", "headroom")]


def test_fifo_headroom_lets_a_large_request_block_the_line() -> None:
    # B fits in the 60 MW at month 4 but waits behind A; at month 10 A gets 100 of 110 MW and is
    # connected at 12; B (50 MW) still does not fit in the 10 MW left.
    assert _headroom_race("fifo") == [(10, "headroom", "r1+50"), (12, "connected", "a")]


def test_first_fit_headroom_serves_whoever_fits() -> None:
    # B takes 50 of the 60 MW at month 4 and is connected at 6; A needs 100 and the 10 + 50 MW
    # left after the upgrade is not enough.
    assert _headroom_race("first_fit") == [(6, "connected", "b"), (10, "headroom", "r1+50")]


def test_logistic_demand_with_a_ceiling_far_below_the_start_never_divides_by_zero() -> None:
    # ceiling / start underflows to zero; the old form C / (1 + (C/s - 1) d) divided by zero at
    # the start month. The curve starts at s and falls towards C.
    scenario = tiny(
        **{
            "demand.it_mw_start": 1e300,
            "demand.growth": {"model": "logistic", "ceiling_it_mw": 1e-20, "steepness_per_year": 1},
        }
    )
    rows = simulate(scenario, 0).recorder.timeseries
    demand = [row.demand_mw for row in rows]
    assert demand[0] < 1e300
    assert all(a >= b for a, b in itertools.pairwise(demand))
    assert demand[-1] > 0
