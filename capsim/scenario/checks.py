"""Cross-field rules of a scenario, one named function each, so that each is testable on its own.

Field-level rules (types, ranges, distribution shapes) live in the schema; these look across
sections: references to regions and deal kinds, sizes that must fit, shares that must add up.
Each check returns ``(path, message)`` pairs; the loader attaches file and line.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable

from capsim.scenario.schema import (
    ALL_REGIONS,
    LAUNCH,
    MONTH_METRICS,
    QUEUE_METRICS,
    SIGNED,
    Scenario,
    month_index,
)

Finding = tuple[tuple[str | int, ...], str]

MAX_HORIZON_MONTHS = 600
#: Most buffer requests the policy may hold at once, across regions.
MAX_BUFFER_REQUESTS = 1_000


def suggest(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' hint when a close match exists, else an empty string."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _unknown(what: str, name: str, choices: Iterable[str]) -> str:
    valid = sorted(choices)
    return f"{what} {name!r} is not defined (defined: {', '.join(valid)}{suggest(name, valid)})"


def check_horizon(s: Scenario) -> list[Finding]:
    """The end month must not come before the start, and the horizon must stay bounded."""
    months = month_index(s.end) - month_index(s.start) + 1
    if months < 1:
        return [(("end",), f"end {s.end} is before start {s.start}; expected end >= start")]
    if months > MAX_HORIZON_MONTHS:
        return [(("end",), f"horizon is {months} months; expected at most {MAX_HORIZON_MONTHS}")]
    return []


def check_region_references(s: Scenario) -> list[Finding]:
    """Every region named anywhere must be defined under ``regions``."""
    found: list[Finding] = []
    regions = s.regions.keys()
    for i, bound in enumerate(s.demand.region_bound):
        if bound.region not in regions:
            found.append(
                (("demand", "region_bound", i, "region"), _unknown("region", bound.region, regions))
            )
    for name in s.policy.region_weights:
        if name not in regions:
            found.append((("policy", "region_weights", name), _unknown("region", name, regions)))
    for i, deal in enumerate(s.deals_in_flight):
        if deal.region not in regions:
            found.append(
                (("deals_in_flight", i, "region"), _unknown("region", deal.region, regions))
            )
    return found


def check_kind_references(s: Scenario) -> list[Finding]:
    """Every deal kind named in the policy, deals in flight and equipment must be defined."""
    found: list[Finding] = []
    kinds = s.deal_kinds.keys()
    for name in s.policy.kind_weights:
        if name not in kinds:
            found.append((("policy", "kind_weights", name), _unknown("deal kind", name, kinds)))
    for i, deal in enumerate(s.deals_in_flight):
        if deal.kind not in kinds:
            found.append((("deals_in_flight", i, "kind"), _unknown("deal kind", deal.kind, kinds)))
    for pool_name, pool in s.equipment.items():
        for name in pool.units_per_100mw:
            if name not in kinds:
                found.append(
                    (
                        ("equipment", pool_name, "units_per_100mw", name),
                        _unknown("deal kind", name, kinds),
                    )
                )
    return found


def check_weights(s: Scenario) -> list[Finding]:
    """Policy weights must leave at least one region and one kind to choose."""
    found: list[Finding] = []
    if sum(s.policy.region_weights.values()) <= 0:
        found.append((("policy", "region_weights"), "all weights are 0; expected at least one > 0"))
    if sum(s.policy.kind_weights.values()) <= 0:
        found.append((("policy", "kind_weights"), "all weights are 0; expected at least one > 0"))
    return found


def check_phase_sizes(s: Scenario) -> list[Finding]:
    """A phase cannot be larger than the largest deal of its kind."""
    found: list[Finding] = []
    for name, kind in s.deal_kinds.items():
        _, largest_mw = kind.size_mw.support()
        if kind.phase_mw > largest_mw:
            found.append(
                (
                    ("deal_kinds", name, "phase_mw"),
                    f"phase of {kind.phase_mw:g} MW is larger than the largest deal of this kind "
                    f"({largest_mw:g} MW); expected phase_mw <= size_mw",
                )
            )
    return found


def check_deal_paths(s: Scenario) -> list[Finding]:
    """Colocation leases need no grid or build; every kind must lead to power somehow."""
    found: list[Finding] = []
    for name, kind in s.deal_kinds.items():
        if kind.uses_colocation and (kind.needs_grid or kind.needs_build):
            found.append(
                (
                    ("deal_kinds", name, "uses_colocation"),
                    "a colocation lease takes existing powered space; expected needs_grid: false "
                    "and needs_build: false",
                )
            )
    return found


def _fits(s: Scenario, kind_name: str, region: str) -> bool:
    """Whether the policy can launch a deal of this kind in this region (as the model decides).

    A colocation kind needs a colocation market in the region; other kinds fit anywhere.
    """
    kind = s.deal_kinds.get(kind_name)  # type: ignore[call-overload]
    if kind is None:
        return False
    return not kind.uses_colocation or s.regions[region].colocation is not None


def check_policy_can_launch(s: Scenario) -> list[Finding]:
    """The policy must be able to launch at least one deal somewhere.

    The model skips a region where no weighted kind fits, so some impossible pairings are fine;
    only a policy for which no weighted kind fits any weighted or region-bound region is refused.
    """
    kinds = [str(k) for k, w in s.policy.kind_weights.items() if w > 0 and k in s.deal_kinds]
    regions = [r for r, w in s.policy.region_weights.items() if w > 0 and r in s.regions]
    regions += [b.region for b in s.demand.region_bound if b.share > 0 and b.region in s.regions]
    if not kinds or not regions:
        return []  # check_weights and the reference checks report these
    if any(_fits(s, kind, region) for kind in kinds for region in regions):
        return []
    return [
        (
            ("policy", "kind_weights"),
            f"no weighted deal kind fits any weighted or region-bound region, so the policy could "
            f"never launch a deal: every weighted kind ({', '.join(sorted(kinds))}) needs a "
            f"colocation market, and none of {', '.join(sorted(set(regions)))} has one; weight a "
            "kind that needs no colocation, or give one of these regions a colocation market",
        )
    ]


def check_region_bound_shares(s: Scenario) -> list[Finding]:
    """Region-bound shares of demand cannot add up to more than the whole."""
    total = sum(b.share for b in s.demand.region_bound)
    if total > 1 + 1e-9:
        return [(("demand", "region_bound"), f"shares add up to {total:g}; expected at most 1")]
    return []


def check_deals_in_flight(s: Scenario) -> list[Finding]:
    """Deals in flight have unique ids and sit at a stage their kind has."""
    found: list[Finding] = []
    seen: set[str] = set()
    for i, deal in enumerate(s.deals_in_flight):
        if deal.id in seen:
            found.append((("deals_in_flight", i, "id"), f"deal id {deal.id!r} is used twice"))
        seen.add(deal.id)
        kind = s.deal_kinds.get(deal.kind)
        if kind is None:
            continue
        stages = [stage.name for stage in kind.stages] + [SIGNED]
        if deal.stage not in stages:
            found.append(
                (
                    ("deals_in_flight", i, "stage"),
                    f"{deal.kind} deals have no stage {deal.stage!r} "
                    f"(expected one of: {', '.join(stages)}{suggest(deal.stage, stages)})",
                )
            )
    return found


def check_equipment_order_point(s: Scenario) -> list[Finding]:
    """The policy's ordering point must exist for every kind that needs equipment."""
    point = s.policy.equipment_order_at
    if point in (LAUNCH, SIGNED):
        return []
    users = {
        k
        for pool in s.equipment.values()
        for k, units in pool.units_per_100mw.items()
        if units > 0 and k in s.deal_kinds
    }
    found: list[Finding] = []
    for name in sorted(users):
        stages = [stage.name for stage in s.deal_kinds[name].stages]
        if point not in stages:
            choices = [LAUNCH, *stages, SIGNED]
            found.append(
                (
                    ("policy", "equipment_order_at"),
                    f"{name} deals have no stage {point!r} (expected one of: "
                    f"{', '.join(choices)}{suggest(point, choices)})",
                )
            )
    return found


