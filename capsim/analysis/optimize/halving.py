"""Adaptive replications: asynchronous successive halving over doubling replication counts.

A trial is first judged on a few replications (the first rung). It earns the next rung, twice
as many replications, only while it ranks in the better half of the trials already judged at
that rung; the last rung is the full ``-n``. Because replication ``r`` draws the same random
numbers in every trial (common random numbers), trials at a rung are compared on identical
replications, and a promoted trial keeps its first ``k`` replications and only runs ``k..2k-1``.

Rank-based halving is used rather than racing on confidence intervals because the objective may
be any percentile, whose standard error is not at hand, and because the rule is deterministic:
it depends only on earlier trials' figures, so a resumed study promotes exactly as an
uninterrupted one does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from capsim.analysis.optimize.goals import Figures
from capsim.errors import UsageError

#: Each rung doubles the replications, and half the trials judged at a rung may go on.
ETA = 2


def rung_sizes(full: int, first: int) -> list[int]:
    """Replications of each rung: ``full`` halved until it would fall below ``first``.

    ``rung_sizes(32, 4) == [4, 8, 16, 32]``; ``rung_sizes(20, 4) == [5, 10, 20]``.
    """
    if first < 1 or full < 1:
        raise UsageError("replication counts must be at least 1")
    sizes = [full]
    while math.ceil(sizes[-1] / ETA) >= first and sizes[-1] > 1:
        smaller = math.ceil(sizes[-1] / ETA)
        if smaller == sizes[-1]:
            break
        sizes.append(smaller)
    return sorted(sizes)


def _key(figures: Figures) -> tuple[float, ...]:
    """Single-objective order: feasible before infeasible, then by objective or violation."""
    if figures.feasible:
        value = figures.objectives[0]
        return (0.0, math.inf if math.isnan(value) else value)
    return (1.0, figures.violation)


def dominates(a: Figures, b: Figures) -> bool:
    """``a`` constraint-dominates ``b`` (all objectives minimised).

    Feasible beats infeasible; of two infeasible, the smaller violation wins; of two feasible,
    ``a`` is no worse on every objective and better on one.
    """
    if a.feasible != b.feasible:
        return a.feasible
    if not a.feasible:
        return a.violation < b.violation
    pairs = list(zip(a.objectives, b.objectives, strict=True))
    if any(math.isnan(x) for x, _ in pairs):
        return False
    no_worse = all(x <= y or math.isnan(y) for x, y in pairs)
    return no_worse and any(x < y or (math.isnan(y)) for x, y in pairs)


def promoted(candidate: Figures, others: Sequence[Figures]) -> bool:
    """Whether ``candidate`` goes on to the next rung, judged against ``others`` at its rung.

    One objective: it must rank in the better ``1/ETA`` of all trials judged at the rung (itself
    included; ties favour it). Several objectives: no other trial may constraint-dominate it.
    """
    if len(candidate.objectives) > 1:
        return not any(dominates(other, candidate) for other in others)
    mine = _key(candidate)
    better = sum(1 for other in others if _key(other) < mine)
    return better < math.ceil((len(others) + 1) / ETA)
