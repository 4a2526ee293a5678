"""An optimisation study: Optuna proposes lever values, capsim runs them, the winner is re-checked.

One objective uses TPE, several NSGA-II (a Pareto set); limits go to the sampler's
``constraints_func`` and are checked again in the results. Trials run one after another (each
trial's replications spread over the executor), every trial with the scenario's seed, and each
trial's sampler is seeded from the study seed and the trial number, so the same command gives
the same trials, interrupted and resumed or not. The study lives in ``DIR/study.db`` (Optuna
SQLite); a trial left running by a kill is finished on ``--resume`` under its own number.
Replications are added by successive halving (``halving``); the winner, or each Pareto point,
is then run again with a fresh seed and more replications (out-of-sample validation).
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from capsim.analysis.experiment import ExperimentSetup, Measure
from capsim.analysis.optimize.goals import Figures, Limit, figures_of, parse_limit, parse_objectives
from capsim.analysis.optimize.halving import promoted, rung_sizes
from capsim.analysis.optimize.levers import Lever, LeverValue, lever_changes, resolve_levers
from capsim.analysis.optimize.replications import ReplicationStore
from capsim.errors import OutputError, ScenarioError, UsageError
from capsim.runs import executors
from capsim.runs.bookkeeping import scenario_sha256
from capsim.runs.locks import lock_run_dir
from capsim.runs.store import check_output_location
from capsim.scenario.loader import Change, scenario_to_data
from capsim.scenario.schema import Scenario

STUDY_FILE = "study.db"
SETTINGS_FILE = "study.json"
SEARCH_DIR = "replications"
VALIDATION_DIR = "validation"
STUDY_NAME = "capsim-optimize"
#: Smallest first rung unless asked otherwise.
DEFAULT_FIRST_REPLICATIONS = 4
#: Validation runs this many times the full replications.
VALIDATION_FACTOR = 2
#: The violation given to the sampler for a limit whose statistic is undefined.
UNKNOWN_VIOLATION = 1e300
#: Called after each rung of a trial: (trial number, replications judged on).
RungHook = Callable[[int, int], None]
#: Called after each trial: (trials done, trials planned, seconds elapsed).
TrialProgress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class OptimizeRequest:
    """What to search, what to minimise, what to respect, and how much to spend."""

    levers: tuple[str, ...]
    minimize: tuple[str, ...]
    subject_to: tuple[str, ...] = ()
    trials: int = 20
    first_replications: int | None = None
    validation_replications: int | None = None


@dataclass(frozen=True)
class Plan:
    """A request checked against the scenario: levers, goals, rungs, seeds."""

    levers: tuple[Lever, ...]
    objectives: tuple[Measure, ...]
    limits: tuple[Limit, ...]
    trials: int
    rungs: tuple[int, ...]
    seed: int
    validation_seed: int
    validation_replications: int

    def settings(self, setup: ExperimentSetup, base: Scenario) -> dict[str, Any]:
        """What must not change between a study and its resumption (the trial count may)."""
        return {
            "scenario_file": str(setup.scenario_path),
            "scenario_sha256": scenario_sha256(scenario_to_data(base)),
            "overrides": list(setup.sets),
            "levers": [lever.spec for lever in self.levers],
            "minimize": [f"{m.kpi}:{m.stat}" for m in self.objectives],
            "subject_to": [limit.text for limit in self.limits],
            "rungs": list(self.rungs),
            "seed": self.seed,
            "validation_seed": self.validation_seed,
            "validation_replications": self.validation_replications,
        }


def validation_seed(seed: int) -> int:
    """The fresh seed of out-of-sample validation: the first word of ``SeedSequence([seed, 1])``.

    Derived, so reruns agree; different from ``seed`` for every seed that occurs in practice.
    """
    value = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
    return value if value != seed else value + 1


def plan_study(setup: ExperimentSetup, request: OptimizeRequest) -> Plan:
    """Check every input against the scenario (located errors) before anything runs."""
    base = setup.load()
    objectives = tuple(parse_objectives(request.minimize))
    limits = tuple(parse_limit(text) for text in request.subject_to)
    if len({limit.text for limit in limits}) != len(limits):
        raise UsageError("each --subject-to limit may be given only once")
    if request.trials < 1:
        raise UsageError("--trials must be at least 1")
    levers = tuple(resolve_levers(setup, request.levers))
    full = base.replications
    first = request.first_replications or min(full, DEFAULT_FIRST_REPLICATIONS)
    if first > full:
        raise UsageError(f"--first-replications {first} is more than -n {full}")
    validation = request.validation_replications or VALIDATION_FACTOR * full
    return Plan(
        levers,
        objectives,
        limits,
        request.trials,
        tuple(rung_sizes(full, first)),
        base.seed,
        validation_seed(base.seed),
        validation,
    )


def _sampler(plan: Plan, number: int) -> Any:
    """The sampler for trial ``number``: TPE (one objective) or NSGA-II, seeded per trial.

    Limits reach either sampler through each trial's ``set_constraint`` values.
    """
    import optuna

    seed = int(np.random.SeedSequence([plan.seed, 2, number]).generate_state(1)[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if len(plan.objectives) == 1:
            return optuna.samplers.TPESampler(
                seed=seed,
                n_startup_trials=max(4, min(10, plan.trials // 4)),
                multivariate=True,
            )
        return optuna.samplers.NSGAIISampler(
            seed=seed,
            population_size=max(4, min(20, plan.trials // 4)),
        )


def _distributions(levers: Sequence[Lever]) -> dict[str, Any]:
    """Each lever's Optuna distribution, named by its path."""
    import optuna.distributions as d

    out: dict[str, Any] = {}
    for lever in levers:
        if not lever.numeric:
            out[lever.path] = d.CategoricalDistribution(list(lever.choices))
        elif lever.integer:
            out[lever.path] = d.IntDistribution(math.ceil(lever.low), math.floor(lever.high))
        else:
            out[lever.path] = d.FloatDistribution(lever.low, lever.high)
    return out


