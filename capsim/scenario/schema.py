"""The scenario schema: frozen pydantic models, a unit and a description on every field.

A scenario file is data only. This module says what each field means; ``loader`` reads files
into it and ``checks`` holds the cross-field rules (references between sections and the like).
Durations are in months, power in MW (facility MW unless a name says ``it_mw``), money in the
reporting currency (``money.currency``, USD unless set; ``_usd`` names are kept for it).
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from capsim.scenario.calendar import MonthOffsetDist
from capsim.scenario.dists import AtLeastOneDist, Dist, Fixed, NonNegativeDist
from capsim.scenario.money import (
    DEFAULT_CURRENCY,
    Amount,
    Currency,
    OptionalAmount,
    resolve_inputs,
)

DealKindName = Literal["greenfield", "colocation", "expansion", "onsite_generation"]
DEAL_KINDS: tuple[str, ...] = ("greenfield", "colocation", "expansion", "onsite_generation")
SIGNED = "signed"
LAUNCH = "launch"

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
#: First and last calendar month a scenario may simulate: dates outside are beyond what the
#: output tables (pandas timestamps) and charts can hold.
FIRST_MONTH = "1900-01"
LAST_MONTH = "2200-12"
_SUPPORTED_MONTH = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-(0[1-9]|1[0-2])$"
_ID = r"^[a-z][a-z0-9_]{0,39}$"
_NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"

RegionId = Annotated[str, Field(pattern=_ID, description="Region identifier, e.g. 'au_nsw'.")]


class Frozen(BaseModel):
    """Base of every schema model: immutable, unknown keys refused."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, validate_default=True
    )


def _round_mw(mw: float) -> float:
    """Round a MW level to two significant figures (1,234 -> 1,200), as people quote them."""
    if not 0 < mw < math.inf:
        return 0.0
    digits = 1 - math.floor(math.log10(mw))
    return float(round(mw, digits))


def month_index(text: str) -> int:
    """Months since year 0 for a 'YYYY-MM' string, so that month arithmetic is integer."""
    match = _MONTH.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a calendar month; expected 'YYYY-MM', e.g. '2026-01'")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


# --- demand ----------------------------------------------------------------------------------


class ExponentialGrowth(Frozen):
    """IT load grows by a constant fraction a year."""

    model: Literal["exponential"]
    annual_growth: Dist = Field(
        description="Growth of IT load per year as a fraction (0.3 = +30%/yr); drawn per run."
    )


class LogisticGrowth(Frozen):
    """IT load follows an S-curve from today's load towards a ceiling (adoption that saturates)."""

    model: Literal["logistic"]
    ceiling_it_mw: NonNegativeDist = Field(
        description="IT MW the S-curve approaches; drawn per run."
    )
    steepness_per_year: NonNegativeDist = Field(
        description="Logistic rate constant per year (higher = sharper S); drawn per run."
    )


class TableGrowth(Frozen):
    """IT load given year by year (e.g. a board-approved plan), linearly interpolated."""

    model: Literal["table"]
    it_mw_by_year: list[Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        min_length=1,
        max_length=200,
        description="IT MW at the start of each year from the scenario start (year 0 first).",
    )
    scale: NonNegativeDist = Field(
        default=Fixed(value=1.0), description="Multiplier on the whole table, drawn per run."
    )


Growth = Annotated[ExponentialGrowth | LogisticGrowth | TableGrowth, Field(discriminator="model")]


class DemandShock(Frozen):
    """A random step up in IT load, such as a product launch or a new training cluster."""

    name: str = Field(max_length=80, description="Label for the shock in outputs.")
    rate_per_year: float = Field(
        ge=0, le=120, description="Mean arrivals per year (Poisson process)."
    )
    it_mw: NonNegativeDist = Field(description="IT MW added by one shock; drawn per shock.")


class RegionBound(Frozen):
    """A share of demand that must be served inside one region (sovereign or latency-bound)."""

    region: RegionId
    share: float = Field(ge=0, le=1, description="Fraction of total demand bound to the region.")


