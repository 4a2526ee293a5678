"""Allocation by the state of the world: the estimates, the ranked rules and their payoff.

The estimates are checked against hand-worked paths of the tiny fixed-duration scenario (where
they equal what the simulation then does), the rules against two-region variants, and the
payoff of ``fastest`` over ``weights`` by paired runs.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
from tiny import GROWING, TINY, changed, tiny

from capsim.model.env import Streams
from capsim.model.estimates import cost_per_mw_estimate, months_to_power_estimate
from capsim.model.world import build_world, simulate
from capsim.runs.tables import frames
from capsim.scenario.schema import Scenario

#: Two-sided 95% Student t quantile with 29 degrees of freedom (30 paired replications).
T_975_29 = 2.045


def two_regions(r2: dict[str, Any] | None = None, **changes: Any) -> Scenario:
    """The tiny scenario with a second region ``r2``, a copy of ``r1`` with ``r2`` changes."""
    data = copy.deepcopy(TINY)
    region = copy.deepcopy(data["regions"]["r1"])
    region["name"] = "Region two"
    for path, value in (r2 or {}).items():
        node = region
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    data["regions"]["r2"] = region
    return changed(data, **{"policy.region_weights": {"r1": 1, "r2": 1}, **changes})


#: Region two has no headroom until an upgrade ten years out.
NO_HEADROOM = {"grid.headroom_mw": 0, "grid.upgrades": [{"mw": 2000, "month": 120}]}


def test_months_to_power_estimate_follows_the_hand_worked_path() -> None:
    # Stages 2 + 3 = 5. Grid (filed at signing): nobody waits for a study, study 4, 1000 MW of
    # headroom (no wait), works 2 -> 5 + 6 = 11. Site: permitting 1 + construction 4, a free
    # crew -> 5 + 5 = 10. Transformers (ordered at signing): 2 units, an idle factory makes them
    # in 2 months, the 6-month lead is later -> 5 + 6 = 11. First power: the latest, 11, which is
    # what the simulation gives.
    world = build_world(tiny(), 0)
    assert months_to_power_estimate(world, "r1", "greenfield") == 11.0
    assert simulate(tiny(), 0).recorder.deals[0].first_power == 11.0


def test_the_headroom_wait_runs_to_the_upgrade_that_covers_the_request() -> None:
    # 40 MW free, a 100 MW deal: 60 MW short, covered by the upgrade due at 15. The study ends at
    # 5 + 4 = 9, so the headroom wait is 6 and works end at 17 (the simulation connects at 17).
    changes = {
        "regions.r1.grid.headroom_mw": 40,
        "regions.r1.grid.upgrades": [{"name": "bank", "mw": 100, "month": 15}],
    }
    world = build_world(tiny(**changes), 0)
    assert months_to_power_estimate(world, "r1", "greenfield") == 17.0
    assert simulate(tiny(**changes), 0).recorder.deals[0].grid_connected == 17.0
    # An upgrade too small to cover the shortfall counts as never: the horizon (24) is the wait.
    small = {**changes, "regions.r1.grid.upgrades": [{"mw": 10, "month": 15}]}
    world = build_world(tiny(**small), 0)
    assert months_to_power_estimate(world, "r1", "greenfield") == 5 + 4 + 24 + 2


def test_queue_crew_and_factory_ahead_of_us_lengthen_the_estimate() -> None:
    # Three competitors filed at the start: one is in the only study slot, two wait for it, so
    # 2 / 1 x 4 = 8 months of study wait. Grid: 5 + 8 + 4 + 0 + 2 = 19 (their 3 MW and our 100
    # fit the headroom). No demand, so no deal of ours is launched.
    scenario = tiny(**{"regions.r1.grid.competitors.initial_requests": 3, "demand.it_mw_start": 0})
    world = build_world(scenario, 0)
    world.env.run(until=0.5)
    assert world.deals == []
    assert months_to_power_estimate(world, "r1", "greenfield") == 19.0
    # A backlog of 30 units: the factory is busy 30 months, then makes our 2 -> 5 + 32 = 37.
    world = build_world(tiny(**{"equipment.transformer.backlog_units": 30}), 0)
    assert months_to_power_estimate(world, "r1", "greenfield") == 37.0
    # One site holding the only crew: 1 / 1 x 4 months of crew wait -> site 5 + 1 + 4 + 4 = 14.
    world = build_world(tiny(**{"regions.r1.grid.queue.works_months": 0}), 0)
    world.crews["r1"].request()
    assert months_to_power_estimate(world, "r1", "greenfield") == 14.0


def test_our_own_deals_not_yet_in_a_line_stand_ahead_of_the_next_one() -> None:
    # At 0.5 the deal launched at 0 (sure to sign) has not filed, ordered or asked for a crew.
    # Grid: it is one request ahead, 1 / 1 x 4 = 4 months of study wait -> 5 + 4 + 4 + 2 = 15.
    # Factory: its 2 units and our 2 take 4 months, within the 6-month lead -> 5 + 6 = 11.
    # Crews: one site ahead, 4 months of crew wait -> 5 + 1 + 4 + 4 = 14. First power: 15.
    world = build_world(tiny(), 0)
    world.env.run(until=0.5)
    assert [deal.deal_id for deal in world.deals] == ["d0001"]
    assert months_to_power_estimate(world, "r1", "greenfield") == 15.0
    # With half a chance of surviving the stages it counts as half a request and half a site.
    scenario = tiny(
        **{
            "deal_kinds.greenfield.stages": [
                {"name": "sourcing", "months": 2, "success": 0.5},
                {"name": "negotiation", "months": 3, "success": 1.0},
            ]
        }
    )
    world = build_world(scenario, 0)
    world.env.run(until=0.5)
    assert months_to_power_estimate(world, "r1", "greenfield") == 5 + 2 + 4 + 2


def test_the_space_wait_counts_supply_arriving_before_signing() -> None:
    # A 50 MW colocation deal, 30 MW for lease and 1 MW more each month. It signs at 1, so the
    # 20 MW short arrive 20 - 1 = 19 months after signing; fit-out 2 -> 1 + 19 + 2 = 22, as
    # simulated (space taken at 20, energised at 22).
    colocation = {
        "size_mw": 50,
        "stages": [{"name": "sourcing", "months": 1, "success": 1.0}],
        "needs_grid": False,
        "needs_build": False,
        "uses_colocation": True,
        "fit_out_months": 2,
        "phase_mw": 50,
        "months_between_phases": 0,
        "capex_usd_per_mw": 0,
    }
    scenario = tiny(
        **{
            "demand.it_mw_start": 50,
            "regions.r1.colocation": {"available_mw": 30, "new_supply_mw_per_year": 12},
            "deal_kinds": {"colocation": colocation},
            "policy.kind_weights": {"colocation": 1},
            "equipment": {},
        }
    )
    assert months_to_power_estimate(build_world(scenario, 0), "r1", "colocation") == 22.0
    assert simulate(scenario, 0).recorder.deals[0].first_power == 22.0


def test_cost_per_mw_estimate_adds_capex_a_year_of_energy_and_grid_payments() -> None:
    # 1,000,000 capex + 100 USD/MWh x 730 h x 12 = 1,876,000 USD per MW.
    world = build_world(tiny(), 0)
    assert cost_per_mw_estimate(world, "r1", "greenfield") == 1_876_000.0
    # Capex x 1.5, the kind's own energy price (50), a 20,000 deposit and 5,000 + 7,000 of
    # milestones per MW, over a 0.8 x 0.5 chance of surviving the stages.
    scenario = tiny(
        **{
            "regions.r1.cost_multipliers": {"capex": 1.5},
            "deal_kinds.greenfield.energy_usd_per_mwh": 50,
            "deal_kinds.greenfield.stages": [
                {"name": "sourcing", "months": 2, "success": 0.8},
                {"name": "negotiation", "months": 3, "success": 0.5},
            ],
            "regions.r1.grid.queue.deposit_usd_per_mw": 20_000,
            "regions.r1.grid.queue.milestones": [
                {"name": "m1", "after_months": 6, "usd_per_mw": 5_000},
                {"name": "m2", "after_months": 12, "usd_per_mw": 7_000},
            ],
        }
    )
    expected = (1_500_000 + 50 * 730 * 12 + 20_000 + 12_000) / 0.4
    assert math.isclose(
        cost_per_mw_estimate(build_world(scenario, 0), "r1", "greenfield"), expected
    )


def _regions_launched(scenario: Scenario) -> list[str]:
    """Region of every deal launched in replication 0, in launch order."""
    return [deal.region for deal in simulate(scenario, 0).recorder.deals]


def test_fastest_launches_where_headroom_is_and_weights_does_not() -> None:
    changes = {"policy.max_live_deals": 4, "deal_kinds.greenfield.size_mw": 30}
    fastest = _regions_launched(
        two_regions(NO_HEADROOM, **changes, **{"policy.allocation": "fastest"})
    )
    assert len(fastest) >= 4
    assert set(fastest) == {"r1"}
    assert "r2" in _regions_launched(two_regions(NO_HEADROOM, **changes))


def test_cheapest_launches_where_capex_is_lowest() -> None:
    regions = _regions_launched(
        two_regions({"cost_multipliers": {"capex": 0.8}}, **{"policy.allocation": "cheapest"})
    )
    assert regions == ["r2"]


def test_ties_go_to_the_larger_weight_then_the_name_and_zero_weight_is_never_launched() -> None:
    for allocation in ("fastest", "cheapest"):
        rule = {"policy.allocation": allocation}
        assert _regions_launched(two_regions(**rule)) == ["r1"]
        heavier = {"policy.region_weights": {"r1": 1, "r2": 2}}
        assert _regions_launched(two_regions(**rule, **heavier)) == ["r2"]
        # Region one is slower and dearer, but region two has no weight: region one it is.
        worse = {"grid.headroom_mw": 0, "cost_multipliers": {"capex": 3}}
        zero = {"policy.region_weights": {"r1": 0, "r2": 1}}
        assert _regions_launched(two_regions(**rule, **zero)) == ["r2"]
        scenario = two_regions(worse, **rule, **{"policy.region_weights": {"r1": 1, "r2": 0}})
        assert _regions_launched(scenario) == ["r1"]


def test_ranked_rules_draw_only_the_deal_sizes_from_the_policy_stream() -> None:
    # Under 'weights' each deal draws its region and kind before its size; the ranked rules draw
    # the size alone, so the k-th deal's size is the k-th draw of the policy stream.
    size = {"dist": "uniform", "min": 10, "max": 30}
    scenario = two_regions(
        NO_HEADROOM,
        **{
            "policy.allocation": "fastest",
            "policy.max_live_deals": 3,
            "deal_kinds.greenfield.size_mw": size,
        },
    )
    deals = simulate(scenario, 0).recorder.deals
    rng = Streams(scenario.seed, 0).get("policy")
    expected = [float(rng.uniform(10, 30)) for _ in deals]
    assert len(deals) >= 3
    assert [deal.mw for deal in deals] == expected


def _served_shares(scenario: Scenario, replications: int) -> np.ndarray:
    """Served share of demand per replication, in replication order."""
    results = [simulate(scenario, r) for r in range(replications)]
    kpis = frames(results, scenario)["kpis"].sort_values("replication")
    return kpis["served_share"].to_numpy(dtype=float)


def test_paired_runs_fastest_serves_more_than_weights_when_one_region_is_plainly_slower() -> None:
    # Region two has no headroom for ten years; 'weights' sends half the deals there, 'fastest'
    # none. Same seed and replications, so each pair meets the same demand and deal fates.
    replications = 30
    changes: dict[str, Any] = {
        "end": "2029-12",
        **GROWING,
        "build.crews": 3,
    }
    weights = _served_shares(two_regions(NO_HEADROOM, **changes), replications)
    fastest = _served_shares(
        two_regions(NO_HEADROOM, **changes, **{"policy.allocation": "fastest"}), replications
    )
    diff = fastest - weights
    half = T_975_29 * diff.std(ddof=1) / math.sqrt(replications)
    # Measured: served share 0.43 -> 0.80, difference +0.37 (95% CI +0.29 to +0.46).
    assert diff.mean() - half > 0, (diff.mean(), half)
