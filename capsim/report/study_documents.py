"""Documents of a study: report.html, memo.pptx and tables.xlsx for a sensitivity or sweep.

``capsim report`` on a study directory lands here. The study's own tables (``sensitivity``,
``points``, ``strategies``) and its stored base scenario are read back; the chart is drawn
again from them with readable parameter labels; the tables get those labels and units as
headings, the dotted paths kept in a column of their own. The documents are laid out by
``capsim.report.documents`` and written into the study directory, all three or none.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from capsim.analysis.experiment import Measure, check_measure
from capsim.errors import OutputError, UsageError
from capsim.report.charts_decision import number, scaled_unit, statistic_name
from capsim.report.documents import ChartImage, Document, Table
from capsim.report.studies import (
    frontier_figure,
    kpi_label,
    measure_label,
    parameter_names,
    sensitivity_figure,
)
from capsim.scenario.schema import Scenario

#: What ``capsim report`` finds in a directory: a run, or a study of one of these kinds.
RUN = "run"
SENSITIVITY = "sensitivity"
SWEEP = "sweep"
STUDY_KINDS = (SENSITIVITY, SWEEP)
#: The tables each kind of study must hold to be reported.
STUDY_TABLES = {SENSITIVITY: ("sensitivity", "points"), SWEEP: ("strategies",)}
#: The manifest entries every study holds, and those of each kind, that its documents read.
SHARED_KEYS = ("scenario", "scenario_sha256", "seed", "replications")
STUDY_KEYS = {
    SENSITIVITY: (*SHARED_KEYS, "method", "kpi", "statistics", "parameters"),
    SWEEP: (*SHARED_KEYS, "grid", "cost", "risk"),
}
METHOD_NAMES = {"oat": "one at a time", "morris": "Morris screening", "sobol": "Sobol indices"}
CRN_NOTE = (
    "Every point of the study ran with the base scenario's seed and replications: replication "
    "k of every point drew the same demand, queue arrivals and lead times (common random "
    "numbers), so differences between points come from the parameters, not from sampling noise."
)


def directory_kind(directory: Path) -> str:
    """What ``directory`` holds: ``run``, a study's kind from its manifest, or '' if neither.

    A study's manifest names its kind (``"kind": "sensitivity"``); a run directory has a
    manifest without one, beside its summary and scenario. A manifest that cannot be read is
    taken as a run's when the run's other files are there, so the run reader names the damage.
    """
    manifest = directory / "manifest.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict) and isinstance(data.get("kind"), str):
        return str(data["kind"])
    if manifest.is_file() and (directory / "summary.json").is_file():
        return RUN
    return ""


@dataclass(frozen=True)
class Study:
    """A published study directory read back: its manifest, base scenario and tables."""

    directory: Path
    manifest: dict[str, Any]
    base: Scenario
    tables: dict[str, pd.DataFrame]

    @property
    def kind(self) -> str:
        """``sensitivity`` or ``sweep``."""
        return str(self.manifest["kind"])


def read_study(directory: Path) -> Study:
    """The study in ``directory``; a UsageError naming what is missing or damaged."""
    from capsim.errors import ScenarioError
    from capsim.scenario.loader import load_stored_scenario

    kind = directory_kind(directory)
    if kind not in STUDY_KINDS:
        raise UsageError(f"{directory} is not a sensitivity study or a sweep")
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    missing = [key for key in STUDY_KEYS[kind] if key not in manifest]
    if missing:
        raise UsageError(
            f"cannot read {directory / 'manifest.json'}: missing {', '.join(map(repr, missing))}; "
            "the study directory is damaged"
        )
    tables = {}
    for name in STUDY_TABLES[kind]:
        path = directory / f"{name}.parquet"
        try:
            tables[name] = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"{directory} is not a complete {kind} study: cannot read {path.name} ({exc})"
            ) from None
    try:
        base = load_stored_scenario(directory / "scenario.yaml")
    except ScenarioError as exc:
        raise UsageError(
            f"cannot read {directory / 'scenario.yaml'}: {exc.messages()[0]}; "
            "the study directory is damaged"
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot read {directory / 'scenario.yaml'}: {exc.strerror or exc}"
        ) from None
    return Study(directory, manifest, base, tables)


def write_study_report(directory: Path) -> list[Path]:
    """Write report.html, memo.pptx and tables.xlsx into a sensitivity or sweep directory.

    The directory is locked while the documents are written; the three files appear together
    (written under temporary names, then renamed). Returns their paths.
    """
    from capsim.report.documents import write_document
    from capsim.runs.locks import lock_run_dir

    directory = Path(directory)
    with lock_run_dir(directory, create_parent=False):
        study = read_study(directory)
        if study.kind == SENSITIVITY:
            document, sheets = sensitivity_document(study)
        else:
            document, sheets = sweep_document(study)
        try:
            return write_document(document, sheets, directory, "report")
        except OSError as exc:
            raise OutputError(
                f"cannot write the report into {directory}: "
                f"{exc.strerror or exc} (disk full or unwritable?)"
            ) from exc


# --- sensitivity ---------------------------------------------------------------------------


def study_measure(study: Study) -> Measure:
    """The KPI statistic a sensitivity study's chart stands on: its first statistic."""
    return check_measure(str(study.manifest["kpi"]), str(study.manifest["statistics"][0]))