class Demand(Frozen):
    """The portfolio's power need: IT load x PUE, growing and shocked."""

    it_mw_start: NonNegativeDist = Field(description="IT MW at the start month; drawn per run.")
    pue: AtLeastOneDist = Field(
        description="Power usage effectiveness (facility MW / IT MW); drawn per run."
    )
    growth: Growth = Field(description="Growth model of IT load: exponential, logistic or table.")
    shocks: list[DemandShock] = Field(
        default_factory=list, max_length=50, description="Random step-ups in IT load."
    )
    region_bound: list[RegionBound] = Field(
        default_factory=list, max_length=50, description="Demand that must be served in a region."
    )
    committed_share: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Share of demand that is committed (the rest is aspirational); committed "
        "demand is served first (fraction).",
    )


# --- regions ---------------------------------------------------------------------------------


class HeadroomUpgrade(Frozen):
    """A lump of new grid capacity (a substation, a line) arriving at an uncertain month."""

    name: str = Field(default="upgrade", max_length=80, description="Label, e.g. 'Inzai 2nd bank'.")
    mw: float = Field(gt=0, allow_inf_nan=False, description="MW of headroom the upgrade adds.")
    month: MonthOffsetDist = Field(
        description="When it is in service: months from start, or a calendar month 'YYYY-MM' "
        "(a distribution's bounds may be calendar months too)."
    )


class QueueMilestone(Frozen):
    """A payment due some months after filing; competitors may drop out rather than pay it."""

    name: str = Field(pattern=_ID, description="Label, e.g. 'construction_contribution'.")
    after_months: float = Field(
        gt=0, le=600, description="Months after filing at which the payment falls due."
    )
    usd_per_mw: Amount = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Payment per MW requested (reporting currency).",
    )
    drop_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Chance a competing request still waiting then withdraws instead (fraction).",
    )


class Queue(Frozen):
    """How the grid operator studies connection requests in a region."""

    mode: Literal["serial", "cluster"] = Field(
        description="'serial': first come first served with parallel study slots; "
        "'cluster': requests batched in windows and studied together."
    )
    study_slots: int = Field(
        ge=1, le=10_000, description="Studies (serial) or cluster studies run in parallel."
    )
    cluster_window_months: float = Field(
        default=12.0, gt=0, le=120, description="Length of a cluster window (cluster mode)."
    )
    study_months: NonNegativeDist = Field(description="Duration of one study (or cluster study).")
    works_months: NonNegativeDist = Field(
        description="Connection works after headroom is allocated (substation bay, line)."
    )
    withdrawal_per_year: float = Field(
        ge=0,
        le=120,
        description="Hazard that one of our requests withdraws while waiting, per year.",
    )
    deposit_usd_per_mw: Amount = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Deposit paid when one of our requests is filed, per MW requested (reporting "
        "currency).",
    )
    refund_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of the deposit returned when our request withdraws (fraction).",
    )
    milestones: list[QueueMilestone] = Field(
        default_factory=list,
        max_length=20,
        description="Payments due after filing (our requests pay; competitors may drop out).",
    )
    headroom_order: Literal["fifo", "first_fit"] = Field(
        default="fifo",
        description="How waiting requests are served when headroom frees up (no unit): 'fifo' "
        "strictly in filing order, a large request at the head blocks those behind it "
        "(head-of-line blocking); 'first_fit' serves, in filing order, every waiting request "
        "that fits the headroom available.",
    )


class WeibullWithdrawal(Frozen):
    """Time from filing to withdrawal with a hazard that changes with time in queue.

    A shape above 1 makes a request likelier to give up the longer it has waited; below 1, most
    give up early (speculative requests filed to hold a place).
    """

    model: Literal["weibull"]
    shape: float = Field(
        gt=0, le=20, description="Weibull shape (no unit); 1 is a constant hazard."
    )
    scale_months: float = Field(
        gt=0, le=10_000, description="Weibull scale: 63% of requests withdraw within it (months)."
    )


