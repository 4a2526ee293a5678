"""Calibration targets against a run: each target's model figure per replication, then pass/fail.

A target (``Scenario.targets``) names a published figure; here its model counterpart is computed
from the run tables for every replication, summarised at the run's percentiles (plus the target's
own statistic) across replications, and the target's statistic compared with the published
value or range. Queue metrics read
``queue.parquet``; headroom reads the start level from the scenario plus ``headroom.parquet``;
energised MW reads ``regions.parquet``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capsim.runs.kpis import (
    DEFAULT,
    REQUEST_TO_CONNECTION,
    REQUEST_TO_STUDY_END,
    STUDY_DURATION,
    Percentiles,
)
from capsim.runs.rundir import RunDir
from capsim.scenario.schema import QUEUE_METRICS, Scenario, Target, month_index

QUEUE_COLUMNS = [
    "replication",
    "region",
    "applicant",
    "mw",
    "arrived",
    "study_start",
    "study_end",
    "connected",
    "withdrawn",
]
REGION_COLUMNS = ["replication", "month", "region", "energized_mw"]
HEADROOM_COLUMNS = ["replication", "region", "mw", "in_service_month"]


@dataclass(frozen=True)
class CalibrationTables:
    """The run tables the metrics read, and the replications they cover."""

    replications: np.ndarray
    queue: pd.DataFrame
    regions: pd.DataFrame
    headroom: pd.DataFrame

    @classmethod
    def from_run(cls, run: RunDir) -> CalibrationTables:
        """Read only the columns the metrics need from an open run."""
        kpis = run.table("kpis", ["replication"])
        return cls(
            replications=np.sort(kpis["replication"].to_numpy()),
            queue=run.table("queue", QUEUE_COLUMNS),
            regions=run.table("regions", REGION_COLUMNS),
            headroom=run.table("headroom", HEADROOM_COLUMNS),
        )


@dataclass(frozen=True)
class TargetResult:
    """One target against the model: its percentiles across replications and the verdict.

    ``quantiles`` maps summary keys (``p10``, ``p50``...) to values: the run's percentiles
    and the target's own statistic, in increasing order.
    """

    target: Target
    quantiles: dict[str, float]
    replications: int

    @property
    def model_value(self) -> float:
        """The statistic the target compares (its ``statistic``, e.g. P50)."""
        return self.quantiles[self.target.statistic]

    @property
    def passed(self) -> bool:
        """Whether the compared statistic lies in the target's range (NaN never passes)."""
        low, high = self.target.bounds()
        value = self.model_value
        return not math.isnan(value) and low - 1e-9 <= value <= high + 1e-9


def months_from_start(scenario: Scenario, month: str) -> int:
    """Simulated months elapsed at the *start* of calendar month ``month`` (0 for the start)."""
    return month_index(month) - month_index(scenario.start)


def metric_by_replication(
    target: Target, scenario: Scenario, tables: CalibrationTables
) -> pd.Series:
    """The target's model figure for every replication (NaN where it is undefined)."""
    index = pd.Index(tables.replications, name="replication")
    if target.metric in QUEUE_METRICS:
        return _queue_metric(target, scenario, tables.queue).reindex(index)
    assert target.month is not None  # checks.check_target_fields
    end_month = months_from_start(scenario, target.month) + 1
    regions = list(target.regions) or list(scenario.regions)
    if target.metric == "headroom_mw_at_month":
        start_mw = sum(scenario.regions[r].grid.headroom_mw for r in regions)
        upgrades = tables.headroom[
            tables.headroom["region"].isin(regions)
            & (tables.headroom["in_service_month"] <= end_month)
        ]
        added = upgrades.groupby("replication")["mw"].sum().reindex(index, fill_value=0.0)
        return (added + start_mw).astype(float)
    if target.metric == "energized_mw_at_month":
        rows = tables.regions[
            tables.regions["region"].isin(regions) & (tables.regions["month"] == end_month)
        ]
        return rows.groupby("replication")["energized_mw"].sum().reindex(index).astype(float)
    raise ValueError(f"unknown metric {target.metric!r}")


def _queue_metric(target: Target, scenario: Scenario, queue: pd.DataFrame) -> pd.Series:
    """Per-replication figure of a queue metric over the requests in the target's scope."""
    keep = pd.Series(True, index=queue.index)
    if target.regions:
        keep &= queue["region"].isin(target.regions)
    if target.applicant != "all":
        keep &= queue["applicant"] == target.applicant
    if target.filed_before is not None:
        keep &= queue["arrived"] < months_from_start(scenario, target.filed_before)
    rows = queue[keep]
    by_rep = rows.groupby("replication")
    if target.metric == "request_to_connection_months":
        done = rows[rows["connected"].notna()]
        waits = REQUEST_TO_CONNECTION.months(done)
        return waits.groupby(done["replication"]).median().astype(float)
    if target.metric in ("study_months", "request_to_study_end_months"):
        done = rows[rows["study_end"].notna()]
        wait = STUDY_DURATION if target.metric == "study_months" else REQUEST_TO_STUDY_END
        months = wait.months(done)
        return months.groupby(done["replication"]).median().astype(float)
    column = "connected" if target.metric == "connected_mw_share" else "withdrawn"
    reached = rows["mw"].where(rows[column].notna(), 0.0)
    asked = by_rep["mw"].sum()
    share = reached.groupby(rows["replication"]).sum() / asked
    return share.where(asked > 0).astype(float)