def _subtitle(study: Study, what: str) -> str:
    """Scenario, what was run, seed and replications, version and date, on one line."""
    m = study.manifest
    return (
        f"{what} | base scenario {m['scenario']} ({str(m['scenario_sha256'])[:12]}) | "
        f"seed {m['seed']} | {m['replications']} replications per point | "
        f"capsim {m.get('capsim_version', '')} | {str(m.get('finished', ''))[:10]}"
    )


def parameters_table(study: Study) -> pd.DataFrame:
    """One row per varied parameter: label, unit, low, base, high and its dotted path."""
    specs = study.manifest["parameters"]
    names = parameter_names([p["path"] for p in specs], study.base)
    return pd.DataFrame(
        {
            "parameter": [n.label for n in names],
            "unit": [n.unit for n in names],
            "low": [float(p["low"]) for p in specs],
            "base": [_float(p.get("base_value")) for p in specs],
            "high": [float(p["high"]) for p in specs],
            "path": [n.path for n in names],
        }
    )


def _float(value: Any) -> float:
    """A number from a manifest or table cell; NaN for nothing."""
    return math.nan if value is None else float(value)


def effects_table(study: Study) -> pd.DataFrame:
    """The sensitivity table with readable parameter labels, statistics and units in headings.

    One at a time: base, changes at low and high with their paired standard errors, swing and
    rank; Morris: mu*, its 95% interval, mu and sigma; Sobol: S1 and ST with their intervals.
    KPI values in USD are shown in USD millions.
    """
    table = study.tables["sensitivity"]
    measure = study_measure(study)
    scale, unit = scaled_unit(measure.unit)
    paths = list(dict.fromkeys(table["parameter"]))
    labels = {n.path: n.label for n in parameter_names(paths, study.base)}
    out = pd.DataFrame(
        {
            "parameter": table["parameter"].map(labels),
            "statistic": [statistic_name(str(o), measure.kpi) for o in table["output"]],
        }
    )
    method = study.manifest.get("method", "oat")
    if method == "oat":
        columns = {
            "at_base": f"at base ({unit})",
            "change_at_low": f"change at low ({unit})",
            "se_change_at_low": f"paired SE at low ({unit})",
            "change_at_high": f"change at high ({unit})",
            "se_change_at_high": f"paired SE at high ({unit})",
            "swing": f"swing ({unit})",
        }
        for column, heading in columns.items():
            values = table[column] if column in table.columns else pd.Series(math.nan, table.index)
            out[heading] = values.to_numpy(dtype=float) / scale
    elif method == "morris":
        for column, heading in {
            "mu_star": f"mu* ({measure.unit})",
            "mu_star_conf": "mu* 95% half-width",
            "mu": f"mu ({measure.unit})",
            "sigma": f"sigma ({measure.unit})",
        }.items():
            out[heading] = table[column].to_numpy(dtype=float)
    else:
        for column, heading in {
            "S1": "first order S1",
            "S1_conf": "S1 95% half-width",
            "ST": "total ST",
            "ST_conf": "ST 95% half-width",
        }.items():
            out[heading] = table[column].to_numpy(dtype=float)
    out["rank"] = table["rank"].to_numpy()
    out["path"] = table["parameter"].to_numpy()
    return out