class Competitors(Frozen):
    """Everyone else's connection requests in the same queue (mostly speculative)."""

    arrivals_per_year: float = Field(
        ge=0, le=10_000, description="Mean requests per year (Poisson)."
    )
    initial_requests: int = Field(
        default=0, ge=0, le=10_000, description="Requests already waiting for a study at the start."
    )
    mw: NonNegativeDist = Field(description="MW asked by one request; drawn per request.")
    withdrawal_per_year: float | None = Field(
        default=None,
        ge=0,
        le=120,
        description="Constant hazard that a competing request withdraws while waiting, per year "
        "(give this or 'withdrawal').",
    )
    withdrawal: WeibullWithdrawal | None = Field(
        default=None,
        description="Withdrawal that depends on time in queue (give this or "
        "'withdrawal_per_year').",
    )

    @model_validator(mode="after")
    def _one_withdrawal(self) -> Competitors:
        if (self.withdrawal_per_year is None) == (self.withdrawal is None):
            raise ValueError(
                "give exactly one of 'withdrawal_per_year' (constant hazard) and 'withdrawal' "
                "({model: weibull, shape, scale_months})"
            )
        return self


class CompetitorClass(Competitors):
    """One class of competing applicants, e.g. firm projects or speculative requests."""

    name: str = Field(pattern=_ID, description="Class name, e.g. 'firm' or 'speculative'.")


class Flexible(Frozen):
    """Non-firm (flexible) connections: earlier power, curtailed until firm headroom is granted."""

    max_mw: float = Field(
        ge=0, allow_inf_nan=False, description="Most MW connected non-firm in the region at once."
    )
    curtailment_share: float = Field(
        ge=0, le=1, description="Share of a flexible connection's energy curtailed (fraction)."
    )


class Grid(Frozen):
    """A region's transmission connection: headroom now, upgrades to come, and its queue."""

    headroom_mw: float = Field(ge=0, allow_inf_nan=False, description="MW the grid can supply now.")
    upgrades: list[HeadroomUpgrade] = Field(
        default_factory=list, max_length=100, description="Lumpy headroom additions."
    )
    queue: Queue
    competitors: Competitors | list[CompetitorClass] = Field(
        description="Competing applicants: one mapping, or a list of named classes (e.g. firm "
        "and speculative), each with its own arrivals, backlog, size and withdrawal."
    )
    flexible: Flexible | None = Field(
        default=None,
        description="Non-firm connection offer of the region (none if absent).",
    )

    @field_validator("competitors")
    @classmethod
    def _unique_classes(
        cls, value: Competitors | list[CompetitorClass]
    ) -> Competitors | list[CompetitorClass]:
        if isinstance(value, list):
            names = [c.name for c in value]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"competitor classes {repeated} are named more than once")
            if not value:
                raise ValueError("expected at least one competitor class")
        return value

    @property
    def curtailment_share(self) -> float:
        """Share of a flexible connection's energy curtailed here (0 without a flexible offer)."""
        return self.flexible.curtailment_share if self.flexible is not None else 0.0

    def competitor_classes(self) -> list[tuple[str, Competitors]]:
        """Every class of competitors as (name, spec); a single mapping is the class ''."""
        if isinstance(self.competitors, list):
            return [(c.name, c) for c in self.competitors]
        return [("", self.competitors)]


class Colocation(Frozen):
    """A market of powered space for lease in a region."""

    available_mw: float = Field(ge=0, allow_inf_nan=False, description="MW for lease at the start.")
    new_supply_mw_per_year: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="MW of new leasable supply per year."
    )


class CostMultipliers(Frozen):
    """Regional cost factors relative to the deal kind's base figures."""

    capex: float = Field(default=1.0, gt=0, le=100, description="Multiplier on capex per MW.")
    bridge: float = Field(
        default=1.0, gt=0, le=100, description="Multiplier on the bridge premium."
    )


class Region(Frozen):
    """A market where the portfolio can procure power."""

    name: str = Field(max_length=80, description="Display name, e.g. 'Japan Tokyo (Inzai)'.")
    existing_mw: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="Our energised MW here at the start."
    )
    grid: Grid
    energy_usd_per_mwh: Amount = Field(
        ge=0,
        allow_inf_nan=False,
        description="Wholesale energy price per MWh (reporting currency).",
    )
    cost_multipliers: CostMultipliers = Field(default_factory=CostMultipliers)
    colocation: Colocation | None = Field(
        default=None, description="Leasable powered space, if any."
    )
    bridge_max_mw: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="Most bridge power running in the region at once (permit and fuel limits), MW; "
        "none if absent.",
    )
    crews: int | None = Field(
        default=None, ge=1, le=1000, description="Construction crews here (default: build.crews)."
    )
    currency: Currency | None = Field(
        default=None,
        description="Currency of the plain numbers of this region's money fields, e.g. 'JPY' "
        "(default: the reporting currency); converted with money.fx when the scenario is read.",
    )


