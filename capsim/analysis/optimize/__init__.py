"""Search the levers of a scenario for the strategy that minimises a KPI under limits.

``run_optimization`` is what ``capsim optimize`` calls: check the request, run (or resume) the
Optuna study in the output directory with successive halving of replications, validate the
winner out of sample, and write the trials, the frontier, ``best.yaml``, charts and manifest.
Nothing here prints or draws: progress goes to a callback and charts to an ``OptimizationCharts``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from capsim.analysis.experiment import ExperimentSetup
from capsim.analysis.optimize.outputs import Outputs, best_scenario_text, importance_table
from capsim.analysis.optimize.results import candidates, frontier_table, trials_table, validate
from capsim.analysis.optimize.study import (
    OptimizeRequest,
    Plan,
    RungHook,
    TrialProgress,
    start_search,
    validation_seed,
)
from capsim.version import __version__

__all__ = [
    "OptimizationCharts",
    "OptimizationOutcome",
    "OptimizeRequest",
    "run_optimization",
    "validation_seed",
]


class OptimizationCharts(Protocol):
    """Draws a study's charts into a folder; ``capsim.report.optimize`` is one."""

    def optimization_charts(
        self,
        charts_dir: Path,
        trials: pd.DataFrame,
        frontier: pd.DataFrame,
        importance: pd.DataFrame,
        manifest: dict[str, Any],
    ) -> list[str]:
        """Draw the history, frontier and importance charts; return their names."""


@dataclass(frozen=True)
class OptimizationOutcome:
    """Where the study is, its tables and its manifest."""

    directory: Path
    trials: pd.DataFrame
    frontier: pd.DataFrame
    manifest: dict[str, Any]


def _describe(plan: Plan) -> dict[str, Any]:
    """The plan as manifest fields."""
    return {
        "levers": [
            {
                "path": lever.path,
                "kind": "choice" if not lever.numeric else "integer" if lever.integer else "float",
                "low": None if not lever.numeric else lever.low,
                "high": None if not lever.numeric else lever.high,
                "choices": list(lever.choices),
            }
            for lever in plan.levers
        ],
        "minimize": [m.name for m in plan.objectives],
        "subject_to": [limit.text for limit in plan.limits],
        "sampler": "TPE" if len(plan.objectives) == 1 else "NSGA-II",
        "trials": plan.trials,
        "rungs": list(plan.rungs),
        "seed": plan.seed,
        "validation_seed": plan.validation_seed,
        "validation_replications": plan.validation_replications,
    }


def run_optimization(
    setup: ExperimentSetup,
    request: OptimizeRequest,
    output: Path,
    resume: bool = False,
    progress: TrialProgress | None = None,
    charts: OptimizationCharts | None = None,
    on_rung: RungHook | None = None,
) -> OptimizationOutcome:
    """Run (or continue) the study in ``output`` and write its outputs there.

    ``on_rung`` is called after every rung of every trial (tests interrupt the study from it).
    """
    import time

    clock = time.perf_counter()
    search, lock = start_search(setup, request, output, resume, on_rung)
    try:
        search.run(progress)
        plan = search.plan
        trials = trials_table(search)
        chosen, feasible_in_sample = candidates(search, trials)
        validated = validate(search, chosen)
        frontier = frontier_table(search, chosen, validated)
        importance = importance_table(search.study, [m.name for m in plan.objectives])
        picked = frontier[frontier["chosen"]]
        best_row = picked.index[0] if len(picked) else 0
        best = chosen[int(best_row)]
        confirmed = bool(len(picked))
        manifest: dict[str, Any] = {
            "kind": "optimize",
            "capsim_version": __version__,
            "scenario": setup.load().name,
            "scenario_file": str(setup.scenario_path),
            "scenario_sha256": plan.settings(setup, setup.load())["scenario_sha256"],
            "overrides": list(setup.sets),
            **_describe(plan),
            "trials_finished": int(trials["state"].isin(["complete", "fail"]).sum()),
            "search_replications": search.store.total(),
            "validation_replications_run": len(chosen) * plan.validation_replications,
            "validation": {
                "seed": plan.validation_seed,
                "replications": plan.validation_replications,
            },
            "feasible_found": confirmed,
            "feasible_in_sample": feasible_in_sample,
            "verdict": _verdict(confirmed, feasible_in_sample, len(plan.limits)),
            "best": {
                "trial": best.trial,
                "values": best.values,
                "in_sample": dict(
                    zip(frontier.columns, frontier.iloc[int(best_row)].tolist(), strict=True)
                ),
            },
            "wall_seconds": 0.0,
        }
        outputs = Outputs(output)
        try:
            scenario = search.scenario(best.values)
            header = [
                f"capsim optimize: trial {best.trial} of {setup.scenario_path.name}",
                manifest["verdict"],
                f"capsim run best.yaml reproduces its in-sample figures (seed {plan.seed}, "
                f"{plan.rungs[-1]} replications)",
            ]
            outputs.text(
                "best.yaml",
                best_scenario_text(setup.scenario_path, output, plan.levers, scenario, header),
            )
            outputs.table("trials", trials)
            outputs.table("frontier", frontier)
            outputs.table("importance", importance)
            manifest["wall_seconds"] = round(time.perf_counter() - clock, 3)
            manifest["charts"] = (
                charts.optimization_charts(
                    outputs.charts_dir, trials, frontier, importance, manifest
                )
                if charts is not None
                else []
            )
            outputs.manifest(manifest)
            outputs.publish()
        except BaseException:
            outputs.discard()
            raise
    finally:
        search.store.executor.close()
        lock.release()
    return OptimizationOutcome(output, trials, frontier, manifest)


def _verdict(confirmed: bool, in_sample: bool, limits: int) -> str:
    """One plain sentence on feasibility for the outputs."""
    if not limits:
        return "no limits were set: the best strategy is the lowest objective found"
    if confirmed:
        return "a strategy meeting every limit was found and held on validation"
    if in_sample:
        return (
            "NO FEASIBLE STRATEGY CONFIRMED: the in-sample winner broke a limit on validation; "
            "best.yaml holds it for inspection only"
        )
    return (
        "NO FEASIBLE STRATEGY FOUND: no trial met every limit; best.yaml holds the strategy "
        "that broke them least, for inspection only"
    )