def points_table(study: Study) -> pd.DataFrame:
    """Every evaluated point: parameter values under readable headings, the statistics, its run."""
    points = study.tables["points"]
    paths = [p["path"] for p in study.manifest["parameters"]]
    measure = study_measure(study)
    scale, unit = scaled_unit(measure.unit)
    out = pd.DataFrame({"point": points["point"]})
    for name in parameter_names(paths, study.base):
        heading = f"{name.label} ({name.unit})" if name.unit else name.label
        out[heading] = points[name.path].to_numpy(dtype=float)
    for stat in study.manifest["statistics"]:
        column = Measure(measure.kpi, str(stat)).name
        if column in points.columns:
            shown = f"{measure_label(Measure(measure.kpi, str(stat)))} ({unit})"
            out[shown] = points[column].to_numpy(dtype=float) / scale
    out["run directory"] = points["run_dir"]
    return out


def sensitivity_takeaway(study: Study) -> str:
    """The chart's one line: which parameter moves the KPI most, by how much."""
    table = study.tables["sensitivity"]
    measure = study_measure(study)
    rows = table[table["output"] == measure.name].sort_values("rank", kind="stable")
    if rows.empty:
        return ""
    top = rows.iloc[0]
    label = parameter_names([str(top["parameter"])], study.base)[0].label
    what = f"{measure_label(measure)}"
    method = study.manifest.get("method", "oat")
    if method == "oat":
        scale, unit = scaled_unit(measure.unit)
        return (
            f"{label} moves the {what} most: a swing of {number(top['swing'] / scale)} {unit} "
            "between its bounds, the others held at base."
        )
    if method == "morris":
        return f"{label} has the largest mean absolute effect on the {what} (mu*)."
    return f"{label} explains the largest share of the variance of the {what} (total index ST)."


def sensitivity_document(study: Study) -> tuple[Document, dict[str, pd.DataFrame]]:
    """The document and workbook sheets of a sensitivity study."""
    from capsim.report.documents import figure_png

    measure = study_measure(study)
    method = str(study.manifest.get("method", "oat"))
    chart = "tornado" if method == "oat" else "indices"
    figure = sensitivity_figure(method, study.tables["sensitivity"], measure, study.base)
    title = f"What drives the {kpi_label(measure.kpi)}: {study.manifest['scenario']}"
    effects, parameters, points = effects_table(study), parameters_table(study), points_table(study)
    note = {
        "oat": "Swing: the largest minus the smallest of the statistic at low, at base and at "
        "high. Paired SE: the standard deviation of the per-replication differences of the KPI "
        "between the point and base, over the square root of the replications (the points "
        "share their random numbers, so the difference carries no sampling noise of its own "
        "beyond what the parameter sets off); it is the standard error of the mean change.",
        "morris": "mu*: mean absolute elementary effect; sigma large against mu* flags "
        "interactions or a non-linear effect. Intervals are 95% (bootstrap).",
        "sobol": "S1: share of the variance explained by the parameter alone; ST adds its "
        "interactions. Intervals are 95% (bootstrap).",
    }.get(method, "")
    document = Document(
        title=title,
        subtitle=_subtitle(study, f"sensitivity, {METHOD_NAMES.get(method, method)}"),
        tables=[
            Table("Parameters varied", parameters, "Low and high: the bounds each was set to."),
            Table(f"Effect on the {kpi_label(measure.kpi)}", effects, note),
        ],
        charts=[
            ChartImage(
                chart,
                f"What drives the {kpi_label(measure.kpi)}",
                sensitivity_takeaway(study),
                figure_png(figure),
            )
        ],
        appendix=[Table("Every point evaluated", points, "Run directories are under runs/.")],
        method_note=CRN_NOTE,
    )
    return document, {"effects": effects, "parameters": parameters, "points": points}


# --- sweep ---------------------------------------------------------------------------------


def sweep_measures(study: Study) -> tuple[Measure, Measure]:
    """The frontier's cost and risk measures, read back from their column names."""
    table = study.tables["strategies"]
    found = []
    for column in (study.manifest["cost"], study.manifest["risk"]):
        kpi, _, stat = str(column).rpartition("_")
        if not kpi or column not in table.columns:
            raise UsageError(f"{study.directory}: the strategies table has no column {column!r}")
        found.append(check_measure(kpi, stat))
    return found[0], found[1]


