"""``capsim optimize`` as a library: finds a known optimum cheaply, honours limits, resumes."""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
import yaml
from tiny import GROWING, TINY

from capsim.analysis.experiment import ExperimentSetup, Measure, statistic
from capsim.analysis.optimize import (
    OptimizationOutcome,
    OptimizeRequest,
    run_optimization,
    validation_seed,
)
from capsim.analysis.optimize.goals import Figures, parse_limit
from capsim.analysis.optimize.halving import promoted, rung_sizes
from capsim.analysis.optimize.replications import split_range
from capsim.errors import ScenarioError, UsageError
from capsim.runs.executors import InProcessExecutor, plan_chunks
from capsim.scenario.loader import load_scenario

#: Replications of a full trial, and of every point of the brute-force grid.
FULL = 16
DEALS = range(1, 9)
LOOKAHEADS = ("0", "6", "12", "18", "24")
OBJECTIVE = Measure("total_cost_usd", "mean")
#: The optimum found must be within this share of the brute-force optimum.
TOLERANCE = 0.01


def growing_file(folder: Path, replications: int = FULL) -> Path:
    """The tiny growing market as a scenario file, with a price on unserved demand."""
    data: dict[str, Any] = copy.deepcopy(TINY)
    for path, value in GROWING.items():
        node = data
        *parents, last = path.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    data["replications"] = replications
    data["money"]["unserved_usd_per_mw_month"] = 150_000
    path = folder / "growing.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def request(trials: int = 12, limits: tuple[str, ...] = ()) -> OptimizeRequest:
    """Deals in flight (whole numbers) and the forecast horizon (choices), total cost minimised."""
    return OptimizeRequest(
        ("policy.max_live_deals=1:8", f"policy.lookahead_months={','.join(LOOKAHEADS)}"),
        ("total_cost_usd:mean",),
        limits,
        trials=trials,
        first_replications=2,
    )


def optimize_with_limit(folder: Path, trials: int, limit: str) -> OptimizationOutcome:
    """A study of ``trials`` trials under one limit, on four replications, in ``folder/study``."""
    scenario_file = growing_file(folder, replications=4)
    return run_optimization(
        ExperimentSetup(scenario_file, workers=1), request(trials, (limit,)), folder / "study"
    )


def brute_force(scenario_file: Path) -> dict[tuple[int, str], float]:
    """The objective of every grid point over ``FULL`` replications, run here."""
    setup = ExperimentSetup(scenario_file)
    executor = InProcessExecutor()
    values = {}
    for deals, months in itertools.product(DEALS, LOOKAHEADS):
        scenario = load_scenario(
            scenario_file,
            [f"policy.max_live_deals={deals}", f"policy.lookahead_months={months}"],
        )
        tables = [r.tables["kpis"] for r in executor.run(scenario, plan_chunks(FULL, FULL))]
        values[(deals, months)] = statistic(pd.concat(tables), OBJECTIVE)
    assert setup.load().replications == FULL
    return values


@pytest.mark.slow
def test_finds_the_brute_force_optimum_with_a_quarter_of_its_replications(
    tmp_path: Path,
) -> None:
    scenario_file = growing_file(tmp_path)
    grid = brute_force(scenario_file)
    best = min(grid.values())
    outcome = run_optimization(
        ExperimentSetup(scenario_file, workers=1), request(), tmp_path / "study"
    )
    chosen = outcome.frontier[outcome.frontier["chosen"]].iloc[0]
    found = grid[(int(chosen["policy.max_live_deals"]), str(chosen["policy.lookahead_months"]))]
    assert found <= best * (1 + TOLERANCE)
    assert chosen[OBJECTIVE.name] == pytest.approx(found, rel=1e-12)  # same seed, same figures
    brute_force_replications = len(grid) * FULL
    spent = (
        outcome.manifest["search_replications"] + outcome.manifest["validation_replications_run"]
    )
    assert spent <= brute_force_replications / 4


@pytest.mark.slow
def test_an_impossible_limit_is_reported_plainly(tmp_path: Path) -> None:
    outcome = optimize_with_limit(tmp_path, 4, "shortfall_mw_months:mean<=1")
    assert not outcome.manifest["feasible_found"]
    assert outcome.manifest["verdict"].startswith("NO FEASIBLE STRATEGY")
    assert not outcome.frontier["chosen"].any()
    assert "NO FEASIBLE STRATEGY" in (tmp_path / "study/best.yaml").read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_chosen_strategy_meets_the_limit_on_validation(tmp_path: Path) -> None:
    outcome = optimize_with_limit(tmp_path, 6, "served_share:p10>=0.5")
    chosen = outcome.frontier[outcome.frontier["chosen"]]
    if outcome.manifest["feasible_found"]:
        assert (chosen["served_share_p10_validated"] >= 0.5).all()
        assert len(chosen) == 1
    else:
        assert chosen.empty
    assert outcome.frontier["validation_replications"].eq(8).all()


