"""Flat records the model appends to, one list of tuples per output table.

Column names here are the run directory's contract (``docs/outputs.md``); the model appends plain
tuples in this order and ``results`` turns them into DataFrames. Nothing here knows about SimPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TIMESERIES_COLUMNS = (
    "month",
    "demand_mw",
    "region_bound_demand_mw",
    "energized_mw",
    "bridge_mw",
    "capacity_mw",
    "shortfall_mw",
    "shock_it_mw",
    "capex_usd",
    "energy_usd",
    "bridge_premium_usd",
    "unserved_usd",
)
REGION_COLUMNS = (
    "month",
    "region",
    "demand_mw",
    "energized_mw",
    "bridge_mw",
    "under_construction_mw",
    "queued_mw",
    "contracted_mw",
    "headroom_mw",
    "colocation_available_mw",
)
DEAL_COLUMNS = (
    "deal_id",
    "kind",
    "region",
    "mw",
    "in_flight",
    "launched",
    "stage_months",
    "signed",
    "outcome",
    "grid_connected",
    "first_power",
    "full_power",
    "energized_mw",
)
QUEUE_COLUMNS = (
    "request_id",
    "region",
    "applicant",
    "deal_id",
    "mw",
    "arrived",
    "study_start",
    "study_end",
    "headroom_granted",
    "connected",
    "withdrawn",
)
EQUIPMENT_COLUMNS = ("pool", "buyer", "deal_id", "units", "ordered", "delivered")
HEADROOM_COLUMNS = ("region", "name", "mw", "in_service_month")

#: Stage-entry months of a deal, keyed by stage name (``launch`` and ``signed`` included).
StageMonths = dict[str, float]


@dataclass
class Recorder:
    """Append-only rows for one replication, in the column orders above."""

    timeseries: list[tuple[object, ...]] = field(default_factory=list)
    regions: list[tuple[object, ...]] = field(default_factory=list)
    deals: list[tuple[object, ...]] = field(default_factory=list)
    queue: list[tuple[object, ...]] = field(default_factory=list)
    equipment: list[tuple[object, ...]] = field(default_factory=list)
    headroom: list[tuple[object, ...]] = field(default_factory=list)
    trace: list[tuple[float, str, str]] | None = None

    def log(self, now: float, what: str, subject: str) -> None:
        """Record a model event for exact-trace tests, when tracing is on."""
        if self.trace is not None:
            self.trace.append((now, what, subject))
