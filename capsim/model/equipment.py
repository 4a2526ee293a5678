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

from capsim.records import Recorder
from capsim.scenario import EquipmentPool

OUR = "own"
OTHER = "other"


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
    """One equipment type: order book, factory process and our stock of delivered units."""

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
        self.horizon_months = horizon_months
        self.recorder = recorder
        self.months_per_unit = 12.0 / spec.units_per_year
        self.book: simpy.Store = simpy.Store(env)
        self.stock = simpy.Container(env, init=0, capacity=math.inf)
        self.orders: list[Order] = []
        self.on_order_units = 0
        if spec.backlog_units > 0:
            self._place(OTHER, "", spec.backlog_units)
        env.process(self._factory())
        env.process(self._other_buyers())

    def units_for(self, kind: str, mw: float) -> int:
        """Whole units a site of ``mw`` of this kind needs."""
        per_100mw = self.spec.units_per_100mw.get(kind, 0.0)  # type: ignore[call-overload]
        return math.ceil(mw * per_100mw / 100.0 - 1e-9) if per_100mw > 0 else 0

    def order(self, deal_id: str, units: int) -> None:
        """Place our order now (the policy decides when)."""
        if units > 0:
            self._place(OUR, deal_id, units)
            self.recorder.log(self.env.now, "ordered", f"{self.name}:{deal_id}:{units}")

    def _place(self, buyer: str, deal_id: str, units: int) -> None:
        lead = self.spec.lead_time_months.sample(self.rng)
        order = Order(buyer, deal_id, units, self.env.now, self.env.now + lead)
        self.orders.append(order)
        if buyer == OUR:
            self.on_order_units += units
        self.book.put(order)

    def _factory(self) -> Generator[simpy.Event, object, None]:
        while True:
            order = yield self.book.get()
            assert isinstance(order, Order)
            yield self.env.timeout(order.units * self.months_per_unit)
            wait = order.earliest_delivery - self.env.now
            if wait > 0:
                self.env.process(self._deliver_later(order, wait))
            else:
                self._deliver(order)

    def _deliver_later(self, order: Order, wait: float) -> Generator[simpy.Event, object, None]:
        yield self.env.timeout(wait)
        self._deliver(order)

    def _deliver(self, order: Order) -> None:
        order.delivered = self.env.now
        if order.buyer == OUR:
            self.on_order_units -= order.units
            self.stock.put(order.units)
            self.recorder.log(self.env.now, "delivered", f"{self.name}:{order.deal_id}")

    def _other_buyers(self) -> Generator[simpy.Event, object, None]:
        per_year = self.spec.other_orders_per_year
        if per_year <= 0:
            return
        while True:
            gap = float(self.rng.exponential(12.0 / per_year))
            if self.env.now + gap >= self.horizon_months:
                return
            yield self.env.timeout(gap)
            self._place(OTHER, "", 1)

    def flush(self) -> None:
        """Append every order to the recorder (at the end of a replication)."""
        for o in self.orders:
            self.recorder.equipment.append(
                (self.name, o.buyer, o.deal_id, o.units, o.ordered, o.delivered)
            )
