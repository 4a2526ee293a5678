"""The procurement policy: review, forecast, compare with the pipeline, launch deals.

Every review it forecasts demand ``lookahead_months`` ahead, adds the reserve margin, and
compares that target with energised capacity plus the expected yield of the live pipeline (MW
times the chance of surviving the remaining stages). Region-bound demand is closed in its own
region first; the rest of the gap is closed by deals up to the cap on live deals.

Where each deal goes (``policy.allocation``): ``weights`` draws the region and the kind by
weight from the policy stream; ``fastest`` launches the fitting (region, kind) with the fewest
expected months to first power given the state of the world now, ``cheapest`` the one with the
lowest expected cash cost per MW (``model.estimates``); ties go to the larger weight, then to
the name, and a pair with zero weight is never launched. The two ranked rules draw nothing, so
the deal's size is the only draw from the policy stream, as under ``weights``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import cast

import numpy as np
import simpy

from capsim.model.deals import start_deal
from capsim.model.estimates import cost_per_mw_estimate, months_to_power_estimate
from capsim.model.portfolio import Deal, World
from capsim.model.units import MW_EPS
from capsim.scenario.schema import DealKindName

#: Decimals an estimate is rounded to before ranking, so float noise never breaks a tie.
_SCORE_DECIMALS = 6


def policy_process(world: World) -> Generator[simpy.Event, object, None]:
    """Review the portfolio every ``review_months`` from the start month to the horizon."""
    review_months = world.scenario.policy.review_months
    rng = world.streams.get("policy")
    while True:
        review(world, rng)
        if world.env.now + review_months >= world.horizon_months:
            return
        yield world.env.timeout(review_months)


def supply_mw(world: World, region: str | None = None) -> float:
    """Energised MW plus the pipeline's expected yield, in one region or in all."""
    energized = sum(
        state.energized_mw for name, state in world.regions.items() if region in (None, name)
    )
    pipeline = sum(d.expected_yield_mw() for d in world.deals if region in (None, d.region))
    return energized + pipeline


def review(world: World, rng: np.random.Generator) -> list[Deal]:
    """One review: launch the deals that close today's forecast gap; returns them."""
    spec = world.scenario.policy
    target_mw = world.demand.forecast_mw(world.env.now, spec.lookahead_months) * (
        1.0 + spec.reserve_margin
    )
    launched: list[Deal] = []
    for region, share in world.demand.bound_shares.items():
        gap_mw = share * target_mw - supply_mw(world, region)
        launched += _close_gap(world, rng, gap_mw, fixed_region=region)
    gap_mw = target_mw - supply_mw(world)
    launched += _close_gap(world, rng, gap_mw, fixed_region=None)
    return launched


def _close_gap(
    world: World, rng: np.random.Generator, gap_mw: float, fixed_region: str | None
) -> list[Deal]:
    """Launch deals (in ``fixed_region``, or where the allocation says) until the gap closes."""
    spec = world.scenario.policy
    launched: list[Deal] = []
    live = world.live_deals()
    fitting = _fitting_kinds(world)
    if fixed_region is not None:
        regions = {fixed_region: 1.0} if fitting[fixed_region] else {}
    else:
        regions = {
            name: weight
            for name, weight in spec.region_weights.items()
            if weight > 0 and fitting.get(name)
        }
    while gap_mw > MW_EPS and live < spec.max_live_deals and regions:
        if spec.allocation == "weights":
            region = fixed_region or _draw(rng, regions)
            kind_name = _draw(rng, fitting[region])
        else:
            region, kind_name = _best(world, regions, fitting, spec.allocation)
        kind = world.scenario.deal_kinds[cast(DealKindName, kind_name)]
        mw = kind.size_mw.sample(rng)
        if mw <= MW_EPS:
            break
        deal = Deal(
            deal_id=f"d{len(world.deals) + 1:04d}",
            kind_name=kind_name,
            kind=kind,
            region=region,
            mw=mw,
            in_flight=False,
            launched=world.env.now,
        )
        start_deal(world, deal, kind.stages[0].name)
        launched.append(deal)
        live += 1
        gap_mw -= deal.expected_yield_mw()
    return launched


def _best(
    world: World,
    regions: Mapping[str, float],
    fitting: Mapping[str, Mapping[str, float]],
    allocation: str,
) -> tuple[str, str]:
    """The (region, kind) with the best estimate now; ties to the larger weight, then the name.

    Candidates are the regions given (all with positive weight) and their fitting kinds (also
    positive weight); the weight of a pair is the product of the two.
    """
    estimate = months_to_power_estimate if allocation == "fastest" else cost_per_mw_estimate
    ranked: list[tuple[float, float, str, str]] = []
    for region in sorted(regions):
        for kind_name in sorted(fitting[region]):
            score = round(estimate(world, region, kind_name), _SCORE_DECIMALS)
            weight = regions[region] * fitting[region][kind_name]
            ranked.append((score, -weight, region, kind_name))
    _, _, region, kind_name = min(ranked)
    return region, kind_name


def _fitting_kinds(world: World) -> dict[str, dict[str, float]]:
    """Per region, the weighted deal kinds that can be launched there.

    A colocation kind needs a colocation market in the region; other kinds fit anywhere. A region
    where nothing fits is skipped by the draw, so one impossible pairing never stops a review.
    """
    spec = world.scenario.policy
    out: dict[str, dict[str, float]] = {}
    for region, region_spec in world.scenario.regions.items():
        kinds: dict[str, float] = {}
        for name, weight in spec.kind_weights.items():
            kind = world.scenario.deal_kinds.get(name)
            if kind is None or weight <= 0:
                continue
            if kind.uses_colocation and region_spec.colocation is None:
                continue
            kinds[str(name)] = weight
        out[region] = kinds
    return out


def _draw(rng: np.random.Generator, weights: Mapping[str, float]) -> str:
    """One key drawn with probability proportional to its weight (keys in sorted order)."""
    names = sorted(weights)
    threshold = float(rng.random()) * sum(weights.values())
    running = 0.0
    for name in names:
        running += weights[name]
        if threshold < running:
            return name
    return next(name for name in reversed(names) if weights[name] > 0)