def target_percentiles(target: Target, percentiles: Percentiles) -> Percentiles:
    """``percentiles`` with the target's own statistic added (a P90 target in a P25-P75 run)."""
    wanted = int(target.statistic.removeprefix("p"))
    return Percentiles(tuple(sorted({*percentiles.values, wanted})))


def evaluate(target: Target, values: pd.Series, percentiles: Percentiles = DEFAULT) -> TargetResult:
    """Percentiles of a target's per-replication figures (NaNs left out) and the verdict.

    The figures are given at ``percentiles`` and at the target's statistic.
    """
    chosen = target_percentiles(target, percentiles)
    clean = values.dropna().to_numpy(dtype=float)
    if clean.size == 0:
        return TargetResult(target, dict.fromkeys(chosen.keys, math.nan), 0)
    found = np.quantile(clean, list(chosen.quantiles.values()))
    return TargetResult(
        target, {k: float(q) for k, q in zip(chosen.keys, found, strict=True)}, int(clean.size)
    )


def evaluate_targets(
    scenario: Scenario, tables: CalibrationTables, percentiles: Percentiles | None = None
) -> list[TargetResult]:
    """Every target of the scenario against the tables of one run.

    ``percentiles`` default to the scenario's ``report.percentiles``.
    """
    chosen = percentiles or Percentiles.of(scenario)
    return [
        evaluate(target, metric_by_replication(target, scenario, tables), chosen)
        for target in scenario.targets
    ]


def check_run(
    run: RunDir, scenario: Scenario | None = None, percentiles: Percentiles | None = None
) -> list[TargetResult]:
    """Every target of ``scenario`` (default: the run's own) against the run it produced.

    ``percentiles`` default to those the run's summary reports.
    """
    chosen = scenario if scenario is not None else run.scenario
    reported = percentiles or Percentiles.of_summary(run.summary)
    return evaluate_targets(chosen, CalibrationTables.from_run(run), reported)


def describe_range(target: Target) -> str:
    """The published figure as text, e.g. '45-60 months', '>= 850 MW', '0.15 +/- 0.02'."""

    def num(x: float) -> str:
        return f"{x:.3g}" if target.unit == "fraction" else f"{x:,.4g}"

    unit = "" if target.unit == "fraction" else f" {target.unit}"
    if target.value is not None:
        spread = f" +/- {num(target.tolerance)}" if target.tolerance else ""
        return f"{num(target.value)}{spread}{unit}"
    if target.min_value is not None and target.max_value is not None:
        return f"{num(target.min_value)}-{num(target.max_value)}{unit}"
    if target.min_value is not None:
        return f">= {num(target.min_value)}{unit}"
    assert target.max_value is not None
    return f"<= {num(target.max_value)}{unit}"


def describe_scope(target: Target) -> str:
    """Where and whose requests a target counts, e.g. 'au_nsw+au_vic, own, filed < 2031-01'."""
    parts = ["+".join(target.regions) or "all regions"]
    if target.metric in QUEUE_METRICS:
        parts.append(f"{target.applicant} requests")
        if target.filed_before is not None:
            parts.append(f"filed before {target.filed_before}")
    if target.month is not None:
        parts.append(f"end {target.month}")
    return ", ".join(parts)


def result_keys(results: list[TargetResult]) -> list[str]:
    """Every percentile key any result carries (``p10``, ``p50``...), in increasing order."""
    numbers = {int(key[1:]) for r in results for key in r.quantiles}
    return [f"p{n}" for n in sorted(numbers)]


def format_results(results: list[TargetResult], scenario_name: str, replications: int) -> str:
    """The table ``capsim check`` prints: target, published, statistic, model percentiles, verdict.

    The percentile columns are the run's, plus any statistic a target compares.
    """
    keys = result_keys(results)
    headings = "".join(f" {key.upper():>9}" for key in keys)
    header = f"{'target':<30} {'published':>18} {'stat':>5}{headings}  result"
    lines = [
        f"{scenario_name}: {len(results)} targets, {replications} replications",
        header,
        "-" * len(header),
    ]
    for r in results:
        t = r.target
        cells = "".join(f" {_figure(r.quantiles.get(k, math.nan), t.unit):>9}" for k in keys)
        verdict = "pass" if r.passed else ("FAIL (no data)" if r.replications == 0 else "FAIL")
        lines.append(
            f"{t.name:<30} {describe_range(t):>18} {t.statistic.upper():>5}{cells}  {verdict}"
        )
        lines.append(f"    {t.metric} ({t.unit}); {describe_scope(t)}")
        lines.append(f"    source: {t.source}")
    missed = sum(not r.passed for r in results)
    lines.append(
        f"{len(results) - missed} of {len(results)} targets met"
        + (f"; {missed} missed" if missed else "")
    )
    return "\n".join(lines)


def _figure(value: float, unit: str) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.3f}" if unit == "fraction" else f"{value:,.1f}"
