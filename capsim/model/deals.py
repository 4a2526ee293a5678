"""Deals through their stages to signing: sampled durations, survival, and the deal team.

A deal holds one deal-team member through consecutive team stages (waiting for one delays it),
may die at the end of any stage, and places its equipment orders when it reaches the point the
policy chose. A signed deal hands over to the site process. Each deal draws from a stream of its
own, so one more deal launched elsewhere does not change this deal's durations or fate.
"""

from __future__ import annotations

from collections.abc import Generator

import simpy
from simpy.resources.resource import Request

from capsim.model.delays import TEAM_WAIT, stage_cause
from capsim.model.env import FirstOf
from capsim.model.portfolio import Deal, World
from capsim.model.site import file_grid_request, site_process
from capsim.scenario.schema import LAUNCH, SIGNED


def order_index(world: World, deal: Deal) -> int:
    """Where the policy orders equipment for this deal: -1 at launch, a stage index, or signing."""
    point = world.scenario.policy.equipment_order_at
    if point == LAUNCH:
        return -1
    names = [stage.name for stage in deal.kind.stages]
    return names.index(point) if point in names else len(names)


def order_equipment(world: World, deal: Deal) -> None:
    """Place this deal's orders in every pool it needs, once."""
    if deal.equipment_ordered:
        return
    deal.equipment_ordered = True
    for book in world.books.values():
        book.order(deal.deal_id, book.units_for(deal.kind_name, deal.mw))


def start_deal(world: World, deal: Deal, stage_name: str) -> None:
    """Register a deal and start it at ``stage_name`` (a stage, or 'signed' for deals in flight)."""
    world.deals.append(deal)
    names = [stage.name for stage in deal.kind.stages]
    start = len(names) if stage_name == SIGNED else names.index(stage_name)
    deal.stage_index = start
    deal.strand = world.env.event()
    deal.stage_months[LAUNCH] = deal.launched
    if order_index(world, deal) < start:
        order_equipment(world, deal)
    world.recorder.log(world.env.now, "launched", deal.deal_id)
    world.env.process(deal_process(world, deal, start))


def filing_index(deal: Deal) -> int:
    """Stage index at whose entry the deal files its grid request (the stage count: signing)."""
    if not deal.kind.needs_grid:
        return len(deal.kind.stages)
    names = [stage.name for stage in deal.kind.stages]
    point = deal.kind.grid_request_at
    return names.index(point) if point in names else len(names)


def deal_process(world: World, deal: Deal, start: int) -> Generator[simpy.Event, object, None]:
    """Work a deal stage by stage from ``start``; on signing, run its site.

    A deal that filed its grid request early dies if the request withdraws before signing, and
    withdraws its request if it is lost at a stage.
    """
    env = world.env
    rng = world.streams.child(f"deal:{deal.deal_id}")
    held: Request | None = None
    when_to_order = order_index(world, deal)
    when_to_file = filing_index(deal)
    assert deal.strand is not None
    strand = deal.strand
    if when_to_file < start and deal.grid is None:
        file_grid_request(world, deal)
    for index in range(start, len(deal.kind.stages)):
        stage = deal.kind.stages[index]
        deal.stage_index = index
        deal.stage_months[stage.name] = env.now
        if index == when_to_order:
            order_equipment(world, deal)
        if index == when_to_file and deal.grid is None:
            file_grid_request(world, deal)
        if stage.team and held is None:
            held = world.team.request()
            yield FirstOf(env, held, strand)
            if strand.triggered:
                break
            deal.pre_signing.append((TEAM_WAIT, env.now))
        elif not stage.team and held is not None:
            world.team.release(held)
            held = None
        yield FirstOf(env, env.timeout(stage.months.sample(rng)), strand)
        if strand.triggered:
            break
        deal.pre_signing.append((stage_cause(stage.name), env.now))
        if rng.random() >= stage.success:
            deal.lost_at = stage.name
            deal.ended_month = env.now
            deal.ended_reason = f"lost_at_{stage.name}"
            world.recorder.log(env.now, "lost", f"{deal.deal_id}:{stage.name}")
            if deal.grid is not None:
                world.grids[deal.region].withdraw(deal.grid)
            break
    if held is not None:
        if held.triggered:
            world.team.release(held)
        else:
            held.cancel()
    if deal.lost_at is not None or deal.stranded:
        return
    deal.stage_index = len(deal.kind.stages)
    deal.signed = env.now
    deal.stage_months[SIGNED] = env.now
    world.recorder.log(env.now, "signed", deal.deal_id)
    order_equipment(world, deal)
    yield from site_process(world, deal)
