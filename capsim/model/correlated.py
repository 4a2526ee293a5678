"""Correlated per-replication draws, made before a replication's world is built.

``pin_correlated_draws`` returns the replication's scenario with every correlated field replaced
by its draw for that replication (a ``Pinned`` value), so the model's components read a number
where they would have drawn one. The draws come from a Gaussian copula: correlated standard
normals from the replication's own ``correlations`` stream, mapped to uniforms and through each
field's exact inverse CDF, so every field keeps the distribution the file gives it.

A scenario without correlations is returned as it is: the model then draws exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

from pydantic import BaseModel

from capsim.errors import Problem, ScenarioError
from capsim.model.env import Streams
from capsim.scenario.correlations import (
    check_correlations,
    cholesky,
    correlatable_paths,
    correlated_fields,
    field_name,
    normal_matrix,
    spec_at,
)
from capsim.scenario.dists import AnyDist, Fixed
from capsim.scenario.schema import Scenario
from capsim.scenario.yamlio import PathKey, dotted

#: Name of the random stream the copula's normals come from (one per replication).
CORRELATION_STREAM = "correlations"
_STANDARD = NormalDist()
#: Probabilities are kept this far inside 0..1, so a far tail maps to a finite value.
_EDGE = 1e-15


class Pinned(Fixed):
    """A field's draw for one replication, made ahead of time by the copula.

    It returns its value as a fixed number does, but keeps the distribution's mean, so the
    estimates the policy makes from means (an upgrade's expected month) are unchanged.
    """

    planned_mean: float

    def mean(self) -> float:
        """The mean of the distribution the value was drawn from (what a planner expects)."""
        return self.planned_mean


def correlated_draws(scenario: Scenario, replication: int) -> dict[PathKey, float]:
    """This replication's value of every correlated field (empty without correlations)."""
    if not scenario.correlations:
        return {}
    return {path: value for path, (value, _) in _draws(scenario, replication).items()}


def _draws(scenario: Scenario, replication: int) -> dict[PathKey, tuple[float, AnyDist]]:
    """Each correlated field's draw and its distribution, for one replication.

    The loader has checked the correlations of a scenario read from a file; one built in code
    that names a field it cannot correlate, or an impossible matrix, gets the same messages.
    """
    try:
        fields = correlated_fields(scenario)
        if not set(fields) <= set(correlatable_paths(scenario)):
            raise ValueError("a field that is not drawn once per replication")
        factor = cholesky(normal_matrix(scenario))
        specs = [spec_at(scenario, path) for path in fields]
    except (KeyError, ValueError, AssertionError):
        problems = [
            Problem("<scenario>", None, None, dotted(path), message)
            for path, message in check_correlations(scenario)
        ]
        fallback = Problem("<scenario>", None, None, "correlations", "cannot be drawn; check them")
        raise ScenarioError(problems or [fallback]) from None
    rng = Streams(scenario.seed, replication).get(CORRELATION_STREAM)
    independent = [float(z) for z in rng.standard_normal(len(fields))]
    draws: dict[PathKey, tuple[float, AnyDist]] = {}
    for row, path, spec in zip(factor, fields, specs, strict=True):
        normal = sum(weight * z for weight, z in zip(row, independent, strict=True))
        u = min(max(_STANDARD.cdf(normal), _EDGE), 1 - _EDGE)
        draws[path] = (spec.ppf(u), spec)
    return draws


def pin_correlated_draws(scenario: Scenario, replication: int) -> Scenario:
    """The scenario a replication runs: correlated fields pinned to this replication's draws."""
    if not scenario.correlations:
        return scenario
    pinned: Scenario = scenario
    for path, (value, spec) in _draws(scenario, replication).items():
        pinned = _replaced(pinned, path, Pinned(value=value, planned_mean=spec.mean()))
    return pinned


def _replaced(node: Any, path: PathKey, value: Any) -> Any:
    """A copy of ``node`` with the value at ``path`` replaced (models, mappings and lists)."""
    if not path:
        return value
    part, rest = path[0], path[1:]
    if isinstance(node, BaseModel):
        assert isinstance(part, str)
        name = field_name(node, part)
        return node.model_copy(update={name: _replaced(getattr(node, name), rest, value)})
    if isinstance(node, Mapping):
        return {**node, part: _replaced(node[part], rest, value)}
    assert isinstance(node, list) and isinstance(part, int)
    copied = list(node)
    copied[part] = _replaced(node[part], rest, value)
    return copied
