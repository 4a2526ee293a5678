"""Experiments over a scenario: many points, each a normal Monte Carlo run with the same seed.

Sensitivity and sweep commands share this: turning a point (parameter values or grid settings)
into changes of the base scenario, made in memory (the file is read once), checking every
point's scenario before anything runs, running the points on the runs executors (one run
directory each under ``runs/<name>/``), reading their KPIs back, and writing the experiment
directory atomically. Every point keeps the base scenario's seed, so each
replication sees the same random draws in every point (common random numbers): differences
between points come from the parameters, not from sampling noise.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capsim.analysis.sensitivity import Parameter, parse_parameter
from capsim.errors import OutputError, Problem, ScenarioError, UsageError
from capsim.runs import executors
from capsim.runs.bookkeeping import scenario_sha256
from capsim.runs.kpis import DEFAULT, Percentiles
from capsim.runs.locks import lock_run_dir
from capsim.runs.settings import DEFAULT_CHUNK_SIZE, SCHEDULER_ENV
from capsim.runs.store import (
    RunWriter,
    check_output_location,
    claim_run_dir,
    default_run_dir,
    staging_dir,
)
from capsim.runs.tables import KPI_UNITS, quantile_row
from capsim.scenario.loader import (
    Change,
    Located,
    change_scenario,
    override_problem,
    parse_override,
    resolve_scenario,
    scenario_to_data,
)
from capsim.scenario.schema import Scenario
from capsim.scenario.yamlio import PathKey
from capsim.version import __version__

#: Called after each point finishes: (points done, points planned, seconds elapsed).
PointProgress = Callable[[int, int, float], None]
#: The statistic over replications that is not a percentile; any ``p<N>`` (1-99) is one too.
MEAN = "mean"
#: Per-replication 1/0: any shortfall in the last calendar year of the horizon.
FINAL_YEAR_KPI = "shortfall_final_year"
KPI_NAMES = (*KPI_UNITS, FINAL_YEAR_KPI)
RUNS = "runs"


@dataclass(frozen=True)
class ExperimentSetup:
    """The base scenario (file and overrides) and how to run each point."""

    scenario_path: Path
    sets: tuple[str, ...] = ()
    workers: int | None = None
    scheduler: str | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE

    @cached_property
    def resolved(self) -> Located:
        """The scenario file read once, with ``sets`` applied; every point starts from a copy."""
        return resolve_scenario(self.scenario_path, self.sets)

    def load(self, changes: Sequence[Change] = ()) -> Scenario:
        """The base scenario with ``changes`` set last, in memory (located errors if bad)."""
        return change_scenario(self.resolved, changes, str(self.scenario_path))


@dataclass(frozen=True)
class Measure:
    """A KPI column and the statistic over replications that stands for a point."""

    kpi: str
    stat: str

    @property
    def name(self) -> str:
        """Column name, e.g. ``shortfall_mw_months_p90``."""
        return f"{self.kpi}_{self.stat}"

    @property
    def unit(self) -> str:
        """Unit of the KPI (probability for the final-year shortfall share)."""
        return KPI_UNITS.get(self.kpi, "probability")


def percentile_of(stat: str) -> int | None:
    """The percentile a statistic names (``p80`` -> 80), None for the mean or anything else."""
    digits = stat.removeprefix("p")
    if digits == stat or not digits.isdigit() or digits != str(int(digits)):
        return None
    number = int(digits)
    return number if 1 <= number <= 99 else None


def check_measure(kpi: str, stat: str) -> Measure:
    """A measure, or a UsageError naming the valid KPIs and statistics.

    The statistic is the mean or any percentile ``p1``-``p99``, so every percentile a run
    reports (``report.percentiles``, e.g. ``p80``) can stand for a point.
    """
    if kpi not in KPI_NAMES:
        raise UsageError(f"unknown KPI {kpi!r} (expected one of: {', '.join(KPI_NAMES)})")
    if stat != MEAN and percentile_of(stat) is None:
        raise UsageError(
            f"unknown statistic {stat!r} (expected mean or a percentile p1-p99, e.g. p50, p80, p90)"
        )
    return Measure(kpi, stat)


def parse_measure(text: str, default_stat: str) -> Measure:
    """``kpi`` or ``kpi:stat`` (e.g. ``cash_cost_usd:p50``)."""
    kpi, _, stat = text.partition(":")
    return check_measure(kpi.strip(), stat.strip() or default_stat)


def value_at(data: Any, path: PathKey) -> Any:
    """The resolved scenario's value at a parsed path (None where nothing is written)."""
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    if isinstance(node, dict) and node.get("dist") == "fixed":
        return node.get("value")
    return node