# --- deals -----------------------------------------------------------------------------------


class Stage(Frozen):
    """One step of a deal before signing, such as due diligence."""

    name: str = Field(pattern=_ID, description="Stage name, e.g. 'due_diligence'.")
    months: NonNegativeDist = Field(description="Duration of the stage; drawn per deal.")
    success: float = Field(ge=0, le=1, description="Chance the deal survives the stage.")
    team: bool = Field(default=True, description="Whether the stage occupies a deal-team member.")


class DealKind(Frozen):
    """A way of getting power: its stages, its path to energisation and its cost."""

    size_mw: NonNegativeDist = Field(description="Facility MW of one deal; drawn per deal.")
    stages: list[Stage] = Field(min_length=1, max_length=20, description="Stages up to signing.")
    needs_grid: bool = Field(description="Signed deals request a grid connection in their region.")
    needs_build: bool = Field(description="Signed deals go through permitting and construction.")
    uses_colocation: bool = Field(
        default=False,
        description="Signed deals take leasable MW from the region's colocation market.",
    )
    fit_out_months: NonNegativeDist = Field(
        default=Fixed(value=0.0),
        description="Months from signing (or space available) to first power, no build.",
    )
    phase_mw: float = Field(gt=0, allow_inf_nan=False, description="MW energised per phase.")
    months_between_phases: NonNegativeDist = Field(description="Months between successive phases.")
    build_time_factor: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="Multiplier on build durations (expansions are quicker).",
    )
    capex_usd_per_mw: Amount = Field(
        ge=0, allow_inf_nan=False, description="Capex per MW (reporting currency)."
    )
    energy_usd_per_mwh: OptionalAmount = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="Own energy cost (e.g. on-site fuel) per MWh (reporting currency); default: "
        "the region's price.",
    )
    grid_request_at: str = Field(
        default=SIGNED,
        pattern=_ID,
        description="When the grid request is filed: a stage name (on entry, running in parallel "
        "with the remaining stages) or 'signed'.",
    )


class DealTeam(Frozen):
    """People who work deals through their early stages; one member per live deal there."""

    size: int = Field(ge=1, le=1000, description="Deal-team members.")


class DealInFlight(Frozen):
    """A deal already under way at the start month."""

    id: str = Field(pattern=_ID, description="Identifier, e.g. 'syd_west'.")
    kind: DealKindName
    region: RegionId
    mw: float = Field(gt=0, allow_inf_nan=False, description="Facility MW of the deal.")
    stage: str = Field(
        pattern=_ID, description="Current stage: one of the kind's stage names, or 'signed'."
    )
    # --- pipeline files and correlations (dates of deals in flight) ---
    signed_month: str | None = Field(
        default=None,
        description="Calendar month 'YYYY-MM' the deal was signed (stage 'signed' only; not after "
        "the start); kept for the record: the deal starts at its stage on the start month.",
    )
    grid_request_month: str | None = Field(
        default=None,
        description="Calendar month 'YYYY-MM' its grid request was filed (not after the start); "
        "kept for the record: the model files requests as the kind's grid_request_at says.",
    )

    @field_validator("signed_month", "grid_request_month")
    @classmethod
    def _calendar_month(cls, value: str | None) -> str | None:
        if value is not None:
            month_index(value)
        return value


class PipelineFile(Frozen):
    """Deals in flight kept in a spreadsheet (.xlsx) or CSV file, read when the scenario is."""

    file: str = Field(
        min_length=1,
        description="Path of the file, relative to the scenario file that names it; columns id, "
        "kind, region, mw, stage and optionally signed_month, grid_request_month.",
    )


def _deals_not_a_file(value: object) -> object:
    """Refuse a pipeline file that reached the schema unread (only the loader reads files)."""
    if isinstance(value, dict) and "file" in value:
        raise ValueError(
            "a pipeline file is read when a scenario file is loaded (load_scenario); give the "
            "deals in flight as a list here"
        )
    return value


DealsInFlight = Annotated[
    list[DealInFlight],
    BeforeValidator(
        _deals_not_a_file,
        json_schema_input_type=Annotated[list[DealInFlight], Field(max_length=1000)] | PipelineFile,
    ),
]
"""Deals in flight: a list, or (in a scenario file) ``{file: pipeline.xlsx}``."""


