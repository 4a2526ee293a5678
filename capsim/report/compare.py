"""The comparison documents: compare.html, compare.pptx and compare.xlsx for runs side by side.

The figures come from ``capsim.analysis.compare``; this module lays them out (one row per KPI,
one column of differences per run, what "paired" means said once) with the charts and writes
the documents, staged and moved into place whole.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import pandas as pd

from capsim.analysis.compare import (
    BASELINE,
    PAIRED,
    PAIRING_NOTE,
    comparison_percentiles,
    kpi_comparison,
    run_names,
    runs_table,
    unpaired_reason,
)
from capsim.errors import OutputError, UsageError
from capsim.report.documents import ChartImage, Document, Table
from capsim.runs.kpis import Percentiles, lookup
from capsim.runs.publish import publish_directory
from capsim.runs.rundir import RunDir


def difference_heading(name: str, comparison: str) -> str:
    """The heading of a run's column of differences against the first run: ``lever (paired)``."""
    return f"{name} ({comparison})"


def _display(kpi: str, unit: str) -> tuple[float, str, str]:
    """A KPI's label, divisor and unit as people read them (USD in millions)."""
    try:
        entry = lookup(kpi)
    except KeyError:
        return 1.0, kpi.replace("_", " "), unit
    return entry.scale, entry.label, entry.display_unit or entry.kind


