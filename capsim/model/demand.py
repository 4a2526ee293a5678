"""Portfolio demand: a growth path with parameters drawn per replication, plus random shocks.

Demand is in facility MW (IT MW x PUE). The policy forecasts with the same growth path but
without shocks that have not happened yet: it knows the trend, not the surprises.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
import simpy

from capsim.model.records import Recorder
from capsim.scenario.schema import (
    Demand,
    DemandShock,
    ExponentialGrowth,
    LogisticGrowth,
    TableGrowth,
)


class DemandPath:
    """One replication's demand: drawn parameters, shocks so far, and facility MW at any month."""

    def __init__(self, spec: Demand, rng: np.random.Generator) -> None:
        self.it_mw_start = spec.it_mw_start.sample(rng)
        self.pue = spec.pue.sample(rng)
        self.growth = spec.growth
        self.bound_shares = {b.region: b.share for b in spec.region_bound}
        self.shock_it_mw = 0.0
        growth = spec.growth
        if isinstance(growth, ExponentialGrowth):
            self._rate = growth.annual_growth.sample(rng)
        elif isinstance(growth, LogisticGrowth):
            self._ceiling_it_mw = growth.ceiling_it_mw.sample(rng)
            self._steepness = growth.steepness_per_year.sample(rng)
        else:
            self._scale = growth.scale.sample(rng)

    def trend_it_mw(self, months: float) -> float:
        """IT MW of the growth path alone (no shocks) at a month from start."""
        growth = self.growth
        if isinstance(growth, ExponentialGrowth):
            if self.it_mw_start <= 0:
                return 0.0
            try:
                return float(self.it_mw_start * (1.0 + self._rate) ** (months / 12.0))
            except OverflowError:  # absurd growth over a long horizon: unbounded, not a crash
                return math.inf
        if isinstance(growth, LogisticGrowth):
            if self.it_mw_start <= 0 or self._ceiling_it_mw <= 0:
                return 0.0
            decay = math.exp(-self._steepness * months / 12)
            if decay <= 0:  # a steep curve late on: the ceiling is reached
                return self._ceiling_it_mw
            if decay >= 1:  # the start month, or a flat curve
                return self.it_mw_start
            # C / (1 + (C/s - 1) d) written as a weighted harmonic mean of C and s: both terms
            # are non-negative, so no cancellation can divide by zero for any C, s > 0.
            inverse = (1.0 - decay) / self._ceiling_it_mw + decay / self.it_mw_start
            return 1.0 / inverse if inverse > 0 else math.inf
        return self._table_it_mw(growth, months)

    def _table_it_mw(self, growth: TableGrowth, months: float) -> float:
        table = growth.it_mw_by_year
        years = months / 12.0
        if years >= len(table) - 1:
            return table[-1] * self._scale
        low = int(years)
        frac = years - low
        return (table[low] * (1 - frac) + table[low + 1] * frac) * self._scale

    def facility_mw(self, months: float) -> float:
        """Facility MW demanded at a month from start, shocks so far included."""
        return (self.trend_it_mw(months) + self.shock_it_mw) * self.pue

    def forecast_mw(self, now: float, lookahead_months: float) -> float:
        """What the policy expects demand to be ``lookahead_months`` from now."""
        return (self.trend_it_mw(now + lookahead_months) + self.shock_it_mw) * self.pue

    def bound_mw(self, region: str, total_mw: float) -> float:
        """Part of ``total_mw`` that must be served inside ``region``."""
        return self.bound_shares.get(region, 0.0) * total_mw


def shock_process(
    env: simpy.Environment,
    path: DemandPath,
    shock: DemandShock,
    rng: np.random.Generator,
    horizon_months: float,
    recorder: Recorder,
) -> Generator[simpy.Event, object, None]:
    """Poisson arrivals of one kind of demand shock, each stepping IT load up."""
    if shock.rate_per_year <= 0:
        return
    mean_gap_months = 12.0 / shock.rate_per_year
    while True:
        gap = float(rng.exponential(mean_gap_months))
        if env.now + gap >= horizon_months:
            return
        yield env.timeout(gap)
        path.shock_it_mw += shock.it_mw.sample(rng)
        recorder.log(env.now, "shock", shock.name)
