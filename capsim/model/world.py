"""Build one replication's world from a scenario and run it to the horizon.

This is the model's only entry point: ``simulate(scenario, replication)`` returns the flat
records and the number of events processed. The generator streams depend only on the scenario
seed and the replication index, so a replication's result never depends on who ran it.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import simpy

from capsim.model.buffer import buffer_process
from capsim.model.correlated import pin_correlated_draws
from capsim.model.deals import start_deal
from capsim.model.delays import critical_path, delay_months
from capsim.model.demand import DemandPath, shock_process
from capsim.model.env import CountingEnvironment, Streams
from capsim.model.equipment import EquipmentBook
from capsim.model.grid import GridQueue
from capsim.model.ledger import Ledger
from capsim.model.monitor import monitor_process
from capsim.model.policy import policy_process
from capsim.model.portfolio import Deal, RegionState, World
from capsim.model.records import DealRow, Recorder
from capsim.scenario.schema import LAUNCH, SIGNED, Scenario


@dataclass(frozen=True)
class ReplicationResult:
    """What one replication produced."""

    replication: int
    recorder: Recorder
    events: int


def build_world(scenario: Scenario, replication: int, trace: bool = False) -> World:
    """Create the environment, resources and processes of one replication (not yet run)."""
    scenario = pin_correlated_draws(scenario, replication)  # correlated fields: this run's draws
    env = CountingEnvironment()
    streams = Streams(scenario.seed, replication)
    recorder = Recorder(trace=[] if trace else None)
    horizon = scenario.horizon_months
    demand = DemandPath(scenario.demand, streams.get("demand"))
    ledger = Ledger()
    grids = {
        name: GridQueue(
            env, name, region, streams, horizon, recorder, ledger, scenario.policy.accept_flexible
        )
        for name, region in scenario.regions.items()
    }
    books = {
        name: EquipmentBook(
            env,
            name,
            pool,
            streams.get(f"equipment:{name}"),
            horizon,
            recorder,
            ledger,
            scenario.policy.equipment_reservations.get(name),
        )
        for name, pool in scenario.equipment.items()
    }
    crews = {
        name: simpy.Resource(env, capacity=region.crews or scenario.build.crews)
        for name, region in scenario.regions.items()
    }
    colocation = {
        name: simpy.Container(env, init=region.colocation.available_mw, capacity=float("inf"))
        for name, region in scenario.regions.items()
        if region.colocation is not None
    }
    regions = {}
    for name, region in scenario.regions.items():
        regions[name] = RegionState(
            energized_mw=region.existing_mw,
            energy_usd_per_h=region.existing_mw * region.energy_usd_per_mwh,
        )
    world = World(
        env=env,
        scenario=scenario,
        streams=streams,
        recorder=recorder,
        demand=demand,
        horizon_months=horizon,
        grids=grids,
        books=books,
        crews=crews,
        team=simpy.Resource(env, capacity=scenario.deal_team.size),
        colocation=colocation,
        regions=regions,
        ledger=ledger,
    )
    for shock in scenario.demand.shocks:
        env.process(
            shock_process(env, demand, shock, streams.get(f"shock:{shock.name}"), horizon, recorder)
        )
    for name, region in scenario.regions.items():
        monthly_mw = region.colocation.new_supply_mw_per_year / 12 if region.colocation else 0.0
        if monthly_mw > 0:  # a subnormal yearly figure can divide to exactly zero
            env.process(_colocation_supply(world, name, monthly_mw))
    for known in scenario.deals_in_flight:
        kind = scenario.deal_kinds[known.kind]
        deal = Deal(known.id, known.kind, kind, known.region, known.mw, True, 0.0)
        start_deal(world, deal, known.stage)
    env.process(policy_process(world))
    if scenario.policy.queue_buffer_mw:
        env.process(buffer_process(world))
    return world


def _colocation_supply(
    world: World, region: str, monthly_mw: float
) -> Generator[simpy.Event, object, None]:
    """New leasable space arriving month by month."""
    market = world.colocation[region]
    for _ in range(world.horizon_months):
        yield world.env.timeout(1.0)
        market.put(monthly_mw)


def simulate(scenario: Scenario, replication: int, trace: bool = False) -> ReplicationResult:
    """Run replication ``replication`` of ``scenario`` to its horizon and return its records."""
    world = build_world(scenario, replication, trace=trace)
    env = world.env
    assert isinstance(env, CountingEnvironment)
    env.run_until(env.process(monitor_process(world)))
    flush(world)
    return ReplicationResult(replication, world.recorder, env.events_processed)


def _delays(deal: Deal) -> dict[str, float]:
    """A powered deal's months from launch to first power by cause (empty if never powered)."""
    if deal.first_power is None:
        return {}
    path = critical_path(deal.launched, deal.pre_signing, deal.first_phase_path, deal.grid)
    return delay_months(deal.launched, path)


def flush(world: World) -> None:
    """Move the per-object state (requests, orders, deals) into flat records."""
    for grid in world.grids.values():
        grid.flush()
    for book in world.books.values():
        book.flush(world.horizon_months)
    for deal in world.deals:
        stages = {k: v for k, v in deal.stage_months.items() if k not in (LAUNCH, SIGNED)}
        world.recorder.deals.append(
            DealRow(
                deal_id=deal.deal_id,
                kind=deal.kind_name,
                region=deal.region,
                mw=deal.mw,
                in_flight=deal.in_flight,
                launched=deal.launched,
                stage_months=stages,
                signed=deal.signed,
                outcome=deal.outcome(),
                grid_connected=deal.grid.connected if deal.grid is not None else None,
                first_power=deal.first_power,
                full_power=deal.full_power,
                energized_mw=deal.energized_mw,
                ended_month=deal.ended_month,
                ended_reason=deal.ended_reason,
                delays=_delays(deal),
            )
        )
