"""Long-lead equipment: a factory order book per type, first in first out, and a shared stock.

The factory makes units one after another at its yearly output; an order is delivered when its
last unit is made, but never sooner than its lead time after ordering. Other buyers' backlog and
new orders share the same book. Our delivered units go into one stock that every site draws
from, so units ordered for a deal that dies are used by the next site (a hedge, not a loss).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
import simpy

from capsim.model.records import OTHER_BUYER, OWN, EquipmentRow, Recorder
from capsim.scenario.schema import EquipmentPool

#: Cap on one order, so that an absurd site size (1e300 MW) stays a whole number that fits int64.
MAX_UNITS = 10**15


@dataclass
class Order:
    """Units on the order book for one buyer."""

    buyer: str
    deal_id: str
    units: int
    ordered: float
    earliest_delivery: float
    delivered: float | None = None


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
    ) -> None:
        self.env = env
        self.name = name
        self.spec = spec
        self.rng = rng
        self.recorder = recorder
        self.months_per_unit = 12.0 / spec.units_per_year
        self.stock = simpy.Container(env, init=0, capacity=math.inf)
        self.orders: list[Order] = []
        self._factory_free_at = 0.0
        self._others = self._other_buyers(horizon_months)
        if spec.backlog_units > 0:
            self._book(Order(OTHER_BUYER, "", spec.backlog_units, 0.0, self._lead(0.0)))

    def units_for(self, kind: str, mw: float) -> int:
        """Whole units a site of ``mw`` of this kind needs (at most ``MAX_UNITS``)."""
        per_100mw = self.spec.units_per_100mw.get(kind, 0.0)  # type: ignore[call-overload]
        if per_100mw <= 0:
            return 0
        units = mw * per_100mw / 100.0 - 1e-9
        return math.ceil(units) if units < MAX_UNITS else MAX_UNITS

    def order(self, deal_id: str, units: int) -> None:
        """Place our order now (the policy decides when); it is delivered into the stock."""
        if units <= 0:
            return
        now = self.env.now
        self._book_others_until(now)
        order = Order(OWN, deal_id, units, now, self._lead(now))
        self._book(order)
        self.recorder.log(now, "ordered", f"{self.name}:{deal_id}:{units}")
        self.env.process(self._deliver(order))

    def _lead(self, now: float) -> float:
        return now + self.spec.lead_time_months.sample(self.rng)

    def _book(self, order: Order) -> None:
        """Put an order on the book; its delivery month follows from the factory's queue."""
        start = max(self._factory_free_at, order.ordered)
        self._factory_free_at = start + order.units * self.months_per_unit
        order.delivered = max(self._factory_free_at, order.earliest_delivery)
        self.orders.append(order)

    def _book_others_until(self, month: float) -> None:
        while self._others and self._others[-1][0] <= month:
            ordered, lead = self._others.pop()
            self._book(Order(OTHER_BUYER, "", 1, ordered, ordered + lead))

    def _other_buyers(self, horizon_months: float) -> list[tuple[float, float]]:
        """Other buyers' single-unit orders over the horizon: (month, lead time), latest first."""
        per_year = self.spec.other_orders_per_year
        arrivals: list[tuple[float, float]] = []
        month = 0.0
        while per_year > 0:
            month += float(self.rng.exponential(12.0 / per_year))
            if month >= horizon_months:
                break
            arrivals.append((month, self.spec.lead_time_months.sample(self.rng)))
        arrivals.reverse()
        return arrivals

    def _deliver(self, order: Order) -> Generator[simpy.Event, object, None]:
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
                )
            )
