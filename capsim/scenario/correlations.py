"""Correlated uncertain fields: which fields qualify, the copula's matrix, and its checks.

A scenario's ``correlations`` ask for a rank (Spearman) correlation between fields that the model
draws once per replication: the demand parameters and the months grid upgrades arrive. The model
imposes it with a Gaussian copula (``model.correlated``): correlated standard normals, mapped to
uniforms, then through each field's inverse CDF, so each field keeps its distribution exactly.
Fields drawn per deal, per request, per site or per order cannot be correlated this way: one
draw per replication is what a copula row gives.

The rank correlation ``rho`` is turned into the normals' correlation ``2 sin(pi rho / 6)``, the
one whose Gaussian copula has that Spearman correlation; that matrix must be positive
semi-definite (``rho`` of 1 or -1 is allowed: the fields then move in lockstep).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel

from capsim.scenario.dists import AnyDist
from capsim.scenario.paths import PathError, parse_path
from capsim.scenario.schema import (
    ExponentialGrowth,
    LogisticGrowth,
    Scenario,
    TableGrowth,
)
from capsim.scenario.yamlio import PathKey, dotted

Finding = tuple[PathKey, str]

#: Smallest eigenvalue a correlation matrix may have (rounding below zero is still valid).
EIGEN_TOLERANCE = 1e-9
#: What a field that is drawn more often than once per replication is drawn per, by section.
_DRAWN_PER = (
    (("demand", "shocks"), "per demand shock"),
    (("deal_kinds",), "per deal (or per site of a deal)"),
    (("regions",), "per connection request (or per cluster study)"),
    (("equipment",), "per equipment order"),
    (("build",), "per site"),
    (("bridge",), "per bridge order"),
)


def correlatable_paths(scenario: Scenario) -> list[PathKey]:
    """Every field of this scenario drawn once per replication, in the order of the file.

    These are ``demand.it_mw_start``, ``demand.pue``, the growth model's drawn parameters and
    each grid upgrade's ``month``: the fields a correlation may name.
    """
    paths: list[PathKey] = [("demand", "it_mw_start"), ("demand", "pue")]
    growth = scenario.demand.growth
    if isinstance(growth, ExponentialGrowth):
        paths.append(("demand", "growth", "annual_growth"))
    elif isinstance(growth, LogisticGrowth):
        paths += [("demand", "growth", "ceiling_it_mw"), ("demand", "growth", "steepness_per_year")]
    elif isinstance(growth, TableGrowth):
        paths.append(("demand", "growth", "scale"))
    for region_id, region in scenario.regions.items():
        for index in range(len(region.grid.upgrades)):
            paths.append(("regions", region_id, "grid", "upgrades", index, "month"))
    return paths


def written(path: PathKey) -> str:
    """A path as a correlation may write it, indexes as dotted digits (``upgrades.0.month``).

    YAML reads that form unquoted inside ``[...]`` too, unlike ``upgrades[0].month``.
    """
    return ".".join(str(part) for part in path)


def value_at(scenario: Scenario, path: PathKey) -> Any:
    """The value at a path of a validated scenario (fields by name or alias); KeyError if none."""
    node: Any = scenario
    for part in path:
        if isinstance(node, BaseModel) and isinstance(part, str):
            node = getattr(node, field_name(node, part))
        elif isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            raise KeyError(part)
    return node


def field_name(model: BaseModel, key: str) -> str:
    """The attribute of ``model`` a file's key names (the field itself or its alias)."""
    fields = type(model).model_fields
    if key in fields:
        return key
    name = next((n for n, f in fields.items() if f.alias == key), None)
    if name is None:
        raise KeyError(key)
    return name


def spec_at(scenario: Scenario, path: PathKey) -> AnyDist:
    """The distribution at a correlatable path."""
    spec = value_at(scenario, path)
    assert isinstance(spec, AnyDist), f"{dotted(path)} is not a distribution"
    return spec


