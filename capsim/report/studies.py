"""The charts of a study, and the readable names of what it varies.

A sensitivity study draws its tornado (one at a time) or its indices chart (Morris, Sobol), a
sweep its cost-risk frontier. Parameters are named by the schema's own field descriptions
(``parameter_label``: ``policy.reserve_margin`` -> "Capacity target above forecast"), shortened
and told apart by the region or item they belong to; the dotted path goes in the tables.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel

from capsim.analysis.decide import SweepRequest
from capsim.analysis.experiment import Measure
from capsim.analysis.sensitivity import Analysis
from capsim.report import charts, charts_decision
from capsim.runs.bookkeeping import scenario_sha256
from capsim.runs.kpis import lookup
from capsim.scenario.loader import scenario_to_data
from capsim.scenario.paths import PathError, parse_path
from capsim.scenario.reference import unit_of
from capsim.scenario.schema import Scenario
from capsim.version import __version__

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Longest parameter label before it is cut at a word (with an ellipsis).
LABEL_CHARS = 46
#: Distribution parameters named in a label: ``study_months.median`` -> "... (median)".
_DIST_PARTS = {"min", "mode", "max", "median", "p90", "mean", "sd", "value"}
_CUT = re.compile(r"\s*(?:;|:|\(|, |\s-\s|$)")


@dataclass(frozen=True)
class ParameterName:
    """How people see a varied field: a short label, its unit, and the dotted path."""

    path: str
    label: str
    unit: str


def study_label(base: Scenario) -> charts.RunLabel:
    """The footnote of a study's charts: the base scenario, its hash and seed, today's date."""
    return charts.RunLabel(
        base.name,
        scenario_sha256(scenario_to_data(base)),
        base.seed,
        base.replications,
        __version__,
        datetime.now(UTC).strftime("%Y-%m-%d"),
    )


def shorten_description(text: str, limit: int = LABEL_CHARS) -> str:
    """A field description as a label: its first clause, capitalised, cut at a word if long.

    "Capacity target above forecast, fraction." -> "Capacity target above forecast".
    """
    clause = _CUT.split(text.strip().rstrip("."), maxsplit=1)[0].strip() or text.strip()
    if len(clause) > limit:
        clause = clause[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return clause[:1].upper() + clause[1:]


def _members(annotation: Any) -> list[Any]:
    """The types an annotation may hold: Annotated and Optional stripped, unions split."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _members(a) if m is not type(None)]
    return [annotation]


def _field(models: Sequence[Any], name: str) -> tuple[Any, str] | None:
    """The field ``name`` (or alias) of the first model that has it: (its info, its name)."""
    for model in models:
        if isinstance(model, type) and issubclass(model, BaseModel):
            for field_name, info in model.model_fields.items():
                if name in (field_name, info.alias):
                    return info, field_name
    return None


def parameter_name(path: str, base: Scenario | None = None) -> ParameterName:
    """The readable label and unit of a dotted path, from the schema's field descriptions.

    The label is the description of the last named field, shortened; a distribution's
    parameter is added in brackets (``(median)``), and the map keys and list items on the way
    are added after a dash (a region by its display name when ``base`` is given). A path the
    schema does not know keeps its last part, spaced out.
    """
    try:
        key = parse_path(path)
    except PathError:
        return ParameterName(path, path, "")
    current: list[Any] = [Scenario]
    description, field_name, qualifier = "", "", ""
    context: list[str] = []
    parent = ""
    for part in key:
        if isinstance(part, int):
            lists = [m for m in current if typing.get_origin(m) is list]
            if not lists:
                break
            context.append(f"{parent.removesuffix('s') or 'item'} {part + 1}")
            current = _members(typing.get_args(lists[0])[0])
            continue
        found = _field(current, part)
        if found is None:
            maps = [m for m in current if typing.get_origin(m) is dict]
            if not maps:
                break
            context.append(_key_name(parent, part, base))
            current = _members(typing.get_args(maps[0])[1])
            continue
        info, name = found
        if part in _DIST_PARTS and _is_distribution(current):
            qualifier = "" if part == "value" else part
        else:
            description, field_name, qualifier = info.description or "", name, ""
        parent = name
        current = _members(info.annotation)
    label = shorten_description(description) if description else str(key[-1]).replace("_", " ")
    if qualifier:
        label += f" ({qualifier})"
    if context:
        label += " – " + ", ".join(context)
    unit = (unit_of(field_name) or unit_of(f"_{field_name}")) if field_name else ""
    return ParameterName(path, label, unit)


