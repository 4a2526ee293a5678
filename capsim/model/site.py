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

from capsim.model.portfolio import Deal, World
from capsim.model.records import OWN
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
    strand = env.event()
    if kind.needs_grid:
        deal.grid = world.grids[deal.region].submit(OWN, deal.mw, deal.deal_id)
        env.process(_watch_grid(world, deal, strand))
    phases = phase_sizes_mw(deal.mw, kind.phase_mw)
    gap_months = kind.months_between_phases.sample(rng)
    crew: Request | None = None
    if kind.uses_colocation:
        space = world.colocation[deal.region].get(deal.mw)
        yield space | strand
        if not space.triggered:
            space.cancel()
            return
        yield env.timeout(kind.fit_out_months.sample(rng)) | strand
    elif kind.needs_build:
        build = world.scenario.build
        yield env.timeout(build.permitting_months.sample(rng) * kind.build_time_factor) | strand
        if strand.triggered:
            return
        crew = world.crews[deal.region].request()
        yield crew | strand
        if strand.triggered:
            _give_back_crew(world, deal, crew)
            return
        deal.stage_months["construction"] = env.now
        region.under_construction_mw += deal.mw
        yield env.timeout(build.construction_months.sample(rng) * kind.build_time_factor) | strand
    else:
        yield env.timeout(kind.fit_out_months.sample(rng)) | strand
    built_mw = 0.0
    for index, mw in enumerate(phases):
        if index > 0 and not strand.triggered:
            yield (
                env.timeout(gap_months * (kind.build_time_factor if kind.needs_build else 1.0))
                | strand
            )
        if strand.triggered:
            break
        built_mw += mw
        if crew is not None:
            region.under_construction_mw = settle_mw(region.under_construction_mw - mw)
        world.recorder.log(env.now, "built", f"{deal.deal_id}#{index}")
        env.process(_phase(world, deal, mw, built_mw, strand))
    if crew is not None:
        region.under_construction_mw = settle_mw(
            region.under_construction_mw - (deal.mw - built_mw if strand.triggered else 0.0)
        )
        _give_back_crew(world, deal, crew)


def _give_back_crew(world: World, deal: Deal, crew: Request) -> None:
    """Release a crew held (or still awaited) by this site, so the next site can have it."""
    if crew.triggered:
        world.crews[deal.region].release(crew)
    else:
        crew.cancel()


def _phase(
    world: World, deal: Deal, mw: float, cumulative_mw: float, strand: simpy.Event
) -> Generator[simpy.Event, object, None]:
    """Draw the phase's equipment from stock, then energise once the grid is in.

    A stranded site stops drawing units: a draw still waiting is withdrawn, so the stock goes to
    sites that can still be energised.
    """
    for book in world.books.values():
        units = book.units_for(deal.kind_name, cumulative_mw) - book.units_for(
            deal.kind_name, cumulative_mw - mw
        )
        if units <= 0:
            continue
        if strand.triggered:
            return
        draw = book.stock.get(units)
        yield draw | strand
        if not draw.triggered:
            draw.cancel()
            return
        if strand.triggered:  # drawn in the same instant the request withdrew: hand them back
            book.stock.put(units)
            return
    deal.ready_mw += mw
    if deal.grid is not None and deal.grid.connected is None:
        if world.scenario.bridge.enabled and not deal.bridge_ordered and _grid_pending(deal):
            deal.bridge_ordered = True
            world.env.process(_bridge(world, deal))
        _update_bridge(world, deal)
        connected = yield deal.grid.done
        if not connected:
            return
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
    if not connected:
        deal.stranded = True
        region = world.regions[deal.region]
        region.contracted_mw = settle_mw(region.contracted_mw - (deal.mw - deal.energized_mw))
        strand.succeed()
    _update_bridge(world, deal)


def _bridge(world: World, deal: Deal) -> Generator[simpy.Event, object, None]:
    """Bring in on-site generation after its lead time, if the request still waits for grid."""
    lead = world.scenario.bridge.lead_time_months.sample(
        world.streams.child(f"bridge:{deal.deal_id}")
    )
    yield world.env.timeout(lead)
    if _grid_pending(deal):
        deal.bridge_online = True
        deal.stage_months["bridge"] = world.env.now
        world.recorder.log(world.env.now, "bridge_on", deal.deal_id)
        _update_bridge(world, deal)


def _update_bridge(world: World, deal: Deal) -> None:
    """Bridge serves built-and-equipped MW awaiting a live grid request, up to the site maximum."""
    target = 0.0
    if deal.bridge_online and _grid_pending(deal):
        target = min(world.scenario.bridge.max_mw_per_site, deal.ready_mw - deal.energized_mw)
    region = world.regions[deal.region]
    region.bridge_mw = settle_mw(region.bridge_mw + target - deal.bridge_mw)
    deal.bridge_mw = target


def _energize(world: World, deal: Deal, mw: float) -> None:
    now = world.env.now
    region = world.regions[deal.region]
    spec = world.scenario.regions[deal.region]
    region.energized_mw += mw
    region.contracted_mw = settle_mw(region.contracted_mw - mw)
    region.energy_usd_per_h += mw * deal.energy_usd_per_mwh
    world.capex_usd_pending += mw * deal.kind.capex_usd_per_mw * spec.cost_multipliers.capex
    deal.energized_mw = min(deal.mw, deal.energized_mw + mw)  # phases may sum an ulp over
    if deal.first_power is None:
        deal.first_power = now
    if deal.energized_mw >= deal.mw - MW_EPS:
        deal.full_power = now
    _update_bridge(world, deal)
    world.recorder.log(now, "energized", f"{deal.deal_id}+{mw:g}")