class Stop(KeyboardInterrupt):
    """Raised from inside a trial's evaluation, as Ctrl-C would be."""


@pytest.mark.slow
def test_resume_after_an_interrupt_gives_the_trials_of_an_uninterrupted_study(
    tmp_path: Path,
) -> None:
    scenario_file = growing_file(tmp_path, replications=8)
    setup = ExperimentSetup(scenario_file, workers=1)
    whole = run_optimization(setup, request(6), tmp_path / "whole")

    def interrupt(trial: int, replications: int) -> None:
        if trial == 3 and replications == 2:
            raise Stop

    with pytest.raises(Stop):
        run_optimization(setup, request(6), tmp_path / "cut", on_rung=interrupt)
    assert not (tmp_path / "cut/trials.parquet").exists()
    resumed = run_optimization(setup, request(6), tmp_path / "cut", resume=True)
    assert list(resumed.trials["trial"]) == list(range(6))  # none lost, none repeated
    pd.testing.assert_frame_equal(resumed.trials, whole.trials)
    pd.testing.assert_frame_equal(resumed.frontier, whole.frontier)


@pytest.mark.slow
def test_a_trial_killed_before_its_levers_were_set_is_finished_on_resume(tmp_path: Path) -> None:
    scenario_file = growing_file(tmp_path, replications=8)
    setup = ExperimentSetup(scenario_file, workers=1)
    whole = run_optimization(setup, request(5), tmp_path / "whole")
    run_optimization(setup, request(3), tmp_path / "cut")
    storage = f"sqlite:///{tmp_path / 'cut/study.db'}"
    optuna.load_study(study_name="capsim-optimize", storage=storage).ask()  # then killed
    resumed = run_optimization(setup, request(5), tmp_path / "cut", resume=True)
    assert list(resumed.trials["trial"]) == list(range(5))
    pd.testing.assert_frame_equal(resumed.trials, whole.trials)


def test_a_study_directory_is_not_reused_without_resume(tmp_path: Path) -> None:
    scenario_file = growing_file(tmp_path, replications=2)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken/file").write_text("x", encoding="utf-8")
    with pytest.raises(Exception, match="--resume"):
        run_optimization(ExperimentSetup(scenario_file), request(1), tmp_path / "taken")
    with pytest.raises(UsageError, match="no optimisation study"):
        run_optimization(ExperimentSetup(scenario_file), request(1), tmp_path / "new", True)


def test_a_bad_lever_value_is_located_and_nothing_is_written(tmp_path: Path) -> None:
    scenario_file = growing_file(tmp_path, replications=2)
    bad = OptimizeRequest(("policy.allocation=weights,quickest",), ("cash_cost_usd",))
    with pytest.raises(ScenarioError) as caught:
        run_optimization(ExperimentSetup(scenario_file), bad, tmp_path / "study")
    text = "\n".join(caught.value.messages())
    assert "--lever policy.allocation=weights,quickest" in text
    assert "fastest" in text  # the valid choices are named
    assert not (tmp_path / "study").exists()


def test_rungs_double_up_to_the_full_replications() -> None:
    assert rung_sizes(32, 4) == [4, 8, 16, 32]
    assert rung_sizes(20, 4) == [5, 10, 20]
    assert rung_sizes(3, 4) == [3]


def test_a_trial_goes_on_only_while_in_the_better_half() -> None:
    def one(value: float, violation: float = 0.0) -> Figures:
        return Figures((value,), (0.0,), (violation,), 4)

    others = [one(1.0), one(2.0), one(3.0)]
    assert promoted(one(1.5), others)  # second of four
    assert not promoted(one(2.5), others)  # third of four
    assert not promoted(one(0.0, violation=1.0), others)  # infeasible ranks after feasible
    assert promoted(one(5.0), [])  # the first trial always goes on


def test_limits_read_both_ways() -> None:
    upper = parse_limit("shortfall_beyond_tolerance_mw_months:p80<=5000")
    lower = parse_limit("served_share:p10>=0.95")
    assert upper.violation(4000) < 0 < upper.violation(6000)
    assert lower.violation(0.97) < 0 < lower.violation(0.9)
    assert math.isinf(lower.violation(math.nan))
    with pytest.raises(UsageError, match="expected KPI:STAT"):
        parse_limit("served_share=0.9")


def test_extra_replications_continue_where_the_stored_ones_stop() -> None:
    chunks = split_range(4, 8, 3)
    assert [(c.first, c.stop) for c in chunks] == [(4, 6), (6, 8)]
    assert validation_seed(1) != 1
    assert validation_seed(1) == validation_seed(1)