class Correlation(Frozen):
    """Rank correlation between uncertain fields drawn once per replication (a Gaussian copula)."""

    between: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=2,
        max_length=50,
        description="Dotted paths of the fields, e.g. [demand.pue, "
        "regions.jp_tokyo.grid.upgrades[0].month]; every pair among them gets rho.",
    )
    rho: float = Field(
        ge=-1,
        le=1,
        allow_inf_nan=False,
        description="Rank (Spearman) correlation of each pair of the fields (-1..1; no unit).",
    )


# --- end pipeline files and correlations ---


# --- policy, equipment, build, bridge, money -------------------------------------------------


class EquipmentReservation(Frozen):
    """Factory slots we hold in a pool's order book ahead of any deal's need."""

    units_per_year: float = Field(
        gt=0, le=100_000, description="Units reserved per year, booked month by month (units)."
    )
    deposit_usd_per_unit: Amount = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Deposit per reserved unit (reporting currency).",
    )


class Policy(Frozen):
    """The decision-maker: how often it reviews, how far it looks and how it launches deals."""

    review_months: float = Field(gt=0, le=120, description="Months between procurement reviews.")
    lookahead_months: float = Field(ge=0, le=240, description="How far ahead demand is forecast.")
    reserve_margin: float = Field(
        ge=0, le=10, description="Capacity target above forecast, fraction."
    )
    region_weights: dict[RegionId, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        min_length=1, description="Relative share of new deals by region."
    )
    kind_weights: dict[DealKindName, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        min_length=1, description="Relative share of new deals by kind."
    )
    max_live_deals: int = Field(
        ge=1, le=10_000, description="Cap on deals in flight before signing."
    )
    equipment_order_at: str = Field(
        default=SIGNED,
        pattern=_ID,
        description="When equipment is ordered: 'launch', a stage name (on entry) or 'signed'.",
    )
    allocation: Literal["weights", "fastest", "cheapest"] = Field(
        default="weights",
        description="How a review picks region and deal kind (no unit): 'weights' draws by the "
        "weights; 'fastest' launches where the expected months to first power are fewest now; "
        "'cheapest' where the expected cash cost per MW is lowest (weights break ties).",
    )
    queue_buffer_mw: dict[RegionId, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="Per region, MW of our own grid requests kept in the queue ahead of any "
        "deal (MW); a new deal there takes over the oldest one large enough.",
    )
    queue_buffer_request_mw: float = Field(
        default=100.0,
        gt=0,
        allow_inf_nan=False,
        description="Size of one request filed to keep the buffer (MW).",
    )
    queue_buffer_release_months: float | None = Field(
        default=None,
        gt=0,
        le=600,
        description="Months after filing at which an unused buffer request is withdrawn (months); "
        "none: kept to the horizon.",
    )
    accept_flexible: bool = Field(
        default=False,
        description="Whether our studied requests waiting for headroom take a non-firm "
        "connection where the region offers one.",
    )
    equipment_reservations: dict[Annotated[str, Field(pattern=_ID)], EquipmentReservation] = Field(
        default_factory=dict,
        description="Per equipment pool, factory slots held ahead of need.",
    )


class EquipmentPool(Frozen):
    """A long-lead equipment type with a shared factory order book (first in, first out)."""

    lead_time_months: NonNegativeDist = Field(description="Order-to-delivery time with no backlog.")
    units_per_year: float = Field(
        gt=0, le=100_000, description="Factory output available to buyers."
    )
    units_per_100mw: dict[DealKindName, Annotated[float, Field(ge=0, le=1000)]] = Field(
        min_length=1, description="Units a deal kind needs per 100 MW."
    )
    backlog_units: int = Field(
        default=0, ge=0, le=100_000, description="Other buyers' units ahead of us at the start."
    )
    other_orders_per_year: float = Field(
        default=0.0, ge=0, le=100_000, description="Other buyers' new units ordered per year."
    )


class Build(Frozen):
    """Permitting and construction of a site."""

    permitting_months: NonNegativeDist = Field(description="Permits and approvals; drawn per site.")
    construction_months: NonNegativeDist = Field(
        description="Construction to the first phase; drawn per site."
    )
    crews: int = Field(ge=1, le=1000, description="Construction crews per region (default).")


