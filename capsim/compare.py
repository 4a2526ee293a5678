"""Compare runs side by side: overlaid charts and a KPI table with differences against the first.

Runs that share a seed, the same replications and the same calendar differ only in their
parameters, and replication ``i`` of each drew the same random streams (common random numbers):
their KPIs are compared replication by replication (paired differences), which separates the
effect of a change from Monte Carlo noise far better than comparing two summaries. Other runs
are compared unpaired (difference of means), and the table says which.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from capsim import memo_data
from capsim.errors import OutputError, UsageError
from capsim.memo_docs import ChartImage, Document, Table

PAIRED = "paired: per-replication differences (common random numbers)"
UNPAIRED = "unpaired: difference of means (runs do not share seed and replications)"
DIFF_COLUMNS = ["difference mean", "difference P10", "difference P50", "difference P90"]


def run_names(run_dirs: Sequence[Path]) -> list[str]:
    """A short, unique name per run: the scenario name, plus the directory name if repeated."""
    scenarios = [str(memo_data.manifest(d)["scenario"]) for d in run_dirs]
    names = [s if scenarios.count(s) == 1 else f"{s} ({d.name})"
             for s, d in zip(scenarios, run_dirs, strict=True)]
    return [n if names.count(n) == 1 else f"{n} #{i + 1}" for i, n in enumerate(names)]


def is_paired(first: Path, other: Path) -> bool:
    """True when two runs share seed, replication indices and calendar (common random numbers)."""
    a, b = memo_data.manifest(first), memo_data.manifest(other)
    if a.get("seed") != b.get("seed") or a.get("replications") != b.get("replications"):
        return False
    sa, sb = memo_data.scenario_data(first), memo_data.scenario_data(other)
    if (sa.get("start"), sa.get("end")) != (sb.get("start"), sb.get("end")):
        return False
    reps = [pd.read_parquet(d / "kpis.parquet", columns=["replication"])["replication"]
            for d in (first, other)]
    return sorted(reps[0].tolist()) == sorted(reps[1].tolist())


def paired_differences(first: Path, other: Path, kpi: str) -> np.ndarray:
    """Per-replication ``other - first`` of one KPI (replications where both are defined)."""
    a = pd.read_parquet(first / "kpis.parquet", columns=["replication", kpi])
    b = pd.read_parquet(other / "kpis.parquet", columns=["replication", kpi])
    both = a.merge(b, on="replication", suffixes=("_first", "_other"))
    diff = (both[f"{kpi}_other"] - both[f"{kpi}_first"]).to_numpy(dtype=float)
    finite: np.ndarray = diff[np.isfinite(diff)]
    return finite


def kpi_comparison(run_dirs: Sequence[Path], names: Sequence[str]) -> pd.DataFrame:
    """One row per KPI and run: its mean and quantiles, and its difference against the first run."""
    summaries = [memo_data.summary(d)["kpis"] for d in run_dirs]
    kpi_columns = set(pd.read_parquet(run_dirs[0] / "kpis.parquet").columns)
    paired_runs = [k > 0 and is_paired(run_dirs[0], d) for k, d in enumerate(run_dirs)]
    rows = []
    for kpi, first_stats in summaries[0].items():
        for k, (run_dir, name, stats) in enumerate(zip(run_dirs, names, summaries, strict=True)):
            own = stats.get(kpi, {})
            row: dict[str, object] = {
                "KPI": kpi, "unit": first_stats.get("unit", ""), "run": name,
                "mean": own.get("mean"), "P10": own.get("p10"), "P50": own.get("p50"),
                "P90": own.get("p90"), **dict.fromkeys(DIFF_COLUMNS), "comparison": "baseline"}
            if k > 0:
                paired = kpi in kpi_columns and paired_runs[k]
                if paired:
                    diff = paired_differences(run_dirs[0], run_dir, kpi)
                    if diff.size:
                        row.update(zip(DIFF_COLUMNS, [float(diff.mean()),
                                                      *np.quantile(diff, [0.1, 0.5, 0.9])],
                                       strict=True))
                    row["comparison"] = PAIRED
                else:
                    means = [own.get("mean"), first_stats.get("mean")]
                    if None not in means:
                        row["difference mean"] = float(means[0]) - float(means[1])
                    row["comparison"] = UNPAIRED
            rows.append(row)
    table = pd.DataFrame(rows)
    for column in ["mean", "P10", "P50", "P90", *DIFF_COLUMNS]:
        table[column] = pd.to_numeric(table[column], errors="coerce").astype(float)
    return table


def build_document(run_dirs: Sequence[Path], names: Sequence[str],
                   table: pd.DataFrame) -> Document:
    """The comparison's content: runs, KPI differences and the overlaid charts."""
    from capsim import charts, charts_compare
    from capsim.aggregate import monthly_bands
    from capsim.memo_docs import figure_png

    labels = [charts.run_label(d) for d in run_dirs]
    bands = {name: monthly_bands(d) for name, d in zip(names, run_dirs, strict=True)}
    horizon = {name: float(b["capacity_p50_mw"].iloc[-1]) for name, b in bands.items()}
    shortfall = table[table["KPI"] == "shortfall_mw_months"].set_index("run")
    p90 = {str(k): float(v) for k, v in shortfall["P90"].items()}
    modes = sorted(set(table.loc[table["comparison"] != "baseline", "comparison"]))
    versus = "; ".join(
        f"{run!s} vs {names[0]}: {row['difference mean']:+,.0f} MW-months (mean difference)"
        for run, row in shortfall.iloc[1:].iterrows() if row["difference mean"] == row[
            "difference mean"])
    images = [
        ChartImage("capacity_vs_demand", "Capacity versus demand, runs compared",
                   "Median capacity at the horizon: " + ", ".join(
                       f"{n} {v:,.0f} MW" for n, v in horizon.items()) + ".",
                   figure_png(charts_compare.capacity_vs_demand(bands, labels))),
        ChartImage("shortfall_probability", "Probability of a shortfall, runs compared",
                   "P90 shortfall: " + ", ".join(
                       f"{n} {p90[n]:,.0f} MW-months" for n in names)
                   + (f"; {versus}." if versus else "."),
                   figure_png(charts_compare.shortfall_probability(bands, labels))),
    ]
    return Document(
        title="Runs compared: " + " vs ".join(names),
        subtitle="Comparison: " + " / ".join(modes or ["single run"]),
        tables=[Table("Runs", runs_table(run_dirs, names)),
                Table("KPIs and differences against the first run", table,
                      "Differences are run minus " + names[0] + ". " + " ".join(modes))],
        charts=images,
        method_note=(
            "Paired: runs with the same seed, replications and calendar drew the same random "
            "streams in each replication, so per-replication KPI differences isolate the effect "
            "of the changed parameters; mean and P10/P50/P90 are of those differences. "
            "Unpaired: only the difference of means is meaningful."),
    )


