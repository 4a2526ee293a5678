"""What a finished search produced: the trials table, the winner or Pareto set, their validation.

Only trials judged on the full replications compete. With one objective the winner is the
feasible one (every limit held in-sample) with the lowest objective; with several, the Pareto
set of feasible trials. Each is run again with the validation seed and more replications; the
limits are checked on that run, and a strategy that breaks them there is not confirmed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capsim.analysis.optimize.goals import Figures, figures_of
from capsim.analysis.optimize.halving import dominates
from capsim.analysis.optimize.replications import ReplicationStore
from capsim.analysis.optimize.study import VALIDATION_DIR, Search
from capsim.errors import UsageError
from capsim.scenario.loader import Change


def trials_table(search: Search) -> pd.DataFrame:
    """One row per trial: lever values, replications judged on, figures, feasibility, state."""
    rows: list[dict[str, Any]] = []
    plan = search.plan
    for trial in search.study.get_trials(deepcopy=False):
        replications = int(trial.user_attrs.get("replications", 0))
        stored = trial.user_attrs.get(f"rung_{replications}")
        figures = search.figures(stored, replications) if stored else None
        row: dict[str, Any] = {"trial": trial.number, "state": trial.state.name.lower()}
        row.update({lever.path: trial.params.get(lever.path) for lever in plan.levers})
        row["replications"] = replications
        for i, measure in enumerate(plan.objectives):
            row[measure.name] = figures.objectives[i] if figures else math.nan
        for i, limit in enumerate(plan.limits):
            row[limit.measure.name] = figures.limits[i] if figures else math.nan
        row["violation"] = figures.violation if figures else math.nan
        row["feasible"] = bool(figures.feasible) if figures else False
        row["full"] = replications == plan.rungs[-1]
        row["error"] = str(trial.user_attrs.get("error", ""))
        rows.append(row)
    table = pd.DataFrame(rows)
    for lever in plan.levers:
        if not lever.numeric:
            table[lever.path] = table[lever.path].astype(object)
    return table


@dataclass(frozen=True)
class Candidate:
    """A strategy that competes for the win: its trial, values and in-sample figures."""

    trial: int
    values: dict[str, Any]
    figures: Figures


def _plain(value: Any) -> Any:
    """A table cell as a plain Python value (NumPy numbers unwrapped) for YAML and Optuna."""
    return value.item() if isinstance(value, np.generic) else value


def candidates(search: Search, table: pd.DataFrame) -> tuple[list[Candidate], bool]:
    """The winner (one objective) or Pareto set, and whether it was feasible in-sample.

    When no full trial held every limit, the one that broke them least is returned (False).
    """
    full = table[(table["state"] == "complete") & table["full"]]
    pool: list[Candidate] = []
    seen: set[tuple[Any, ...]] = set()
    trials = search.study.get_trials(deepcopy=False)
    for row in full.to_dict("records"):
        values = {lever.path: _plain(row[lever.path]) for lever in search.plan.levers}
        key = tuple(values.values())
        if key in seen:
            continue
        seen.add(key)
        number, replications = int(row["trial"]), int(row["replications"])
        stored = trials[number].user_attrs[f"rung_{replications}"]
        pool.append(Candidate(number, values, search.figures(stored, replications)))
    if not pool:
        errors = [e for e in table.get("error", pd.Series(dtype=str)) if e]
        reason = f": {errors[0]}" if errors else ""
        raise UsageError(f"no trial finished on the full replications{reason}")
    feasible = [c for c in pool if c.figures.feasible]
    if not feasible:
        least = min(pool, key=lambda c: (c.figures.violation, c.trial))
        return [least], False
    if len(search.plan.objectives) == 1:
        best = min(feasible, key=lambda c: (c.figures.objectives[0], c.trial))
        return [best], True
    front = [c for c in feasible if not any(dominates(o.figures, c.figures) for o in feasible)]
    return sorted(front, key=lambda c: (c.figures.objectives, c.trial)), True


def validate(search: Search, chosen: Sequence[Candidate]) -> list[Figures]:
    """Each candidate run again with the validation seed and replications (out of sample).

    Kept apart from the search's replications (``validation/``), so the search budget counts
    only what the search ran.
    """
    plan = search.plan
    extra = [
        Change(("seed",), plan.validation_seed, "validation"),
        Change(("replications",), plan.validation_replications, "validation"),
    ]
    out = []
    store = ReplicationStore(search.directory / VALIDATION_DIR, search.store.executor)
    for candidate in chosen:
        scenario = search.scenario(candidate.values, extra)
        kpis = store.kpis(scenario, plan.validation_replications)
        out.append(figures_of(kpis, plan.objectives, plan.limits))
    return out


def frontier_table(
    search: Search, chosen: Sequence[Candidate], validated: Sequence[Figures]
) -> pd.DataFrame:
    """In-sample and validated figures of each candidate, side by side; the pick marked."""
    plan = search.plan
    rows: list[dict[str, Any]] = []
    for candidate, checked in zip(chosen, validated, strict=True):
        row: dict[str, Any] = {"trial": candidate.trial, **candidate.values}
        for i, measure in enumerate(plan.objectives):
            row[measure.name] = candidate.figures.objectives[i]
            row[f"{measure.name}_validated"] = checked.objectives[i]
        for i, limit in enumerate(plan.limits):
            row[limit.measure.name] = candidate.figures.limits[i]
            row[f"{limit.measure.name}_validated"] = checked.limits[i]
        row["replications"] = candidate.figures.replications
        row["validation_replications"] = checked.replications
        row["feasible_in_sample"] = candidate.figures.feasible
        row["feasible_validated"] = checked.feasible
        rows.append(row)
    table = pd.DataFrame(rows)
    confirmed = table["feasible_validated"].to_numpy(dtype=bool)
    pick = int(np.argmax(confirmed)) if confirmed.any() else -1
    table["chosen"] = [i == pick for i in range(len(table))]
    return table
