"""Memo outputs of one run: report.html, memo.pptx and tables.xlsx, written into the run directory.

Reads the run's tables, summary and scenario; never changes them. The three files are written
under temporary names and renamed into place together (``memo_docs.write_atomically``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from capsim.errors import OutputError
from capsim.report import data as memo_data
from capsim.report.documents import ChartImage, Document, Table
from capsim.runs.kpis import Percentiles, lookup
from capsim.runs.rundir import RunDir
from capsim.scenario.schema import Scenario

#: Most deal rows a workbook carries (Excel's sheet limit is 1,048,576 rows).
MAX_DEAL_ROWS = 200_000
#: KPIs of the cost table, in order, each with what kind of money it is.
COST_KPIS = (
    ("capex_usd", "cash"),
    ("energy_usd", "cash"),
    ("bridge_premium_usd", "cash"),
    ("cash_cost_usd", "cash"),
    ("cash_cost_npv_usd", "cash"),
    ("unserved_penalty_usd", "notional penalty"),
    ("total_cost_usd", "cash plus penalty"),
    ("cost_npv_usd", "cash plus penalty"),
)
MONEY_NOTE = (
    "Cash cost is money paid: capex, energy and bridge premium. The unserved-demand penalty is "
    "a notional lost margin on demand not covered, not a payment; it is reported apart and "
    "counted only in the total cost including the penalty."
)


def method_note(percentiles: Percentiles) -> str:
    """The method paragraph of a report, naming the percentiles its tables report."""
    return (
        "capsim is a discrete-event (SimPy) model of power procurement: demand growth with "
        "shocks, a policy launching deals, deal stages worked by a limited team, grid queues "
        "shared with competing applicants, long-lead equipment order books, permitting and "
        "construction, phased energisation and bridge power. Each replication draws every "
        "uncertain input from its own random stream derived from the seed and its index, so "
        "results do not depend on how the run was executed. KPIs are computed per replication "
        f"and summarised by their mean and {_listed(percentiles)} over replications; bands in "
        "charts are monthly percentiles across replications, and stacked regional capacity "
        "shows means. A month whose quantile is past the horizon (e.g. demand never covered) "
        f"is reported as empty. {MONEY_NOTE}"
    )


def _listed(percentiles: Percentiles) -> str:
    """'P10, P50, P80 and P90' for the percentiles given."""
    labels = list(percentiles.labels.values())
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


class ReportedRun(RunDir):
    """A run whose summary is recomputed in memory for other percentiles; its files unchanged."""

    def __init__(self, path: Path, summary: dict[str, Any]) -> None:
        """Open the run at ``path`` and report ``summary`` in place of its summary.json."""
        super().__init__(path)
        self._reported = summary

    @property
    def summary(self) -> dict[str, Any]:
        """The summary recomputed for the report's percentiles."""
        return self._reported


def with_percentiles(run: RunDir, percentiles: Percentiles | None) -> RunDir:
    """The run as a report of ``percentiles`` sees it (the run itself if None or its own).

    The summary is recomputed from the run's parts in memory; nothing in the run changes.
    """
    if percentiles is None or percentiles == memo_data.run_percentiles(run):
        return run
    from capsim.runs.aggregate import summary_from_parts

    return ReportedRun(run.path, summary_from_parts(run.path, run.scenario, percentiles))


def write_report(run_dir: Path, percentiles: Percentiles | None = None) -> list[Path]:
    """Write report.html, memo.pptx and tables.xlsx into a finished run directory.

    ``percentiles`` (default: those the run reports) are computed in memory; the run's own
    files never change. Returns the three paths. The run is locked while the report is written
    (so a run replacing it cannot slip in) and verified first: a UsageError if ``run_dir`` is
    not a complete capsim run, or if a part is missing or fails its checksum (naming the parts
    to repair).
    """
    from capsim.report.documents import write_document
    from capsim.runs.store import check_run_dir, lock_run_dir

    run_dir = check_run_dir(Path(run_dir))
    with lock_run_dir(run_dir, create_parent=False):
        run = RunDir(run_dir)
        run.verify()
        reported = with_percentiles(run, percentiles)
        document, sheets = build_document(reported), workbook_sheets(reported)
        try:
            return write_document(document, sheets, run_dir, "report")
        except OSError as exc:
            raise OutputError(
                f"cannot write the report into {run_dir}: "
                f"{exc.strerror or exc} (disk full or unwritable?)"
            ) from exc