def format_value(value: float, integer: bool) -> str:
    """A number as ``--set`` text that YAML reads back exactly (no bare ``1e-05``), for messages."""
    if integer:
        return str(int(value))
    return str(np.format_float_positional(value, unique=True, trim="0"))


def parameter_change(parameter: Parameter, value: float, source: str) -> Change:
    """Set ``parameter`` to ``value`` (rounded if whole-numbered, then kept an int)."""
    settable = parameter.settable(value)
    number: int | float = int(settable) if parameter.integer else settable
    return Change(parameter.key, number, source, shown=parameter.path)


def resolve_parameters(setup: ExperimentSetup, specs: Sequence[str]) -> list[Parameter]:
    """Parse ``path=LOW:HIGH`` specs; read base values and whole-number fields from the scenario.

    Both bounds of every parameter are loaded once here, so that a bad path or value is reported
    (with the loader's located message) before any simulation starts.
    """
    data = scenario_to_data(setup.load())
    parameters: list[Parameter] = []
    problems: list[Problem] = []
    for spec in specs:
        path, low, high = parse_parameter(spec)
        key = Parameter(path, low, high).key
        if any(p.key == key for p in parameters):
            raise UsageError(f"--param {path} is given twice")
        base = value_at(data, key)
        integer = isinstance(base, int) and not isinstance(base, bool)
        number = (
            float(base) if isinstance(base, int | float) and not isinstance(base, bool) else None
        )
        parameter = Parameter(path, low, high, integer, number)
        for bound in {parameter.settable(low), parameter.settable(high)}:
            try:
                # problems are blamed on the --param the user typed
                setup.load([parameter_change(parameter, bound, f"--param {spec.strip()}")])
            except ScenarioError as exc:
                problems.extend(exc.problems)
        parameters.append(parameter)
    if problems:
        raise ScenarioError(problems)
    return parameters


def point_changes(parameters: Sequence[Parameter], point: np.ndarray) -> list[Change]:
    """The changes of one point, each blamed on ``--set path=value``; NaN leaves a base value."""
    changes = []
    for parameter, value in zip(parameters, point, strict=True):
        if not math.isnan(float(value)):
            settable = parameter.settable(float(value))
            source = f"--set {parameter.path}={format_value(settable, parameter.integer)}"
            changes.append(parameter_change(parameter, settable, source))
    return changes


def kpi_table(run_dir: Path) -> pd.DataFrame:
    """A run's per-replication KPIs, plus the final-year shortfall flag."""
    kpis = pd.read_parquet(run_dir / "kpis.parquet")
    years = sorted(c for c in kpis.columns if c.startswith("shortfall_in_"))
    kpis[FINAL_YEAR_KPI] = kpis[years[-1]] if years else math.nan
    return kpis


def statistic(kpis: pd.DataFrame, measure: Measure) -> float:
    """One statistic of one KPI over replications (NaNs left out): the mean or a percentile."""
    number = percentile_of(measure.stat)
    percentiles = Percentiles(tuple(sorted({50, number}))) if number is not None else DEFAULT
    return float(quantile_row(kpis[measure.kpi], percentiles=percentiles)[measure.stat])


def _run_point(task: tuple[Scenario, Path, int]) -> Path:
    """Run one point in this process (the unit of work when points run side by side).

    A point lost with a dead pool worker runs again from the start, replacing what it left.
    """
    from capsim.runs.runner import RunOptions, run_scenario

    scenario, output, chunk_size = task
    rerun = staging_dir(output).exists()
    options = RunOptions(output=output, workers=1, chunk_size=chunk_size, charts=False, force=rerun)
    return run_scenario(scenario, options).run_dir


