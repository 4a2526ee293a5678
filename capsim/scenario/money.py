"""Money written in the currency a source quotes, converted once to the reporting currency.

``money.currency`` is the reporting currency (default USD) and ``money.fx`` the rates of other
currencies to it (``{JPY: 0.0067}``: one yen is 0.0067 of the reporting currency). A field
marked ``MONEY`` in the schema takes a plain number, in the region's ``currency`` inside
``regions.<id>`` when that is set and in the reporting currency elsewhere, or a mapping
``{value: 2.3e9, currency: JPY}``. ``convert_money`` turns every one into the reporting currency
when the scenario is read, so the model and every output count in one currency (the ``_usd``
column names are kept: they hold the reporting currency). Rates are fixed numbers: they are
applied when the file is read, not per replication, so a distribution is refused.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from capsim.scenario.calendar import (
    Finding,
    Path,
    dotted_path,
    get_path,
    resolve_months,
    set_path,
    walk_marked,
)

DEFAULT_CURRENCY = "USD"
_CODE = re.compile(r"^[A-Z]{3}$")
#: Pattern of a currency code (ISO 4217: three capital letters).
CURRENCY_PATTERN = r"^[A-Z]{3}$"


@dataclass(frozen=True)
class MoneyAmount:
    """Schema marker: the field is an amount of money (a currency may be written with it)."""


#: The marker put in a field's ``Annotated`` metadata.
MONEY = MoneyAmount()


def is_currency_code(text: Any) -> bool:
    """Whether ``text`` is a three-capital-letter currency code such as 'JPY'."""
    return isinstance(text, str) and _CODE.match(text) is not None


def rates(money: Mapping[str, Any]) -> dict[str, float]:
    """Rate of every known currency to the reporting one (the reporting currency's is 1)."""
    reporting = money.get("currency", DEFAULT_CURRENCY)
    fx = money.get("fx") or {}
    known = {str(code): float(rate) for code, rate in fx.items() if _is_rate(rate)}
    known[str(reporting)] = 1.0
    return known


def _is_rate(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _known(money: Mapping[str, Any]) -> str:
    """The currencies a money field may name, the reporting one first, for messages."""
    reporting = str(money.get("currency", DEFAULT_CURRENCY))
    others = sorted(c for c in rates(money) if c != reporting)
    return ", ".join([f"{reporting} (reporting)", *others])


def convert_money(data: dict[str, Any], model: type[BaseModel]) -> list[Finding]:
    """Convert every money field of plain scenario ``data`` to the reporting currency, in place.

    A region's ``currency`` is the default of the money fields under it and is removed once
    they are converted (the resolved scenario counts in the reporting currency only, so reading
    it again converts nothing twice). Returns the problems: an unknown currency, a currency
    without a rate (each naming the known ones), a bad ``{value, currency}`` mapping.
    """
    money = data.get("money")
    if not isinstance(money, dict):
        return []  # the schema reports the missing section
    problems = _check_reporting(money)
    if problems:
        return problems
    table = rates(money)
    for path, owners in list(walk_marked(data, model, MoneyAmount)):
        default, default_path = _default_currency(data, owners)
        value = get_path(data, path)
        if isinstance(value, dict) and set(value) <= {"value", "currency"} and "value" in value:
            code, where = value.get("currency", default), (*path, "currency")
            amount = value["value"]
        else:
            code, where, amount = default, default_path, value
        if not isinstance(amount, int | float) or isinstance(amount, bool):
            continue  # the schema says what it expected
        problem = _unknown(code, money)
        if problem is not None:
            problems.append((where, problem))
        elif code != money.get("currency", DEFAULT_CURRENCY):
            set_path(data, path, amount * table[str(code)])
        else:
            set_path(data, path, amount)
    for path in _region_currency_paths(data):
        if not any(p[0] == path for p in problems):
            del get_path(data, path[:-1])[path[-1]]
    return problems


def _check_reporting(money: Mapping[str, Any]) -> list[Finding]:
    """Problems of ``money.currency`` and ``money.fx`` (codes and rates), before converting."""
    problems: list[Finding] = []
    reporting = money.get("currency", DEFAULT_CURRENCY)
    if not is_currency_code(reporting):
        problems.append((("money", "currency"), _not_a_code(reporting)))
    fx = money.get("fx", {})
    if not isinstance(fx, dict):
        return [*problems, (("money", "fx"), "expected a mapping of rates, e.g. {JPY: 0.0067}")]
    for code, rate in fx.items():
        where: Path = ("money", "fx", code)
        if not is_currency_code(code):
            problems.append((where, _not_a_code(code)))
        elif isinstance(rate, dict):
            problems.append(
                (
                    where,
                    "an fx rate is a fixed number (e.g. 0.0067): money is converted once when "
                    "the scenario is read, so a distribution cannot be drawn per replication",
                )
            )
        elif not _is_rate(rate):
            problems.append((where, f"expected a rate > 0 to {reporting}, found {rate!r}"))
    return problems


def _not_a_code(value: Any) -> str:
    """The message of a currency that is no three-letter code."""
    return f"{value!r} is not a currency code; expected three capital letters such as USD or JPY"


def _unknown(code: Any, money: Mapping[str, Any]) -> str | None:
    """Why ``code`` cannot be converted (None when it can)."""
    if not is_currency_code(code):
        return f"{_not_a_code(code)} (known here: {_known(money)})"
    if code not in rates(money):
        return (
            f"no fx rate for {code} (known here: {_known(money)}); add money.fx.{code}: the "
            f"value of one {code} in {money.get('currency', DEFAULT_CURRENCY)}"
        )
    return None


def _default_currency(data: Mapping[str, Any], owners: list[Path]) -> tuple[str, Path]:
    """The currency of a plain number: its region's ``currency``, else the reporting one."""
    for owner in reversed(owners):
        if len(owner) == 2 and owner[0] == "regions":
            region = get_path(data, owner)
            if region.get("currency") is not None:
                return region["currency"], (*owner, "currency")
    money = data["money"]
    return money.get("currency", DEFAULT_CURRENCY), ("money", "currency")


def _region_currency_paths(data: Mapping[str, Any]) -> list[Path]:
    """Paths of every ``regions.<id>.currency`` written."""
    regions = data.get("regions")
    if not isinstance(regions, dict):
        return []
    return [
        ("regions", rid, "currency")
        for rid, region in regions.items()
        if isinstance(region, dict) and "currency" in region
    ]


def restatement_factor(money: Mapping[str, Any], currency: str) -> float:
    """What one unit of the reporting currency is worth in ``currency`` (by the scenario's fx).

    ValueError naming the known currencies when ``currency`` has no rate.
    """
    problem = _unknown(currency, money)
    if problem is not None:
        raise ValueError(problem)
    return 1.0 / rates(money)[currency]


class WrittenAmount(BaseModel):
    """An amount with its currency as a file writes it: ``{value: 2.3e9, currency: JPY}``."""

    model_config = ConfigDict(extra="forbid")

    value: float = Field(allow_inf_nan=False, description="The amount in ``currency``.")
    currency: str = Field(pattern=CURRENCY_PATTERN, description="ISO 4217 code, e.g. 'JPY'.")


def _keep(value: Any) -> Any:
    """Pass a value on unchanged (the JSON Schema of a money field names the forms it takes)."""
    return value


Currency = Annotated[str, Field(pattern=CURRENCY_PATTERN)]
"""A currency code: three capital letters (ISO 4217), e.g. 'USD', 'JPY', 'AUD'."""

Amount = Annotated[
    float, MONEY, BeforeValidator(_keep, json_schema_input_type=float | WrittenAmount)
]
"""A field type: money in the reporting currency (written as a number or with its currency)."""

OptionalAmount = Annotated[
    float | None,
    MONEY,
    BeforeValidator(_keep, json_schema_input_type=float | WrittenAmount | None),
]
"""A money field that may be left out (None)."""


def resolve_inputs(data: Any, model: type[BaseModel]) -> Any:
    """A copy of plain scenario data with calendar months as offsets and money converted.

    Applied by the schema to any data it validates (idempotent: resolved data comes back
    equal); the loader runs the same steps first to place each problem at its file and line.
    ValueError lists the problems (path: message) for data that did not come from a file.
    """
    if not isinstance(data, dict):
        return data
    copied, problems = prepare_inputs(data, model)
    if problems:
        shown = "; ".join(f"{dotted_path(path)}: {message}" for path, message in problems)
        raise ValueError(shown)
    return copied


def prepare_inputs(
    data: dict[str, Any], model: type[BaseModel]
) -> tuple[dict[str, Any], list[Finding]]:
    """A copy of ``data`` with dates and money resolved, and the problems found (not raised)."""
    copied = copy.deepcopy(data)
    problems = resolve_months(copied, model)
    problems += convert_money(copied, model)
    return copied, problems
