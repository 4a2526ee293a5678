"""State shared by the processes of one replication: deals, per-region tallies, resources.

The ``World`` is the explicit context every process receives (clock, streams, recorder and the
resources it competes for); nothing in the model reads global state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from capsim.model.demand import DemandPath
from capsim.model.env import Streams
from capsim.model.equipment import EquipmentBook
from capsim.model.grid import GridQueue, Request
from capsim.model.ledger import Ledger
from capsim.model.records import Recorder
from capsim.model.units import MW_EPS
from capsim.scenario.schema import DealKind, Scenario


@dataclass(slots=True)
class RegionState:
    """Running MW tallies of one region, read by the policy and the month-end snapshot."""

    energized_mw: float = 0.0
    bridge_mw: float = 0.0
    #: Non-firm MW connected, before curtailment.
    flexible_mw: float = 0.0
    under_construction_mw: float = 0.0
    contracted_mw: float = 0.0
    energy_usd_per_h: float = 0.0


@dataclass(slots=True)
class Deal:
    """One procurement deal from launch to full power (or to its loss)."""

    deal_id: str
    kind_name: str
    kind: DealKind
    region: str
    mw: float
    in_flight: bool
    launched: float
    stage_months: dict[str, float] = field(default_factory=dict)
    stage_index: int = 0
    signed: float | None = None
    lost_at: str | None = None
    equipment_ordered: bool = False
    grid: Request | None = None
    #: Fires when the deal's grid request withdraws (set up when the deal is started).
    strand: simpy.Event | None = None
    stranded: bool = False
    ready_mw: float = 0.0
    energized_mw: float = 0.0
    bridge_mw: float = 0.0
    bridge_ordered: bool = False
    bridge_online: bool = False
    #: Bridge units drawn from our stock while the bridge runs (returned when it retires).
    bridge_units: int = 0
    #: MW of this deal in service on a non-firm connection (counted in ``energized_mw`` too).
    flexible_mw: float = 0.0
    first_power: float | None = None
    full_power: float | None = None
    energy_usd_per_mwh: float = 0.0
    #: Steps from launch to signing, in order: (cause, month it ended), e.g. a stage or team wait.
    pre_signing: list[tuple[str, float]] = field(default_factory=list)
    #: Steps of the site from signing to its first phase built: (cause, month it ended).
    site_path: list[tuple[str, float]] = field(default_factory=list)
    #: Month each phase was built, in phase order.
    phase_built: list[float] = field(default_factory=list)
    #: Steps from signing to the first phase ready (built and equipped), of the phase that was
    #: energised first: (cause, month it ended). Set when first power comes.
    first_phase_path: list[tuple[str, float]] = field(default_factory=list)
    #: Month the deal ended without power (lost, stranded), and why.
    ended_month: float | None = None
    ended_reason: str | None = None

    @property
    def live_before_signing(self) -> bool:
        """Still working through its stages."""
        return self.signed is None and self.lost_at is None and not self.stranded

    def survival(self) -> float:
        """Chance this deal delivers, from where it stands now."""
        if self.lost_at is not None or self.stranded:
            return 0.0
        if self.signed is not None:
            return 1.0
        chance = 1.0
        for stage in self.kind.stages[self.stage_index :]:
            chance *= stage.success
        return chance

    def expected_yield_mw(self) -> float:
        """MW this deal is still expected to add (the policy's pipeline view)."""
        return max(0.0, self.mw - self.energized_mw) * self.survival()

    def outcome(self) -> str:
        """How the deal stands at the horizon."""
        if self.lost_at is not None:
            return f"lost_at_{self.lost_at}"
        if self.stranded:
            return "grid_withdrawn"
        if self.signed is None:
            return "in_pipeline"
        if self.energized_mw >= self.mw - MW_EPS:
            return "energized"
        return "partially_energized" if self.energized_mw > 0 else "in_delivery"


@dataclass
class World:
    """Everything the processes of one replication share."""

    env: simpy.Environment
    scenario: Scenario
    streams: Streams
    recorder: Recorder
    demand: DemandPath
    horizon_months: int
    grids: dict[str, GridQueue]
    books: dict[str, EquipmentBook]
    crews: dict[str, simpy.Resource]
    team: simpy.Resource
    colocation: dict[str, simpy.Container]
    regions: dict[str, RegionState]
    ledger: Ledger
    deals: list[Deal] = field(default_factory=list)
    capex_usd_pending: float = 0.0

    def live_deals(self) -> int:
        """Deals launched and not yet signed or lost (the policy's cap counts these)."""
        return sum(1 for d in self.deals if d.live_before_signing)
