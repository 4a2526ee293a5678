"""Exact traces of the procurement levers on the tiny all-fixed scenario, worked out by hand.

The tiny scenario: one 100 MW greenfield deal launched at 0; sourcing 2 and negotiation 3
months (signed at 5); a serial queue with one study slot, 4-month studies and 2-month works;
permits 1, construction 4, two 50 MW phases 2 months apart; two transformer units ordered at
signing with a 6-month lead (delivered at 11).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from tiny import queue_only, tiny

from capsim.model.records import OWN
from capsim.model.world import ReplicationResult, simulate

#: No headroom until a 500 MW upgrade at month 20 (the grid is the bottleneck).
NO_HEADROOM: dict[str, Any] = {
    "regions.r1.grid.headroom_mw": 0,
    "regions.r1.grid.upgrades": [{"name": "bank", "mw": 500, "month": 20}],
}


def run(**changes: Any) -> ReplicationResult:
    """Replication 0 of the tiny scenario with changes, traced."""
    return simulate(tiny(**changes), 0, trace=True)


def events(result: ReplicationResult, *names: str) -> list[tuple[float, str, str]]:
    """The traced events of the given kinds, in order."""
    assert result.recorder.trace is not None
    return [e for e in result.recorder.trace if e[1] in names]


def own_requests(result: ReplicationResult) -> list[Any]:
    """Our queue rows."""
    return [q for q in result.recorder.queue if q.applicant == OWN]


def test_filing_at_sourcing_runs_the_request_beside_the_stages() -> None:
    # Filed at launch (0): study 0..4, works 4..6, connected at 6, before signing at 5 + the
    # site's 6 months; first power stays at 11 (the site is now the critical path).
    result = run(**{"deal_kinds.greenfield.grid_request_at": "sourcing"})
    (request,) = own_requests(result)
    assert (request.arrived, request.study_end, request.connected) == (0.0, 4.0, 6.0)
    assert result.recorder.deals[0].first_power == 11.0


def test_filing_early_is_faster_when_the_grid_is_the_bottleneck() -> None:
    # 8-month study: at signing 5..13, works to 15; filed at sourcing 0..8, works to 10, so
    # the site (ready at 11) leads: first power 15 -> 11.
    slow = {"regions.r1.grid.queue.study_months": 8}
    late = run(**slow).recorder.deals[0]
    early = run(**slow, **{"deal_kinds.greenfield.grid_request_at": "sourcing"}).recorder.deals[0]
    assert (late.first_power, early.first_power) == (15.0, 11.0)
    assert early.delays["construction"] == 4.0 and "study" not in early.delays


def test_a_deal_lost_before_signing_withdraws_its_early_request_and_gets_a_refund() -> None:
    # Filed at 0 with a 1,000 USD/MW deposit (100,000 USD); lost at the end of negotiation (5),
    # during the request's works (4..6): withdrawn at 5, half the deposit comes back.
    result = run(
        **{
            "deal_kinds.greenfield.grid_request_at": "sourcing",
            "deal_kinds.greenfield.stages": [
                {"name": "sourcing", "months": 2, "success": 1.0},
                {"name": "negotiation", "months": 3, "success": 0.0},
            ],
            "regions.r1.grid.queue.deposit_usd_per_mw": 1000,
            "regions.r1.grid.queue.refund_share": 0.5,
            "end": "2026-08",
        }
    )
    (request,) = own_requests(result)
    assert (request.withdrawn, request.connected) == (5.0, None)
    assert (request.deposit_usd, request.refunded_usd) == (100_000.0, 50_000.0)
    deal = result.recorder.deals[0]
    assert (deal.ended_month, deal.ended_reason) == (5.0, "lost_at_negotiation")
    fees = [row.queue_fees_usd for row in result.recorder.timeseries]
    assert sum(fees) == pytest.approx(50_000.0)


def test_deposits_and_milestones_are_paid_and_counted_in_cash() -> None:
    # Filed at signing (5): deposit 100,000 USD; a milestone 3 months later (8) of 500 USD/MW.
    result = run(
        **{
            "regions.r1.grid.queue.deposit_usd_per_mw": 1000,
            "regions.r1.grid.queue.milestones": [
                {"name": "contribution", "after_months": 3, "usd_per_mw": 500}
            ],
        }
    )
    (request,) = own_requests(result)
    assert (request.deposit_usd, request.milestones_usd, request.refunded_usd) == (
        100_000.0,
        50_000.0,
        0.0,
    )
    paid = {
        row.month: row.queue_fees_usd for row in result.recorder.timeseries if row.queue_fees_usd
    }
    assert paid == {6: 100_000.0, 8: 50_000.0}


def test_competitors_drop_out_at_a_milestone_and_weibull_withdrawal_is_per_class() -> None:
    classes = [
        {
            "name": "firm",
            "arrivals_per_year": 0,
            "initial_requests": 1,
            "mw": 10,
            "withdrawal_per_year": 0,
        },
        {
            "name": "speculative",
            "arrivals_per_year": 0,
            "initial_requests": 3,
            "mw": 10,
            "withdrawal": {"model": "weibull", "shape": 2.0, "scale_months": 1000},
        },
    ]
    result = run(
        **{
            "regions.r1.grid.competitors": classes,
            "regions.r1.grid.queue.milestones": [
                {"name": "contribution", "after_months": 2, "drop_share": 1.0}
            ],
        }
    )
    rows = [q for q in result.recorder.queue if q.applicant != OWN]
    assert [q.competitor_class for q in rows] == [
        "firm",
        "speculative",
        "speculative",
        "speculative",
    ]
    # Every competitor still waiting at month 2 drops (drop_share 1); the firm one is in its
    # study (0..4) and waiting too, so it drops as well; ours (filed at 5) pays nothing.
    assert all(q.withdrawn == 2.0 for q in rows)
    assert own_requests(result)[0].connected == 11.0


def test_a_held_queue_place_is_taken_over_by_the_next_deal() -> None:
    # A 100 MW place filed at 0 is studied 0..4 and connected at 6 (plenty of headroom); the
    # deal signed at 5 takes it over instead of filing: one request of ours, attached at 5.
    result = run(**{"policy.queue_buffer_mw": {"r1": 100}, "policy.queue_buffer_request_mw": 100})
    first = own_requests(result)[0]
    assert (first.filed_for, first.arrived, first.attached_at, first.deal_id) == (
        "buffer",
        0.0,
        5.0,
        "d0001",
    )
    assert first.connected == 6.0
    assert events(result, "taken_over") == [(5.0, "taken_over", "0:d0001")]
    deal = result.recorder.deals[0]
    assert deal.grid_connected == 6.0 and deal.first_power == 11.0
    # The next review (12) files a new place to keep 100 MW held.
    assert [e[0] for e in events(result, "buffer_filed")] == [0.0, 12.0]


def test_a_held_place_is_released_after_its_months() -> None:
    result = run(
        **NO_HEADROOM,
        **{
            "policy.queue_buffer_mw": {"r1": 100},
            "policy.queue_buffer_request_mw": 150,
            "policy.queue_buffer_release_months": 3,
            "regions.r1.grid.queue.deposit_usd_per_mw": 10,
            "regions.r1.grid.queue.refund_share": 1.0,
        },
    )
    released = events(result, "buffer_released")
    assert released[0] == (3.0, "buffer_released", "r1:buffer0001")
    first = own_requests(result)[0]
    assert (first.withdrawn, first.refunded_usd, first.deposit_usd) == (3.0, 1500.0, 1500.0)


def test_flexible_connection_gives_power_at_once_curtailed_until_firm() -> None:
    # No headroom until 20. Study 5..9, then the flexible offer: works 9..11, so the phases
    # are energised non-firm at 11 and 12 (as ready) and become firm at 20.
    result = run(
        **NO_HEADROOM,
        **{
            "regions.r1.grid.flexible": {"max_mw": 200, "curtailment_share": 0.25},
            "policy.accept_flexible": True,
            "policy.max_live_deals": 1,
            "policy.review_months": 100,
        },
    )
    deal = result.recorder.deals[0]
    assert (deal.first_power, deal.grid_connected) == (11.0, 20.0)
    (request,) = own_requests(result)
    assert (request.flexible_connected, request.headroom_granted) == (11.0, 20.0)
    rows = {row.month: row for row in result.recorder.timeseries}
    assert (rows[12].flexible_mw, rows[12].capacity_mw) == (50.0, 37.5)
    assert (rows[13].flexible_mw, rows[13].energized_mw) == (100.0, 0.0)
    assert rows[13].curtailed_mwh == pytest.approx(100 * 0.25 * 730)
    # Firm at 20: the month ending then was snapshot first, so month 21 shows it.
    assert (rows[21].flexible_mw, rows[21].energized_mw, rows[21].capacity_mw) == (
        0.0,
        100.0,
        100.0,
    )
    for row in result.recorder.timeseries:
        assert row.capacity_mw == pytest.approx(
            row.energized_mw + row.bridge_mw + 0.75 * row.flexible_mw
        )


def test_flexible_connections_never_exceed_the_region_maximum() -> None:
    result = run(
        **NO_HEADROOM,
        **{
            "regions.r1.grid.flexible": {"max_mw": 60, "curtailment_share": 0.1},
            "policy.accept_flexible": True,
        },
    )
    assert all(r.flexible_mw <= 60 + 1e-9 for r in result.recorder.regions)
    assert own_requests(result)[0].flexible_connected is None  # 100 MW does not fit in 60


BRIDGE = {"enabled": True, "max_mw_per_site": 40, "lead_time_months": 2}


def test_bridge_without_trigger_comes_after_its_lead_time() -> None:
    # Phase 0 ready at 11: bridge ordered then, on after 2 months (13), 40 MW until the grid.
    result = run(**NO_HEADROOM, **{"end": "2027-06", "bridge": BRIDGE})
    assert events(result, "bridge_ordered", "bridge_on") == [
        (11.0, "bridge_ordered", "d0001"),
        (13.0, "bridge_on", "d0001"),
    ]
    assert {r.month: r.bridge_mw for r in result.recorder.timeseries if r.bridge_mw} == {
        m: 40.0 for m in range(13, 19)
    }


def test_bridge_trigger_pool_and_regional_cap() -> None:
    # Ordered only after waiting 6 months (17); 4 engine units (10 per 100 MW of a 40 MW
    # bridge) from a pool making one a month with a 3-month lead: delivered at 21. The
    # region allows 30 MW of bridge.
    pool = {"lead_time_months": 3, "units_per_year": 12, "units_per_100mw": {"greenfield": 0}}
    result = run(
        **{
            "regions.r1.grid.headroom_mw": 0,
            "regions.r1.grid.upgrades": [{"name": "bank", "mw": 500, "month": 30}],
            "equipment.engines": pool,
            "regions.r1.bridge_max_mw": 30,
            "bridge": {
                **BRIDGE,
                "trigger_slip_months": 6,
                "equipment_pool": "engines",
                "units_per_100mw": 10,
            },
        },
    )
    assert events(result, "bridge_ordered", "bridge_on") == [
        (17.0, "bridge_ordered", "d0001"),
        (21.0, "bridge_on", "d0001"),
    ]
    engines = [e for e in result.recorder.equipment if e.pool == "engines"]
    assert [(e.units, e.ordered, e.delivered) for e in engines] == [(4, 17.0, 21.0)]
    assert max(r.bridge_mw for r in result.recorder.timeseries) == 30.0


def test_a_bridge_trigger_longer_than_the_wait_orders_nothing() -> None:
    # The grid arrives at 22 (headroom at 20, works 2): 11 months after phase 0 was ready.
    result = run(**NO_HEADROOM, **{"bridge": {**BRIDGE, "trigger_slip_months": 12}})
    assert events(result, "bridge_ordered") == []
    assert all(r.bridge_mw == 0 for r in result.recorder.timeseries)


def test_committed_demand_is_served_first() -> None:
    # 100 MW demand, 60% committed; nothing energised until 11: the committed shortfall is
    # 60 MW while the total is 100 MW short, and none once 50 MW are in service at 11.
    result = run(**{"demand.committed_share": 0.6})
    rows = {row.month: row for row in result.recorder.timeseries}
    assert (rows[5].shortfall_mw, rows[5].committed_shortfall_mw) == (100.0, 60.0)
    assert (rows[12].shortfall_mw, rows[12].committed_shortfall_mw) == (50.0, 10.0)
    assert (rows[13].committed_demand_mw, rows[13].committed_shortfall_mw) == (60.0, 0.0)


def test_weibull_withdrawal_times_follow_their_distribution() -> None:
    # 2,000 speculative requests at the start with no study capacity to speak of: each waits
    # until its Weibull time. The share gone by t must be 1 - exp(-(t / scale) ** shape).
    shape, scale = 0.7, 18.0
    scenario = queue_only(
        **{
            "end": "2035-12",
            "regions.r1.grid.queue.study_months": 10_000,
            "regions.r1.grid.competitors": [
                {
                    "name": "speculative",
                    "arrivals_per_year": 0,
                    "initial_requests": 2000,
                    "mw": 1,
                    "withdrawal": {"model": "weibull", "shape": shape, "scale_months": scale},
                },
            ],
        }
    )
    rows = simulate(scenario, 0).recorder.queue
    gone = np.array([q.withdrawn if q.withdrawn is not None else np.inf for q in rows])
    for t in (3.0, 12.0, 36.0):
        expected = 1 - math.exp(-((t / scale) ** shape))
        # 2,000 draws: the binomial standard error is at most 0.011; allow 4 of them.
        assert abs(float((gone <= t).mean()) - expected) < 0.045, t
