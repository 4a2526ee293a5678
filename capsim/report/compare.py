"""The comparison documents: compare.html, compare.pptx and compare.xlsx for runs side by side.

The figures come from ``capsim.analysis.compare``; this module lays them out with the overlaid
charts and writes the documents, staged and moved into place whole.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import pandas as pd

from capsim.analysis.compare import (
    comparison_percentiles,
    kpi_comparison,
    run_names,
    runs_table,
)
from capsim.errors import OutputError, UsageError
from capsim.report.documents import ChartImage, Document, Table
from capsim.runs.kpis import Percentiles
from capsim.runs.rundir import RunDir


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
    bands = {name: monthly_bands(run.path, chosen) for name, run in zip(names, runs, strict=True)}
    horizon = {name: float(b["capacity_p50_mw"].iloc[-1]) for name, b in bands.items()}
    shortfall = table[table["KPI"] == "shortfall_mw_months"].set_index("run")
    worst = {str(k): float(v) for k, v in shortfall[high].items()}
    modes = sorted(set(table.loc[table["comparison"] != "baseline", "comparison"]))
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
        subtitle="Comparison: " + " / ".join(modes or ["single run"]),
        tables=[
            Table("Runs", runs_table(runs, names)),
            Table(
                "KPIs and differences against the first run",
                table,
                "Differences are run minus " + names[0] + ". " + " ".join(modes),
            ),
        ],
        charts=images,
        method_note=(
            "Paired: runs with the same seed, replications and calendar drew the same random "
            "streams in each replication, so per-replication KPI differences isolate the effect "
            "of the changed parameters; the mean and "
            + "/".join(chosen.labels.values())
            + " are of those differences. Unpaired: only the difference of means is meaningful. "
            "Cash cost is money paid; the unserved-demand penalty is notional and counted only "
            "in the total cost including the penalty."
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
    from capsim.runs.store import check_output_location, check_run_dir, lock_run_dir

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
            "KPIs compared": table,
            "runs": runs_table(runs, names),
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