def differences_table(table: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """One row per KPI: its label, unit, the first run's mean, and each run's mean difference.

    Every other run has one column, headed ``<run> (paired)`` or ``<run> (unpaired)``, holding
    its mean difference from the first run: the mean of its per-replication differences
    (paired) or the difference of the means (unpaired).
    """
    first = names[0]
    rows = []
    for kpi, group in table.groupby("KPI", sort=False):
        runs = [str(r) for r in group["run"]]
        means = dict(zip(runs, group["mean"].to_numpy(dtype=float), strict=True))
        changes = dict(zip(runs, group["difference mean"].to_numpy(dtype=float), strict=True))
        modes = dict(zip(runs, group["comparison"].astype(str), strict=True))
        scale, label, unit = _display(str(kpi), str(group["unit"].iloc[0]))
        row: dict[str, object] = {
            "KPI": label,
            "unit": unit,
            f"{first}: mean": means[first] / scale,
        }
        for name in names[1:]:
            row[difference_heading(name, modes[name])] = changes[name] / scale
        rows.append(row)
    return pd.DataFrame(rows)


def runs_compared(runs: Sequence[RunDir], names: Sequence[str]) -> pd.DataFrame:
    """The runs table with how each run is compared with the first (and why, when unpaired)."""
    table = runs_table(runs, names)
    compared = [BASELINE]
    for run in runs[1:]:
        reason = unpaired_reason(runs[0], run)
        compared.append(f"unpaired: {reason}" if reason else PAIRED)
    table["compared"] = compared
    return table


def build_document(
    runs: Sequence[RunDir],
    names: Sequence[str],
    table: pd.DataFrame,
    percentiles: Percentiles | None = None,
) -> Document:
    """The comparison's content: runs, KPI differences and the overlaid charts.

    ``percentiles`` (default: every percentile any run reports) are the table's; bands and the
    takeaways follow them too.
    """
    from capsim.report import charts, charts_compare
    from capsim.report.documents import figure_png
    from capsim.runs.aggregate import monthly_bands

    chosen = percentiles or comparison_percentiles(runs)
    high = chosen.labels[chosen.high]
    labels = [charts.run_label(run) for run in runs]
    bands = {name: monthly_bands(run, chosen) for name, run in zip(names, runs, strict=True)}
    horizon = {name: float(b["capacity_p50_mw"].iloc[-1]) for name, b in bands.items()}
    shortfall = table[table["KPI"] == "shortfall_mw_months"].set_index("run")
    worst = {str(k): float(v) for k, v in shortfall[high].items()}
    others = table[(table["comparison"] != BASELINE) & (table["KPI"] == table["KPI"].iloc[0])]
    modes = [f"{run} {mode}" for run, mode in zip(others["run"], others["comparison"], strict=True)]
    versus = "; ".join(
        f"{run!s} vs {names[0]}: {row['difference mean']:+,.0f} MW-months (mean difference)"
        for run, row in shortfall.iloc[1:].iterrows()
        if row["difference mean"] == row["difference mean"]
    )
    images = [
        ChartImage(
            "capacity_vs_demand",
            "Capacity versus demand, runs compared",
            "Median capacity at the horizon: "
            + ", ".join(f"{n} {v:,.0f} MW" for n, v in horizon.items())
            + ".",
            figure_png(charts_compare.capacity_vs_demand(bands, labels, chosen)),
        ),
        ChartImage(
            "shortfall_probability",
            "Probability of a shortfall, runs compared",
            f"{high} shortfall: "
            + ", ".join(f"{n} {worst[n]:,.0f} MW-months" for n in names)
            + (f"; {versus}." if versus else "."),
            figure_png(charts_compare.shortfall_probability(bands, labels)),
        ),
    ]
    return Document(
        title="Runs compared: " + " vs ".join(names),
        subtitle=f"Differences against {names[0]}: " + ", ".join(modes or ["none"]),
        tables=[
            Table("Runs", runs_compared(runs, names)),
            Table(
                f"KPIs: each run's mean difference from {names[0]}",
                differences_table(table, names),
                f"Each run's column is that run minus {names[0]}, in the KPI's unit. "
                f"{PAIRING_NOTE} "
                "The workbook gives every percentile of the differences.",
            ),
        ],
        charts=images,
        method_note=(
            "Runs are compared with the first run. The mean and "
            + "/".join(chosen.labels.values())
            + " of paired differences are taken over replications (see the note under the KPI "
            "table). Cash cost is money paid; the unserved-demand penalty is notional and "
            "counted only in the total cost including the penalty."
        ),
    )


def compare_runs(run_dirs: Sequence[Path], output: Path, force: bool = False) -> list[Path]:
    """Write compare.html, compare.pptx and compare.xlsx for ``run_dirs`` into ``output``.

    Refuses an existing ``output`` unless ``force``, and an ``output`` that is, contains or lies
    inside one of the runs (exit 3); every run is verified against its checksums first (exit 2).
    The output is locked while it is written, the runs are locked for reading, and the output
    directory appears whole or not at all.
    """
    from capsim.report.documents import write_document
    from capsim.runs.bookkeeping import check_run_dir
    from capsim.runs.locks import lock_run_dir
    from capsim.runs.store import check_output_location

    if len(run_dirs) < 2:
        raise UsageError("compare needs at least two run directories")
    dirs = [check_run_dir(Path(d)) for d in run_dirs]
    output = Path(output)
    check_output_location(output, dirs)
    with ExitStack() as locks:
        locks.enter_context(lock_run_dir(output))
        for run_dir in dirs:
            locks.enter_context(lock_run_dir(run_dir, shared=True, create_parent=False))
        if (output.exists() or output.is_symlink()) and not force:
            raise OutputError(f"{output} already exists; choose another -o or pass --force")
        runs = [RunDir(run_dir) for run_dir in dirs]
        for run in runs:
            run.verify()
        names = run_names(runs)
        percentiles = comparison_percentiles(runs)
        table = kpi_comparison(runs, names, percentiles)
        doc = build_document(runs, names, table, percentiles)
        by_year = pd.DataFrame(
            {
                name: pd.Series(run.summary["shortfall_probability_by_year"])
                for name, run in zip(names, runs, strict=True)
            }
        )
        by_year.index.name = "year"
        sheets = {
            "differences": differences_table(table, names),
            "KPIs compared": table,
            "runs": runs_compared(runs, names),
            "shortfall probability by year": by_year.reset_index().rename(
                columns={n: f"{n} (probability)" for n in names}
            ),
        }
        staging = output.parent / f".{output.name}.compare-partial"
        try:
            if staging.exists():
                shutil.rmtree(staging)  # left by a comparison that was killed
            staging.mkdir(parents=True)
            write_document(doc, sheets, staging, "compare")
            publish_directory(staging, output)
        except OSError as exc:
            raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return [output / f"compare.{ext}" for ext in ("html", "pptx", "xlsx")]
