"""A run's money in its reporting currency, or restated in another by the scenario's fx rates.

A run counts every amount in its scenario's reporting currency (``money.currency``, kept in
``summary.json`` under ``report.currency``); the ``_usd`` column and KPI names are a contract
and keep their names whatever the currency. ``restated(run, "JPY")`` is the same run seen in
another currency: every money column of its tables, every money KPI of its summary and every
money field of its scenario multiplied by one rate, the reporting currency's value in the new
one (``1 / money.fx.JPY``); nothing on disk changes. ``in_currency`` makes a document's labels
name the currency its figures are in.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from capsim.errors import UsageError
from capsim.runs.kpis import CATALOGUE
from capsim.runs.rundir import Filters, RunDir
from capsim.scenario.calendar import get_path, set_path, walk_marked
from capsim.scenario.money import DEFAULT_CURRENCY, MoneyAmount, rates, restatement_factor
from capsim.scenario.schema import Scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Suffix of every money column of a run's tables (amounts in the reporting currency).
MONEY_SUFFIX = "_usd"
#: KPI kinds that are amounts of money.
MONEY_KINDS = ("usd", "usd_per_mw")
_CODE_WORD = re.compile(rf"\b{DEFAULT_CURRENCY}\b")


def currency_of(summary: dict[str, Any]) -> str:
    """The reporting currency of a run's summary (USD for runs that predate the field)."""
    return str(summary.get("report", {}).get("currency", DEFAULT_CURRENCY))


def money_unit(unit: str, currency: str) -> str:
    """A unit with the reporting currency in place of USD ('USD/MW' -> 'JPY/MW')."""
    return _CODE_WORD.sub(currency, unit)


def is_money_column(name: str) -> bool:
    """Whether a table column holds money (``capex_usd``, ``cost_per_delivered_mw_usd``)."""
    return name.endswith(MONEY_SUFFIX)


def restated(run: RunDir, currency: str | None) -> RunDir:
    """``run`` in ``currency`` (itself when None or its own); UsageError naming known currencies."""
    if currency is None or currency == currency_of(run.summary):
        return run
    money = run.scenario.money.model_dump()
    try:
        factor = restatement_factor(money, currency)
    except ValueError as exc:
        raise UsageError(f"cannot restate {run.path} in {currency}: {exc}") from None
    return RestatedRun(run, currency, factor)


class RestatedRun(RunDir):
    """A run whose money is shown in another currency; its files unchanged."""

    def __init__(self, run: RunDir, currency: str, factor: float) -> None:
        """Wrap an open ``run``: amounts are multiplied by ``factor`` into ``currency``."""
        self.__dict__.update(run.__dict__)
        self._base = run
        self._currency = currency
        self._factor = factor
        self._restated_summary = restate_summary(run.summary, currency, factor)
        self._restated_scenario = restate_scenario(run.scenario, currency, factor)

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary with every money KPI in the new currency."""
        return self._restated_summary

    @property
    def scenario(self) -> Scenario:
        """The run's scenario with every money field in the new currency (and fx rebased)."""
        return self._restated_scenario

    def table(
        self, name: str, columns: list[str] | None = None, filters: Filters | None = None
    ) -> pd.DataFrame:
        """A run table with its money columns in the new currency (filters on them refused)."""
        if filters and any(is_money_column(str(f[0])) for f in filters):
            raise UsageError("a restated run cannot filter on money columns")
        table = self._base.table(name, columns, filters)
        for column in table.columns:
            if is_money_column(str(column)):
                table[column] = table[column] * self._factor
        return table


def restate_summary(summary: dict[str, Any], currency: str, factor: float) -> dict[str, Any]:
    """A copy of summary.json's contents with money KPIs (mean, percentiles) times ``factor``."""
    out = copy.deepcopy(summary)
    out.setdefault("report", {})["currency"] = currency
    for name, stats in out["kpis"].items():
        kpi = CATALOGUE.get(name)
        if kpi is None or kpi.kind not in MONEY_KINDS:
            continue
        for key, value in stats.items():
            if _is_statistic(key) and isinstance(value, int | float) and value is not None:
                stats[key] = value * factor
        stats["unit"] = money_unit(kpi.unit, currency)
    return out


def _is_statistic(key: str) -> bool:
    """Whether a summary key is a money statistic (mean or a percentile 'p80'), not a count."""
    return key == "mean" or (key[:1] == "p" and key[1:].isdigit())


def restate_scenario(scenario: Scenario, currency: str, factor: float) -> Scenario:
    """The scenario with every money field times ``factor``, ``currency`` reporting, fx rebased."""
    data = scenario.model_dump(mode="json", by_alias=True)
    for path, _ in list(walk_marked(data, Scenario, MoneyAmount)):
        value = get_path(data, path)
        if isinstance(value, int | float):
            set_path(data, path, value * factor)
    old = rates(data["money"])
    data["money"]["currency"] = currency
    data["money"]["fx"] = {code: rate * factor for code, rate in old.items() if code != currency}
    return Scenario.model_validate(data)


def in_currency(document: Any, currency: str) -> Any:
    """A document (dataclass, table, text, list) whose labels name ``currency`` instead of USD.

    Text, table headings and text cells are rewritten; numbers and images are left alone. The
    document itself when the currency is USD.
    """
    if currency == DEFAULT_CURRENCY:
        return document
    return _relabel(document, currency)


def _relabel(value: Any, currency: str) -> Any:
    if isinstance(value, str):
        return money_unit(value, currency)
    if isinstance(value, pd.DataFrame):
        frame = value.rename(columns=lambda c: _relabel(c, currency))
        for column in frame.columns:
            if pd.api.types.is_object_dtype(frame[column]) or pd.api.types.is_string_dtype(
                frame[column]
            ):
                frame[column] = frame[column].map(lambda v: _relabel(v, currency))
        frame.attrs = {k: _relabel(v, currency) for k, v in value.attrs.items()}
        return frame
    if isinstance(value, list):
        return [_relabel(v, currency) for v in value]
    if isinstance(value, tuple):
        return tuple(_relabel(v, currency) for v in value)
    if isinstance(value, dict):
        return {_relabel(k, currency): _relabel(v, currency) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _relabel(getattr(value, f.name), currency)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **changes)
    return value


def relabel_figure(figure: Figure, currency: str) -> Figure:
    """A drawn chart whose titles and axis labels name ``currency`` instead of USD (in place).

    Only labels change (axis labels, panel titles, the figure title, texts): the figures drawn
    are already in the run's currency.
    """
    if currency == DEFAULT_CURRENCY:
        return figure
    from matplotlib.text import Text

    for text in figure.findobj(Text):
        if isinstance(text, Text) and DEFAULT_CURRENCY in text.get_text():
            text.set_text(money_unit(text.get_text(), currency))
    return figure
