"""A signed deal becoming power: grid request, space or build, phases, equipment and bridge.

On signing a site files its grid request (if its kind needs one) and, in parallel, either takes
leasable space (colocation), or is permitted and built by one of the region's crews. Phases are
built at intervals; each energises only when it is built, its equipment units are drawn from the
shared stock, and the grid connection is in. A built site still waiting for the grid can run on
bridge power (after its lead time) until the grid arrives.

A site whose grid request withdraws is stranded: it stops where it stands (permitting, waiting
for a crew or for space, construction, the next phase), gives back its crew, draws no more
equipment units, and any bridge power it ran is switched off. Bridge power runs only while a
live request waits for the grid.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import simpy
from simpy.resources.resource import Request

from capsim.model.delays import (
    COLOCATION_WAIT,
    CONSTRUCTION,
    CREW_WAIT,
    FIT_OUT,
    PERMITTING,
    PHASE_GAP,
    equipment_cause,
)
from capsim.model.env import FirstOf
from capsim.model.portfolio import Deal, World
from capsim.model.units import MW_EPS, settle_mw

#: Most phases one site is split into; beyond it phases grow so that a site stays bounded work.
MAX_PHASES = 1000


def phase_sizes_mw(total_mw: float, phase_mw: float) -> list[float]:
    """Split a site into phases of ``phase_mw`` (the last one takes the remainder).

    A site that would need more than ``MAX_PHASES`` phases (a huge draw of a heavy-tailed size,
    or a tiny phase) is split into ``MAX_PHASES`` equal phases instead, so memory stays bounded.
    """
    count = total_mw / phase_mw - 1e-9
    if not count <= MAX_PHASES:  # also catches an infinite or NaN size
        return [total_mw / MAX_PHASES] * MAX_PHASES
    count = max(1, math.ceil(count))
    sizes = [phase_mw] * (count - 1)
    sizes.append(total_mw - phase_mw * (count - 1))
    return sizes


def site_process(world: World, deal: Deal) -> Generator[simpy.Event, object, None]:
    """Take a signed deal through space or build, phase by phase, to energisation."""
    env = world.env
    kind = deal.kind
    rng = world.streams.child(f"build:{deal.deal_id}")
    region = world.regions[deal.region]
    spec = world.scenario.regions[deal.region]
    deal.energy_usd_per_mwh = (
        kind.energy_usd_per_mwh if kind.energy_usd_per_mwh is not None else spec.energy_usd_per_mwh
    )
    region.contracted_mw += deal.mw
    if kind.needs_grid and deal.grid is None:
        file_grid_request(world, deal)
    strand = deal.strand
    assert strand is not None, "start_deal sets up the strand event"
    phases = phase_sizes_mw(deal.mw, kind.phase_mw)
    gap_months = kind.months_between_phases.sample(rng)
    crew: Request | None = None
    path = deal.site_path
    if kind.uses_colocation:
        space = world.colocation[deal.region].get(deal.mw)
        yield FirstOf(env, space, strand)
        if not space.triggered:
            space.cancel()
            return
        path.append((COLOCATION_WAIT, env.now))
        yield FirstOf(env, env.timeout(kind.fit_out_months.sample(rng)), strand)
        path.append((FIT_OUT, env.now))
    elif kind.needs_build:
        build = world.scenario.build
        yield FirstOf(
            env, env.timeout(build.permitting_months.sample(rng) * kind.build_time_factor), strand
        )
        if strand.triggered:
            return
        path.append((PERMITTING, env.now))
        crew = world.crews[deal.region].request()
        yield FirstOf(env, crew, strand)
        if strand.triggered:
            _give_back_crew(world, deal, crew)
            return
        path.append((CREW_WAIT, env.now))
        deal.stage_months["construction"] = env.now
        region.under_construction_mw += deal.mw
        yield FirstOf(
            env, env.timeout(build.construction_months.sample(rng) * kind.build_time_factor), strand
        )
        path.append((CONSTRUCTION, env.now))
    else:
        yield FirstOf(env, env.timeout(kind.fit_out_months.sample(rng)), strand)
        path.append((FIT_OUT, env.now))
    built_mw = 0.0
    for index, mw in enumerate(phases):
        if index > 0 and not strand.triggered:
            gap = env.timeout(gap_months * (kind.build_time_factor if kind.needs_build else 1.0))
            yield FirstOf(env, gap, strand)
        if strand.triggered:
            break
        built_mw += mw
        deal.phase_built.append(env.now)
        if crew is not None:
            region.under_construction_mw = settle_mw(region.under_construction_mw - mw)
        world.recorder.log(env.now, "built", f"{deal.deal_id}#{index}")
        env.process(_phase(world, deal, index, mw, built_mw, strand))
    if crew is not None:
        region.under_construction_mw = settle_mw(
            region.under_construction_mw - (deal.mw - built_mw if strand.triggered else 0.0)
        )
        _give_back_crew(world, deal, crew)


def file_grid_request(world: World, deal: Deal) -> None:
    """File the deal's grid request now (or take over a held place) and watch its fate."""
    assert deal.strand is not None, "start_deal sets up the strand event"
    deal.grid = world.grids[deal.region].file_for_deal(deal.deal_id, deal.mw)
    world.env.process(_watch_grid(world, deal, deal.strand))