@dataclass
class Search:
    """A study being run: the plan, the base scenario, the Optuna study, stored replications."""

    setup: ExperimentSetup
    plan: Plan
    directory: Path
    study: Any
    store: ReplicationStore
    on_rung: RungHook | None = None

    def scenario(self, values: Mapping[str, LeverValue], extra: Sequence[Change] = ()) -> Scenario:
        """The base scenario with the levers set to ``values`` (and ``extra`` changes)."""
        return self.setup.load([*lever_changes(self.plan.levers, values), *extra])

    def judged_at(self, replications: int, before: int) -> list[Figures]:
        """Figures at a rung of every finished trial numbered below ``before``."""
        import optuna

        out = []
        for trial in self.study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
        ):
            stored = trial.user_attrs.get(f"rung_{replications}")
            if trial.number < before and stored is not None:
                out.append(self.figures(stored, replications))
        return out

    def figures(self, stored: Mapping[str, Sequence[float]], replications: int) -> Figures:
        """Figures back from a trial's stored rung."""
        limits = tuple(float(v) for v in stored["limits"])
        return Figures(
            tuple(float(v) for v in stored["objectives"]),
            limits,
            tuple(lim.violation(v) for lim, v in zip(self.plan.limits, limits, strict=True)),
            replications,
        )

    def run_trial(self, trial: Any) -> None:
        """Evaluate one trial rung by rung, then tell Optuna its figures at the last rung."""
        import optuna

        try:
            scenario = self.scenario(trial.params)
        except ScenarioError as exc:
            trial.set_user_attr("error", "; ".join(exc.messages()))
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        figures: Figures | None = None
        for replications in self.plan.rungs:
            kpis = self.store.kpis(scenario, replications)
            figures = figures_of(kpis, self.plan.objectives, self.plan.limits)
            trial.set_user_attr(
                f"rung_{replications}",
                {"objectives": list(figures.objectives), "limits": list(figures.limits)},
            )
            if self.on_rung is not None:
                self.on_rung(trial.number, replications)
            if replications == self.plan.rungs[-1]:
                break
            if not promoted(figures, self.judged_at(replications, trial.number)):
                break
        assert figures is not None
        trial.set_user_attr("replications", figures.replications)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a resumed trial may have set them already
            for limit, violation in zip(self.plan.limits, figures.violations, strict=True):
                # the samplers' constraints: a trial is feasible when every value is <= 0
                trial.set_constraint(limit.text, min(float(violation), UNKNOWN_VIOLATION))
        if any(np.isnan(figures.objectives)):
            trial.set_user_attr("error", "an objective is undefined (NaN) for this strategy")
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        self.study.tell(trial, list(figures.objectives))

    def finished(self) -> int:
        """Trials complete or failed so far."""
        import optuna

        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
        return len(self.study.get_trials(deepcopy=False, states=states))

    def run(self, progress: TrialProgress | None) -> None:
        """Finish trials a kill left running, then ask for new ones until the budget is spent."""
        import optuna

        clock = time.perf_counter()
        distributions = _distributions(self.plan.levers)
        for left in self.study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
            self.study.sampler = _sampler(self.plan, left.number)
            trial = optuna.trial.Trial(self.study, left._trial_id)
            _suggest_all(trial, distributions)  # a kill may have come before every lever was set
            self.run_trial(trial)
        while (done := self.finished()) < self.plan.trials:
            if progress is not None and done:
                progress(done, self.plan.trials, time.perf_counter() - clock)
            self.study.sampler = _sampler(self.plan, len(self.study.trials))
            self.run_trial(self.study.ask(distributions))
        if progress is not None:
            progress(self.finished(), self.plan.trials, time.perf_counter() - clock)


