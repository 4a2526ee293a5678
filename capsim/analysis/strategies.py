"""Procurement strategies compared: a base scenario and variants, paired replication by replication.

Every strategy runs with the base's seed and replications (common random numbers), so
replication ``i`` of each draws the same demand, queue arrivals and lead times, and a difference
between two strategies in one replication comes from the strategy alone. The comparison is plain
data (``StrategyComparison``); ``capsim.report.strategies`` writes it as a document.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capsim.analysis.compare import is_paired, paired_differences
from capsim.analysis.experiment import ExperimentSetup, PointProgress, run_points
from capsim.errors import OutputError, Problem, ScenarioError, UsageError
from capsim.runs.kpis import Percentiles
from capsim.runs.milestones import PORTFOLIO
from capsim.runs.rundir import RunDir
from capsim.scenario.loader import Change, change_scenario, resolve_scenario
from capsim.scenario.schema import Scenario

#: The percentile of a commitment date: the P-date every shift is measured at.
COMMITMENT_PERCENTILE = 80
#: P-dates the strategy table shows when nothing says otherwise.
DEFAULT_DATE_PERCENTILES = Percentiles((50, COMMITMENT_PERCENTILE))
#: Standard errors either side of the mean in a 95% interval (normal approximation).
Z_95 = 1.96
#: The measure P-dates are read on: grid-energised MW, existing included.
MEASURE = "energized_mw"
#: The KPIs whose paired differences the comparison reports, with their column stems.
DIFFERENCE_KPIS = {"served_share": "served_share_change", "cash_cost_usd": "cash_cost_change"}
#: How many delay causes per strategy the comparison keeps.
TOP_CAUSES = 3


@dataclass(frozen=True)
class Strategy:
    """One strategy: its scenario file, the scenario as it runs, and the name people read."""

    file: Path
    scenario: Scenario
    label: str


@dataclass(frozen=True)
class StrategySet:
    """The base (first) and its variants, aligned so that they pair and are measured alike.

    Every scenario has the base's seed, replications and ``report`` settings.
    """

    strategies: tuple[Strategy, ...]
    date_percentiles: Percentiles

    @property
    def base(self) -> Strategy:
        """The base strategy (the reference of every difference)."""
        return self.strategies[0]


@dataclass(frozen=True)
class StrategyComparison:
    """The comparison's tables: values in their units (fractions, USD, months), no formatting."""

    #: Name of the base strategy (the reference of every change).
    base: str
    replications: int
    seed: int
    capsim_version: str
    #: Percentiles of the P-dates (P80, the commitment date, always among them).
    date_percentiles: Percentiles
    #: Portfolio energised-MW milestones, increasing (the base's ``report.milestones_mw``).
    milestones_mw: tuple[float, ...]
    shortfall_tolerance: float
    #: One row per strategy, base first: ``strategy``, ``description`` (first sentence),
    #: ``file``, ``served_share_mean``, ``cash_cost_p50_usd``, paired changes against base
    #: (``served_share_change_mean``/``_low``/``_high``, ``cash_cost_change_mean_usd``/
    #: ``_low_usd``/``_high_usd``) and ``first_milestone_p80_shift_months``; NaN for the base,
    #: and for a shift when either P80 date is past the horizon.
    strategies: pd.DataFrame
    #: Per strategy, milestone and percentile: ``strategy``, ``mw``, ``percentile``, ``month``
    #: ('YYYY-MM', None past the horizon), ``never_share``.
    p_dates: pd.DataFrame
    #: Per variant and KPI: ``strategy``, ``kpi``, ``mean``, ``standard_error``, ``low``,
    #: ``high`` (mean -/+ 1.96 s.e.) and ``replications`` paired.
    differences: pd.DataFrame
    #: Probability of a shortfall beyond tolerance: strategies (index) by calendar years.
    beyond_tolerance: pd.DataFrame
    #: Top delay causes of the portfolio: ``strategy``, ``rank``, ``cause``, ``share``.
    delay_causes: pd.DataFrame
    #: Where the runs are (empty when they ran in a temporary directory, now removed).
    run_dirs: tuple[Path, ...] = ()

    @property
    def names(self) -> list[str]:
        """Strategy names, base first."""
        return [str(name) for name in self.strategies["strategy"]]

    @property
    def first_milestone_mw(self) -> float | None:
        """The lowest portfolio energised-MW milestone (None when the runs have none)."""
        return self.milestones_mw[0] if self.milestones_mw else None

    def p_date(self, strategy: str, mw: float, percentile: int) -> str | None:
        """The month ('YYYY-MM') by which ``percentile``% of replications reached ``mw``."""
        rows = self.p_dates[
            (self.p_dates["strategy"] == strategy)
            & (self.p_dates["mw"] == mw)
            & (self.p_dates["percentile"] == percentile)
        ]
        return None if rows.empty else _month(rows["month"].iloc[0])

    def earliest_at_commitment(self) -> tuple[list[str], str | None]:
        """Strategies earliest at P80 for the first milestone (ties all), and that month.

        None when every one is past the horizon or there is no milestone.
        """
        mw = self.first_milestone_mw
        if mw is None:
            return [], None
        months = {name: self.p_date(name, mw, COMMITMENT_PERCENTILE) for name in self.names}
        reached = [m for m in months.values() if m is not None]
        if not reached:
            return [], None
        best = min(reached)
        return [name for name, m in months.items() if m == best], best

    def most_served(self) -> tuple[list[str], float]:
        """Strategies with the highest mean served share (ties all), and that share."""
        shares = self.strategies.set_index("strategy")["served_share_mean"].astype(float)
        best = float(shares.max())
        return [str(name) for name, share in shares.items() if share == best], best


