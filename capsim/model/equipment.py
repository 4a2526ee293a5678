"""Long-lead equipment: a factory order book per type, first in first out, and a shared stock.

The factory makes units one after another at its yearly output; an order is delivered when its
last unit is made, but never sooner than its lead time after ordering. Other buyers' backlog and
new orders share the same book. Our delivered units go into one stock that every site draws
from, so units ordered for a deal that dies are used by the next site (a hedge, not a loss).

Factory slot reservations (``policy.equipment_reservations``) hold places in the book ahead of
need: from the start, at the beginning of every month, a reservation order of ours is booked
for the whole units reserved so far (``units_per_year / 12`` a month, the fraction carried to
the next month), on the same book as everyone else's orders, and delivered into the shared stock
on the book's schedule. Each booking pays ``units x deposit_usd_per_unit`` into the ledger. When
a deal orders units it first claims reserved units nobody has claimed yet, oldest reservation
orders first (delivered or not), and orders only the remainder anew.

Random numbers: other buyers' orders are drawn up front from the pool's stream, then each of
our deal orders draws its lead time from it in turn (also when reserved units cover the whole
order, so that runs with and without reservations keep the same draws). Reservation orders
draw their lead times from a stream of their own, seeded from the pool stream's seed without
drawing from it and created only when the pool has a reservation: a scenario without
reservations draws exactly the numbers it drew before reservations existed.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import simpy

from capsim.model.ledger import Ledger
from capsim.model.records import OTHER_BUYER, OWN, EquipmentRow, Recorder
from capsim.scenario.schema import EquipmentPool, EquipmentReservation

#: Cap on one order, so that an absurd site size (1e300 MW) stays a whole number that fits int64.
MAX_UNITS = 10**15
#: Deal identifier of our reservation orders in the equipment table.
RESERVATION = "reservation"
#: Extra entropy word that tells a pool's reservation stream apart from the pool's own stream.
_RESERVATION_TAG = 0x52455356  # "RESV"
#: Slack on the units reserved so far, so that 12 / 12 * 12 months books 12 units, not 11.
_UNIT_SLACK = 1e-9


@dataclass(slots=True)
class Order:
    """Units on the order book for one buyer (``reserved``: a reservation order of ours)."""

    buyer: str
    deal_id: str
    units: int
    ordered: float
    earliest_delivery: float
    delivered: float | None = None
    reserved: bool = False
    claimed_units: int = 0


def reservation_stream(pool_rng: np.random.Generator) -> np.random.Generator:
    """A generator for a pool's reservation lead times, seeded from the pool stream's seed.

    Reading the seed sequence's state draws nothing, so the pool stream is left untouched.
    """
    state = pool_rng.bit_generator.seed_seq.generate_state(4)
    return np.random.default_rng(np.random.SeedSequence([*map(int, state), _RESERVATION_TAG]))


class EquipmentBook:
    """One equipment type: the factory's order book and our stock of delivered units.

    The book is first in, first out and the factory makes one unit every ``12 / units_per_year``
    months, so each order's completion follows from the orders before it by arithmetic: other
    buyers' orders (drawn up front as a Poisson stream) need no simulation events, and only our
    own deliveries are scheduled.
    """

    def __init__(
        self,
        env: simpy.Environment,
        name: str,
        spec: EquipmentPool,
        rng: np.random.Generator,
        horizon_months: float,
        recorder: Recorder,
        ledger: Ledger,
        reservation: EquipmentReservation | None = None,
        reservation_rng: np.random.Generator | None = None,
    ) -> None:
        self.env = env
        self.ledger = ledger
        self.reservation = reservation
        self.name = name
        self.spec = spec
        self.rng = rng
        self.recorder = recorder
        self.horizon_months = horizon_months
        self.months_per_unit = 12.0 / spec.units_per_year
        self.stock = simpy.Container(env, init=0, capacity=math.inf)
        self.orders: list[Order] = []
        #: Our reservation orders, oldest first (claims take from the front).
        self.reservations: list[Order] = []
        #: Reserved units no deal has claimed yet.
        self.unclaimed_units = 0
        self._factory_free_at = 0.0
        self._others = self._other_buyers(horizon_months)
        if spec.backlog_units > 0:
            self._book(Order(OTHER_BUYER, "", spec.backlog_units, 0.0, self._lead(0.0)))
        self._reservation_rng: np.random.Generator | None = None
        if reservation is not None:
            self._reservation_rng = reservation_rng or reservation_stream(rng)
            env.process(self._reserve(reservation))

    def units_for(self, kind: str, mw: float) -> int:
        """Whole units a site of ``mw`` of this kind needs (at most ``MAX_UNITS``)."""
        per_100mw = self.spec.units_per_100mw.get(kind, 0.0)  # type: ignore[call-overload]
        if per_100mw <= 0:
            return 0
        units = mw * per_100mw / 100.0 - 1e-9
        return math.ceil(units) if units < MAX_UNITS else MAX_UNITS

    def order(self, deal_id: str, units: int) -> None:
        """Place our order now (the policy decides when): reserved units first, then the rest.

        The rest is a new order on the book, delivered into the stock; the lead time is drawn
        whether or not a rest remains, so that reservations never shift the pool's draws.
        """
        if units <= 0:
            return
        now = self.env.now
        self._book_others_until(now)
        earliest = self._lead(now)
        claimed = self._claim(units)
        if claimed > 0:
            self.recorder.log(now, "claimed", f"{self.name}:{deal_id}:{claimed}")
        rest = units - claimed
        if rest <= 0:
            return
        order = Order(OWN, deal_id, rest, now, earliest)
        self._book(order)
        self.recorder.log(now, "ordered", f"{self.name}:{deal_id}:{rest}")
        self.env.process(self._deliver(order))

    def _claim(self, units: int) -> int:
        """Take up to ``units`` unclaimed reserved units, oldest reservation orders first."""
        wanted = min(units, self.unclaimed_units)
        taken = 0
        for reserved in self.reservations:
            if taken >= wanted:
                break
            take = min(reserved.units - reserved.claimed_units, wanted - taken)
            reserved.claimed_units += take
            taken += take
            assert reserved.claimed_units <= reserved.units, "claimed beyond the reservation"
        self.unclaimed_units -= taken
        assert self.unclaimed_units >= 0, "reserved units went negative"
        return taken

    def _reserve(self, spec: EquipmentReservation) -> Generator[simpy.Event, object, None]:
        """Book a reservation order at the start of every month, in whole units.

        Month ``m`` (0 = the start month) books the units reserved by its end less those booked
        before, so fractions carry over. A booking waits for the month-end snapshot of the
        month before (a zero delay), so its deposit is paid in the month it is booked in.
        """
        booked = 0
        month = 0
        while month < self.horizon_months:
            if month > 0:
                yield self.env.timeout(1.0)
                yield self.env.timeout(0.0)
            due = math.floor((month + 1) * spec.units_per_year / 12.0 + _UNIT_SLACK)
            if due > booked:
                self._book_reservation(due - booked, spec.deposit_usd_per_unit)
                booked = due
            month += 1

    def _book_reservation(self, units: int, deposit_usd_per_unit: float) -> None:
        """Put one reservation order of ours on the book now and pay its deposit."""
        assert self._reservation_rng is not None
        now = self.env.now
        self._book_others_until(now)
        lead = self.spec.lead_time_months.sample(self._reservation_rng)
        order = Order(OWN, RESERVATION, units, now, now + lead, reserved=True)
        self._book(order)
        self.reservations.append(order)
        self.unclaimed_units += units
        self.ledger.reservation_usd += units * deposit_usd_per_unit
        self.recorder.log(now, "reserved", f"{self.name}:{units}")
        self.env.process(self._deliver(order))

    def _lead(self, now: float) -> float:
        """Earliest delivery of an order placed ``now``: a lead time drawn from the pool stream."""
        return now + self.spec.lead_time_months.sample(self.rng)

    def _book(self, order: Order) -> None:
        """Put an order on the book; its delivery month follows from the factory's queue."""
        start = max(self._factory_free_at, order.ordered)
        self._factory_free_at = start + order.units * self.months_per_unit
        order.delivered = max(self._factory_free_at, order.earliest_delivery)
        self.orders.append(order)

    def _book_others_until(self, month: float) -> None:
        """Book the other buyers' orders placed up to ``month``, in order.

        The same arithmetic as ``_book`` for their one-unit orders, with the running factory
        time kept in a local: there are thousands of them per replication.
        """
        others = self._others
        if not others or others[-1][0] > month:
            return
        free_at = self._factory_free_at
        months_per_unit = self.months_per_unit
        append = self.orders.append
        while others and others[-1][0] <= month:
            ordered, lead = others.pop()
            earliest = ordered + lead
            free_at = max(free_at, ordered) + 1 * months_per_unit
            append(Order(OTHER_BUYER, "", 1, ordered, earliest, max(free_at, earliest)))
        self._factory_free_at = free_at

    def _other_buyers(self, horizon_months: float) -> list[tuple[float, float]]:
        """Other buyers' single-unit orders over the horizon: (month, lead time), latest first."""
        per_year = self.spec.other_orders_per_year
        arrivals: list[tuple[float, float]] = []
        if not per_year > 0:
            return arrivals
        mean_gap_months = 12.0 / per_year
        exponential = self.rng.exponential
        lead_time_months = self.spec.lead_time_months.sample
        rng = self.rng
        month = 0.0
        while True:
            month += float(exponential(mean_gap_months))
            if month >= horizon_months:
                break
            arrivals.append((month, lead_time_months(rng)))
        arrivals.reverse()
        return arrivals

    def factory_free_at_now(self) -> float:
        """Month the factory will be free of every order placed up to now.

        Brings the book up to date with other buyers' orders placed by now, as any order of ours
        first does; they are booked in the same sequence either way, so no delivery changes.
        """
        self._book_others_until(self.env.now)
        return self._factory_free_at

    def delivery_months_estimate(self, units: float) -> float:
        """Months from now until ``units`` ordered now would be in: reserved units, then new ones.

        Unclaimed reserved units count at their orders' delivery months; the rest wait for the
        factory queue and their own making, or the mean lead time, whichever is later.
        """
        if units <= 0:
            return 0.0
        now = self.env.now
        months = 0.0
        covered = 0.0
        for reserved in self.reservations:
            if covered >= units:
                break
            free = reserved.units - reserved.claimed_units
            if free <= 0:
                continue
            covered += free
            assert reserved.delivered is not None
            months = max(months, reserved.delivered - now)
        rest = units - min(units, covered)
        if rest > 0:
            queue_months = max(0.0, self.factory_free_at_now() - now)
            mean_lead_months = self.spec.lead_time_months.mean()
            months = max(months, queue_months + rest * self.months_per_unit, mean_lead_months)
        return months

    def _deliver(self, order: Order) -> Generator[simpy.Event, object, None]:
        """Put an order's units into the stock in its delivery month."""
        assert order.delivered is not None
        yield self.env.timeout(order.delivered - self.env.now)
        self.stock.put(order.units)
        self.recorder.log(self.env.now, "delivered", f"{self.name}:{order.deal_id}")

    def flush(self, horizon_months: float) -> None:
        """Append every order placed before the horizon to the recorder."""
        self._book_others_until(horizon_months)
        for o in self.orders:
            delivered = (
                o.delivered if o.delivered is not None and o.delivered <= horizon_months else None
            )
            self.recorder.equipment.append(
                EquipmentRow(
                    pool=self.name,
                    buyer=o.buyer,
                    deal_id=o.deal_id,
                    units=o.units,
                    ordered=o.ordered,
                    delivered=delivered,
                    reserved=o.reserved,
                    claimed_units=o.claimed_units,
                )
            )
