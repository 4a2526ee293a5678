"""Month-end snapshots: demand against capacity, per region, and the month's money.

Region-bound demand can only be served by capacity in its region; the rest by any capacity left,
spread over the regions' spare capacity in proportion to it. Energy is paid where it is served:
each region's capacity is costed at that region's prices times the share of it that serves
demand. Bridge power adds its premium, unserved demand costs its lost margin, and capex is booked
as phases energise.
"""

from __future__ import annotations

from collections.abc import Generator

import simpy

from capsim.model.portfolio import World
from capsim.model.records import RegionRow, TimeseriesRow

HOURS_PER_MONTH = 730.0


def served_by_region_mw(
    total_demand_mw: float, bound_mw: dict[str, float], capacity_mw: dict[str, float]
) -> dict[str, float]:
    """MW of demand each region serves: its bound demand first, then a share of the free demand.

    Free demand is spread over the regions' spare capacity in proportion to that spare, so a
    region's energy is paid only on what it serves.
    """
    spare = {r: max(0.0, capacity_mw[r] - bound_mw.get(r, 0.0)) for r in capacity_mw}
    spare_total = sum(spare.values())
    free_demand = max(0.0, total_demand_mw - sum(bound_mw.values()))
    free_served = min(free_demand, spare_total)
    return {
        r: min(bound_mw.get(r, 0.0), capacity_mw[r])
        + (free_served * spare[r] / spare_total if spare_total > 0 else 0.0)
        for r in capacity_mw
    }


def monitor_process(world: World) -> Generator[simpy.Event, object, None]:
    """Record one snapshot at the end of every month up to the horizon."""
    for month in range(1, world.horizon_months + 1):
        yield world.env.timeout(1.0)
        snapshot(world, month)


def snapshot(world: World, month: int) -> None:
    """Append the month-end rows for ``month`` (1 = end of the start month)."""
    demand = world.demand
    scenario = world.scenario
    total_mw = demand.facility_mw(float(month))
    bound = {r: demand.bound_mw(r, total_mw) for r in demand.bound_shares}
    capacity = {
        r: s.energized_mw
        + s.bridge_mw
        + s.flexible_mw * (1.0 - scenario.regions[r].grid.curtailment_share)
        for r, s in world.regions.items()
    }
    capacity_mw = sum(capacity.values())
    served_by_region = served_by_region_mw(total_mw, bound, capacity)
    shortfall = max(0.0, total_mw - sum(served_by_region.values()))
    energy_usd = 0.0
    bridge_usd = 0.0
    energized_mw = 0.0
    bridge_mw = 0.0
    flexible_mw = 0.0
    curtailed_mwh = 0.0
    for name, state in world.regions.items():
        spec = scenario.regions[name]
        utilisation = served_by_region[name] / capacity[name] if capacity[name] > 0 else 0.0
        energized_mw += state.energized_mw
        bridge_mw += state.bridge_mw
        flexible_mw += state.flexible_mw
        curtailed_mwh += state.flexible_mw * spec.grid.curtailment_share * HOURS_PER_MONTH
        energy_usd += (state.energy_usd_per_h + state.bridge_mw * spec.energy_usd_per_mwh) * (
            HOURS_PER_MONTH * utilisation
        )
        bridge_usd += (
            state.bridge_mw
            * scenario.bridge.premium_usd_per_mwh
            * spec.cost_multipliers.bridge
            * HOURS_PER_MONTH
            * utilisation
        )
        grid = world.grids[name]
        coloc = world.colocation.get(name)
        world.recorder.regions.append(
            RegionRow(
                month=month,
                region=name,
                demand_mw=bound.get(name, 0.0),
                energized_mw=state.energized_mw,
                bridge_mw=state.bridge_mw,
                flexible_mw=state.flexible_mw,
                under_construction_mw=state.under_construction_mw,
                queued_mw=grid.own_queued_mw,
                contracted_mw=state.contracted_mw,
                headroom_mw=grid.headroom.available_mw,
                colocation_available_mw=float(coloc.level) if coloc is not None else 0.0,
            )
        )
    committed_mw = total_mw * scenario.demand.committed_share
    served_mw = total_mw - shortfall
    queue_fees_usd, reservation_usd = world.ledger.drain()
    world.recorder.timeseries.append(
        TimeseriesRow(
            month=month,
            demand_mw=total_mw,
            region_bound_demand_mw=sum(bound.values()),
            energized_mw=energized_mw,
            bridge_mw=bridge_mw,
            flexible_mw=flexible_mw,
            capacity_mw=capacity_mw,
            shortfall_mw=shortfall,
            committed_demand_mw=committed_mw,
            committed_shortfall_mw=max(0.0, committed_mw - served_mw),
            curtailed_mwh=curtailed_mwh,
            shock_it_mw=demand.shock_it_mw,
            capex_usd=world.capex_usd_pending,
            energy_usd=energy_usd,
            bridge_premium_usd=bridge_usd,
            queue_fees_usd=queue_fees_usd,
            reservation_usd=reservation_usd,
            unserved_usd=shortfall * scenario.money.unserved_usd_per_mw_month,
        )
    )
    world.capex_usd_pending = 0.0