def _month(value: Any) -> str | None:
    """A P-date cell as 'YYYY-MM', or None past the horizon (pandas may hold it as NaN)."""
    return value if isinstance(value, str) else None


def first_sentence(text: str) -> str:
    """The first sentence of a description, on one line (all of it when it has no full stop)."""
    flat = " ".join(text.split())
    found = re.match(r"(.+?[.!?])(?:\s|$)", flat)
    return found.group(1) if found else flat


def _display_names(scenarios: Sequence[Scenario], files: Sequence[Path]) -> list[str]:
    """Scenario names, with the file (its name, else its path) added where two share one."""
    names = [s.name for s in scenarios]
    by_name = [
        n if names.count(n) == 1 else f"{n} ({f.name})" for n, f in zip(names, files, strict=True)
    ]
    by_path = [
        n if by_name.count(n) == 1 else f"{s.name} ({f})"
        for n, s, f in zip(by_name, scenarios, files, strict=True)
    ]
    return [n if by_path.count(n) == 1 else f"{n} #{i + 1}" for i, n in enumerate(by_path)]


def load_strategies(
    base: Path,
    variants: Sequence[Path],
    replications: int | None = None,
    seed: int | None = None,
    date_percentiles: Percentiles | None = None,
) -> StrategySet:
    """Read the base and every variant and align them; every problem of every file at once.

    The variants take the base's seed, replications and ``report``; another calendar is refused.
    """
    if not variants:
        raise UsageError("strategies needs a base scenario and at least one variant")
    shown = _with_commitment(date_percentiles or DEFAULT_DATE_PERCENTILES)
    common = [Change(("replications",), replications, "-n")] if replications is not None else []
    common += [Change(("seed",), seed, "--seed")] if seed is not None else []
    base_scenario = change_scenario(resolve_scenario(base), common, str(base))
    report = base_scenario.report
    reported = sorted(set(report.percentiles) | set(shown.values))
    source = f"the base scenario {base}"
    aligned = [
        Change(("seed",), base_scenario.seed, source),
        Change(("replications",), base_scenario.replications, source),
        Change(("report", "percentiles"), reported, source),
        Change(("report", "milestones_mw"), list(base_scenario.milestones()), source),
        Change(("report", "shortfall_tolerance"), report.shortfall_tolerance, source),
    ]
    files = [Path(base), *map(Path, variants)]
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for path in files:
        try:
            scenarios.append(change_scenario(resolve_scenario(path), aligned, str(path)))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    calendar = (scenarios[0].start, scenarios[0].end)
    for path, scenario in zip(files[1:], scenarios[1:], strict=True):
        if (scenario.start, scenario.end) != calendar:
            raise UsageError(
                f"{path}: runs {scenario.start} to {scenario.end}, the base {base} runs "
                f"{calendar[0]} to {calendar[1]}; strategies are compared on one calendar"
            )
    names = _display_names(scenarios, files)
    strategies = tuple(
        Strategy(path, scenario, name)
        for path, scenario, name in zip(files, scenarios, names, strict=True)
    )
    return StrategySet(strategies, shown)


def _with_commitment(percentiles: Percentiles) -> Percentiles:
    """``percentiles`` with P80 (the commitment date every shift is read at) added."""
    return Percentiles(tuple(sorted({*percentiles.values, COMMITMENT_PERCENTILE})))


