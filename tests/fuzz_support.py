"""Hypothesis strategies for random, schema-valid, short scenarios (shared by fuzz and invariants).

Every scenario drawn here is valid by construction and cheap to simulate: a horizon of at most
three years, a few regions with modest competitor traffic, small deals teams and live-deal caps.
The strategies cover every queue mode, distribution kind, deal kind, equipment, shocks, bridge
power on and off, deals in flight and region-bound demand.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

Draw = st.DrawFn
KINDS = ("greenfield", "colocation", "expansion", "onsite_generation")


def floats(low: float, high: float) -> st.SearchStrategy[float]:
    """Finite floats in [low, high]."""
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


@st.composite
def dists(draw: Draw, low: float, high: float) -> Any:
    """A plain number or any distribution kind drawing within [low, high] (or near, if unbounded).

    Lognormal and exponential draws are unbounded above and reach down to 0, so they are only
    offered when ``low`` is 0.
    """
    kinds = ["number", "fixed", "uniform", "triangular", "pert", "normal", "choice", "empirical"]
    kind = draw(st.sampled_from(kinds if low > 0 else [*kinds, "lognormal", "exponential"]))
    if kind == "number":
        return draw(floats(low, high))
    if kind == "fixed":
        return {"dist": "fixed", "value": draw(floats(low, high))}
    if kind == "uniform":
        a, b = sorted(draw(st.lists(floats(low, high), min_size=2, max_size=2)))
        return {"dist": "uniform", "min": a, "max": b}
    if kind in ("triangular", "pert"):
        a, m, b = sorted(draw(st.lists(floats(low, high), min_size=3, max_size=3)))
        return {"dist": kind, "min": a, "mode": m, "max": b}
    if kind == "normal":
        mean = draw(floats(low, high))
        return {
            "dist": "normal",
            "mean": mean,
            "sd": draw(floats(0.01, high - low + 1)),
            "min": low,
            "max": high,
        }
    if kind in ("lognormal", "exponential"):
        # unbounded above: keep the median small so that draws are rarely far past ``high``
        median = draw(floats(max(low, 0.01), max(low, 0.01) + (high - low) / 4))
        if kind == "exponential":
            return {"dist": "exponential", "mean": median}
        return {"dist": "lognormal", "median": median, "p90": median * draw(floats(1, 3))}
    values = draw(st.lists(floats(low, high), min_size=1, max_size=5))
    if kind == "empirical":
        return {"dist": "empirical", "samples": values}
    weights = draw(st.lists(floats(0, 5), min_size=len(values), max_size=len(values)))
    return {"dist": "choice", "values": values, "weights": [*weights[:-1], weights[-1] + 1]}


def months(low: float = 0.0, high: float = 18.0) -> st.SearchStrategy[Any]:
    """A duration distribution in months."""
    return dists(low, high)


@st.composite
def region(draw: Draw, colocation: bool) -> dict[str, Any]:
    """One region with its grid queue, competitors and optional colocation market."""
    mode = draw(st.sampled_from(["serial", "cluster"]))
    queue: dict[str, Any] = {
        "mode": mode,
        "study_slots": draw(st.integers(1, 6)),
        "study_months": draw(months(0, 15)),
        "works_months": draw(months(0, 12)),
        "withdrawal_per_year": draw(floats(0, 2)),
    }
    if mode == "cluster":
        queue["cluster_window_months"] = draw(floats(1, 24))
    if draw(st.booleans()):
        queue["deposit_usd_per_mw"] = draw(floats(0, 1e5))
        queue["refund_share"] = draw(floats(0, 1))
        queue["milestones"] = [
            {
                "name": f"m{i}",
                "after_months": draw(floats(0.5, 24)),
                "usd_per_mw": draw(floats(0, 1e5)),
                "drop_share": draw(floats(0, 1)),
            }
            for i in range(draw(st.integers(0, 2)))
        ]
    competitors: Any = {
        "arrivals_per_year": draw(floats(0, 30)),
        "initial_requests": draw(st.integers(0, 10)),
        "mw": draw(dists(0, 400)),
        "withdrawal_per_year": draw(floats(0, 3)),
    }
    if draw(st.booleans()):
        competitors = [
            {**competitors, "name": "firm"},
            {
                "name": "speculative",
                "arrivals_per_year": draw(floats(0, 30)),
                "initial_requests": draw(st.integers(0, 10)),
                "mw": draw(dists(0, 400)),
                "withdrawal": {
                    "model": "weibull",
                    "shape": draw(floats(0.3, 4)),
                    "scale_months": draw(floats(1, 60)),
                },
            },
        ]
    data: dict[str, Any] = {
        "name": draw(st.text(max_size=30)),
        "existing_mw": draw(floats(0, 300)),
        "energy_usd_per_mwh": draw(floats(0, 300)),
        "grid": {
            "headroom_mw": draw(floats(0, 2000)),
            "upgrades": [
                {"name": f"u{i}", "mw": draw(floats(1, 800)), "month": draw(months(0, 48))}
                for i in range(draw(st.integers(0, 2)))
            ],
            "queue": queue,
            "competitors": competitors,
        },
    }
    if draw(st.booleans()):
        data["grid"]["flexible"] = {
            "max_mw": draw(floats(0, 500)),
            "curtailment_share": draw(floats(0, 1)),
        }
    if draw(st.booleans()):
        data["bridge_max_mw"] = draw(floats(0, 200))
    if draw(st.booleans()):
        data["crews"] = draw(st.integers(1, 4))
    if colocation:
        data["colocation"] = {
            "available_mw": draw(floats(0, 300)),
            "new_supply_mw_per_year": draw(floats(0, 100)),
        }
    return data


@st.composite
def deal_kind(draw: Draw, name: str) -> dict[str, Any]:
    """A deal kind with a coherent path: colocation leases, built sites, or generation."""
    size_high = draw(floats(20, 400))
    stages = [
        {
            "name": f"stage_{i}",
            "months": draw(months(0, 8)),
            "success": draw(floats(0.2, 1)),
            "team": draw(st.booleans()),
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    colocation = name == "colocation"
    needs_grid = False if colocation else draw(st.booleans())
    filing = [s["name"] for s in stages] + ["signed"] if needs_grid else ["signed"]
    return {
        "size_mw": draw(dists(size_high / 2, size_high)),
        "stages": stages,
        "needs_grid": needs_grid,
        "grid_request_at": draw(st.sampled_from(filing)),
        "needs_build": False if colocation else name != "onsite_generation" or draw(st.booleans()),
        "uses_colocation": colocation,
        "fit_out_months": draw(months(0, 6)),
        "phase_mw": draw(floats(1, size_high / 2)),
        "months_between_phases": draw(months(0, 6)),
        "build_time_factor": draw(floats(0.3, 2)),
        "capex_usd_per_mw": draw(floats(0, 2e7)),
    }


@st.composite
def valid_scenarios(draw: Draw) -> dict[str, Any]:
    """A random, schema-valid scenario of at most 36 months, as plain data."""
    start_year = draw(st.integers(2020, 2040))
    start_month = draw(st.integers(1, 12))
    horizon = draw(st.integers(1, 36))
    end_index = start_year * 12 + start_month - 1 + horizon - 1
    ids = draw(
        st.lists(
            st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4, unique=True))
    coloc_regions = set(ids) if "colocation" in kinds else set()
    regions = {rid: draw(region(rid in coloc_regions)) for rid in ids}
    deal_kinds = {name: draw(deal_kind(name)) for name in kinds}
    growth_model = draw(st.sampled_from(["exponential", "logistic", "table"]))
    growth: dict[str, Any] = {"model": growth_model}
    if growth_model == "exponential":
        growth["annual_growth"] = draw(dists(0, 1))
    elif growth_model == "logistic":
        growth["ceiling_it_mw"] = draw(dists(0, 2000))
        growth["steepness_per_year"] = draw(dists(0, 3))
    else:
        growth["it_mw_by_year"] = draw(st.lists(floats(0, 1000), min_size=1, max_size=5))
    demand: dict[str, Any] = {
        "it_mw_start": draw(dists(0, 500)),
        "pue": draw(dists(1, 1.6)),
        "growth": growth,
        "shocks": [
            {
                "name": f"shock {i}",
                "rate_per_year": draw(floats(0, 4)),
                "it_mw": draw(dists(0, 200)),
            }
            for i in range(draw(st.integers(0, 2)))
        ],
        "region_bound": [
            {"region": draw(st.sampled_from(ids)), "share": draw(floats(0, 0.3))}
            for _ in range(draw(st.integers(0, 2)))
        ],
    }
    in_flight = []
    for i in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(kinds))
        stage_names = [s["name"] for s in deal_kinds[kind]["stages"]]
        rid = draw(st.sampled_from(sorted(coloc_regions) if kind == "colocation" else ids))
        in_flight.append(
            {
                "id": f"known_{i}",
                "kind": kind,
                "region": rid,
                "mw": draw(floats(1, 300)),
                "stage": draw(st.sampled_from([*stage_names, "signed"])),
            }
        )
    equipment = {
        f"pool_{i}": {
            "lead_time_months": draw(months(0, 30)),
            "units_per_year": draw(floats(1, 60)),
            "units_per_100mw": {k: draw(floats(0, 4)) for k in kinds},
            "backlog_units": draw(st.integers(0, 20)),
            "other_orders_per_year": draw(floats(0, 40)),
        }
        for i in range(draw(st.integers(0, 2)))
    }
    order_points = ["launch", "signed"]
    if equipment and len(kinds) == 1:
        order_points += [s["name"] for s in deal_kinds[kinds[0]]["stages"]]
    data: dict[str, Any] = {
        "name": draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)),
        "start": f"{start_year:04d}-{start_month:02d}",
        "end": f"{end_index // 12:04d}-{end_index % 12 + 1:02d}",
        "seed": draw(st.integers(0, 2**63 - 1)),
        "replications": draw(st.integers(1, 2)),
        "demand": demand,
        "regions": regions,
        "deal_kinds": deal_kinds,
        "deal_team": {"size": draw(st.integers(1, 4))},
        "deals_in_flight": in_flight,
        "policy": {
            "review_months": draw(floats(1, 12)),
            "lookahead_months": draw(floats(0, 48)),
            "reserve_margin": draw(floats(0, 0.5)),
            "region_weights": {rid: draw(floats(0.1, 5)) for rid in ids},
            "kind_weights": {k: draw(floats(0.1, 5)) for k in kinds},
            "max_live_deals": draw(st.integers(1, 8)),
            "equipment_order_at": draw(st.sampled_from(order_points)),
            "allocation": draw(st.sampled_from(["weights", "fastest", "cheapest"])),
            "queue_buffer_mw": {rid: draw(floats(0, 400)) for rid in ids if draw(st.booleans())},
            "queue_buffer_request_mw": draw(floats(20, 300)),
            "accept_flexible": any("flexible" in r["grid"] for r in regions.values())
            and draw(st.booleans()),
            "equipment_reservations": {
                pool: {
                    "units_per_year": draw(floats(1, 30)),
                    "deposit_usd_per_unit": draw(floats(0, 1e6)),
                }
                for pool in equipment
                if draw(st.booleans())
            },
        },
        "equipment": equipment,
        "build": {
            "permitting_months": draw(months(0, 12)),
            "construction_months": draw(months(0, 18)),
            "crews": draw(st.integers(1, 3)),
        },
        "money": {"unserved_usd_per_mw_month": draw(floats(0, 5e5))},
    }
    if draw(st.booleans()):
        data["bridge"] = {
            "enabled": True,
            "max_mw_per_site": draw(floats(1, 200)),
            "lead_time_months": draw(months(0, 12)),
            "premium_usd_per_mwh": draw(floats(0, 200)),
            "trigger_slip_months": draw(floats(0, 24)),
        }
        if equipment and draw(st.booleans()):
            data["bridge"]["equipment_pool"] = draw(st.sampled_from(sorted(equipment)))
            data["bridge"]["units_per_100mw"] = draw(floats(0.5, 20))
    data["demand"]["committed_share"] = draw(floats(0, 1))
    return data
