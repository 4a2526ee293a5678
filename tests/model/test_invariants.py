"""Invariants of the model over random valid scenarios, checked during and after each run.

During a run (the environment stepped event by event): grid headroom and every equipment stock
never go negative, and no region's energised MW exceeds its existing MW plus the MW it signed.
After a run: cumulative energised MW never falls, deals and phases conserve MW, stage months are
ordered, and every queue row is a consistent life story.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import pandas as pd
import pytest
from fuzz_support import valid_scenarios
from hypothesis import HealthCheck, given, settings

from capsim.model.monitor import monitor_process
from capsim.model.world import ReplicationResult, build_world, flush
from capsim.runs.tables import frames
from capsim.scenario.schema import Scenario

INVARIANT = settings(
    max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
MAX_STEPS = 300_000
TOL = 1e-6


def simulate_checked(scenario: Scenario) -> dict[str, pd.DataFrame]:
    """Run replication 0 one event at a time, asserting the running invariants after each."""
    world = build_world(scenario, 0)
    env = world.env
    done = env.process(monitor_process(world))
    existing = {name: region.existing_mw for name, region in scenario.regions.items()}
    steps = 0
    while not done.processed:
        env.step()
        steps += 1
        assert steps < MAX_STEPS, "run did not finish in a bounded number of events"
        for name, grid in world.grids.items():
            assert grid.headroom.available_mw >= 0, (name, env.now)
            flexible = scenario.regions[name].grid.flexible
            offered = flexible.max_mw if flexible is not None and grid.accept_flexible else 0.0
            assert -TOL <= grid.flexible_used_mw <= offered + TOL, (name, env.now)
            state = world.regions[name]
            assert -TOL <= state.flexible_mw <= offered + TOL, (name, env.now)
            cap = scenario.regions[name].bridge_max_mw
            assert cap is None or state.bridge_mw <= cap + TOL, (name, env.now)
        for name, book in world.books.items():
            assert book.stock.level >= 0, (name, env.now)
        signed = {name: 0.0 for name in world.regions}
        for deal in world.deals:
            if deal.signed is not None:
                signed[deal.region] += deal.mw
        for name, state in world.regions.items():
            assert state.energized_mw <= existing[name] + signed[name] + TOL, (name, env.now)
    flush(world)
    return frames([ReplicationResult(0, world.recorder, steps)], scenario)


def _ordered(values: list[Any]) -> bool:
    """Whether the non-missing values are non-decreasing."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return all(a <= b + TOL for a, b in itertools.pairwise(present))


@pytest.mark.slow
@INVARIANT
@given(data=valid_scenarios())
def test_model_invariants_hold_during_and_after_a_run(data: dict[str, Any]) -> None:
    scenario = Scenario.model_validate(data)
    tables = simulate_checked(scenario)

    energized = tables["timeseries"]["energized_mw"].to_numpy()
    assert (energized[1:] >= energized[:-1] - TOL).all(), "energised MW fell"
    existing = sum(region.existing_mw for region in scenario.regions.values())
    assert energized.min() >= existing - TOL

    deals = tables["deals"]
    assert ((deals["energized_mw"] >= 0) & (deals["energized_mw"] <= deals["mw"] + TOL)).all()
    for row in deals.to_dict("records"):
        stages = [s.name for s in scenario.deal_kinds[row["kind"]].stages]
        months = [
            row["launched"],
            *(row[f"entered_{s}"] for s in stages),
            row["signed"],
            row["entered_construction"],
            row["first_power"],
            row["full_power"],
        ]
        assert _ordered(months), row
        if not pd.isna(row["full_power"]):
            assert row["energized_mw"] >= row["mw"] - TOL, row
        if pd.isna(row["signed"]):
            assert row["energized_mw"] == 0 and pd.isna(row["first_power"]), row

    regions = tables["regions"]
    curtailment = {name: region.grid.curtailment_share for name, region in scenario.regions.items()}
    net = (
        regions["energized_mw"]
        + regions["bridge_mw"]
        + regions["flexible_mw"] * (1 - regions["region"].map(curtailment))
    )
    by_month = net.groupby(regions["month"]).sum()
    capacity = tables["timeseries"].set_index("month")["capacity_mw"]
    assert (by_month - capacity).abs().max() <= 1e-6 * max(1.0, capacity.abs().max())

    queue = tables["queue"]
    for row in queue.to_dict("records"):
        assert row["refunded_usd"] <= row["deposit_usd"] + TOL, row
        if row["refunded_usd"] > 0:
            assert not pd.isna(row["withdrawn"]), row
        steps = [
            row["arrived"],
            row["study_start"],
            row["study_end"],
            row["headroom_granted"],
            row["connected"],
        ]
        assert _ordered(steps), row
        connected, withdrawn = not pd.isna(row["connected"]), not pd.isna(row["withdrawn"])
        assert not (connected and withdrawn), row
        if withdrawn:
            assert row["withdrawn"] >= row["arrived"] - TOL, row
        if connected:
            assert not pd.isna(row["headroom_granted"]), row


def test_phases_sum_to_the_deal_and_stay_bounded() -> None:
    from capsim.model.site import MAX_PHASES, phase_sizes_mw

    for total, phase in [(100.0, 40.0), (120.0, 40.0), (0.5, 40.0), (1e9, 1e-3), (math.inf, 1.0)]:
        sizes = phase_sizes_mw(total, phase)
        assert 1 <= len(sizes) <= MAX_PHASES
        assert all(size > 0 for size in sizes)
        assert math.isclose(sum(sizes), total, rel_tol=1e-9) or math.isinf(total)
        if total / phase <= MAX_PHASES:
            assert all(size <= phase + TOL for size in sizes)
