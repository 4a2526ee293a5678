"""Memo outputs of one run: report.html, memo.pptx and tables.xlsx, written into the run directory.

Reads the run's tables, summary and scenario; never changes them. The three files are written
under temporary names and renamed into place together (``runs.publish.publish_files``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from capsim.errors import OutputError
from capsim.report import data as memo_data
from capsim.report.documents import ChartImage, Document, Headline, Table
from capsim.report.workbook import FORMATS_KEY, ROW_FORMATS_KEY
from capsim.runs.kpis import Percentiles, lookup
from capsim.runs.rundir import RunDir
from capsim.scenario.provenance import Comment

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
        f"is reported as never. {MONEY_NOTE}"
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


def write_report(
    run_dir: Path, percentiles: Percentiles | None = None, currency: str | None = None
) -> list[Path]:
    """Write report.html, memo.pptx and tables.xlsx into a finished run directory.

    ``percentiles`` (default: those the run reports) are computed in memory, and so is a
    restatement in another ``currency`` (by the scenario's fx rates); the run's own
    files never change. Returns the three paths. The run is locked while the report is written
    (so a run replacing it cannot slip in) and verified first: a UsageError if ``run_dir`` is
    not a complete capsim run, or if a part is missing or fails its checksum (naming the parts
    to repair).
    """
    from capsim.report.documents import write_document
    from capsim.runs.bookkeeping import check_run_dir
    from capsim.runs.locks import lock_run_dir

    run_dir = check_run_dir(Path(run_dir))
    with lock_run_dir(run_dir, create_parent=False):
        run = RunDir(run_dir)
        run.verify()
        reported = with_percentiles(run, percentiles)
        # --- reporting currency: restated in memory, labels name the currency shown ---
        from capsim.report.currency import currency_of, in_currency, restated

        reported = restated(reported, currency)
        shown = currency_of(reported.summary)
        document = in_currency(build_document(reported), shown)
        sheets = in_currency(workbook_sheets(reported), shown)
        # --- end reporting currency ---
        try:
            return write_document(document, sheets, run_dir, "report")
        except OSError as exc:
            raise OutputError(
                f"cannot write the report into {run_dir}: "
                f"{exc.strerror or exc} (disk full or unwritable?)"
            ) from exc


def build_document(run: RunDir) -> Document:
    """The report's content, in reading order.

    Title, executive summary with its headline figures, the KPI table, every chart with its
    takeaway, the assumptions with their sources, calibration against the scenario's targets,
    method and limitations.
    """
    from capsim.report import charts
    from capsim.report.summary_text import executive_summary

    label = charts.run_label(run)
    percentiles = memo_data.run_percentiles(run)
    summary = executive_summary(run)
    scenario = run.scenario
    appendix = [
        Table(
            "Assumptions and their sources",
            assumptions_table(run)[["assumption", "value", "source"]],
            "Sources are the comments written beside each value in the scenario file "
            f"({_provenance_note(run)}). Dates are month ends.",
            rows_per_slide=10,
        )
    ]
    calibration = calibration_table(run)
    if calibration is not None:
        appendix.append(
            Table(
                "Calibration: published figures against the model",
                calibration,
                "Each target's statistic over replications must fall in its published range.",
            )
        )
    return Document(
        title=scenario.title or f"Power capacity outlook: {scenario.name}",
        subtitle="\n".join(p for p in (scenario.description, label.footnote()) if p),
        tables=[
            Table(
                "Headline KPIs",
                kpi_table(run, HEADLINE_KPIS, summary.risk),
                f"{', '.join(percentiles.labels.values())}: percentiles over "
                f"{run.replications} replications. Dates are month ends; never: not within "
                "the horizon. Cash cost excludes the notional unserved-demand penalty.",
                rows_per_slide=16,
            )
        ],
        charts=[chart_image(spec, run, label) for spec in _suite()],
        appendix=appendix,
        method_note=method_note(percentiles),
        summary=summary.sentences,
        headlines=[Headline(h.text, h.label) for h in summary.headlines],
        limitations=LIMITATIONS,
    )


def _suite() -> tuple[Any, ...]:
    """The chart suite (imported late: drawing modules load matplotlib)."""
    from capsim.report.suite import SUITE

    return SUITE


def chart_image(spec: Any, run: RunDir, label: Any) -> ChartImage:
    """One chart of the suite drawn at the size documents show it, as a 300 dpi PNG."""
    from capsim.report.documents import CHART_SIZE_IN, figure_png

    fig = spec.draw(run, label)
    fig.set_size_inches(*CHART_SIZE_IN)
    return ChartImage(spec.name, spec.title, spec.takeaway(run), figure_png(fig), CHART_SIZE_IN)


#: KPIs of the report's headline table, in order.
HEADLINE_KPIS = (
    "served_share",
    "committed_served_share",
    "shortfall_mw_months",
    "shortfall_beyond_tolerance_mw_months",
    "peak_shortfall_mw",
    "covered_for_good_month",
    "energized_mw_at_horizon",
    "demand_mw_at_horizon",
    "deal_completion_rate",
    "cash_cost_usd",
    "cash_cost_npv_usd",
    "unserved_penalty_usd",
    "cost_per_delivered_mw_usd",
)
#: What the model leaves out, stated in every report.
LIMITATIONS = [
    "Inputs are the scenario's distributions; figures are only as good as the sources beside "
    "them in the assumptions table.",
    "Competing applicants are scaled: each background request stands for several real ones.",
    "Percentiles come from a finite number of replications; the tails (P10, P90) move most "
    "when replications are few.",
    "Costs are undiscounted unless marked NPV; the unserved-demand penalty is notional.",
]


def _label(name: str) -> str:
    """A KPI's label from the catalogue ('total cost including the penalty'), else its name."""
    try:
        return lookup(name).label
    except KeyError:
        return name


def kpi_table(run: RunDir, names: Sequence[str], risk: Any | None = None) -> pd.DataFrame:
    """KPIs as people read them: label, display unit, mean and percentiles as formatted text.

    The texts are those the executive summary quotes (``summary_text.kpi_figure``); ``risk``
    (the near-term shortfall risk) is added as a last row when given.
    """
    from capsim.report.summary_text import kpi_figure

    percentiles = memo_data.run_percentiles(run)
    rows = []
    for name in names:
        if name not in run.summary["kpis"]:
            continue
        stats = {stat: kpi_figure(run, name, stat) for stat in ("mean", *percentiles.keys)}
        rows.append(
            {
                "KPI": stats["mean"].label,
                "unit": stats["mean"].unit,
                "mean": stats["mean"].text,
                **{heading: stats[key].text for key, heading in percentiles.labels.items()},
            }
        )
    if risk is not None:
        rows.append(
            {"KPI": risk.label, "unit": risk.unit, "mean": risk.text}
            | dict.fromkeys(percentiles.labels.values(), "")
        )
    return pd.DataFrame(rows, columns=["KPI", "unit", "mean", *percentiles.labels.values()])


def kpi_sheet(run: RunDir) -> pd.DataFrame:
    """Every KPI of the summary in display units (GW, USD bn, %, dates), one row each.

    Numbers are kept as numbers (dates as dates) with their spreadsheet format.
    """
    from capsim.runs.kpi_display import memo_format

    percentiles = memo_data.run_percentiles(run)
    start = run.scenario.start
    rows, formats = [], []
    for name, stats in run.summary["kpis"].items():
        kpi = lookup(name)
        display = memo_format(kpi)
        values = {
            stat: display.value(None if stats.get(stat) is None else float(stats[stat]), start)
            for stat in ("mean", *percentiles.keys)
        }
        rows.append(
            {
                "KPI": kpi.label,
                "unit": display.unit,
                "mean (unit)": values["mean"],
                **{f"{h} (unit)": values[k] for k, h in percentiles.labels.items()},
                "n (replications or deals)": stats.get("n"),
                "key": name,
                "unit in summary.json": stats.get("unit", ""),
            }
        )
        formats.append(display.excel)
    figures = ["mean (unit)", *(f"{h} (unit)" for h in percentiles.labels.values())]
    columns = ["KPI", "unit", *figures, "n (replications or deals)", "key", "unit in summary.json"]
    table = pd.DataFrame(rows, columns=columns)
    table = table.astype(object).where(table.notna(), None)
    for column in figures:
        table[column] = [
            "never" if isinstance(v, float) and math.isinf(v) else v for v in table[column]
        ]
    table.attrs[FORMATS_KEY] = {"n (replications or deals)": "#,##0"}
    table.attrs[ROW_FORMATS_KEY] = formats
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


def describe(value: Any, start: str | None = None, month: bool = False) -> str:
    """A scenario value as text: distributions as ``pert(min 2, mode 4, max 8)``.

    With ``month`` (a value counted in months from the scenario ``start``), numbers are shown as
    the calendar month they fall in ('Aug 2029'), calendar months 'YYYY-MM' likewise.
    """
    if isinstance(value, dict) and value.get("dist") == "fixed" and "value" in value:
        return describe(value["value"], start, month)
    if isinstance(value, dict) and {"name", "mw", "month"} <= set(value):
        when = describe(value["month"], start, True)
        return f"{value['name']} +{describe(value['mw'])} MW in {when}"
    if isinstance(value, dict) and "dist" in value:
        args = ", ".join(
            f"{k} {describe(v, start, month)}" for k, v in value.items() if k != "dist"
        )
        return f"{value['dist']}({args})"
    if isinstance(value, dict):
        return "; ".join(
            f"{k.replace('_', ' ')}: {describe(v, start, month)}" for k, v in value.items()
        )
    if isinstance(value, list):
        return "; ".join(describe(v, start, month) for v in value) or "none"
    if (
        month
        and start is not None
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ):
        from capsim.runs.kpi_display import month_end

        return month_end(start, float(value)).strftime("%b %Y")
    if month and isinstance(value, str) and len(value) == 7 and value[4] == "-":
        return _calendar(value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _calendar(month: str) -> str:
    """'2029-08' as 'Aug 2029'."""
    year, number = (int(part) for part in month.split("-")[:2])
    return date(year, number, 1).strftime("%b %Y")


def _assumption_rows(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, dotted path, value text) of each key assumption of a scenario's plain data."""
    start = str(data.get("start"))
    demand = data.get("demand") or {}
    rows: list[tuple[str, str, str]] = [
        ("horizon", "start", f"{_calendar(start)} to {_calendar(str(data.get('end')))}"),
        ("demand at start (IT MW)", "demand.it_mw_start", describe(demand.get("it_mw_start"))),
        ("demand growth", "demand.growth", describe(demand.get("growth"))),
        ("PUE", "demand.pue", describe(demand.get("pue"))),
    ]
    for i, shock in enumerate(demand.get("shocks") or []):
        name = str(shock.get("name", f"shock {i + 1}")).replace("_", " ")
        rows.append((f"demand shock: {name}", f"demand.shocks[{i}]", describe(shock, start, False)))
    if "committed_share" in demand:
        rows.append(
            (
                "committed share of demand",
                "demand.committed_share",
                describe(demand["committed_share"]),
            )
        )
    for key, region in (data.get("regions") or {}).items():
        grid = region.get("grid") or {}
        queue = grid.get("queue") or {}
        name = region.get("name") or key
        at = f"regions.{key}"
        rows += [
            (f"{name}: existing MW", f"{at}.existing_mw", describe(region.get("existing_mw", 0))),
            (
                f"{name}: grid headroom (MW)",
                f"{at}.grid.headroom_mw",
                describe(grid.get("headroom_mw")),
            ),
            (
                f"{name}: headroom upgrades",
                f"{at}.grid.upgrades",
                describe(grid.get("upgrades") or [], start, True),
            ),
            (f"{name}: queue mode", f"{at}.grid.queue.mode", describe(queue.get("mode"))),
            (
                f"{name}: study slots",
                f"{at}.grid.queue.study_slots",
                describe(queue.get("study_slots")),
            ),
            (
                f"{name}: study months",
                f"{at}.grid.queue.study_months",
                describe(queue.get("study_months")),
            ),
        ]
        competitors = grid.get("competitors")
        classes = competitors if isinstance(competitors, list) else [competitors or {}]
        for j, group in enumerate(classes):
            path = f"{at}.grid.competitors" + (f"[{j}]" if isinstance(competitors, list) else "")
            who = f" ({group['name']})" if group.get("name") else ""
            rows.append(
                (
                    f"{name}: competitor arrivals per year{who}",
                    f"{path}.arrivals_per_year",
                    describe(group.get("arrivals_per_year")),
                )
            )
    names = {str(k): str(r.get("name") or k) for k, r in (data.get("regions") or {}).items()}
    for lever, value in (data.get("policy") or {}).items():
        if isinstance(value, dict) and set(value) <= set(names):
            value = {names[k]: v for k, v in value.items()}  # region weights by display name
        rows.append((f"policy: {lever.replace('_', ' ')}", f"policy.{lever}", describe(value)))
    bridge = data.get("bridge") or {}
    rows.append(("bridge power", "bridge.enabled", "on" if bridge.get("enabled") else "off"))
    for pool, spec in (data.get("equipment") or {}).items():
        rows.append(
            (
                f"equipment lead time, {pool.replace('_', ' ')} (months)",
                f"equipment.{pool}.lead_time_months",
                describe(spec.get("lead_time_months")),
            )
        )
    return rows


def run_provenance(run: RunDir) -> dict[str, Comment] | None:
    """The source comments the run stored (``provenance.json``); None if it stored none."""
    import json

    from capsim.runs.runner import PROVENANCE
    from capsim.scenario.provenance import from_data

    path = run.path / PROVENANCE
    if not path.is_file():
        return None
    try:
        return from_data(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _provenance_note(run: RunDir) -> str:
    """Where the sources were read: the stored comments of the scenario file, or nowhere."""
    comments = run_provenance(run)
    if comments is None:
        return "this run stored no source comments, e.g. it was not started from a file"
    files = sorted({c.file for c in comments.values()})
    return "read when the run started, from " + ", ".join(files)


def source_of(comments: dict[str, Comment], path: str) -> tuple[str, str]:
    """A value's source comment and where it stands ('file:line'), else those of its items.

    A list or mapping without its own comment takes its items' distinct comments, joined.
    """
    if path in comments:
        found = comments[path]
        return found.text, f"{found.file}:{found.line}"
    inner = [
        c
        for key, c in sorted(comments.items(), key=lambda item: item[1].line)
        if key.startswith((path + "[", path + "."))
        and key[len(path) + 1 :].count(".") == 0
        and "[" not in key[len(path) + 1 :].lstrip("[0123456789]")
    ]
    texts = list(dict.fromkeys(c.text for c in inner))
    where = ", ".join(dict.fromkeys(f"{c.file}:{c.line}" for c in inner))
    return "; ".join(texts), where


def assumptions_table(run: RunDir) -> pd.DataFrame:
    """The scenario's key assumptions: what, value (calendar dates), source comment, where."""
    from capsim.scenario.loader import scenario_to_data

    comments = run_provenance(run) or {}
    rows = []
    for what, path, value in _assumption_rows(scenario_to_data(run.scenario)):
        text, where = source_of(comments, path)
        rows.append(
            {
                "assumption": what,
                "value": value or "-",
                "source": text or None,
                "field": path,
                "file:line": where or None,
            }
        )
    return pd.DataFrame(rows, columns=["assumption", "value", "source", "field", "file:line"])


def calibration_table(run: RunDir) -> pd.DataFrame | None:
    """The scenario's targets against the run (``calibration.check_run``); None without targets."""
    if not run.scenario.targets:
        return None
    from capsim.analysis.calibration import check_run, describe_range, describe_scope

    rows = []
    for result in check_run(run):
        target = result.target
        value = result.model_value
        shown = (
            "-"
            if value != value
            else (f"{value:.3f}" if target.unit == "fraction" else f"{value:,.1f}")
        )
        verdict = "pass" if result.passed else ("no data" if result.replications == 0 else "miss")
        rows.append(
            {
                "target": target.name,
                "scope": describe_scope(target),
                "published": describe_range(target),
                "statistic": target.statistic.upper(),
                "model": f"{shown} {'' if target.unit == 'fraction' else target.unit}".strip(),
                "result": verdict,
                "source": target.source,
            }
        )
    return pd.DataFrame(rows)


def per_year_table(run: RunDir) -> pd.DataFrame:
    """Per year: shortfall probability and percentiles of shortfall MW-months and peak MW.

    The percentiles are those the run's summary reports; years are fiscal ('FY2028') when the
    scenario's ``report.fiscal_year_start_month`` says so, else calendar years (2028).
    """
    from capsim.runs.fiscal import CALENDAR, year_labels

    fiscal = run.scenario.report.fiscal_year_start_month
    percentiles = memo_data.run_percentiles(run)
    labels, quantiles = percentiles.labels, percentiles.quantiles
    table = run.table("timeseries", ["replication", "date", "shortfall_mw"])
    table["year"] = year_labels(table["date"], fiscal)
    per_rep = table.groupby(["year", "replication"])["shortfall_mw"].agg(["sum", "max"])
    rows = []
    for year, group in per_rep.groupby(level="year"):
        row: dict[str, Any] = {
            "year": int(str(year)) if fiscal == CALENDAR else str(year),
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


def p_dates_table(run: RunDir) -> pd.DataFrame:
    """P-dates of the summary: scope (display name), measure, MW, each percentile as a date."""
    from capsim.runs.kpi_display import month_end

    names = {"portfolio": "portfolio", **memo_data.region_names(run)}
    percentiles = memo_data.run_percentiles(run)
    rows = []
    for row in run.summary.get("p_dates", []):
        dates = {}
        for key, heading in percentiles.labels.items():
            month = row.get(key)
            dates[f"{heading} (date)"] = (
                month_end(str(month), 1) if isinstance(month, str) and month else None
            )
        rows.append(
            {
                "scope": names.get(str(row.get("scope")), str(row.get("scope"))),
                "measure": str(row.get("measure", "")).replace("_mw", "").replace("_", " "),
                "milestone (MW)": float(row.get("mw", 0.0)),
                **dates,
                "never within the horizon (%)": float(row.get("never_share") or 0.0),
            }
        )
    table = pd.DataFrame(rows)
    table.attrs[FORMATS_KEY] = {"never within the horizon (%)": "0%"}
    return table


def bands_table(run: RunDir) -> pd.DataFrame:
    """Monthly bands: the run's percentiles of demand, capacity and shortfall MW by month end."""
    from capsim.runs.aggregate import monthly_bands

    percentiles = memo_data.run_percentiles(run)
    bands = monthly_bands(run, percentiles)
    out = pd.DataFrame({"month end": pd.to_datetime(bands["date"])})
    for measure in ("demand", "capacity", "shortfall"):
        for key, heading in percentiles.labels.items():
            out[f"{measure} {heading} (MW)"] = bands[f"{measure}_{key}_mw"].astype(float)
    out["shortfall probability (%)"] = bands["shortfall_probability"].astype(float)
    out.attrs[FORMATS_KEY] = {
        **{c: "#,##0.0" for c in out.columns if c.endswith("(MW)")},
        "shortfall probability (%)": "0%",
    }
    return out


def delays_table(run: RunDir) -> pd.DataFrame:
    """MW-weighted delay to first power by cause, per scope (portfolio, then each region)."""
    from capsim.report.charts_measures import cause_label

    names = {"portfolio": "portfolio", **memo_data.region_names(run)}
    rows = []
    for scope, entry in run.summary.get("criticality", {}).items():
        causes = entry.get("causes", {}) if isinstance(entry, dict) else {}
        for cause, figures in sorted(causes.items(), key=lambda item: -item[1]["share"]):
            rows.append(
                {
                    "scope": names.get(scope, scope),
                    "cause": cause_label(cause),
                    "share of delay (%)": float(figures["share"]),
                    "months per MW powered (months)": float(figures["months_per_mw"]),
                }
            )
    table = pd.DataFrame(
        rows, columns=["scope", "cause", "share of delay (%)", "months per MW powered (months)"]
    )
    table.attrs[FORMATS_KEY] = {
        "share of delay (%)": "0.0%",
        "months per MW powered (months)": "#,##0.00",
    }
    return table


def workbook_sheets(run: RunDir) -> dict[str, pd.DataFrame]:
    """Sheets of tables.xlsx, from the KPIs to the deals and the assumptions with their sources.

    Every percentile column is one the run's summary reports.
    """
    cost = cost_table(run.summary)
    cost.attrs[FORMATS_KEY] = {c: "#,##0" for c in cost.columns if "USD m" in c}
    return {
        "KPIs": kpi_sheet(run),
        "cost": cost,
        "per year": per_year_table(run),
        "per region": per_region_table(run),
        "P-dates": p_dates_table(run),
        "monthly bands": bands_table(run),
        "delays by cause": delays_table(run),
        "deals": deal_table(run),
        "assumptions": assumptions_table(run),
    }
