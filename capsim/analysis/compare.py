"""Compare runs: KPI differences against the first run, paired where the runs allow it.

Runs that share a seed, the same replications and the same calendar differ only in their
parameters, and replication ``i`` of each drew the same random streams (common random numbers):
their KPIs are compared replication by replication (paired differences), which separates the
effect of a change from Monte Carlo noise far better than comparing two summaries. Other runs
are compared unpaired (difference of means), and the table says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from capsim.runs.kpis import Percentiles
from capsim.runs.rundir import RunDir

PAIRED = "paired: per-replication differences (common random numbers)"
UNPAIRED = "unpaired: difference of means (runs do not share seed and replications)"


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


def is_paired(first: RunDir, other: RunDir) -> bool:
    """True when two runs share seed, replication indices and calendar (common random numbers)."""
    if first.seed != other.seed or first.replications != other.replications:
        return False
    if (first.start, first.end) != (other.start, other.end):
        return False
    reps = [run.table("kpis", ["replication"])["replication"] for run in (first, other)]
    return sorted(reps[0].tolist()) == sorted(reps[1].tolist())


def paired_differences(first: RunDir, other: RunDir, kpi: str) -> np.ndarray:
    """Per-replication ``other - first`` of one KPI (replications where both are defined)."""
    a = first.table("kpis", ["replication", kpi])
    b = other.table("kpis", ["replication", kpi])
    both = a.merge(b, on="replication", suffixes=("_first", "_other"))
    diff = (both[f"{kpi}_other"] - both[f"{kpi}_first"]).to_numpy(dtype=float)
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
    kpi_columns = set(runs[0].table("kpis").columns)
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
                "comparison": "baseline",
            }
            if k > 0:
                paired = kpi in kpi_columns and paired_runs[k]
                if paired:
                    diff = paired_differences(runs[0], run, kpi)
                    if diff.size:
                        quantiles = np.quantile(diff, list(chosen.quantiles.values()))
                        row.update(zip(differences, [float(diff.mean()), *quantiles], strict=True))
                    row["comparison"] = PAIRED
                else:
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