def _give_back_crew(world: World, deal: Deal, crew: Request) -> None:
    """Release a crew held (or still awaited) by this site, so the next site can have it."""
    if crew.triggered:
        world.crews[deal.region].release(crew)
    else:
        crew.cancel()


def _phase(
    world: World, deal: Deal, index: int, mw: float, cumulative_mw: float, strand: simpy.Event
) -> Generator[simpy.Event, object, None]:
    """Draw the phase's equipment from stock, then energise once the grid is in.

    A stranded site stops drawing units: a draw still waiting is withdrawn, so the stock goes to
    sites that can still be energised. The phase keeps its own path from signing to ready (site
    steps, phase gaps, equipment waits by pool), which becomes the deal's if it powers first.
    """
    path = [*deal.site_path, *((PHASE_GAP, t) for t in deal.phase_built[1 : index + 1])]
    for book in world.books.values():
        units = book.units_for(deal.kind_name, cumulative_mw) - book.units_for(
            deal.kind_name, cumulative_mw - mw
        )
        if units <= 0:
            continue
        if strand.triggered:
            return
        draw = book.stock.get(units)
        yield FirstOf(world.env, draw, strand)
        if not draw.triggered:
            draw.cancel()
            return
        if strand.triggered:  # drawn in the same instant the request withdrew: hand them back
            book.stock.put(units)
            return
        path.append((equipment_cause(book.name), world.env.now))
    deal.ready_mw += mw
    grid = deal.grid
    if grid is not None and grid.connected is None:
        if world.scenario.bridge.enabled and not deal.bridge_ordered and _grid_pending(deal):
            deal.bridge_ordered = True
            world.env.process(_bridge(world, deal))
        _update_bridge(world, deal)
        if grid.flexible_connected is None:
            yield FirstOf(world.env, grid.done, grid.flexible_ready)
        if grid.withdrawn is not None:
            return
        if grid.connected is None:  # a non-firm connection carries power first
            if deal.first_power is None:
                deal.first_phase_path = path
            _energize(world, deal, mw, flexible=True)
            connected = yield grid.done
            assert connected, "a flexible connection in service is never withdrawn"
            _make_firm(world, deal, mw)
            return
    if deal.first_power is None:
        deal.first_phase_path = path
    _energize(world, deal, mw)


def _grid_pending(deal: Deal) -> bool:
    """The site has a grid request that is still alive and not yet connected."""
    return deal.grid is not None and deal.grid.connected is None and deal.grid.withdrawn is None


def _watch_grid(
    world: World, deal: Deal, strand: simpy.Event
) -> Generator[simpy.Event, object, None]:
    """Retire bridge power when the grid arrives; strand the site if the request withdraws."""
    assert deal.grid is not None
    connected = yield deal.grid.done
    if not connected and deal.lost_at is None:
        deal.stranded = True
        deal.ended_month = world.env.now
        deal.ended_reason = "grid_withdrawn"
        if deal.signed is not None:
            region = world.regions[deal.region]
            region.contracted_mw = settle_mw(region.contracted_mw - (deal.mw - deal.energized_mw))
        strand.succeed()
    _update_bridge(world, deal)


def _bridge(world: World, deal: Deal) -> Generator[simpy.Event, object, None]:
    """Bring in on-site generation for a built site still waiting for its grid.

    With a trigger, it is ordered only once the site has waited that long for the grid. Its
    lead time runs from the order; with an equipment pool, its units are ordered on that pool's
    book and drawn from our stock too, and go back to the stock when the grid arrives.
    """
    spec = world.scenario.bridge
    env = world.env
    grid = deal.grid
    assert grid is not None
    if spec.trigger_slip_months > 0:
        yield env.timeout(spec.trigger_slip_months) | grid.done | grid.flexible_ready
        if not _grid_pending(deal) or grid.flexible_connected is not None:
            return
    world.recorder.log(env.now, "bridge_ordered", deal.deal_id)
    lead = spec.lead_time_months.sample(world.streams.child(f"bridge:{deal.deal_id}"))
    ready = env.timeout(lead)
    book = world.books.get(spec.equipment_pool) if spec.equipment_pool is not None else None
    if book is not None:
        units = math.ceil(spec.units_per_100mw * min(spec.max_mw_per_site, deal.mw) / 100 - 1e-9)
        book.order(f"{deal.deal_id}:bridge", units)
        draw = book.stock.get(units)
        yield FirstOf(env, draw, grid.done)
        if not draw.triggered:
            draw.cancel()
            return
        deal.bridge_units = units
        if not _grid_pending(deal):
            _return_bridge_units(world, deal)
            return
    yield ready
    if _grid_pending(deal):
        deal.bridge_online = True
        deal.stage_months["bridge"] = env.now
        world.recorder.log(env.now, "bridge_on", deal.deal_id)
        _update_bridge(world, deal)
    else:
        _return_bridge_units(world, deal)


