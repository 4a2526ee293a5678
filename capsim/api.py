"""The Python API: load a scenario, run a batch, read a run back, simulate one replication.

What the command line does, for notebooks and scripts::

    import capsim
    scenario = capsim.load("scenarios/apac_2026.yaml", policy__reserve_margin=0.2)
    run = capsim.run(scenario, replications=20, output="results/apac-20")
    run.kpis                       # mean and percentiles of the headline KPIs
    run.costs                      # cash cost and the notional unserved-demand penalty apart
    run.table("timeseries")        # any run table as a DataFrame
    run.chart("capacity_fan")      # a matplotlib Figure
    tables = capsim.simulate_one(scenario, replication=3)   # one replication, no files

Errors are the library's exceptions (``ScenarioError`` with located problems, ``UsageError``,
``OutputError``), never ``sys.exit``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from capsim.errors import UsageError
from capsim.runs.kpis import Percentiles
from capsim.runs.rundir import RUN_TABLES as RUN_TABLES
from capsim.runs.rundir import RunDir
from capsim.scenario.schema import Scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from capsim.runs.runner import Progress


def load(path: str | Path, overrides: Iterable[str] = (), **sets: Any) -> Scenario:
    """Load a scenario file with ``extends`` and overrides applied, validated like the CLI.

    ``overrides`` are command-line style strings (``"policy.reserve_margin=0.2"``, the value in
    YAML); keyword ``sets`` take Python values, with ``__`` for the dots of the path
    (``policy__reserve_margin=0.2``, ``replications=50``). Keywords are applied last.
    """
    from capsim.scenario.loader import load_scenario

    changes = [*overrides, *(_override(name, value) for name, value in sets.items())]
    return load_scenario(Path(path), changes)


def _override(name: str, value: Any) -> str:
    """A ``path=value`` override from a keyword (``a__b`` -> ``a.b``) and a Python value."""
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31, sort_keys=False)
    text = text.removesuffix("\n...\n").strip()
    return f"{name.replace('__', '.')}={text}"


def with_changes(scenario: Scenario, **values: Any) -> Scenario:
    """A copy of ``scenario`` with fields changed, validated and checked as ``--set`` would be.

    Keywords use ``__`` for the dots of a path (``policy__reserve_margin=0.3``,
    ``regions__jp_tokyo__existing_mw=120``); nested fields change without restating their
    parents. A bad value raises ``ScenarioError`` naming the field.
    """
    from capsim.scenario.loader import Located, change_scenario, parse_override, scenario_to_data

    changes = []
    for name, value in values.items():
        try:
            changes.append(parse_override(_override(name, value)))
        except ValueError as exc:
            raise UsageError(f"with_changes({name}=...): {exc}") from None
    return change_scenario(Located(scenario_to_data(scenario)), changes, "<api>")


def run(
    scenario: Scenario,
    replications: int | None = None,
    seed: int | None = None,
    output: str | Path | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> Run:
    """Simulate a Monte Carlo batch of ``scenario`` and return the published run directory.

    ``replications`` and ``seed`` override the scenario's. ``output`` is the run directory
    (default ``results/<scenario>-<timestamp>``); an existing one is replaced only with
    ``force``. ``workers`` local processes (``None``: every core), or a Dask ``scheduler``
    address (default: ``$DASK_SCHEDULER_ADDRESS`` when set).
    """
    from capsim.runs.runner import RunOptions, run_scenario

    changes = {k: v for k, v in (("replications", replications), ("seed", seed)) if v is not None}
    if changes:
        scenario = with_changes(scenario, **changes)
    from capsim.report.charts import draw_staged_run

    options = RunOptions(
        output=Path(output) if output is not None else None,
        force=force,
        workers=workers,
        scheduler=scheduler,
        draw=draw_staged_run,
    )
    outcome = run_scenario(scenario, options, progress)
    return Run(outcome.run_dir)


def simulate_one(scenario: Scenario, replication: int = 0) -> dict[str, pd.DataFrame]:
    """The output tables of one replication, in memory (no files): same rows as in a batch.

    Keys are the run-directory table names: timeseries, regions, deals, queue, equipment,
    headroom, milestones, kpis.
    """
    from capsim.model.world import simulate
    from capsim.runs.tables import frames

    if replication < 0:
        raise UsageError(f"replication must be >= 0; found {replication}")
    return frames([simulate(scenario, replication)], scenario)


def open_run(run_dir: str | Path) -> Run:
    """A finished run directory, to read its summary, tables and charts.

    The run is verified first (manifest, summary, every part against its checksum), so a
    damaged run is a UsageError naming the damaged parts rather than quietly wrong tables.
    """
    path = Path(run_dir)
    if not (path / "manifest.json").is_file():
        raise UsageError(f"{path} is not a finished run directory (no manifest.json)")
    opened = RunDir(path)
    opened.verify()
    return Run(opened)


class Run:
    """A published run: manifest, summary, KPIs, tables and charts, backed by a ``RunDir``."""

    def __init__(self, run: RunDir | str | Path) -> None:
        """Wrap an open run, or open the run directory at ``run`` (its files read once)."""
        self._run = run if isinstance(run, RunDir) else RunDir(run)

    def __repr__(self) -> str:
        """``Run(path=...)``, as the API has always shown a run."""
        return f"Run(path={self.path!r})"

    def __eq__(self, other: object) -> bool:
        """Runs are equal when they are the same run directory."""
        return isinstance(other, Run) and self.path == other.path

    def __hash__(self) -> int:
        """Hash of the run directory, so runs can key dicts and sets."""
        return hash(self.path)

    @property
    def rundir(self) -> RunDir:
        """The open run directory behind this run (for the report and analysis functions)."""
        return self._run

    @property
    def path(self) -> Path:
        """The run directory."""
        return self._run.path

    @property
    def manifest(self) -> dict[str, Any]:
        """manifest.json: scenario, seed, replications, version, timing, backend, events."""
        return self._run.manifest

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json: KPIs with mean and percentiles, per-year risks, P-dates, waits."""
        return self._run.summary

    @property
    def scenario(self) -> Scenario:
        """The resolved scenario that ran (scenario.yaml)."""
        return self._run.scenario

    @property
    def percentiles(self) -> Percentiles:
        """The percentiles the run reports (its scenario's ``report.percentiles``)."""
        return Percentiles.of_summary(self.summary)

    @property
    def kpis(self) -> pd.DataFrame:
        """The headline KPIs of summary.json, one row each: label, unit, mean, percentiles, n.

        The percentile columns are the run's (``p10``, ``p50``, ``p80``, ``p90`` by default);
        labels come from the KPI catalogue ('total cost including the penalty').
        """
        from capsim.runs.kpis import lookup

        rows = {name: stats for name, stats in self.summary["kpis"].items()}
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "kpi"
        labels = []
        for name in table.index:
            try:
                labels.append(lookup(str(name)).label)
            except KeyError:
                labels.append(str(name))
        table["label"] = labels
        return table.reindex(columns=["label", "unit", "mean", *self.percentiles.keys, "n"])

    @property
    def costs(self) -> pd.DataFrame:
        """Cash cost and the notional unserved-demand penalty apart, in USD millions.

        One row per cost KPI (capex, energy, bridge premium, cash cost, penalty, total cost
        including the penalty...), with mean and the run's percentiles.
        """
        from capsim.report.memo import cost_table

        return cost_table(self.summary)

    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """One run table by name (``RUN_TABLES``: timeseries, deals, milestones, kpis...)."""
        return self._run.table(name, columns)

    def chart(self, name: str) -> Figure:
        """One of the run's charts as a matplotlib Figure (not saved; ``fig.savefig`` to keep)."""
        from capsim.report import suite

        return suite.draw(name, self._run)

    def check(self) -> pd.DataFrame:
        """The scenario's calibration targets against this run, one row per target.

        The percentile columns are the run's, plus any statistic a target compares.
        """
        from capsim.analysis.calibration import check_run, describe_range, result_keys

        results = check_run(self._run)
        keys = result_keys(results) or list(self.percentiles.keys)
        rows = [
            {
                "target": r.target.name,
                "metric": r.target.metric,
                "unit": r.target.unit,
                "published": describe_range(r.target),
                "statistic": r.target.statistic,
                **{key: r.quantiles.get(key) for key in keys},
                "passed": r.passed,
                "source": r.target.source,
            }
            for r in results
        ]
        columns = ["target", "metric", "unit", "published", "statistic", *keys, "passed", "source"]
        return pd.DataFrame(rows, columns=columns)