def check_bridge(s: Scenario) -> list[Finding]:
    """Enabled bridge power needs a size."""
    if s.bridge.enabled and s.bridge.max_mw_per_site <= 0:
        return [(("bridge", "max_mw_per_site"), "bridge is enabled; expected max_mw_per_site > 0")]
    return []


def check_grid_request_point(s: Scenario) -> list[Finding]:
    """A kind's ``grid_request_at`` must be one of its stages or 'signed', on a kind with grid."""
    found: list[Finding] = []
    for name, kind in s.deal_kinds.items():
        point = kind.grid_request_at
        if point == SIGNED:
            continue
        path = ("deal_kinds", name, "grid_request_at")
        stages = [stage.name for stage in kind.stages]
        if not kind.needs_grid:
            found.append((path, f"{name} deals file no grid request (needs_grid is false)"))
        elif point not in stages:
            choices = [*stages, SIGNED]
            found.append(
                (
                    path,
                    f"{name} deals have no stage {point!r} (expected one of: "
                    f"{', '.join(choices)}{suggest(point, choices)})",
                )
            )
    return found


def check_lever_references(s: Scenario) -> list[Finding]:
    """Regions and pools the procurement levers name must exist, and levers must be usable."""
    found: list[Finding] = []
    regions = s.regions.keys()
    for name in s.policy.queue_buffer_mw:
        if name not in regions:
            found.append((("policy", "queue_buffer_mw", name), _unknown("region", name, regions)))
    held = sum(s.policy.queue_buffer_mw.values()) / s.policy.queue_buffer_request_mw
    if held > MAX_BUFFER_REQUESTS:
        found.append(
            (
                ("policy", "queue_buffer_request_mw"),
                f"the queue buffer would hold about {held:,.0f} requests at once; expected at most "
                f"{MAX_BUFFER_REQUESTS:,}: raise queue_buffer_request_mw",
            )
        )
    pools = s.equipment.keys()
    for name in s.policy.equipment_reservations:
        if name not in pools:
            found.append(
                (
                    ("policy", "equipment_reservations", name),
                    _unknown("equipment pool", name, pools),
                )
            )
    pool = s.bridge.equipment_pool
    if pool is not None:
        if pool not in pools:
            found.append((("bridge", "equipment_pool"), _unknown("equipment pool", pool, pools)))
        elif s.bridge.units_per_100mw <= 0:
            found.append(
                (
                    ("bridge", "units_per_100mw"),
                    f"bridge units come from pool {pool!r}; expected units_per_100mw > 0",
                )
            )
    if s.policy.accept_flexible and all(r.grid.flexible is None for r in s.regions.values()):
        found.append(
            (
                ("policy", "accept_flexible"),
                "accept_flexible is true but no region offers a flexible connection "
                "(expected regions.<id>.grid.flexible in at least one region)",
            )
        )
    return found