class Bridge(Frozen):
    """Temporary on-site generation for a built site still waiting for its grid connection."""

    enabled: bool = Field(default=False, description="Whether bridge power is used.")
    max_mw_per_site: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="Largest bridge per site, MW."
    )
    lead_time_months: NonNegativeDist = Field(
        default=Fixed(value=0.0), description="Order to bridge power."
    )
    premium_usd_per_mwh: Amount = Field(
        default=0.0,
        ge=0,
        allow_inf_nan=False,
        description="Cost above grid energy per MWh (reporting currency).",
    )
    equipment_pool: str | None = Field(
        default=None,
        pattern=_ID,
        description="Equipment pool bridge units are ordered from (e.g. reciprocating engines); "
        "none: only the lead time applies.",
    )
    units_per_100mw: float = Field(
        default=0.0, ge=0, le=10_000, description="Bridge units needed per 100 MW of bridge."
    )
    trigger_slip_months: float = Field(
        default=0.0,
        ge=0,
        le=600,
        description="Bridge is ordered only once a built phase has waited this long for the grid "
        "(months); 0 orders it as soon as a phase is built.",
    )


class Money(Frozen):
    """Prices that turn megawatts into money, and the currency every output counts in."""

    unserved_usd_per_mw_month: Amount = Field(
        ge=0,
        allow_inf_nan=False,
        description="Lost margin per MW-month of demand not served (reporting currency).",
    )
    discount_rate_per_year: float = Field(
        default=0.08, ge=0, lt=1, description="Discount rate for present values, per year."
    )
    currency: Currency = Field(
        default=DEFAULT_CURRENCY,
        description="Reporting currency of every money field and output (ISO 4217 code, e.g. "
        "'USD', 'JPY'); a money field written {value: 2.3e9, currency: JPY} is converted to it.",
    )
    fx: dict[Currency, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="Value of one unit of each other currency in the reporting currency, e.g. "
        "{JPY: 0.0067, AUD: 0.65} (fixed numbers: a distribution is refused; note the source "
        "and date in a comment).",
    )


# --- what the outputs report ----------------------------------------------------------------

#: Percentiles reported when a scenario does not say (P80 is the schedule-risk convention).
DEFAULT_PERCENTILES: tuple[int, ...] = (10, 50, 80, 90)
#: Default share of demand a month may be short before it counts as a real shortfall.
DEFAULT_SHORTFALL_TOLERANCE = 0.05


class Report(Frozen):
    """What the summaries, tables and charts report: percentiles, milestones and tolerance."""

    percentiles: list[Annotated[int, Field(ge=1, le=99)]] = Field(
        default_factory=lambda: list(DEFAULT_PERCENTILES),
        min_length=1,
        max_length=9,
        description="Percentiles over replications reported everywhere, increasing, 50 included "
        "(e.g. [10, 50, 80, 90]; no unit).",
    )
    milestones_mw: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None = Field(
        default=None,
        max_length=20,
        description="Facility MW levels whose P-dates are reported (MW); default 1.5x, 2x and 3x "
        "the energised MW at the start, rounded.",
    )
    shortfall_tolerance: float = Field(
        default=DEFAULT_SHORTFALL_TOLERANCE,
        ge=0,
        le=1,
        description="Share of demand a month may be short before it counts as beyond tolerance "
        "(fraction).",
    )
    fiscal_year_start_month: int = Field(
        default=1,
        ge=1,
        le=12,
        description="Calendar month (1-12) in which the years of per-year tables begin: 1 for "
        "calendar years, 4 for April-March (Japan), 7 for July-June (Australia). A fiscal year "
        "is named by the calendar year in which it ends: with 4, FY2028 is Apr 2027-Mar 2028.",
    )

    @field_validator("percentiles")
    @classmethod
    def _increasing_with_median(cls, value: list[int]) -> list[int]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"percentiles {value} must increase strictly, e.g. [10, 50, 80, 90]")
        if 50 not in value:
            raise ValueError(f"percentiles {value} must include 50 (the median every chart draws)")
        return value

    @field_validator("milestones_mw")
    @classmethod
    def _milestones_increasing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"milestones_mw {value} must increase strictly, e.g. [600, 900]")
        return value


