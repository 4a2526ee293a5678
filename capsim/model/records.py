"""Flat records the model appends to: one list of named rows per output table.

The row types' fields are the run directory's column contract (``docs/outputs.md``); the model
builds rows by keyword and ``runs.tables`` turns them into DataFrames by name. Nothing here knows
about SimPy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

#: Applicant of a connection request (and buyer of an equipment order) that is ours.
OWN = "own"
#: Applicant of a competitor's connection request.
BACKGROUND = "background"
#: Every applicant a queue table can hold, ours first.
APPLICANTS = (OWN, BACKGROUND)
#: Buyer of an equipment order placed by someone else (ours are ``OWN``).
OTHER_BUYER = "other"

#: Stage-entry months of a deal, keyed by stage name (``launch`` and ``signed`` included).
StageMonths = dict[str, float]
#: Months of a powered deal's path to first power spent in each cause (``model.delays``).
DelayMonths = dict[str, float]


class TimeseriesRow(NamedTuple):
    """One month end of a replication: demand, capacity, shortfall and the month's money.

    ``capacity_mw`` is energised plus bridge plus flexible MW net of their curtailment.
    """

    month: int
    demand_mw: float
    region_bound_demand_mw: float
    energized_mw: float
    bridge_mw: float
    flexible_mw: float
    capacity_mw: float
    shortfall_mw: float
    committed_demand_mw: float
    committed_shortfall_mw: float
    curtailed_mwh: float
    shock_it_mw: float
    capex_usd: float
    energy_usd: float
    bridge_premium_usd: float
    queue_fees_usd: float
    reservation_usd: float
    unserved_usd: float


class RegionRow(NamedTuple):
    """One region at one month end: demand bound to it and its capacity by state."""

    month: int
    region: str
    demand_mw: float
    energized_mw: float
    bridge_mw: float
    flexible_mw: float
    under_construction_mw: float
    queued_mw: float
    contracted_mw: float
    headroom_mw: float
    colocation_available_mw: float


class DealRow(NamedTuple):
    """One deal at the horizon: what it was, the months it reached each step, and its fate."""

    deal_id: str
    kind: str
    region: str
    mw: float
    in_flight: bool
    launched: float
    stage_months: StageMonths
    signed: float | None
    outcome: str
    grid_connected: float | None
    first_power: float | None
    full_power: float | None
    energized_mw: float
    ended_month: float | None
    ended_reason: str | None
    delays: DelayMonths


class QueueRow(NamedTuple):
    """One grid connection request, ours or a competitor's, and the month of each step."""

    request_id: int
    region: str
    applicant: str
    deal_id: str
    mw: float
    arrived: float
    study_start: float | None
    study_end: float | None
    headroom_granted: float | None
    connected: float | None
    withdrawn: float | None
    competitor_class: str
    filed_for: str
    attached_at: float | None
    flexible_connected: float | None
    deposit_usd: float
    refunded_usd: float
    milestones_usd: float


class EquipmentRow(NamedTuple):
    """One equipment order placed before the horizon, and when it was delivered (if it was).

    A reservation (factory slots we hold ahead of need) is an order of ours with ``reserved``
    set; ``claimed_units`` says how many of its units deals had taken by the horizon.
    """

    pool: str
    buyer: str
    deal_id: str
    units: int
    ordered: float
    delivered: float | None
    reserved: bool
    claimed_units: int


class HeadroomRow(NamedTuple):
    """One planned grid upgrade of a region and the month it comes into service."""

    region: str
    name: str
    mw: float
    in_service_month: float


TIMESERIES_COLUMNS = TimeseriesRow._fields
REGION_COLUMNS = RegionRow._fields
DEAL_COLUMNS = DealRow._fields
QUEUE_COLUMNS = QueueRow._fields
EQUIPMENT_COLUMNS = EquipmentRow._fields
HEADROOM_COLUMNS = HeadroomRow._fields


@dataclass
class Recorder:
    """Append-only named rows for one replication, one list per output table."""

    timeseries: list[TimeseriesRow] = field(default_factory=list)
    regions: list[RegionRow] = field(default_factory=list)
    deals: list[DealRow] = field(default_factory=list)
    queue: list[QueueRow] = field(default_factory=list)
    equipment: list[EquipmentRow] = field(default_factory=list)
    headroom: list[HeadroomRow] = field(default_factory=list)
    trace: list[tuple[float, str, str]] | None = None

    def log(self, now: float, what: str, subject: str) -> None:
        """Record a model event for exact-trace tests, when tracing is on."""
        if self.trace is not None:
            self.trace.append((now, what, subject))