def check_target_regions(s: Scenario) -> list[Finding]:
    """Every region a calibration target names must be defined (or be 'all')."""
    found: list[Finding] = []
    regions = s.regions.keys()
    for i, target in enumerate(s.targets):
        named: list[Finding]
        if isinstance(target.region, list):
            named = [(("targets", i, "region", j), r) for j, r in enumerate(target.region)]
        elif target.region != ALL_REGIONS:
            named = [(("targets", i, "region"), target.region)]
        else:
            named = []
        for path, region in named:
            if region not in regions:
                choices = [*regions, ALL_REGIONS]
                found.append((path, _unknown("region", region, choices)))
    return found


def check_target_months(s: Scenario) -> list[Finding]:
    """A target's month, and its filing cut-off, must fall within the simulated horizon."""
    found: list[Finding] = []
    first, last = month_index(s.start), month_index(s.end)
    span = f"expected a month from {s.start} to {s.end}"
    for i, target in enumerate(s.targets):
        if target.month is not None:
            index = month_index(target.month)
            if index > last:
                found.append(
                    (
                        ("targets", i, "month"),
                        f"{target.month} is past the horizon (end {s.end}); {span}",
                    )
                )
            elif index < first:
                found.append(
                    (("targets", i, "month"), f"{target.month} is before start {s.start}; {span}")
                )
        if target.filed_before is not None:
            index = month_index(target.filed_before)
            if index > last:
                found.append(
                    (
                        ("targets", i, "filed_before"),
                        f"{target.filed_before} is past the horizon (end {s.end}); {span}",
                    )
                )
            elif index <= first:
                found.append(
                    (
                        ("targets", i, "filed_before"),
                        f"no request is filed before {target.filed_before} (start "
                        f"{s.start}); expected a later month",
                    )
                )
    return found