def correlated_fields(scenario: Scenario) -> list[PathKey]:
    """The distinct fields the scenario's correlations name, in order of first mention."""
    seen: dict[PathKey, None] = {}
    for paths in _entry_paths(scenario):
        for path in paths:
            seen.setdefault(path, None)
    return list(seen)


def _entry_paths(scenario: Scenario) -> list[list[PathKey]]:
    """Each correlation's fields as parsed paths."""
    return [[parse_path(text) for text in entry.between] for entry in scenario.correlations]


def normal_rho(rank_rho: float) -> float:
    """The normals' correlation whose Gaussian copula has rank correlation ``rank_rho``."""
    return max(-1.0, min(1.0, 2.0 * math.sin(math.pi * rank_rho / 6.0)))


def normal_matrix(scenario: Scenario, entries: int | None = None) -> list[list[float]]:
    """Correlation matrix of the copula's normals over ``correlated_fields`` (pairs not named: 0).

    ``entries`` limits it to the first entries of ``correlations`` (for locating a bad one).
    """
    named = _entry_paths(scenario)
    index: dict[PathKey, int] = {}
    for paths in named:
        for path in paths:
            index.setdefault(path, len(index))
    matrix = [[1.0 if i == j else 0.0 for j in range(len(index))] for i in range(len(index))]
    for entry, paths in list(zip(scenario.correlations, named, strict=True))[:entries]:
        r = normal_rho(entry.rho)
        for a, b in _pairs([index[path] for path in paths]):
            matrix[a][b] = matrix[b][a] = r
    return matrix