def run_points(
    setup: ExperimentSetup,
    named: Sequence[tuple[str, Scenario]],
    runs_dir: Path,
    progress: PointProgress | None = None,
) -> list[Path]:
    """Run every point into ``runs_dir/<name>``; returns the run directories in order.

    With a Dask scheduler, points run one after another and each point's chunks are spread over
    the cluster. Locally, the points are the tasks of a runs executor: several run side by side
    (each in one pool process, which keeps every worker busy even when a point has fewer chunks
    than there are workers), or one after another in this process with one worker.
    """
    from capsim.runs.runner import RunOptions, run_scenario

    clock = time.perf_counter()
    outputs = [runs_dir / name for name, _ in named]
    workers = setup.workers if setup.workers is not None else (os.cpu_count() or 1)
    scheduler = setup.scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler or len(named) <= 1:
        for done, ((_, scenario), output) in enumerate(zip(named, outputs, strict=True), 1):
            options = RunOptions(
                output=output,
                workers=setup.workers,
                scheduler=scheduler,
                chunk_size=setup.chunk_size,
                charts=False,
            )
            run_scenario(scenario, options)
            if progress is not None:
                progress(done, len(named), time.perf_counter() - clock)
        return outputs
    tasks = [
        (scenario, output, setup.chunk_size)
        for (_, scenario), output in zip(named, outputs, strict=True)
    ]
    executor = executors.local_executor(min(workers, len(named)))
    try:
        for done, _ in enumerate(executor.run_tasks(_run_point, tasks), 1):
            if progress is not None:
                progress(done, len(named), time.perf_counter() - clock)
    finally:
        executor.close()
    return outputs


def load_points(setup: ExperimentSetup, overrides: Sequence[Sequence[str]]) -> list[Scenario]:
    """Every point's scenario from its ``--set`` texts, made in memory, checked before any runs.

    Every problem of every point is reported at once.
    """
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for texts in overrides:
        changes: list[Change] = []
        unreadable: list[Problem] = []
        for text in texts:
            try:
                changes.append(parse_override(text))
            except ValueError as exc:
                unreadable.append(override_problem(text, exc))
        if unreadable:
            problems.extend(unreadable)
        else:
            _load_point(setup, changes, scenarios, problems)
    if problems:
        raise ScenarioError(problems)
    return scenarios


def check_points(setup: ExperimentSetup, points: Sequence[Sequence[Change]]) -> list[Scenario]:
    """Every point's scenario with its changes set; all checked before any runs."""
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for changes in points:
        _load_point(setup, changes, scenarios, problems)
    if problems:
        raise ScenarioError(problems)
    return scenarios


def _load_point(
    setup: ExperimentSetup,
    changes: Sequence[Change],
    scenarios: list[Scenario],
    problems: list[Problem],
) -> None:
    """Add one point's scenario to ``scenarios``, or its problems to ``problems``."""
    try:
        scenarios.append(setup.load(changes))
    except ScenarioError as exc:
        problems.extend(exc.problems)


