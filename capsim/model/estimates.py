"""What the policy expects of a new deal before launching it: months to first power, cost per MW.

Both estimates read the state of the world and the scenario's distribution means only; they draw
no random numbers, so ranking candidates never shifts anyone's draws.

**Months from launch to first power** (``months_to_power_estimate``) of a deal of mean size
launched now: its stages (the mean of each stage's duration), then the latest of three paths
that the model runs in parallel, each from the point where the deal starts it:

- the **grid path** (kinds that need grid), from filing (signing, or entry to the kind's
  ``grid_request_at`` stage): a study wait (requests in the region's queue that have not started
  their study, divided by the study slots, times the mean study; half a window in cluster mode),
  the mean study, a headroom wait and the mean works. The headroom wait covers the MW of live
  requests not yet granted headroom plus ours, beyond the headroom available now: upgrades not
  yet due (at their mean month) are added in the order they fall due, and the wait runs from the
  end of our study to the mean month of the upgrade that covers it, or is the horizon (a
  penalty) if no upgrade ever does;
- the **site path**, from signing: permitting and construction means times the kind's
  ``build_time_factor``, plus a crew wait (sites holding or awaiting one of the region's crews,
  divided by the crews, times the mean construction); fit-out for kinds without a build, after a
  space wait for colocation (the MW short in the market, over its new supply a month, less the
  months to signing; the horizon if no supply comes);
- the **equipment path**, from the policy's ordering point (launch, a stage or signing): per pool
  the kind needs, the months until units ordered now would be delivered (unclaimed reserved
  units at their delivery months; the rest after the factory queue ahead plus their own making,
  or the mean lead time, whichever is later), the latest pool counting.

Our own deals launched earlier stand ahead of the new one in every line they have not reached
yet, each at its expected size (MW or units times its chance of surviving its remaining
stages): in the study count and headroom MW until they file, the colocation MW until they sign
(signed ones waiting for space are in the market's line), the crew count until they are
permitted, and the factory units until they order. Otherwise the lines seen now stand for those
the deal will meet (arrivals replace departures); only grid upgrades and colocation supply,
whose timing is known in expectation, are placed in time.

**Expected cash cost per MW** (``cost_per_mw_estimate``): capex per MW times the region's capex
multiplier, plus one year of energy (the kind's own price if it has one, else the region's,
times 730 h x 12), plus, for kinds that need grid, the region's queue deposit and milestone
payments per MW; all divided by the chance of surviving the kind's stages (infinite if nil).
"""

from __future__ import annotations

import math
from typing import cast

from capsim.model.delays import PERMITTING
from capsim.model.monitor import HOURS_PER_MONTH
from capsim.model.portfolio import Deal, World
from capsim.scenario.schema import LAUNCH, SIGNED, DealKind, DealKindName

_EPS_MW = 1e-9


def _kind(world: World, kind_name: str) -> DealKind:
    """The deal kind called ``kind_name`` in the scenario."""
    return world.scenario.deal_kinds[cast(DealKindName, kind_name)]


def _months_before(kind: DealKind, point: str) -> float:
    """Mean months from launch to ``point``: 'launch', entry to a stage, else signing."""
    if point == LAUNCH:
        return 0.0
    months = 0.0
    for stage in kind.stages:
        if stage.name == point:
            return months
        months += stage.months.mean()
    return months


def months_to_power_estimate(world: World, region: str, kind_name: str) -> float:
    """Expected months from launching a deal of this kind in ``region`` now to its first power."""
    kind = _kind(world, kind_name)
    mw = kind.size_mw.mean()
    signed_months = _months_before(kind, SIGNED)
    site_done = signed_months + _site_path_months(world, region, kind, mw, signed_months)
    equipment_point = world.scenario.policy.equipment_order_at
    equipment_done = _months_before(kind, equipment_point) + _equipment_months(world, kind_name, mw)
    done = max(site_done, equipment_done)
    if kind.needs_grid:
        filed_months = _months_before(kind, kind.grid_request_at)
        done = max(done, filed_months + _grid_path_months(world, region, mw, filed_months))
    return done