def _pairs(items: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Every unordered pair of distinct items."""
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            if a != b:
                yield a, b


def smallest_eigenvalue(matrix: Sequence[Sequence[float]]) -> float:
    """The smallest eigenvalue of a symmetric matrix (1 for an empty one)."""
    if not matrix:
        return 1.0
    return float(np.linalg.eigvalsh(np.array(matrix, dtype=float))[0])


def cholesky(matrix: Sequence[Sequence[float]]) -> list[list[float]]:
    """Lower factor ``L`` with ``L L' = matrix`` for a positive semi-definite matrix.

    Written out (not LAPACK) so that the factor, and so every correlated draw, is the same on
    every machine; a zero pivot (fields in lockstep) gives a zero column instead of failing. A
    matrix that is not positive semi-definite has no such factor: ValueError.
    """
    n = len(matrix)
    factor = [[0.0] * n for _ in range(n)]
    for j in range(n):
        pivot = matrix[j][j] - sum(factor[j][k] ** 2 for k in range(j))
        if pivot <= EIGEN_TOLERANCE:
            continue
        factor[j][j] = math.sqrt(pivot)
        for i in range(j + 1, n):
            inner = sum(factor[i][k] * factor[j][k] for k in range(j))
            factor[i][j] = (matrix[i][j] - inner) / factor[j][j]
    for i in range(n):
        for j in range(i + 1):
            product = sum(factor[i][k] * factor[j][k] for k in range(j + 1))
            if abs(product - matrix[i][j]) > math.sqrt(EIGEN_TOLERANCE):
                raise ValueError("the correlation matrix is not positive semi-definite")
    return factor


def check_correlations(scenario: Scenario) -> list[Finding]:
    """Findings for correlations that name a field not drawn once per replication, or a pair twice.

    When every name is right, the matrix they form together must be a valid correlation matrix
    (positive semi-definite); the first entry that breaks it is located.
    """
    findings: list[Finding] = []
    allowed = correlatable_paths(scenario)
    pairs: dict[frozenset[PathKey], int] = {}
    for i, entry in enumerate(scenario.correlations):
        named: list[PathKey] = []
        for j, text in enumerate(entry.between):
            where = ("correlations", i, "between", j)
            problem, path = _field_problem(scenario, text, allowed)
            if problem:
                findings.append((where, problem))
            elif path in named:
                findings.append((where, f"{text} is named twice in this correlation"))
            else:
                named.append(path)
        for a_index, a in enumerate(named):
            for b in named[a_index + 1 :]:
                earlier = pairs.setdefault(frozenset((a, b)), i)
                if earlier != i:
                    findings.append(
                        (
                            ("correlations", i, "between"),
                            f"{dotted(a)} and {dotted(b)} are already correlated by "
                            f"correlations[{earlier}]; give each pair one rho",
                        )
                    )
    if findings:
        return findings
    return _definiteness(scenario)


def _field_problem(scenario: Scenario, text: str, allowed: list[PathKey]) -> tuple[str, PathKey]:
    """Why ``text`` cannot be correlated ('' if it can), and its parsed path."""
    listed = ", ".join(written(p) for p in allowed)
    try:
        path = parse_path(text)
    except PathError as exc:
        return f"{exc}; fields that can be correlated here: {listed}", ()
    if path in allowed:
        return "", path
    try:
        value = value_at(scenario, path)
    except KeyError:
        match = difflib.get_close_matches(text, [written(p) for p in allowed], n=1, cutoff=0.6)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        return (
            f"no field {text!r} in this scenario{hint}; fields that can be correlated: {listed}",
            (),
        )
    if isinstance(value, AnyDist):
        per = next((what for prefix, what in _DRAWN_PER if path[: len(prefix)] == prefix), "")
        drawn = f"drawn {per}" if per else "drawn more than once per replication"
        return (
            f"{text} is {drawn}, not once per replication, so it cannot be correlated; "
            f"fields that can be correlated: {listed}"
        ), ()
    return (
        f"{text} is not an uncertain field (no distribution to draw); "
        f"fields that can be correlated: {listed}"
    ), ()


def _definiteness(scenario: Scenario) -> list[Finding]:
    """Locate the first correlation that makes the matrix invalid, and the rho that would fit."""
    for i, entry in enumerate(scenario.correlations):
        if smallest_eigenvalue(normal_matrix(scenario, i + 1)) >= -EIGEN_TOLERANCE:
            continue
        low, high = _feasible_rho(scenario, i)
        mine = {parse_path(text) for text in entry.between}
        shared = [
            f"correlations[{k}]"
            for k, other in enumerate(scenario.correlations[:i])
            if mine & {parse_path(text) for text in other.between}
        ]
        others = f" or loosen {', '.join(shared)}" if shared else ""
        eigen = smallest_eigenvalue(normal_matrix(scenario, i + 1))
        return [
            (
                ("correlations", i, "rho"),
                f"rho {entry.rho:g} cannot hold together with the correlations before it: the "
                f"correlation matrix is not positive definite (smallest eigenvalue {eigen:.3g}); "
                f"choose rho from {low:.2f} to {high:.2f} here{others}",
            )
        ]
    return []


def _feasible_rho(scenario: Scenario, index: int) -> tuple[float, float]:
    """The range of rho for entry ``index`` that keeps the matrix valid, rounded inwards.

    Matrices valid for the earlier entries stay valid with this entry at rho 0 (its pairs are
    new), and validity is convex in rho, so the valid values form an interval around 0.
    """
    entries = list(scenario.correlations[: index + 1])

    def valid(rho: float) -> bool:
        entries[index] = entries[index].model_copy(update={"rho": rho})
        trial = scenario.model_copy(update={"correlations": entries})
        return smallest_eigenvalue(normal_matrix(trial)) >= -EIGEN_TOLERANCE

    def edge(limit: float) -> float:
        if valid(limit):
            return limit
        inside, outside = 0.0, limit
        for _ in range(40):
            middle = (inside + outside) / 2
            inside, outside = (middle, outside) if valid(middle) else (inside, middle)
        return inside

    low, high = edge(-1.0), edge(1.0)
    return math.ceil(low * 100) / 100, math.floor(high * 100) / 100