# --- calibration targets ---------------------------------------------------------------------

MetricName = Literal[
    "request_to_connection_months",
    "connected_mw_share",
    "study_months",
    "request_to_study_end_months",
    "withdrawn_share",
    "headroom_mw_at_month",
    "energized_mw_at_month",
]
#: Unit of each calibration metric (the unit of a target's ``min``, ``max``, ``value``).
METRIC_UNITS: dict[str, str] = {
    "request_to_connection_months": "months",
    "connected_mw_share": "fraction",
    "study_months": "months",
    "request_to_study_end_months": "months",
    "withdrawn_share": "fraction",
    "headroom_mw_at_month": "MW",
    "energized_mw_at_month": "MW",
}
#: Metrics read from the queue table (requests); they take ``applicant`` and ``filed_before``.
QUEUE_METRICS: tuple[str, ...] = (
    "request_to_connection_months",
    "connected_mw_share",
    "study_months",
    "request_to_study_end_months",
    "withdrawn_share",
)
#: Metrics read at a month end; they need ``month``.
MONTH_METRICS: tuple[str, ...] = ("headroom_mw_at_month", "energized_mw_at_month")
ALL_REGIONS = "all"
Statistic = Literal["p10", "p50", "p90"]


class Target(Frozen):
    """A published figure the model should reproduce, and the model statistic compared with it.

    The model figure is computed per replication; the target's ``statistic`` (P10, P50 or P90
    across replications) must fall in ``[min, max]``, or within ``tolerance`` of ``value``.
    """

    name: str = Field(pattern=_ID, description="Identifier shown in the check table (no unit).")
    metric: MetricName = Field(
        description="What is measured: 'request_to_connection_months' (median months from request "
        "to connection of connected requests), 'connected_mw_share' (fraction of requested MW "
        "connected by the horizon), 'study_months' (median months of a completed study), "
        "'request_to_study_end_months' (median months from request to the end of its study: "
        "waiting for a study plus the study, an application-to-approval time), "
        "'withdrawn_share' (fraction of requested MW withdrawn), 'headroom_mw_at_month' (grid "
        "headroom in service at the end of 'month': the start level plus upgrades, MW), "
        "'energized_mw_at_month' (our energised MW at the end of 'month')."
    )
    region: RegionId | list[RegionId] = Field(
        default=ALL_REGIONS,
        description="Region id, a list of region ids, or 'all' (no unit).",
    )
    applicant: Literal["own", "background", "all"] = Field(
        default="all",
        description="Whose connection requests count (queue metrics only): 'own', 'background' "
        "(competitors) or 'all' (no unit).",
    )
    month: str | None = Field(
        default=None,
        description="Calendar month 'YYYY-MM' at whose end the figure is read (*_at_month "
        "metrics only).",
    )
    filed_before: str | None = Field(
        default=None,
        description="Count only requests filed before this calendar month 'YYYY-MM' (queue "
        "metrics only), so that late requests that cannot finish in the horizon do not bias it.",
    )
    min_value: float | None = Field(
        default=None,
        alias="min",
        allow_inf_nan=False,
        description="Lowest acceptable figure, in the metric's unit (months, fraction or MW).",
    )
    max_value: float | None = Field(
        default=None,
        alias="max",
        allow_inf_nan=False,
        description="Highest acceptable figure, in the metric's unit (months, fraction or MW).",
    )
    value: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Published point figure, in the metric's unit (use with 'tolerance').",
    )
    tolerance: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="Accepted distance from 'value', in the metric's unit (default 0).",
    )
    statistic: Statistic = Field(
        default="p50",
        description="Which quantile across replications is compared: 'p10', 'p50' or 'p90' "
        "(no unit).",
    )
    source: str = Field(
        min_length=1,
        max_length=1000,
        description="Where the published figure comes from (report, edition, table; no unit).",
    )

    @field_validator("month", "filed_before")
    @classmethod
    def _calendar_month(cls, value: str | None) -> str | None:
        if value is not None:
            month_index(value)
        return value

    @property
    def regions(self) -> tuple[str, ...]:
        """The regions named (empty for 'all')."""
        if isinstance(self.region, list):
            return tuple(self.region)
        return () if self.region == ALL_REGIONS else (self.region,)

    @property
    def unit(self) -> str:
        """Unit of the metric and of the bounds."""
        return METRIC_UNITS[self.metric]

    def bounds(self) -> tuple[float, float]:
        """Accepted interval [low, high] (infinite where open)."""
        if self.value is not None:
            spread = self.tolerance or 0.0
            return self.value - spread, self.value + spread
        low = -math.inf if self.min_value is None else self.min_value
        high = math.inf if self.max_value is None else self.max_value
        return low, high