def check_target_bounds(s: Scenario) -> list[Finding]:
    """A target gives either a range (min and/or max, min <= max) or a value with a tolerance."""
    found: list[Finding] = []
    for i, t in enumerate(s.targets):
        ranged = t.min_value is not None or t.max_value is not None
        if t.value is not None and ranged:
            found.append(
                (("targets", i, "value"), "give either value (with tolerance) or min/max, not both")
            )
        elif t.value is None and not ranged:
            found.append((("targets", i), "no published figure; expected min and/or max, or value"))
        if t.tolerance is not None and t.value is None:
            found.append((("targets", i, "tolerance"), "tolerance needs a value"))
        if t.min_value is not None and t.max_value is not None and t.min_value > t.max_value:
            found.append(
                (
                    ("targets", i, "max"),
                    f"max {t.max_value:g} is below min {t.min_value:g}; expected min <= max",
                )
            )
    return found


def check_target_fields(s: Scenario) -> list[Finding]:
    """Targets have unique names and only the fields their metric uses (month, applicant...)."""
    found: list[Finding] = []
    seen: set[str] = set()
    for i, t in enumerate(s.targets):
        if t.name in seen:
            found.append((("targets", i, "name"), f"target name {t.name!r} is used twice"))
        seen.add(t.name)
        if t.metric in MONTH_METRICS and t.month is None:
            found.append(
                (
                    ("targets", i, "metric"),
                    f"{t.metric} is read at a month end; expected month: YYYY-MM",
                )
            )
        if t.metric not in MONTH_METRICS and t.month is not None:
            found.append(
                (("targets", i, "month"), f"{t.metric} is not read at a month; remove month")
            )
        if t.metric not in QUEUE_METRICS:
            if t.filed_before is not None:
                found.append(
                    (
                        ("targets", i, "filed_before"),
                        f"{t.metric} does not count requests; remove filed_before",
                    )
                )
            if t.applicant != "all":
                found.append(
                    (
                        ("targets", i, "applicant"),
                        f"{t.metric} does not count requests; remove applicant",
                    )
                )
    return found


#: Most policy reviews (or cluster windows of one region) a replication may hold.
MAX_REVIEWS = 2_400
#: Most competing grid requests a replication may expect, all regions together.
MAX_COMPETITOR_REQUESTS = 20_000
#: Most other buyers' equipment orders a replication may expect, all pools together.
MAX_OTHER_ORDERS = 200_000
#: Most deals the policy may be able to launch in one replication (an upper bound, see
#: ``check_workload``); about 10 s of simulation on one core when every deal signs and builds.
MAX_LAUNCHED_DEALS = 20_000