def _grid_path_months(world: World, region: str, mw: float, filed_in_months: float) -> float:
    """Expected months from filing ``mw`` (``filed_in_months`` from now) to connection."""
    grid = world.grids[region]
    queue = grid.spec.queue
    study = queue.study_months.mean()
    live = [r for r in grid.requests if r.connected is None and r.withdrawn is None]
    unfiled = [d for d in _pipeline(world, region) if d.kind.needs_grid and d.grid is None]
    if queue.mode == "cluster":
        study_wait = queue.cluster_window_months / 2.0
    else:
        waiting = sum(1 for r in live if r.study_start is None)
        waiting_expected = waiting + sum(d.survival() for d in unfiled)
        study_wait = waiting_expected / queue.study_slots * study
    ahead_mw = sum(r.mw for r in live if r.headroom_granted is None)
    ahead_mw += sum(d.mw * d.survival() for d in unfiled)
    short_mw = ahead_mw + mw - grid.headroom.available_mw
    studied_at = world.env.now + filed_in_months + study_wait + study
    headroom_wait = _headroom_wait_months(world, region, short_mw, studied_at)
    return study_wait + study + headroom_wait + queue.works_months.mean()


def _headroom_wait_months(world: World, region: str, short_mw: float, from_month: float) -> float:
    """Months after ``from_month`` until upgrades still to come cover ``short_mw`` (or horizon)."""
    if short_mw <= _EPS_MW:
        return 0.0
    now = world.env.now
    due = sorted(
        (upgrade.month.mean(), upgrade.mw)
        for upgrade in world.scenario.regions[region].grid.upgrades
        if upgrade.month.mean() > now
    )
    added_mw = 0.0
    for month, mw in due:
        added_mw += mw
        if added_mw >= short_mw - _EPS_MW:
            return max(0.0, month - from_month)
    return float(world.horizon_months)


def _site_path_months(
    world: World, region: str, kind: DealKind, mw: float, signed_in_months: float
) -> float:
    """Expected months from signing (``signed_in_months`` from now) to the first phase built."""
    if kind.uses_colocation:
        market = world.colocation.get(region)
        spec = world.scenario.regions[region].colocation
        ahead_mw = sum(
            d.mw * d.survival()
            for d in _pipeline(world, region)
            if d.kind.uses_colocation and d.signed is None
        )
        if market is not None:
            ahead_mw += sum(float(get.amount) for get in market.get_queue) - float(market.level)
        short_mw = ahead_mw + mw
        wait = 0.0
        if short_mw > _EPS_MW:
            monthly_mw = spec.new_supply_mw_per_year / 12.0 if spec is not None else 0.0
            if monthly_mw > 0:
                wait = max(0.0, short_mw / monthly_mw - signed_in_months)
            else:
                wait = float(world.horizon_months)
        return wait + kind.fit_out_months.mean()
    if not kind.needs_build:
        return kind.fit_out_months.mean()
    build = world.scenario.build
    construction = build.construction_months.mean()
    crews = world.crews[region]
    sites = float(crews.count + len(crews.queue))
    sites += sum(
        d.survival()
        for d in _pipeline(world, region)
        if d.kind.needs_build
        and not d.kind.uses_colocation
        and all(cause != PERMITTING for cause, _ in d.site_path)
    )
    crew_wait = sites / crews.capacity * construction
    permitting = build.permitting_months.mean()
    return (permitting + construction) * kind.build_time_factor + crew_wait


def _equipment_months(world: World, kind_name: str, mw: float) -> float:
    """Expected months from ordering a site's units now to the last pool's delivery."""
    unordered = [d for d in _pipeline(world, None) if not d.equipment_ordered]
    months = 0.0
    for book in world.books.values():
        units = book.units_for(kind_name, mw)
        if units <= 0:
            continue
        ahead = sum(book.units_for(d.kind_name, d.mw) * d.survival() for d in unordered)
        months = max(months, book.delivery_months_estimate(ahead + units))
    return months


def _pipeline(world: World, region: str | None) -> list[Deal]:
    """Our deals (in ``region``, or anywhere) still able to need grid, space, crews or units."""
    return [
        d
        for d in world.deals
        if region in (None, d.region) and d.survival() > 0 and d.ended_month is None
    ]


def cost_per_mw_estimate(world: World, region: str, kind_name: str) -> float:
    """Expected cash cost per delivered MW of a deal of this kind in ``region`` (first year)."""
    kind = _kind(world, kind_name)
    spec = world.scenario.regions[region]
    energy_usd_per_mwh = (
        kind.energy_usd_per_mwh if kind.energy_usd_per_mwh is not None else spec.energy_usd_per_mwh
    )
    usd_per_mw = kind.capex_usd_per_mw * spec.cost_multipliers.capex
    usd_per_mw += energy_usd_per_mwh * HOURS_PER_MONTH * 12.0
    if kind.needs_grid:
        queue = spec.grid.queue
        usd_per_mw += queue.deposit_usd_per_mw + sum(m.usd_per_mw for m in queue.milestones)
    survival = math.prod(stage.success for stage in kind.stages)
    return usd_per_mw / survival if survival > 0 else math.inf