# --- the scenario ----------------------------------------------------------------------------


class Scenario(Frozen):
    """Everything one simulation needs, resolved (inheritance and overrides applied)."""

    name: str = Field(pattern=_NAME, description="Short name; used in run-directory names.")
    description: str = Field(default="", max_length=4000, description="What the scenario is for.")
    # --- memo title (report) ---
    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Title of the run's report and deck, e.g. 'APAC power programme 2026-2035' "
        "(default: the scenario name).",
    )
    # --- end memo title ---
    start: str = Field(
        description=f"First simulated calendar month, 'YYYY-MM' ({FIRST_MONTH} to {LAST_MONTH}).",
        json_schema_extra={"pattern": _SUPPORTED_MONTH},
    )
    end: str = Field(
        description=f"Last simulated calendar month, 'YYYY-MM' (inclusive; {FIRST_MONTH} to "
        f"{LAST_MONTH}).",
        json_schema_extra={"pattern": _SUPPORTED_MONTH},
    )
    seed: int = Field(ge=0, lt=2**63, description="Root seed of every replication's generator.")
    replications: int = Field(ge=1, le=10_000_000, description="Monte Carlo replications.")
    demand: Demand
    regions: dict[RegionId, Region] = Field(min_length=1, max_length=100)
    deal_kinds: dict[DealKindName, DealKind] = Field(min_length=1)
    deal_team: DealTeam
    deals_in_flight: DealsInFlight = Field(
        default_factory=list,
        max_length=1000,
        json_schema_extra={"default": []},
        description="Deals under way at the start: a list, or {file: pipeline.xlsx} (or .csv) to "
        "read them from a spreadsheet next to the scenario file.",
    )
    policy: Policy
    equipment: dict[Annotated[str, Field(pattern=_ID)], EquipmentPool] = Field(
        default_factory=dict, max_length=50
    )
    build: Build
    bridge: Bridge = Field(default_factory=Bridge)
    money: Money
    report: Report = Field(
        default_factory=Report,
        description="What the outputs report: percentiles, P-date milestones, shortfall tolerance.",
    )
    targets: list[Target] = Field(
        default_factory=list,
        max_length=200,
        description="Published figures the model should reproduce; checked by 'capsim check'.",
    )
    correlations: list[Correlation] = Field(
        default_factory=list,
        max_length=100,
        description="Rank correlations between fields drawn once per replication (demand "
        "parameters, grid upgrade months); see the user guide for the fields that qualify.",
    )

    @model_validator(mode="before")
    @classmethod
    def _dates_and_currencies(cls, data: object) -> object:
        """Calendar months to offsets from start, money to the reporting currency (a copy)."""
        return resolve_inputs(data, cls)

    @field_validator("start", "end")
    @classmethod
    def _calendar_month(cls, value: str) -> str:
        index = month_index(value)
        if not month_index(FIRST_MONTH) <= index <= month_index(LAST_MONTH):
            raise ValueError(
                f"{value} is outside the supported months; expected a month from {FIRST_MONTH} "
                f"to {LAST_MONTH}"
            )
        return value

    @property
    def horizon_months(self) -> int:
        """Number of simulated months, start and end included."""
        return month_index(self.end) - month_index(self.start) + 1

    @property
    def existing_mw(self) -> float:
        """Energised facility MW of every region at the start."""
        return sum(region.existing_mw for region in self.regions.values())

    def milestones(self) -> list[float]:
        """P-date milestone levels: the scenario's, or 1.5x, 2x and 3x today's energised MW."""
        if self.report.milestones_mw is not None:
            return list(self.report.milestones_mw)
        levels = {_round_mw(self.existing_mw * factor) for factor in (1.5, 2.0, 3.0)}
        return sorted(mw for mw in levels if 0 < mw < math.inf)
