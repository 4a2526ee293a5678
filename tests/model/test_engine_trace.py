"""Exact event traces of the tiny fixed-duration scenario, with every time worked out by hand."""

from __future__ import annotations

from tiny import tiny

from capsim.model.world import simulate


def test_one_deal_through_every_stage_matches_hand_computed_times() -> None:
    # t=0 launch; sourcing 0-2, negotiation 2-5 -> signed 5 (equipment ordered at signing).
    # Grid: study 5-9 (slot free), headroom at once, works 9-11 -> connected 11.
    # Equipment: 2 units at 1 month each -> made by 7, lead 6 months -> delivered 11.
    # Build: permitting 5-6, construction 6-10 -> phase 0 built 10, phase 1 at 12.
    # Phase 0 waits for equipment and grid (both at 11); phase 1 energises when built at 12.
    result = simulate(tiny(), 0, trace=True)
    assert result.recorder.trace == [
        (0, "launched", "d0001"),
        (5, "signed", "d0001"),
        (5, "ordered", "transformer:d0001:2"),
        (10, "built", "d0001#0"),
        (11, "delivered", "transformer:d0001"),
        (11, "connected", "d0001"),
        (11, "energized", "d0001+50"),
        (12, "built", "d0001#1"),
        (12, "energized", "d0001+50"),
    ]


def test_month_end_snapshots_see_capacity_energised_before_the_month_ends() -> None:
    rows = simulate(tiny(), 0).recorder.timeseries
    energized = [row.energized_mw for row in rows]
    # An energisation at exactly t=11.0 falls in month 12; both phases show from month 13 on.
    assert energized[:11] == [0.0] * 11
    assert energized[11] == 50.0
    assert energized[12:] == [100.0] * 12
    shortfall = [row.shortfall_mw for row in rows]
    assert shortfall[12:] == [0.0] * 12
    assert rows[0].demand_mw == 100.0


def test_capex_is_booked_as_phases_energise() -> None:
    rows = simulate(tiny(), 0).recorder.timeseries
    capex = [row.capex_usd for row in rows]
    assert capex[11] == 50 * 1_000_000
    assert capex[12] == 50 * 1_000_000
    assert sum(capex) == 100 * 1_000_000


def test_small_deal_team_delays_the_second_deal() -> None:
    # Two deals launched at t=0 with one team member: the second starts sourcing only after
    # the first signs (sourcing + negotiation both use the team), so it signs at 10, not 5.
    scenario = tiny(
        **{
            "policy.max_live_deals": 2,
            "deal_kinds.greenfield.size_mw": 60,
            "deal_kinds.greenfield.phase_mw": 60,
        }
    )
    trace = simulate(scenario, 0, trace=True).recorder.trace
    assert trace is not None
    signed = [(t, who) for t, what, who in trace if what == "signed"]
    assert signed == [(5, "d0001"), (10, "d0002")]


def test_headroom_upgrade_unblocks_a_request_that_did_not_fit() -> None:
    scenario = tiny(
        **{
            "regions.r1.grid.headroom_mw": 40,
            "regions.r1.grid.upgrades": [{"name": "bank", "mw": 100, "month": 15}],
        }
    )
    trace = simulate(scenario, 0, trace=True).recorder.trace
    assert trace is not None
    assert (15, "headroom", "r1+100") in trace
    # Study ends at 9 but only 40 MW fit; the upgrade at 15 lets it in, works take 2 more months.
    assert (17, "connected", "d0001") in trace


def test_bridge_power_serves_a_built_site_until_the_grid_arrives() -> None:
    scenario = tiny(
        **{
            "regions.r1.grid.queue.works_months": 12,
            "bridge": {
                "enabled": True,
                "max_mw_per_site": 30,
                "lead_time_months": 1,
                "premium_usd_per_mwh": 50,
            },
        }
    )
    result = simulate(scenario, 0, trace=True)
    trace = result.recorder.trace
    assert trace is not None
    # Phase 0 ready at 11 (equipment), grid only at 9 + 12 = 21: bridge ordered at 11, on at 12.
    assert (12, "bridge_on", "d0001") in trace
    assert (21, "connected", "d0001") in trace
    bridge = [row.bridge_mw for row in result.recorder.timeseries]
    assert bridge[12:20] == [30.0] * 8
    assert bridge[22:] == [0.0] * len(bridge[22:])


def test_a_subnormal_colocation_supply_rate_adds_nothing_and_does_not_fail() -> None:
    scenario = tiny(
        **{"regions.r1.colocation": {"available_mw": 10, "new_supply_mw_per_year": 5e-324}}
    )
    rows = simulate(scenario, 0).recorder.regions
    assert {row.colocation_available_mw for row in rows} == {10.0}