def build_document(run: RunDir) -> Document:
    """The report's content: KPI, cost and assumption tables, every chart with its takeaway."""
    from capsim.report import charts
    from capsim.report.documents import figure_png
    from capsim.report.suite import SUITE

    label = charts.run_label(run)
    percentiles = memo_data.run_percentiles(run)
    images = [
        ChartImage(spec.name, spec.title, spec.takeaway(run), figure_png(spec.draw(run, label)))
        for spec in SUITE
    ]
    description = run.scenario.description
    return Document(
        title=f"Power capacity outlook: {label.scenario}",
        subtitle=" | ".join(p for p in (description, label.footnote()) if p),
        tables=[
            Table(
                "Headline KPIs",
                kpi_table(run.summary),
                f"{'/'.join(percentiles.labels.values())}: percentiles over replications. "
                "Empty: past the horizon.",
            ),
            Table("Cost: cash paid and the notional penalty", cost_table(run.summary), MONEY_NOTE),
        ],
        charts=images,
        appendix=[Table("Key assumptions", assumptions_table(run.scenario))],
        method_note=method_note(percentiles),
    )


def _label(name: str) -> str:
    """A KPI's label from the catalogue ('total cost including the penalty'), else its name."""
    try:
        return lookup(name).label
    except KeyError:
        return name


def kpi_table(summary: dict[str, Any]) -> pd.DataFrame:
    """One row per headline KPI: name, label, unit, mean, each reported percentile, count."""
    percentiles = Percentiles.of_summary(summary)
    labels = percentiles.labels
    rows = [
        {
            "KPI": name,
            "label": _label(name),
            "unit": stats.get("unit", ""),
            "mean": stats.get("mean"),
            **{heading: stats.get(key) for key, heading in labels.items()},
            "n": stats.get("n"),
        }
        for name, stats in summary["kpis"].items()
    ]
    figures = ["mean", *labels.values()]
    table = pd.DataFrame(rows, columns=["KPI", "label", "unit", *figures, "n"])
    for column in figures:
        table[column] = table[column].astype(float)
    return table


def cost_table(summary: dict[str, Any]) -> pd.DataFrame:
    """Cash cost and the notional unserved-demand penalty apart, in USD millions.

    One row per cost KPI: what it is, whether it is cash or the penalty, mean and percentiles.
    """
    labels = Percentiles.of_summary(summary).labels
    rows = []
    for name, kind in COST_KPIS:
        stats = summary["kpis"].get(name)
        if stats is None:
            continue
        rows.append(
            {
                "cost": _label(name),
                "money": kind,
                "mean (USD m)": _millions(stats.get("mean")),
                **{f"{h} (USD m)": _millions(stats.get(k)) for k, h in labels.items()},
            }
        )
    columns = ["cost", "money", "mean (USD m)", *(f"{h} (USD m)" for h in labels.values())]
    return pd.DataFrame(rows, columns=columns)


def _millions(usd: float | None) -> float:
    """USD as USD millions (NaN when empty)."""
    return float("nan") if usd is None else float(usd) / 1e6


