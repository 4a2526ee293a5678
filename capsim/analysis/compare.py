"""Compare runs: KPI differences against the first run, paired where the runs allow it.

Runs that share a seed, the same replications and the same calendar differ only in their
parameters, and replication ``i`` of each drew the same random streams (common random numbers):
their KPIs are compared replication by replication (paired differences), which separates the
effect of a change from Monte Carlo noise far better than comparing two summaries. Every KPI of
such a run is paired, including summary KPIs derived from a column (``covered_by_horizon``).
Other runs are compared unpaired (difference of means); the table says which with one word per
run, and ``PAIRING_NOTE`` says once what the words mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from capsim.runs.kpis import Percentiles
from capsim.runs.rundir import RunDir, parquet_columns

#: The comparison column of the first run, whose figures the others are measured against.
BASELINE = "baseline"
#: A run compared replication by replication with the first.
PAIRED = "paired"
#: A run compared by the difference of its mean and the first run's.
UNPAIRED = "unpaired"
#: What the two words mean, said once per document (not on every row).
PAIRING_NOTE = (
    "paired: per-replication differences (common random numbers): the run shares the first "
    "run's seed, replications and calendar, so replication k of both drew the same random "
    "streams and each replication's difference is the effect of the changed parameters alone; "
    "the mean and percentiles are of those differences. unpaired: the runs drew different "
    "random numbers, so only the difference of the means is given."
)
#: Summary KPIs that are not a column of ``kpis.parquet``, and the column they are read from.
DERIVED = {"covered_by_horizon": "covered_for_good_month"}


def run_percentiles(run: RunDir) -> Percentiles:
    """The percentiles a run's summary reports."""
    return Percentiles.of_summary(run.summary)


def comparison_percentiles(runs: Sequence[RunDir]) -> Percentiles:
    """Every percentile any of the runs reports, so no run's figures are left out."""
    return Percentiles(tuple(sorted({p for run in runs for p in run_percentiles(run).values})))


def diff_columns(percentiles: Percentiles) -> list[str]:
    """Headings of the differences: mean, then each percentile ('difference P90')."""
    return ["difference mean", *(f"difference {h}" for h in percentiles.labels.values())]


def summary_kpis(run: RunDir, percentiles: Percentiles) -> dict[str, Any]:
    """A run's KPI statistics at ``percentiles``: its summary's, or recomputed in memory.

    A run that reports other percentiles gets its summary computed again from its parts (the
    run directory is not changed), so every run of a comparison has the same columns.
    """
    if run_percentiles(run) == percentiles:
        return dict(run.summary["kpis"])
    from capsim.runs.aggregate import summary_from_parts

    return dict(summary_from_parts(run.path, run.scenario, percentiles)["kpis"])


def run_names(runs: Sequence[RunDir]) -> list[str]:
    """A short, unique name per run: the scenario name, plus the directory name if repeated."""
    scenarios = [str(run.manifest["scenario"]) for run in runs]
    names = [
        s if scenarios.count(s) == 1 else f"{s} ({run.name})"
        for s, run in zip(scenarios, runs, strict=True)
    ]
    return [n if names.count(n) == 1 else f"{n} #{i + 1}" for i, n in enumerate(names)]


def unpaired_reason(first: RunDir, other: RunDir) -> str:
    """Why two runs cannot be compared replication by replication ('' when they can).

    They pair when they share the seed, the replications (the same indices in their KPI
    tables) and the calendar (first and last month).
    """
    if first.seed != other.seed:
        return f"seed {other.seed}, not {first.seed}"
    if first.replications != other.replications:
        return f"{other.replications} replications, not {first.replications}"
    if (first.start, first.end) != (other.start, other.end):
        return f"calendar {other.start} to {other.end}, not {first.start} to {first.end}"
    reps = [run.table("kpis", ["replication"])["replication"] for run in (first, other)]
    if sorted(reps[0].tolist()) != sorted(reps[1].tolist()):
        return "other replication indices"
    return ""


def is_paired(first: RunDir, other: RunDir) -> bool:
    """True when two runs share seed, replication indices and calendar (common random numbers)."""
    return not unpaired_reason(first, other)


def replication_values(run: RunDir, kpi: str) -> pd.Series | None:
    """One KPI of every replication, indexed by replication; None when the run has no such column.

    A summary KPI that is not a column of ``kpis.parquet`` is derived from the column it
    summarises (``covered_by_horizon``: 1 where ``covered_for_good_month`` is set, else 0).
    """
    column = DERIVED.get(kpi, kpi)
    if column not in parquet_columns(run.path / "kpis.parquet"):
        return None
    table = run.table("kpis", ["replication", column]).set_index("replication")[column]
    if kpi in DERIVED:
        return table.notna().astype(float)
    return table.astype(float)


def paired_differences(first: RunDir, other: RunDir, kpi: str) -> np.ndarray:
    """Per-replication ``other - first`` of one KPI (replications where both are defined)."""
    a, b = replication_values(first, kpi), replication_values(other, kpi)
    if a is None or b is None:
        return np.array([], dtype=float)
    diff = (b - a).to_numpy(dtype=float)
    finite: np.ndarray = diff[np.isfinite(diff)]
    return finite


def kpi_comparison(
    runs: Sequence[RunDir], names: Sequence[str], percentiles: Percentiles | None = None
) -> pd.DataFrame:
    """One row per KPI and run: its mean and percentiles, and its difference against the first.

    ``percentiles`` default to every percentile any of the runs reports.
    """
    chosen = percentiles or comparison_percentiles(runs)
    labels = chosen.labels
    differences = diff_columns(chosen)
    summaries = [summary_kpis(run, chosen) for run in runs]
    paired_runs = [k > 0 and is_paired(runs[0], run) for k, run in enumerate(runs)]
    rows = []
    for kpi, first_stats in summaries[0].items():
        for k, (run, name, stats) in enumerate(zip(runs, names, summaries, strict=True)):
            own = stats.get(kpi, {})
            row: dict[str, object] = {
                "KPI": kpi,
                "unit": first_stats.get("unit", ""),
                "run": name,
                "mean": own.get("mean"),
                **{heading: own.get(key) for key, heading in labels.items()},
                **dict.fromkeys(differences),
                "comparison": BASELINE,
            }
            if k > 0 and paired_runs[k]:
                diff = paired_differences(runs[0], run, kpi)
                if diff.size:
                    quantiles = np.quantile(diff, list(chosen.quantiles.values()))
                    row.update(zip(differences, [float(diff.mean()), *quantiles], strict=True))
                row["comparison"] = PAIRED
            elif k > 0:
                means = [own.get("mean"), first_stats.get("mean")]
                if None not in means:
                    row["difference mean"] = float(means[0]) - float(means[1])
                row["comparison"] = UNPAIRED
            rows.append(row)
    table = pd.DataFrame(rows)
    for column in ["mean", *labels.values(), *differences]:
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    return table


def runs_table(runs: Sequence[RunDir], names: Sequence[str]) -> pd.DataFrame:
    """One row per run: name, scenario, hash, seed, replications, run date, directory name."""
    rows = []
    for run, name in zip(runs, names, strict=True):
        m = run.manifest
        rows.append(
            {
                "run": name,
                "scenario": m["scenario"],
                "scenario SHA-256": str(m["scenario_sha256"])[:12],
                "seed": m["seed"],
                "replications": m["replications"],
                "run date": str(m["started"])[:10],
                "directory": run.name,
            }
        )
    return pd.DataFrame(rows)
