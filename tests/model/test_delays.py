"""What held each deal: its months from launch to first power split by cause on the critical path.

Exact traces worked out by hand on the tiny scenario, the identity ``launched + sum(delays) ==
first_power`` on every example scenario and on random durations, and the end of deals that die.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tiny import tiny

from capsim.model.delays import critical_path, delay_months, steps_until
from capsim.model.grid import Request
from capsim.model.world import simulate
from capsim.runs.tables import delay_causes, frames
from capsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_site_path_is_critical_when_the_grid_is_in_first() -> None:
    # Signed at 2 + 3 = 5. Grid: study 5..9, headroom at once, works 9..11: connected at 11.
    # Site: permits 5..6, crew at once, construction 6..10; two transformer units ordered at
    # signing, 6 months' lead: delivered at 11, so phase 0 is ready at 11. Tie: the site.
    deal = simulate(tiny(), 0).recorder.deals[0]
    assert deal.first_power == 11.0
    assert deal.delays == {
        "deal_team_wait": 0.0,
        "stage_sourcing": 2.0,
        "stage_negotiation": 3.0,
        "permitting": 1.0,
        "crew_wait": 0.0,
        "construction": 4.0,
        "equipment_transformer": 1.0,
    }


def test_grid_path_is_critical_when_the_grid_comes_last() -> None:
    # An 8-month study: 5..13, works 13..15; the site was ready at 11 and waited.
    deal = simulate(tiny(**{"regions.r1.grid.queue.study_months": 8}), 0).recorder.deals[0]
    assert deal.first_power == 15.0
    assert deal.delays == {
        "deal_team_wait": 0.0,
        "stage_sourcing": 2.0,
        "stage_negotiation": 3.0,
        "study_wait": 0.0,
        "study": 8.0,
        "headroom_wait": 0.0,
        "connection_works": 2.0,
    }


def test_headroom_wait_counts_when_the_grid_has_no_room_yet() -> None:
    # No headroom until an upgrade at month 20: study ends at 9, headroom granted at 20,
    # works to 22.
    scenario = tiny(
        **{
            "regions.r1.grid.headroom_mw": 0,
            "regions.r1.grid.upgrades": [{"name": "bank", "mw": 500, "month": 20}],
        }
    )
    deal = simulate(scenario, 0).recorder.deals[0]
    assert deal.first_power == 22.0
    assert deal.delays["headroom_wait"] == 11.0
    assert deal.delays["study"] == 4.0 and deal.delays["connection_works"] == 2.0


def test_grid_steps_start_where_the_request_was_filed() -> None:
    request = Request(0, "own", "d", 10.0, 3.0, None, None, None)  # type: ignore[arg-type]
    request.study_start, request.study_end = 4.0, 6.0
    request.headroom_granted, request.connected = 9.0, 12.0
    pre = [("stage_a", 2.0), ("stage_b", 5.0)]
    path = critical_path(0.0, pre, [("construction", 8.0)], request)
    assert path == [
        ("stage_a", 2.0),
        ("stage_b", 3.0),
        ("study_wait", 4.0),
        ("study", 6.0),
        ("headroom_wait", 9.0),
        ("connection_works", 12.0),
    ]
    assert delay_months(0.0, path) == {
        "stage_a": 2.0,
        "stage_b": 1.0,
        "study_wait": 1.0,
        "study": 2.0,
        "headroom_wait": 3.0,
        "connection_works": 3.0,
    }
    assert steps_until([("a", 1.0), ("b", 4.0)], 9.0) == [("a", 1.0), ("b", 4.0)]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_delays_add_up_to_first_power_on_every_example(path: Path) -> None:
    scenario = load_scenario(path, ["replications=2"])
    deals = frames([simulate(scenario, r) for r in range(2)], scenario)["deals"]
    columns = [f"delay_{c}_months" for c in delay_causes(scenario)]
    powered = deals[deals["first_power"].notna()]
    assert len(powered) > 0
    total = powered["launched"] + powered[columns].sum(axis=1)
    assert (total - powered["first_power"]).abs().max() <= 1e-9
    assert (powered[columns] >= 0).all().all()
    assert deals.loc[deals["first_power"].isna(), columns].isna().all().all()


@given(
    study=st.integers(0, 30),
    construction=st.integers(0, 30),
    lead=st.integers(0, 30),
    permits=st.integers(0, 12),
    headroom=st.sampled_from([0.0, 60.0, 1000.0]),
)
def test_delays_add_up_whatever_the_durations(
    study: int, construction: int, lead: int, permits: int, headroom: float
) -> None:
    scenario = tiny(
        **{
            "regions.r1.grid.queue.study_months": study,
            "regions.r1.grid.headroom_mw": headroom,
            "regions.r1.grid.upgrades": [{"name": "bank", "mw": 500, "month": 9}],
            "build.construction_months": construction,
            "build.permitting_months": permits,
            "equipment.transformer.lead_time_months": lead,
            "end": "2029-12",
        }
    )
    for deal in simulate(scenario, 0).recorder.deals:
        if deal.first_power is None:
            assert deal.delays == {}
            continue
        assert math.isclose(
            deal.launched + sum(deal.delays.values()), deal.first_power, abs_tol=1e-9
        )
        assert min(deal.delays.values()) >= 0


def test_deals_that_die_say_when_and_why() -> None:
    scenario = load_scenario(ROOT / "scenarios/apac_2026.yaml", ["replications=1"])
    result = simulate(scenario, 0)
    withdrawn = {q.deal_id: q.withdrawn for q in result.recorder.queue if q.applicant == "own"}
    reasons = set()
    for deal in result.recorder.deals:
        if deal.outcome.startswith("lost_at_"):
            assert deal.ended_reason == deal.outcome
            assert deal.ended_month is not None and deal.launched <= deal.ended_month
            assert deal.signed is None
        elif deal.outcome == "grid_withdrawn":
            assert deal.ended_reason == "grid_withdrawn"
            assert deal.ended_month == withdrawn[deal.deal_id]
        else:
            assert deal.ended_month is None and deal.ended_reason is None
        reasons.add(deal.ended_reason)
    assert "grid_withdrawn" in reasons and any(r and r.startswith("lost_at_") for r in reasons)
