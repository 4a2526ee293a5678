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
from capsim.runs.rundir import RunDir
from capsim.scenario.schema import Scenario

#: Most deal rows a workbook carries (Excel's sheet limit is 1,048,576 rows).
MAX_DEAL_ROWS = 200_000
METHOD_NOTE = (
    "capsim is a discrete-event (SimPy) model of power procurement: demand growth with shocks, "
    "a policy launching deals, deal stages worked by a limited team, grid queues shared with "
    "competing applicants, long-lead equipment order books, permitting and construction, "
    "phased energisation and bridge power. Each replication draws every uncertain input from "
    "its own random stream derived from the seed and its index, so results do not depend on "
    "how the run was executed. KPIs are computed per replication and summarised by their mean "
    "and 10th, 50th and 90th percentiles over replications; bands in charts are monthly "
    "percentiles across replications, and stacked regional capacity shows means. A month "
    "whose quantile is past the horizon (e.g. demand never covered) is reported as empty."
)


def write_report(run_dir: Path) -> list[Path]:
    """Write report.html, memo.pptx and tables.xlsx into a finished run directory.

    Returns the three paths. The run is locked while the report is written (so a run replacing
    it cannot slip in) and verified first: a UsageError if ``run_dir`` is not a complete capsim
    run, or if a part is missing or fails its checksum (naming the parts to repair).
    """
    from capsim.report.documents import write_document
    from capsim.runs.store import check_run_dir, lock_run_dir

    run_dir = check_run_dir(Path(run_dir))
    with lock_run_dir(run_dir, create_parent=False):
        run = RunDir(run_dir)
        run.verify()
        document, sheets = build_document(run), workbook_sheets(run)
        try:
            return write_document(document, sheets, run_dir, "report")
        except OSError as exc:
            raise OutputError(
                f"cannot write the report into {run_dir}: "
                f"{exc.strerror or exc} (disk full or unwritable?)"
            ) from exc


def build_document(run: RunDir) -> Document:
    """The report's content: KPI and assumption tables, every chart with its takeaway."""
    from capsim.report import charts
    from capsim.report.documents import figure_png
    from capsim.report.suite import SUITE

    label = charts.run_label(run)
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
                "P10/P50/P90: percentiles over replications. Empty: past the horizon.",
            )
        ],
        charts=images,
        appendix=[Table("Key assumptions", assumptions_table(run.scenario))],
        method_note=METHOD_NOTE,
    )


def kpi_table(summary: dict[str, Any]) -> pd.DataFrame:
    """One row per headline KPI: name, unit, mean, P10, P50, P90, replications counted."""
    rows = [
        {
            "KPI": name,
            "unit": stats.get("unit", ""),
            "mean": stats.get("mean"),
            "P10": stats.get("p10"),
            "P50": stats.get("p50"),
            "P90": stats.get("p90"),
            "n": stats.get("n"),
        }
        for name, stats in summary["kpis"].items()
    ]
    table = pd.DataFrame(rows, columns=["KPI", "unit", "mean", "P10", "P50", "P90", "n"])
    for column in ("mean", "P10", "P50", "P90"):
        table[column] = table[column].astype(float)
    return table


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
    """Per calendar year: shortfall probability and quantiles of shortfall MW-months and peak MW."""
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
            for tag, q in (("P10", 0.1), ("P50", 0.5), ("P90", 0.9)):
                row[f"{column} {tag} ({unit})"] = float(group[stat].quantile(q))
            row[f"{column} mean ({unit})"] = float(group[stat].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def per_region_table(run: RunDir) -> pd.DataFrame:
    """Per region: energised MW at the horizon, time to power and our queue waits (medians)."""
    names = memo_data.region_names(run)
    summary = run.summary
    regional = memo_data.regional_quantiles(run)
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
                "energised at horizon P10 (MW)": last["p10_mw"].get(region),
                "energised at horizon P50 (MW)": last["p50_mw"].get(region),
                "energised at horizon P90 (MW)": last["p90_mw"].get(region),
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
    """Sheets of tables.xlsx: KPIs, per-year quantiles, per-region figures, deals, assumptions."""
    kpis = kpi_table(run.summary).rename(
        columns={
            "mean": "mean (unit)",
            "P10": "P10 (unit)",
            "P50": "P50 (unit)",
            "P90": "P90 (unit)",
            "n": "n (replications or deals)",
        }
    )
    return {
        "KPIs": kpis,
        "per year": per_year_table(run),
        "per region": per_region_table(run),
        "deals": deal_table(run),
        "assumptions": assumptions_table(run.scenario),
    }