def describe(value: Any) -> str:
    """A scenario value as text: distributions as ``pert(min 2, mode 4, max 8)``."""
    if isinstance(value, dict) and value.get("dist") == "fixed" and "value" in value:
        return describe(value["value"])
    if isinstance(value, dict) and {"name", "mw", "month"} <= set(value):
        return f"{value['name']} +{describe(value['mw'])} MW at month {describe(value['month'])}"
    if isinstance(value, dict) and "dist" in value:
        args = ", ".join(f"{k} {describe(v)}" for k, v in value.items() if k != "dist")
        return f"{value['dist']}({args})"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {describe(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(describe(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def assumptions_table(scenario: Scenario) -> pd.DataFrame:
    """The scenario's key assumptions, one row each: what, value.

    Values are described from the scenario's canonical plain form (what scenario.yaml holds).
    """
    from capsim.scenario.loader import scenario_to_data

    data = scenario_to_data(scenario)
    demand = data.get("demand") or {}
    rows: list[tuple[str, str]] = [
        ("horizon", f"{data.get('start')} to {data.get('end')}"),
        ("demand at start (IT MW)", describe(demand.get("it_mw_start"))),
        ("demand growth", describe(demand.get("growth"))),
        ("PUE", describe(demand.get("pue"))),
    ]
    if demand.get("shocks"):
        rows.append(("demand shocks", describe(demand["shocks"])))
    for key, region in (data.get("regions") or {}).items():
        grid = region.get("grid") or {}
        queue = grid.get("queue") or {}
        competitors = grid.get("competitors") or {}
        name = region.get("name") or key
        rows += [
            (
                f"{name}: existing / headroom (MW)",
                f"{describe(region.get('existing_mw', 0))} / {describe(grid.get('headroom_mw'))}",
            ),
            (f"{name}: headroom upgrades", describe(grid.get("upgrades") or "none")),
            (
                f"{name}: queue mode, study slots",
                f"{queue.get('mode')}, {describe(queue.get('study_slots'))}",
            ),
            (f"{name}: study months", describe(queue.get("study_months"))),
            (
                f"{name}: competitor arrivals per year",
                describe(competitors.get("arrivals_per_year")),
            ),
        ]
    rows.append(("policy levers", describe(data.get("policy") or {})))
    bridge = data.get("bridge") or {}
    rows.append(("bridge power", "on: " + describe(bridge) if bridge.get("enabled") else "off"))
    for pool, spec in (data.get("equipment") or {}).items():
        rows.append(
            (f"equipment lead time, {pool} (months)", describe(spec.get("lead_time_months")))
        )
    return pd.DataFrame(rows, columns=["assumption", "value"])


def per_year_table(run: RunDir) -> pd.DataFrame:
    """Per calendar year: shortfall probability and percentiles of shortfall MW-months and peak MW.

    The percentiles are those the run's summary reports.
    """
    percentiles = memo_data.run_percentiles(run)
    labels, quantiles = percentiles.labels, percentiles.quantiles
    table = run.table("timeseries", ["replication", "date", "shortfall_mw"])
    table["year"] = pd.to_datetime(table["date"]).dt.year
    per_rep = table.groupby(["year", "replication"])["shortfall_mw"].agg(["sum", "max"])
    rows = []
    for year, group in per_rep.groupby(level="year"):
        row: dict[str, Any] = {
            "year": int(str(year)),
            "shortfall probability (fraction)": float((group["max"] > 1e-6).mean()),
        }
        for stat, column, unit in (
            ("sum", "shortfall", "MW-months"),
            ("max", "peak shortfall", "MW"),
        ):
            for key, q in quantiles.items():
                row[f"{column} {labels[key]} ({unit})"] = float(group[stat].quantile(q))
            row[f"{column} mean ({unit})"] = float(group[stat].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def per_region_table(run: RunDir) -> pd.DataFrame:
    """Per region: energised MW at the horizon, time to power and our queue waits (medians).

    Energised MW is given at every percentile the run's summary reports.
    """
    names = memo_data.region_names(run)
    summary = run.summary
    percentiles = memo_data.run_percentiles(run)
    regional = memo_data.regional_quantiles(run, percentiles)
    last = regional[regional["date"] == regional["date"].max()].set_index("region")
    power = summary["months_to_first_power_of_powered_deals"]["by_region"]
    waits = summary["queue_waits_months"]
    rows = []
    for region, name in names.items():
        wait = waits.get(region, {})
        rows.append(
            {
                "region": region,
                "name": name,
                **{
                    f"energised at horizon {heading} (MW)": last[f"{key}_mw"].get(region)
                    for key, heading in percentiles.labels.items()
                },
                "months to first power P50, powered deals only (months)": power.get(region, {}).get(
                    "p50"
                ),
                "our study wait P50 (months)": wait.get("study_wait", {}).get("p50"),
                "our connection wait P50 (months)": wait.get("connection_wait", {}).get("p50"),
            }
        )
    return pd.DataFrame(rows)


def deal_table(run: RunDir) -> pd.DataFrame:
    """deals.parquet with units in the headers (months from the scenario start, MW)."""
    deals = run.table("deals")
    if len(deals) > MAX_DEAL_ROWS:
        deals = deals.iloc[:MAX_DEAL_ROWS]
    units = {"mw": "MW", "energized_mw": "MW", "months_to_first_power": "months"}
    renamed = {}
    for column in deals.columns:
        if column in units:
            renamed[column] = f"{column} ({units[column]})"
        elif deals[column].dtype.kind == "f":
            renamed[column] = f"{column} (month from start)"
    return deals.rename(columns=renamed)


def workbook_sheets(run: RunDir) -> dict[str, pd.DataFrame]:
    """Sheets of tables.xlsx: KPIs, cost, per-year and per-region figures, deals, assumptions.

    Every percentile column is one the run's summary reports.
    """
    labels = memo_data.run_percentiles(run).labels.values()
    kpis = kpi_table(run.summary).rename(
        columns={
            "mean": "mean (unit)",
            **{heading: f"{heading} (unit)" for heading in labels},
            "n": "n (replications or deals)",
        }
    )
    return {
        "KPIs": kpis,
        "cost": cost_table(run.summary),
        "per year": per_year_table(run),
        "per region": per_region_table(run),
        "deals": deal_table(run),
        "assumptions": assumptions_table(run.scenario),
    }