def check_workload(s: Scenario) -> list[Finding]:
    """Refuse scenarios whose one replication would run for hours or exhaust memory.

    Each bound is far above any real market (a weekly review for 46 years; 20,000 competing
    requests per replication) but stops a typo such as ``review_months: 0.0001`` from hanging a run.
    """
    found: list[Finding] = []
    horizon = s.horizon_months
    if horizon <= 0:
        return found  # check_horizon reports it
    reviews = horizon / s.policy.review_months
    if reviews > MAX_REVIEWS:
        found.append(
            (
                ("policy", "review_months"),
                _too_often("review", s.policy.review_months, horizon, reviews),
            )
        )
    requests = 0.0
    for name, region in s.regions.items():
        queue = region.grid.queue
        windows = horizon / queue.cluster_window_months
        if queue.mode == "cluster" and windows > MAX_REVIEWS:
            found.append(
                (
                    ("regions", name, "grid", "queue", "cluster_window_months"),
                    _too_often("cluster window", queue.cluster_window_months, horizon, windows),
                )
            )
        for _, competitors in region.grid.competitor_classes():
            requests += competitors.arrivals_per_year * horizon / 12 + competitors.initial_requests
    if requests > MAX_COMPETITOR_REQUESTS:
        first = next(iter(s.regions))
        found.append(
            (
                ("regions", first, "grid", "competitors", "arrivals_per_year"),
                f"competitors would file about {requests:,.0f} grid requests per replication over "
                f"{horizon} months (all regions); expected at most {MAX_COMPETITOR_REQUESTS:,}: "
                "lower arrivals_per_year or initial_requests (one request may stand for several)",
            )
        )
    found += _deal_launches(s, horizon)
    orders = sum(pool.other_orders_per_year for pool in s.equipment.values()) * horizon / 12
    if orders > MAX_OTHER_ORDERS:
        first_pool = next(iter(s.equipment))
        found.append(
            (
                ("equipment", first_pool, "other_orders_per_year"),
                f"other buyers would place about {orders:,.0f} equipment orders per "
                f"replication over {horizon} months (all pools); expected at most "
                f"{MAX_OTHER_ORDERS:,}",
            )
        )
    return found


def _deal_launches(s: Scenario, horizon: int) -> list[Finding]:
    """Refuse a policy that could launch more than ``MAX_LAUNCHED_DEALS`` deals per replication.

    At most ``max_live_deals`` deals are live before signing, and a review refills a slot only
    once the deal in it has left the pipeline: so a slot is refilled at most once per review and
    at most once per the shortest time a deal can stay in the pipeline (its stages' shortest
    durations up to the first stage it can fail). Slots times refills bounds the launches.
    """
    policy = s.policy
    reviews = math.ceil(horizon / policy.review_months)
    stays = [_shortest_stay_months(s, str(k)) for k, w in policy.kind_weights.items() if w > 0]
    stay_months = min((m for m in stays if m is not None), default=0.0)
    refills = reviews
    if stay_months > policy.review_months:
        refills = min(reviews, math.floor(horizon / stay_months) + 1)
    launches = policy.max_live_deals * refills
    if launches <= MAX_LAUNCHED_DEALS:
        return []
    return [
        (
            ("policy", "max_live_deals"),
            f"the policy could launch up to {launches:,} deals per replication "
            f"({policy.max_live_deals:,} live deals, each slot refilled up to {refills:,} times "
            f"over {horizon} months: a review every {policy.review_months:g} months, and a deal "
            f"can leave the pipeline {stay_months:g} months after launch); expected at most "
            f"{MAX_LAUNCHED_DEALS:,}: lower max_live_deals, review less often, or lengthen the "
            "shortest stage durations",
        )
    ]


def _shortest_stay_months(s: Scenario, kind_name: str) -> float | None:
    """Shortest months a deal of this kind stays before signing or failing (None if undefined)."""
    kind = s.deal_kinds.get(kind_name)  # type: ignore[call-overload]
    if kind is None:
        return None
    months = 0.0
    for stage in kind.stages:
        months += max(0.0, stage.months.support()[0])
        if stage.success < 1:
            break
    return months


def _too_often(what: str, months: float, horizon: int, count: float) -> str:
    return (
        f"a {what} every {months:g} months over {horizon} months is {count:,.0f} per "
        f"replication; expected at most {MAX_REVIEWS:,} (at least {horizon / MAX_REVIEWS:g} months)"
    )


ALL_CHECKS: tuple[Callable[[Scenario], list[Finding]], ...] = (
    check_horizon,
    check_region_references,
    check_kind_references,
    check_weights,
    check_phase_sizes,
    check_deal_paths,
    check_policy_can_launch,
    check_region_bound_shares,
    check_deals_in_flight,
    check_equipment_order_point,
    check_bridge,
    check_grid_request_point,
    check_lever_references,
    check_workload,
    check_target_regions,
    check_target_months,
    check_target_bounds,
    check_target_fields,
)


def run_checks(s: Scenario) -> list[Finding]:
    """Every cross-field finding for a schema-valid scenario."""
    return [finding for check in ALL_CHECKS for finding in check(s)]
