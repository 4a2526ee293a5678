"""What an optimisation minimises and the limits it must respect.

An objective is a KPI statistic over replications (``cash_cost_usd:mean``); a limit bounds one
from above or below (``shortfall_beyond_tolerance_mw_months:p80<=5000``,
``served_share:p10>=0.95``): a quantile limit, which for a 0/1 KPI is a chance limit. A limit's
violation is how far the statistic lies on the wrong side (zero or less when it holds), the
form Optuna's ``constraints_func`` takes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from capsim.analysis.experiment import Measure, parse_measure, statistic
from capsim.errors import UsageError

_LIMIT = re.compile(r"^\s*([^<>=\s]+)\s*(<=|>=)\s*(\S+)\s*$")
#: The statistic an objective or limit uses when none is written.
DEFAULT_STAT = "mean"


@dataclass(frozen=True)
class Limit:
    """``measure <= bound`` or ``measure >= bound``."""

    measure: Measure
    sense: str
    bound: float

    @property
    def text(self) -> str:
        """The limit as written on the command line, e.g. ``served_share:p10>=0.95``."""
        return f"{self.measure.kpi}:{self.measure.stat}{self.sense}{self.bound:g}"

    def violation(self, value: float) -> float:
        """How far ``value`` breaks the limit (<= 0 when it holds; infinite when unknown)."""
        if math.isnan(value):
            return math.inf
        return value - self.bound if self.sense == "<=" else self.bound - value


def parse_objectives(texts: Sequence[str]) -> list[Measure]:
    """``--minimize KPI[:STAT]`` texts as measures (the mean when no statistic is given)."""
    if not texts:
        raise UsageError("give at least one --minimize KPI[:STAT], e.g. cash_cost_usd:mean")
    measures = [parse_measure(text, DEFAULT_STAT) for text in texts]
    if len(set(measures)) != len(measures):
        raise UsageError("each --minimize objective may be given only once")
    return measures


def parse_limit(text: str) -> Limit:
    """``KPI:STAT<=VALUE`` or ``KPI:STAT>=VALUE`` as a limit (a UsageError saying why not)."""
    match = _LIMIT.match(text)
    if match is None:
        raise UsageError(
            f"--subject-to {text!r}: expected KPI:STAT<=VALUE or KPI:STAT>=VALUE, e.g. "
            "shortfall_beyond_tolerance_mw_months:p80<=5000 or served_share:p10>=0.95"
        )
    left, sense, right = match.groups()
    try:
        bound = float(right)
    except ValueError:
        raise UsageError(f"--subject-to {text!r}: {right!r} is not a number") from None
    if not math.isfinite(bound):
        raise UsageError(f"--subject-to {text!r}: the bound must be finite")
    try:
        measure = parse_measure(left, DEFAULT_STAT)
    except UsageError as exc:
        raise UsageError(f"--subject-to {text!r}: {exc}") from None
    return Limit(measure, sense, bound)


@dataclass(frozen=True)
class Figures:
    """One strategy's objectives and limit statistics over some replications."""

    objectives: tuple[float, ...]
    limits: tuple[float, ...]
    violations: tuple[float, ...]
    replications: int

    @property
    def violation(self) -> float:
        """The total violation of broken limits (0 when every limit holds)."""
        return float(sum(max(0.0, v) for v in self.violations))

    @property
    def feasible(self) -> bool:
        """Every limit holds."""
        return all(v <= 0 for v in self.violations)


def figures_of(
    kpis: pd.DataFrame, objectives: Sequence[Measure], limits: Sequence[Limit]
) -> Figures:
    """Objectives and limit statistics over every replication row of ``kpis``."""
    limit_values = tuple(statistic(kpis, limit.measure) for limit in limits)
    return Figures(
        tuple(statistic(kpis, measure) for measure in objectives),
        limit_values,
        tuple(limit.violation(v) for limit, v in zip(limits, limit_values, strict=True)),
        len(kpis),
    )