def _suggest_all(trial: Any, distributions: Mapping[str, Any]) -> None:
    """Give ``trial`` a value for every lever; values it already has are kept as they are."""
    import optuna.distributions as d

    for name, distribution in distributions.items():
        if isinstance(distribution, d.CategoricalDistribution):
            trial.suggest_categorical(name, distribution.choices)
        elif isinstance(distribution, d.IntDistribution):
            trial.suggest_int(name, distribution.low, distribution.high)
        else:
            trial.suggest_float(name, distribution.low, distribution.high)


def open_study(directory: Path, plan: Plan, settings: dict[str, Any], resume: bool) -> Any:
    """Create the study in ``directory`` (refused if one is there) or open it to resume."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings_path = directory / SETTINGS_FILE
    if resume:
        if not settings_path.exists():
            raise UsageError(f"--resume: {directory} holds no optimisation study to continue")
        stored = json.loads(settings_path.read_text(encoding="utf-8"))
        differ = [k for k, v in settings.items() if stored.get(k) != v]
        if differ:
            raise UsageError(
                f"--resume: {directory} holds a study with other {', '.join(differ)}; "
                "resume with the command that started it (only --trials may change)"
            )
    else:
        if directory.exists() and any(directory.iterdir()):
            raise OutputError(
                f"{directory} already exists; pass --resume to continue its study, or choose "
                "another -o"
            )
        directory.mkdir(parents=True, exist_ok=True)
        temporary = settings_path.with_name(f".{SETTINGS_FILE}.tmp")
        temporary.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        temporary.replace(settings_path)
    storage = optuna.storages.RDBStorage(f"sqlite:///{directory / STUDY_FILE}")
    directions: list[Any] = ["minimize"] * len(plan.objectives)
    return optuna.create_study(
        study_name=STUDY_NAME,
        storage=storage,
        directions=directions,
        load_if_exists=True,
        sampler=_sampler(plan, 0),
    )


def start_search(
    setup: ExperimentSetup,
    request: OptimizeRequest,
    directory: Path,
    resume: bool,
    on_rung: RungHook | None = None,
) -> tuple[Search, Any]:
    """Check the request, lock ``directory`` and open its study; returns the search and the lock.

    Nothing is written when the inputs are bad.
    """
    plan = plan_study(setup, request)
    base = setup.load()
    check_output_location(directory, [setup.scenario_path])
    lock = lock_run_dir(directory)
    try:
        study = open_study(directory, plan, plan.settings(setup, base), resume)
        executor = executors.make_executor(setup.workers, setup.scheduler)
    except BaseException:
        lock.release()
        raise
    store = ReplicationStore(directory / SEARCH_DIR, executor)
    return Search(setup, plan, directory, study, store, on_rung), lock