def run_directory_names(strategy_set: StrategySet) -> list[str]:
    """The run directory of each strategy: ``00-<scenario name>``, base first."""
    return [f"{i:02d}-{s.scenario.name}" for i, s in enumerate(strategy_set.strategies)]


def run_strategies(
    strategy_set: StrategySet,
    keep: Path | None = None,
    workers: int | None = None,
    progress: PointProgress | None = None,
) -> StrategyComparison:
    """Run every strategy and compare them; the runs stay under ``keep`` or are removed.

    Run directories already under ``keep`` are refused (exit 3) before anything runs.
    """
    names = run_directory_names(strategy_set)
    if keep is not None:
        if keep.exists() and not keep.is_dir():
            raise OutputError(f"--keep {keep} is not a directory")
        taken = [keep / name for name in names if (keep / name).exists()]
        if taken:
            raise OutputError(
                f"{', '.join(map(str, taken))} already exist; choose another --keep directory"
            )
        try:
            keep.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot write {keep}: {exc.strerror or exc}") from exc
        return _run_into(strategy_set, keep, workers, progress)
    with tempfile.TemporaryDirectory(prefix="capsim-strategies-") as folder:
        comparison = _run_into(strategy_set, Path(folder), workers, progress)
    return replace(comparison, run_dirs=())


def _run_into(
    strategy_set: StrategySet, folder: Path, workers: int | None, progress: PointProgress | None
) -> StrategyComparison:
    """Run every strategy into ``folder/<run directory name>`` and compare the runs."""
    named = [
        (name, s.scenario)
        for name, s in zip(run_directory_names(strategy_set), strategy_set.strategies, strict=True)
    ]
    setup = ExperimentSetup(strategy_set.base.file, workers=workers)
    run_dirs = run_points(setup, named, folder, progress)
    runs = [RunDir(path) for path in run_dirs]
    return compare_strategies(
        runs,
        [s.label for s in strategy_set.strategies],
        strategy_set.date_percentiles,
        [s.file for s in strategy_set.strategies],
    )


def compare_strategies(
    runs: Sequence[RunDir],
    names: Sequence[str],
    date_percentiles: Percentiles = DEFAULT_DATE_PERCENTILES,
    files: Sequence[Path] | None = None,
) -> StrategyComparison:
    """The comparison of finished runs, the first the base; every run must pair with it.

    Every run must report the ``date_percentiles`` (P80 added), read from its summary.
    """
    if len(runs) < 2:
        raise UsageError("a strategy comparison needs the base run and at least one variant")
    base = runs[0]
    shown = _with_commitment(date_percentiles)
    for run, name in zip(runs[1:], names[1:], strict=True):
        if not is_paired(base, run):
            raise UsageError(
                f"{name} ({run.path}) does not pair with the base {names[0]}: strategies need "
                "the same seed, replications and calendar"
            )
    for run in runs:
        missing = [p for p in shown.values if p not in run.summary["report"]["percentiles"]]
        if missing:
            raise UsageError(f"{run.path} does not report P{', P'.join(map(str, missing))}")
    milestones = tuple(float(mw) for mw in base.summary["report"]["milestones_mw"])
    p_dates = _p_dates_table(runs, names, shown)
    differences = _differences_table(runs, names)
    strategies = _strategies_table(runs, names, files, differences, p_dates, milestones)
    return StrategyComparison(
        base=names[0],
        replications=base.replications,
        seed=base.seed,
        capsim_version=str(base.manifest["capsim_version"]),
        date_percentiles=shown,
        milestones_mw=milestones,
        shortfall_tolerance=float(base.summary["report"]["shortfall_tolerance"]),
        strategies=strategies,
        p_dates=p_dates,
        differences=differences,
        beyond_tolerance=_by_year(runs, names, "beyond_tolerance_probability_by_year"),
        delay_causes=_delay_causes_table(runs, names),
        run_dirs=tuple(run.path for run in runs),
    )


def _p_dates_table(
    runs: Sequence[RunDir], names: Sequence[str], percentiles: Percentiles
) -> pd.DataFrame:
    """Portfolio energised-MW P-dates of every strategy at ``percentiles``."""
    rows: list[dict[str, Any]] = []
    for run, name in zip(runs, names, strict=True):
        for entry in run.summary["p_dates"]:
            if entry["scope"] != PORTFOLIO or entry["measure"] != MEASURE:
                continue
            for p in percentiles.values:
                rows.append(
                    {
                        "strategy": name,
                        "mw": float(entry["mw"]),
                        "percentile": p,
                        "month": entry.get(f"p{p}"),
                        "never_share": float(entry["never_share"]),
                    }
                )
    columns = ["strategy", "mw", "percentile", "month", "never_share"]
    table = pd.DataFrame(rows, columns=columns)
    table["month"] = pd.Series([_month(m) for m in table["month"]], dtype=object)
    return table