def strategies_table(study: Study) -> pd.DataFrame:
    """Every strategy: its settings under readable headings, cost, risk, and the frontier."""
    table = study.tables["strategies"]
    paths = list(study.manifest["grid"])
    out = pd.DataFrame({"strategy": table["label"]})
    for name in parameter_names(paths, study.base):
        heading = f"{name.label} ({name.unit})" if name.unit else name.label
        out[heading] = table[name.path].astype(str).to_numpy()
    grid = set(paths) | {"strategy", "label", "run_dir", "on_frontier", "dominated_by"}
    for column in table.columns:
        if column in grid:
            continue
        kpi, _, stat = str(column).rpartition("_")
        try:
            measure = check_measure(kpi, stat)
        except UsageError:
            continue
        scale, unit = scaled_unit(measure.unit)
        out[f"{measure_label(measure)} ({unit})"] = table[column].to_numpy(dtype=float) / scale
    out["on the frontier"] = ["yes" if v else "no" for v in table["on_frontier"]]
    out["beaten by"] = table["dominated_by"].to_numpy()
    out["run directory"] = table["run_dir"]
    return out


def sweep_takeaway(study: Study, cost: Measure, risk: Measure) -> str:
    """The chart's one line: how many strategies are on the frontier, and its two ends."""
    table = study.tables["strategies"]
    front = table[table["on_frontier"]].sort_values(cost.name, kind="stable")
    if front.empty:
        return "No strategy has both a cost and a risk; nothing is on the frontier."
    cheap, safe = front.iloc[0], front.sort_values(risk.name, kind="stable").iloc[0]
    cost_scale, cost_unit = scaled_unit(cost.unit)
    risk_scale, risk_unit = scaled_unit(risk.unit)
    return (
        f"{len(front)} of {len(table)} strategies are on the frontier. Cheapest: {cheap['label']} "
        f"({number(cheap[cost.name] / cost_scale)} {cost_unit}, "
        f"{number(cheap[risk.name] / risk_scale)} {risk_unit}); least risk: {safe['label']} "
        f"({number(safe[cost.name] / cost_scale)} {cost_unit}, "
        f"{number(safe[risk.name] / risk_scale)} {risk_unit})."
    )


def sweep_document(study: Study) -> tuple[Document, dict[str, pd.DataFrame]]:
    """The document and workbook sheets of a sweep."""
    from capsim.report.documents import figure_png

    cost, risk = sweep_measures(study)
    figure = frontier_figure(study.tables["strategies"], cost, risk, study.base)
    strategies = strategies_table(study)
    key_columns = [
        "strategy",
        f"{measure_label(cost)} ({scaled_unit(cost.unit)[1]})",
        f"{measure_label(risk)} ({scaled_unit(risk.unit)[1]})",
        "on the frontier",
        "beaten by",
    ]
    frontier_note = (
        f"Cost: {measure_label(cost)}; risk: {measure_label(risk)}. A strategy is on the "
        "frontier when no other is at least as good on both and better on one (lower is better)."
    )
    document = Document(
        title=f"Strategies compared on cost and shortfall risk: {study.manifest['scenario']}",
        subtitle=_subtitle(study, f"sweep of {len(strategies)} strategies"),
        tables=[
            Table(
                "Strategies on cost and risk",
                strategies[[c for c in key_columns if c in strategies.columns]],
                frontier_note,
            )
        ],
        charts=[
            ChartImage(
                "frontier",
                "Cost against shortfall risk by strategy",
                sweep_takeaway(study, cost, risk),
                figure_png(figure),
            )
        ],
        appendix=[Table("Every strategy", strategies, "Run directories are under runs/.")],
        method_note=CRN_NOTE,
    )
    grid = pd.DataFrame(
        [
            {
                "parameter": n.label,
                "unit": n.unit,
                "values": ", ".join(map(str, values)),
                "path": n.path,
            }
            for n, values in zip(
                parameter_names(list(study.manifest["grid"]), study.base),
                study.manifest["grid"].values(),
                strict=True,
            )
        ]
    )
    return document, {"strategies": strategies, "grid": grid}