def _return_bridge_units(world: World, deal: Deal) -> None:
    """Put a retired bridge's units back in the stock, for the next site that needs them."""
    pool = world.scenario.bridge.equipment_pool
    if deal.bridge_units > 0 and pool is not None:
        world.books[pool].stock.put(deal.bridge_units)
        deal.bridge_units = 0


def _update_bridge(world: World, deal: Deal) -> None:
    """Bridge serves built-and-equipped MW awaiting a live grid request, up to the site maximum.

    A region's limit on bridge power (permits, fuel) caps the sum over its sites; when one site's
    bridge shrinks, the others waiting under the cap may grow into the room.
    """
    target = 0.0
    if deal.bridge_online and _grid_pending(deal):
        target = min(world.scenario.bridge.max_mw_per_site, deal.ready_mw - deal.energized_mw)
    region = world.regions[deal.region]
    cap_mw = world.scenario.regions[deal.region].bridge_max_mw
    if cap_mw is not None:
        target = max(0.0, min(target, cap_mw - (region.bridge_mw - deal.bridge_mw)))
    shrinking = target < deal.bridge_mw - MW_EPS
    region.bridge_mw = settle_mw(region.bridge_mw + target - deal.bridge_mw)
    deal.bridge_mw = target
    if deal.bridge_online and not _grid_pending(deal):
        deal.bridge_online = False
        _return_bridge_units(world, deal)
    if shrinking and cap_mw is not None:
        for other in world.deals:
            if other is not deal and other.region == deal.region and other.bridge_online:
                _grow_bridge(world, other, cap_mw)


def _grow_bridge(world: World, deal: Deal, cap_mw: float) -> None:
    """Let a waiting site's bridge take room freed under its region's cap (never shrinks it)."""
    region = world.regions[deal.region]
    wanted = min(world.scenario.bridge.max_mw_per_site, deal.ready_mw - deal.energized_mw)
    room = cap_mw - region.bridge_mw
    grow = max(0.0, min(wanted - deal.bridge_mw, room))
    if grow > MW_EPS and _grid_pending(deal):
        region.bridge_mw = settle_mw(region.bridge_mw + grow)
        deal.bridge_mw += grow


def _energize(world: World, deal: Deal, mw: float, flexible: bool = False) -> None:
    """Put a phase in service: firm, or non-firm (flexible) with part of its energy curtailed."""
    now = world.env.now
    region = world.regions[deal.region]
    spec = world.scenario.regions[deal.region]
    if flexible:
        region.flexible_mw += mw
        deal.flexible_mw += mw
        region.energy_usd_per_h += (
            mw * deal.energy_usd_per_mwh * (1.0 - spec.grid.curtailment_share)
        )
    else:
        region.energized_mw += mw
        region.energy_usd_per_h += mw * deal.energy_usd_per_mwh
    region.contracted_mw = settle_mw(region.contracted_mw - mw)
    world.capex_usd_pending += mw * deal.kind.capex_usd_per_mw * spec.cost_multipliers.capex
    deal.energized_mw = min(deal.mw, deal.energized_mw + mw)  # phases may sum an ulp over
    if deal.first_power is None:
        deal.first_power = now
    if deal.energized_mw >= deal.mw - MW_EPS:
        deal.full_power = now
    _update_bridge(world, deal)
    world.recorder.log(now, "flexible_on" if flexible else "energized", f"{deal.deal_id}+{mw:g}")


def _make_firm(world: World, deal: Deal, mw: float) -> None:
    """A flexible phase becomes firm when the grid grants headroom: no more curtailment."""
    region = world.regions[deal.region]
    spec = world.scenario.regions[deal.region]
    region.flexible_mw = settle_mw(region.flexible_mw - mw)
    deal.flexible_mw = settle_mw(deal.flexible_mw - mw)
    region.energized_mw += mw
    region.energy_usd_per_h += mw * deal.energy_usd_per_mwh * spec.grid.curtailment_share
    world.recorder.log(world.env.now, "firm", f"{deal.deal_id}+{mw:g}")