def runs_table(run_dirs: Sequence[Path], names: Sequence[str]) -> pd.DataFrame:
    """One row per run: name, scenario, hash, seed, replications, run date, directory name."""
    rows = []
    for run_dir, name in zip(run_dirs, names, strict=True):
        m = memo_data.manifest(run_dir)
        rows.append({"run": name, "scenario": m["scenario"],
                     "scenario SHA-256": str(m["scenario_sha256"])[:12], "seed": m["seed"],
                     "replications": m["replications"], "run date": str(m["started"])[:10],
                     "directory": run_dir.name})
    return pd.DataFrame(rows)


def compare_runs(run_dirs: Sequence[Path], output: Path, force: bool = False) -> list[Path]:
    """Write compare.html, compare.pptx and compare.xlsx for ``run_dirs`` into ``output``.

    Refuses an existing ``output`` unless ``force``, and an ``output`` that is, contains or lies
    inside one of the runs (exit 3); every run is verified against its checksums first (exit 2).
    The output is locked while it is written, the runs are locked for reading, and the output
    directory appears whole or not at all.
    """
    from capsim.memo_docs import write_document
    from capsim.store import check_output_location, lock_run_dir, verify_run

    if len(run_dirs) < 2:
        raise UsageError("compare needs at least two run directories")
    dirs = [memo_data.check_run_dir(Path(d)) for d in run_dirs]
    output = Path(output)
    check_output_location(output, dirs)
    with ExitStack() as locks:
        locks.enter_context(lock_run_dir(output))
        for run_dir in dirs:
            locks.enter_context(lock_run_dir(run_dir, shared=True, create_parent=False))
        if (output.exists() or output.is_symlink()) and not force:
            raise OutputError(f"{output} already exists; choose another -o or pass --force")
        for run_dir in dirs:
            verify_run(run_dir)
        names = run_names(dirs)
        table = kpi_comparison(dirs, names)
        doc = build_document(dirs, names, table)
        by_year = pd.DataFrame({
            name: pd.Series(memo_data.summary(d)["shortfall_probability_by_year"])
            for name, d in zip(names, dirs, strict=True)})
        by_year.index.name = "year"
        sheets = {"KPIs compared": table, "runs": runs_table(dirs, names),
                  "shortfall probability by year": by_year.reset_index().rename(
                      columns={n: f"{n} (probability)" for n in names})}
        staging = output.parent / f".{output.name}.compare-partial"
        try:
            if staging.exists():
                shutil.rmtree(staging)  # left by a comparison that was killed
            staging.mkdir(parents=True)
            write_document(doc, sheets, staging, "compare")
            _publish(staging, output)
        except OSError as exc:
            raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [output / f"compare.{ext}" for ext in ("html", "pptx", "xlsx")]


def _publish(staging: Path, output: Path) -> None:
    """Move the staged directory into place, replacing an old one only once the new is whole."""
    if not output.exists():
        os.replace(staging, output)
        return
    old = output.parent / f".{output.name}.{os.getpid()}.old"
    os.replace(output, old)
    try:
        os.replace(staging, output)
    except OSError:
        os.replace(old, output)  # put the earlier output back before reporting the failure
        raise
    shutil.rmtree(old, ignore_errors=True)