@dataclass
class ScenarioEvaluator:
    """The ``evaluate(points, labels)`` of the sensitivity methods for a scenario model.

    Each point becomes a run directory ``runs/<label>``; its value is each measure's statistic
    over the point's replications. Every evaluated point is remembered for the points table, and
    its KPI per replication for the paired standard errors (``replicates``).
    """

    setup: ExperimentSetup
    parameters: Sequence[Parameter]
    measures: Sequence[Measure]
    runs_dir: Path
    progress: PointProgress | None = None
    run_names: list[str] = field(default_factory=list)
    per_replication: dict[str, pd.Series] = field(default_factory=dict)

    def __call__(self, points: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """Run every point (checked first) and return [points x measures]."""
        changes = [point_changes(self.parameters, row) for row in points]
        scenarios = check_points(self.setup, changes)
        run_dirs = run_points(
            self.setup, list(zip(labels, scenarios, strict=True)), self.runs_dir, self.progress
        )
        self.run_names.extend(labels)
        values = np.empty((len(labels), len(self.measures)))
        for i, run_dir in enumerate(run_dirs):
            kpis = kpi_table(run_dir)
            values[i] = [statistic(kpis, measure) for measure in self.measures]
            kpi = self.measures[0].kpi  # every measure of a study is a statistic of one KPI
            self.per_replication[labels[i]] = kpis.set_index("replication")[kpi].astype(float)
        return values

    def replicates(self, label: str) -> pd.Series:
        """The study KPI of every replication of the evaluated point ``label``."""
        return self.per_replication[label]


@dataclass(frozen=True)
class DefaultDestination:
    """An experiment's default directory, claimed only when the experiment starts writing.

    ``results/<scenario>-<kind>-<stamp>``, or with ``-2``, ``-3``... when that is taken, so
    experiments started in the same second get directories of their own.
    """

    root: Path
    name: str
    stamp: str


class ExperimentWriter:
    """Stages an experiment directory beside its destination and publishes it atomically.

    The destination is locked from here until ``publish`` or ``discard``: a second experiment
    or run writing the same directory is refused, naming this process.
    """

    def __init__(self, destination: Path | DefaultDestination, force: bool) -> None:
        if isinstance(destination, DefaultDestination):
            path, lock = claim_run_dir(destination.root, destination.name, destination.stamp)
        else:
            path = destination
            check_output_location(path)
            lock = lock_run_dir(path)
        if staging_dir(path).exists() and not force:
            lock.release()
            raise OutputError(
                f"an unfinished experiment is in {staging_dir(path)}; pass --force to start over"
            )
        self.writer = RunWriter(path, force=force, lock=lock)
        self.staging = self.writer.staging
        self.runs_dir = self.staging / RUNS
        self.charts_dir = self.staging / "charts"
        try:
            self.runs_dir.mkdir(exist_ok=True)
        except OSError as exc:
            self.discard()
            raise OutputError(f"cannot write {self.staging}: {exc.strerror or exc}") from exc
        self.clock = time.perf_counter()
        self.started = datetime.now(UTC)

    def table(self, name: str, frame: pd.DataFrame) -> None:
        """Write a table as Parquet and CSV."""
        try:
            parquet = self.staging / f"{name}.parquet"
            temporary = parquet.with_name(f".{parquet.name}.tmp")
            frame.to_parquet(temporary, index=False)
            os.replace(temporary, parquet)
        except OSError as exc:
            raise OutputError(f"cannot write {self.staging}: {exc.strerror or exc}") from exc
        self.writer.write_text(f"{name}.csv", frame.to_csv(index=False))

    def text(self, name: str, text: str) -> None:
        """Write a text file."""
        self.writer.write_text(name, text)

    def publish(self, manifest: dict[str, Any]) -> Path:
        """Add timing to the manifest, write it last and move the directory into place."""
        manifest = {
            **manifest,
            "capsim_version": __version__,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_seconds": round(time.perf_counter() - self.clock, 3),
        }
        directory = self.writer.publish(manifest)
        self.writer.release()  # on failure the caller discards, still holding the lock
        return directory

    def discard(self) -> None:
        """Remove the staging directory after a failure, and give up the lock."""
        try:
            self.writer.discard()
        finally:
            self.writer.release()


def default_destination(
    scenario: Scenario, kind: str, root: Path = Path("results")
) -> DefaultDestination:
    """``results/<scenario>-<kind>-<timestamp>`` (claimed when the experiment starts)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"{scenario.name}-{kind}"
    default_run_dir(root, name, stamp)  # refuse an unusable name before any work
    return DefaultDestination(root, name, stamp)


def base_manifest(kind: str, setup: ExperimentSetup, base: Scenario) -> dict[str, Any]:
    """Manifest fields every experiment shares: kind, base scenario, seed, replications."""
    return {
        "kind": kind,
        "scenario": base.name,
        "scenario_file": str(setup.scenario_path),
        "scenario_sha256": scenario_sha256(scenario_to_data(base)),
        "seed": base.seed,
        "replications": base.replications,
        "overrides": list(setup.sets),
        "workers": setup.workers,
        "scheduler": setup.scheduler,
        "chunk_size": setup.chunk_size,
    }