def _is_distribution(models: Sequence[Any]) -> bool:
    """True when every model offered is a distribution spec (tagged by ``dist``)."""
    found = [m for m in models if isinstance(m, type) and issubclass(m, BaseModel)]
    return bool(found) and all("dist" in m.model_fields for m in found)


def _key_name(parent: str, key: str, base: Scenario | None) -> str:
    """A map key as people know it: a region's display name, else the key itself."""
    if parent == "regions" and base is not None and key in base.regions:
        return base.regions[key].name
    return key


def parameter_names(paths: Sequence[str], base: Scenario | None = None) -> list[ParameterName]:
    """``parameter_name`` of every path, labels made unique by adding the path where two clash."""
    names = [parameter_name(path, base) for path in paths]
    labels = [n.label for n in names]
    return [
        n if labels.count(n.label) == 1 else ParameterName(n.path, f"{n.label} ({n.path})", n.unit)
        for n in names
    ]


def tick_labels(
    table: pd.DataFrame, base: Scenario | None = None, ranges: bool = True
) -> dict[str, str]:
    """Row labels of a study chart: each parameter's label, with its range and unit below."""
    paths = list(dict.fromkeys(table["parameter"]))
    names = {n.path: n for n in parameter_names(paths, base)}
    out = {}
    for path in paths:
        name = names[path]
        text = name.label
        if ranges and {"low", "high"} <= set(table.columns):
            row = table[table["parameter"] == path].iloc[0]
            unit = f" {name.unit}" if name.unit else ""
            low, high = charts_decision.number(row["low"]), charts_decision.number(row["high"])
            text += f"\n{low} to {high}{unit}"
        out[path] = text
    return out


def kpi_label(kpi: str) -> str:
    """The catalogue's label of a KPI (``shortfall_mw_months`` -> "shortfall")."""
    try:
        return lookup(kpi).label
    except KeyError:
        return kpi.replace("_", " ")


def measure_label(measure: Measure) -> str:
    """A measure for people: "cash cost, P50"."""
    stat = measure.stat.upper() if measure.stat.startswith("p") else measure.stat
    return f"{kpi_label(measure.kpi)}, {stat}"


def sensitivity_figure(method: str, table: pd.DataFrame, measure: Measure, base: Scenario) -> Any:
    """The tornado (one at a time) or the indices chart (Morris, Sobol) of a study's table."""
    label = study_label(base)
    if method == "oat":
        return charts_decision.tornado(
            table,
            measure.kpi,
            measure.unit,
            label,
            tick_labels(table, base),
            kpi_label(measure.kpi),
        )
    return charts_decision.indices(
        table,
        method,
        measure.kpi,
        measure.unit,
        label,
        tick_labels(table, base, ranges=False),
        kpi_label(measure.kpi),
    )


def sensitivity_chart(
    charts_dir: Path, analysis: Analysis, measure: Measure, base: Scenario
) -> None:
    """The tornado (one at a time) or the indices chart (Morris, Sobol) into ``charts_dir``."""
    figure = sensitivity_figure(analysis.method, analysis.table, measure, base)
    charts.save(figure, charts_dir, "tornado" if analysis.method == "oat" else "indices")


def frontier_figure(table: pd.DataFrame, cost: Measure, risk: Measure, base: Scenario) -> Figure:
    """Cost against risk for every strategy of a sweep, the frontier marked."""
    return charts_decision.frontier(
        table,
        (cost.name, cost.unit),
        (risk.name, risk.unit),
        study_label(base),
        axis_names=(measure_label(cost), measure_label(risk)),
    )


def frontier_chart(
    charts_dir: Path, table: pd.DataFrame, request: SweepRequest, base: Scenario
) -> None:
    """Cost against risk for every strategy of a sweep, the frontier marked."""
    charts.save(frontier_figure(table, request.cost, request.risk, base), charts_dir, "frontier")