def paired_change(differences: np.ndarray) -> dict[str, float]:
    """Mean of paired differences, its standard error and 95% interval (mean -/+ 1.96 s.e.).

    The error is NaN with one replication, and zero for identical runs.
    """
    count = int(differences.size)
    mean = float(differences.mean()) if count else math.nan
    error = float(differences.std(ddof=1) / math.sqrt(count)) if count > 1 else math.nan
    return {
        "mean": mean,
        "standard_error": error,
        "low": mean - Z_95 * error,
        "high": mean + Z_95 * error,
        "replications": count,
    }


def _differences_table(runs: Sequence[RunDir], names: Sequence[str]) -> pd.DataFrame:
    """Paired changes against the base of every variant, per KPI of ``DIFFERENCE_KPIS``."""
    rows = [
        {"strategy": name, "kpi": kpi, **paired_change(paired_differences(runs[0], run, kpi))}
        for run, name in zip(runs[1:], names[1:], strict=True)
        for kpi in DIFFERENCE_KPIS
    ]
    columns = ["strategy", "kpi", "mean", "standard_error", "low", "high", "replications"]
    return pd.DataFrame(rows, columns=columns)


def months_between(first: str | None, second: str | None) -> float:
    """Months from ``first`` to ``second`` ('YYYY-MM'); NaN when either is past the horizon."""
    if first is None or second is None:
        return math.nan
    return float((pd.Period(second, freq="M") - pd.Period(first, freq="M")).n)


def _strategies_table(
    runs: Sequence[RunDir],
    names: Sequence[str],
    files: Sequence[Path] | None,
    differences: pd.DataFrame,
    p_dates: pd.DataFrame,
    milestones: tuple[float, ...],
) -> pd.DataFrame:
    """One row per strategy: description, served share, cash cost and changes against base."""
    first = milestones[0] if milestones else None

    def commitment(name: str) -> str | None:
        rows = p_dates[
            (p_dates["strategy"] == name)
            & (p_dates["mw"] == first)
            & (p_dates["percentile"] == COMMITMENT_PERCENTILE)
        ]
        return None if rows.empty else _month(rows["month"].iloc[0])

    rows: list[dict[str, Any]] = []
    for k, (run, name) in enumerate(zip(runs, names, strict=True)):
        kpis = run.summary["kpis"]
        row: dict[str, Any] = {
            "strategy": name,
            "description": first_sentence(run.scenario.description),
            "file": str(files[k]) if files is not None else str(run.path),
            "served_share_mean": float(kpis["served_share"]["mean"]),
            "cash_cost_p50_usd": float(kpis["cash_cost_usd"]["p50"]),
        }
        for kpi, stem in DIFFERENCE_KPIS.items():
            unit = "_usd" if kpi.endswith("_usd") else ""
            found = differences[(differences["strategy"] == name) & (differences["kpi"] == kpi)]
            for stat in ("mean", "low", "high"):
                value = float(found[stat].iloc[0]) if k > 0 and not found.empty else math.nan
                row[f"{stem}_{stat}{unit}"] = value
        row["first_milestone_p80_shift_months"] = (
            months_between(commitment(names[0]), commitment(name))
            if k > 0 and first is not None
            else math.nan
        )
        rows.append(row)
    return pd.DataFrame(rows)


def _by_year(runs: Sequence[RunDir], names: Sequence[str], key: str) -> pd.DataFrame:
    """A per-year summary figure of every strategy: strategies by calendar years."""
    table = pd.DataFrame(
        [{str(y): float(p) for y, p in run.summary[key].items()} for run in runs],
        index=pd.Index(list(names), name="strategy"),
    )
    return table.reindex(columns=sorted(table.columns))


def _delay_causes_table(runs: Sequence[RunDir], names: Sequence[str]) -> pd.DataFrame:
    """The portfolio's top delay causes per strategy, by MW-weighted share (largest first)."""
    from capsim.runs.criticality import top_causes

    rows = [
        {"strategy": name, "rank": rank, "cause": cause, "share": share}
        for run, name in zip(runs, names, strict=True)
        for rank, (cause, share) in enumerate(
            top_causes(run.summary["criticality"], PORTFOLIO, TOP_CAUSES), 1
        )
    ]
    return pd.DataFrame(rows, columns=["strategy", "rank", "cause", "share"])
