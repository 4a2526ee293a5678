"""Levers of an optimisation: the scenario fields a search may set, and what it may set them to.

A lever is a numeric field over ``[LOW, HIGH]`` (``policy.lookahead_months=0:12``; whole-numbered
when the scenario writes a whole number there) or a list of choices (``bridge.enabled=true,false``,
values as YAML text). Every value becomes a ``Change`` of the base scenario, set in memory and
validated exactly as ``--set`` is, so a bad path or value gets the loader's located message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capsim.analysis.experiment import ExperimentSetup, parameter_change, value_at
from capsim.analysis.sensitivity import Parameter
from capsim.analysis.sweep import split_values
from capsim.errors import Problem, ScenarioError, UsageError
from capsim.scenario.loader import Change, override_problem, parse_override, scenario_to_data
from capsim.scenario.paths import PathError, parse_path
from capsim.scenario.yamlio import PathKey

_RANGE = re.compile(r"^\s*([^:,]+):([^:,]+)\s*$")
#: A lever's value as the search holds it: a number, or the YAML text of a choice.
LeverValue = int | float | str


@dataclass(frozen=True)
class Lever:
    """One field the search sets: a numeric range (``choices`` empty) or a list of choices."""

    path: str
    spec: str
    low: float = math.nan
    high: float = math.nan
    integer: bool = False
    choices: tuple[str, ...] = ()

    @property
    def key(self) -> PathKey:
        """The path's keys and indexes (checked to read when the lever was parsed)."""
        return parse_path(self.path)

    @property
    def numeric(self) -> bool:
        """True for a range, False for a list of choices."""
        return not self.choices

    def change(self, value: LeverValue) -> Change:
        """The change that sets this lever to ``value``, blamed on ``--lever`` as typed."""
        source = f"--lever {self.spec}"
        if self.numeric:
            parameter = Parameter(self.path, self.low, self.high, self.integer)
            return parameter_change(parameter, float(value), source)
        parsed = parse_override(f"{self.path}={value}")
        return Change(parsed.path, parsed.value, source, parsed.spellings, self.path)

    def candidates(self) -> list[LeverValue]:
        """The values checked before the search starts: both bounds, or every choice."""
        if not self.numeric:
            return list(self.choices)
        if self.integer:
            return sorted({math.ceil(self.low), math.floor(self.high)})
        return sorted({self.low, self.high})


def parse_lever(text: str) -> tuple[str, str]:
    """Split ``dotted.path=RANGE-OR-CHOICES`` into the path (checked to read) and the rest."""
    path, sep, raw = text.partition("=")
    path, raw = path.strip(), raw.strip()
    if not sep or not path or not raw:
        raise UsageError(
            f"--lever {text!r}: expected dotted.path=LOW:HIGH or dotted.path=a,b,c, e.g. "
            "policy.reserve_margin=0:0.3 or policy.allocation=weights,fastest"
        )
    try:
        parse_path(path)
    except PathError as exc:
        raise UsageError(f"--lever {text!r}: {exc}") from None
    return path, raw


def _number(text: str) -> float | None:
    """``text`` as a finite number, else None."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def resolve_levers(setup: ExperimentSetup, specs: Sequence[str]) -> list[Lever]:
    """Parse every ``--lever`` and check each bound or choice against the scenario.

    Numeric levers on a field the scenario writes as a whole number stay whole numbers. Every
    problem of every lever is reported at once, before any simulation.
    """
    if not specs:
        raise UsageError("give at least one --lever dotted.path=LOW:HIGH or dotted.path=a,b,c")
    data = scenario_to_data(setup.load())
    levers: list[Lever] = []
    for spec in specs:
        path, raw = parse_lever(spec)
        if any(lever.path == path for lever in levers):
            raise UsageError(f"--lever {path} is given twice")
        levers.append(_lever(spec.strip(), path, raw, data))
    problems: list[Problem] = []
    for lever in levers:
        for value in lever.candidates():
            try:
                setup.load([lever.change(value)])
            except ScenarioError as exc:
                problems.extend(exc.problems)
            except ValueError as exc:
                problems.append(override_problem(f"{lever.path}={value}", exc))
    if problems:
        raise ScenarioError(problems)
    return levers


def _lever(spec: str, path: str, raw: str, data: Any) -> Lever:
    """One lever from its text: a range when ``raw`` is two numbers ``LOW:HIGH``, else choices."""
    match = _RANGE.match(raw)
    bounds = [_number(part) for part in match.groups()] if match else []
    if len(bounds) == 2 and bounds[0] is not None and bounds[1] is not None:
        low, high = bounds[0], bounds[1]
        if low > high:
            raise UsageError(f"--lever {spec!r}: LOW ({low:g}) is above HIGH ({high:g})")
        base = value_at(data, parse_path(path))
        integer = isinstance(base, int) and not isinstance(base, bool)
        if integer and math.ceil(low) > math.floor(high):
            raise UsageError(f"--lever {spec!r}: {path} takes whole numbers; none lies in range")
        return Lever(path, spec, low, high, integer)
    choices = tuple(split_values(raw))
    if any(not choice for choice in choices):
        raise UsageError(f"--lever {spec!r}: empty value in the list")
    if len(set(choices)) != len(choices):
        raise UsageError(f"--lever {spec!r}: a value is listed twice")
    return Lever(path, spec, choices=choices)


def lever_changes(levers: Sequence[Lever], values: Mapping[str, LeverValue]) -> list[Change]:
    """The changes that set every lever to its value in ``values`` (keyed by path)."""
    return [lever.change(values[lever.path]) for lever in levers]
