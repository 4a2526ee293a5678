"""A tiny fixed-duration scenario, built in code, for traces and theory checks."""

from __future__ import annotations

import copy
from typing import Any

from capsim.scenario.schema import Scenario

TINY: dict[str, Any] = {
    "name": "tiny",
    "start": "2026-01",
    "end": "2027-12",
    "seed": 1,
    "replications": 1,
    "demand": {
        "it_mw_start": 100,
        "pue": 1.0,
        "growth": {"model": "exponential", "annual_growth": 0.0},
    },
    "regions": {
        "r1": {
            "name": "Region one",
            "energy_usd_per_mwh": 100,
            "grid": {
                "headroom_mw": 1000,
                "queue": {
                    "mode": "serial",
                    "study_slots": 1,
                    "study_months": 4,
                    "works_months": 2,
                    "withdrawal_per_year": 0,
                },
                "competitors": {"arrivals_per_year": 0, "mw": 1, "withdrawal_per_year": 0},
            },
        }
    },
    "deal_kinds": {
        "greenfield": {
            "size_mw": 100,
            "stages": [
                {"name": "sourcing", "months": 2, "success": 1.0},
                {"name": "negotiation", "months": 3, "success": 1.0},
            ],
            "needs_grid": True,
            "needs_build": True,
            "phase_mw": 50,
            "months_between_phases": 2,
            "capex_usd_per_mw": 1_000_000,
        }
    },
    "deal_team": {"size": 1},
    "policy": {
        "review_months": 12,
        "lookahead_months": 0,
        "reserve_margin": 0,
        "region_weights": {"r1": 1},
        "kind_weights": {"greenfield": 1},
        "max_live_deals": 1,
    },
    "equipment": {
        "transformer": {
            "lead_time_months": 6,
            "units_per_year": 12,
            "units_per_100mw": {"greenfield": 2},
        }
    },
    "build": {"permitting_months": 1, "construction_months": 4, "crews": 1},
    "money": {"unserved_usd_per_mw_month": 0},
}


def changed(data: dict[str, Any], **changes: Any) -> Scenario:
    """A scenario from ``data`` (not modified) with dotted-path changes applied."""
    data = copy.deepcopy(data)
    for path, value in changes.items():
        node = data
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return Scenario.model_validate(data)


def tiny(**changes: Any) -> Scenario:
    """The tiny scenario with dotted-path changes, e.g. tiny(**{"policy.reserve_margin": 0.1})."""
    return changed(TINY, **changes)


def queue_only(**changes: Any) -> Scenario:
    """No demand and no deals: only competing applicants use the queue (for queueing theory)."""
    base = {
        "demand.it_mw_start": 0,
        "regions.r1.grid.headroom_mw": 1e9,
        "regions.r1.grid.queue.works_months": 0,
        "equipment": {},
    }
    base.update(changes)
    return tiny(**base)


#: Changes that make the tiny scenario a growing market worked by several random deals: demand
#: +30% a year, deals of 40-120 MW with random stage lengths, quarterly reviews, three deals live.
GROWING: dict[str, Any] = {
    "demand.growth.annual_growth": 0.3,
    "deal_kinds.greenfield.size_mw": {"dist": "uniform", "min": 40, "max": 120},
    "deal_kinds.greenfield.stages": [
        {"name": "sourcing", "months": {"dist": "uniform", "min": 1, "max": 4}, "success": 0.9},
        {"name": "negotiation", "months": {"dist": "uniform", "min": 2, "max": 5}, "success": 0.9},
    ],
    "policy.review_months": 3,
    "policy.lookahead_months": 12,
    "policy.max_live_deals": 3,
    "deal_team.size": 3,
}
