"""Sensitivity analysis over declared parameter ranges: one-at-a-time, Morris and Sobol.

Every method takes an ``evaluate(points, labels) -> values`` callable, so the same code path
serves the scenario model (each point a Monte Carlo batch with common random numbers) and an
analytic test function with known indices. A point is one row of parameter values; NaN in a
point means "leave this parameter at its base" (the scenario as written). Global methods use
SALib for designs and estimators; its modules are imported at the call, as untyped ``Any``.
"""

from __future__ import annotations

import importlib
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from capsim.analysis.sampling import latin_hypercube, sampling_rng, scale_to_bounds
from capsim.errors import UsageError
from capsim.scenario.paths import PathError, parse_path
from capsim.scenario.yamlio import PathKey

#: evaluate(points [n x d], labels [n]) -> KPI values [n] or [n x outputs].
Evaluate = Callable[[np.ndarray, Sequence[str]], np.ndarray]
#: replicates(label) -> the KPI of every replication of an evaluated point, indexed by replication.
Replicates = Callable[[str], pd.Series]
SAMPLINGS = ("default", "lhs")
CONF_LEVEL = 0.95
MORRIS_LEVELS = 4
_PARAM = re.compile(r"^\s*([^=\s]+)\s*=\s*([^:]+):(.+)$")


@dataclass(frozen=True)
class Parameter:
    """A numeric scenario field (dotted path) varied over ``[low, high]``."""

    path: str
    low: float
    high: float
    integer: bool = False
    base: float | None = None

    @property
    def key(self) -> PathKey:
        """The path's keys and indexes (``parse_parameter`` has checked that it reads)."""
        return parse_path(self.path)

    @property
    def slug(self) -> str:
        """The path as a file-name-safe word (for run directory names)."""
        return re.sub(r"[^a-z0-9_]+", "_", self.path.lower()).strip("_")[:60] or "parameter"

    def settable(self, value: float) -> float:
        """The value actually set: rounded to a whole number (and kept in range) if integer."""
        if not self.integer or math.isnan(value):
            return value
        return float(min(max(math.floor(value + 0.5), self.low), self.high))

    def design_bounds(self) -> tuple[float, float]:
        """Bounds for global designs.

        Integers get half a unit either side, so rounding gives every whole number in
        ``[low, high]`` the same chance.
        """
        if self.integer:
            return self.low - 0.5, self.high + 0.5
        return self.low, self.high


def parse_parameter(text: str) -> tuple[str, float, float]:
    """Split ``dotted.path=LOW:HIGH`` into the path (checked to read) and its numeric bounds."""
    match = _PARAM.match(text)
    if match is None:
        raise UsageError(
            f"--param {text!r}: expected dotted.path=LOW:HIGH, e.g. policy.reserve_margin=0.05:0.3"
        )
    path, low_text, high_text = match.groups()
    try:
        parse_path(path)
    except PathError as exc:
        raise UsageError(f"--param {text!r}: {exc}") from None
    try:
        low, high = float(low_text), float(high_text)
    except ValueError:
        raise UsageError(f"--param {text!r}: LOW and HIGH must be numbers") from None
    if not (math.isfinite(low) and math.isfinite(high)):
        raise UsageError(f"--param {text!r}: LOW and HIGH must be finite")
    if low > high:
        raise UsageError(f"--param {text!r}: LOW ({low:g}) is above HIGH ({high:g})")
    return path, low, high


@dataclass(frozen=True)
class Analysis:
    """What a method produced: the result table and every evaluated point."""

    method: str
    table: pd.DataFrame
    points: pd.DataFrame


def _outputs_matrix(values: np.ndarray, count: int, outputs: Sequence[str]) -> np.ndarray:
    """Evaluate's result as [points x outputs], checked against what was asked for."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.shape != (count, len(outputs)):
        raise ValueError(
            f"evaluate returned shape {array.shape}, expected "
            f"({count}, {len(outputs)}) for outputs {list(outputs)}"
        )
    return array


def _evaluate(
    evaluate: Evaluate, points: np.ndarray, labels: Sequence[str], outputs: Sequence[str]
) -> np.ndarray:
    return _outputs_matrix(evaluate(points, labels), len(labels), outputs)


def _points_table(
    parameters: Sequence[Parameter],
    points: np.ndarray,
    labels: Sequence[str],
    values: np.ndarray,
    outputs: Sequence[str],
) -> pd.DataFrame:
    table = pd.DataFrame({"point": list(labels)})
    for j, parameter in enumerate(parameters):
        table[parameter.path] = points[:, j]
    for k, output in enumerate(outputs):
        table[output] = values[:, k]
    return table


def paired_standard_error(base: pd.Series, other: pd.Series) -> float:
    """Standard error of the mean change ``other - base`` over replications both points ran.

    The points share the seed, so replication ``k`` of each drew the same random numbers and the
    per-replication differences carry only the parameter's effect and what it sets off: the
    standard error is the standard deviation of those differences (n - 1) over the square root
    of their number. NaN with fewer than two replications where both are defined.
    """
    differences = (other - base).to_numpy(dtype=float)
    differences = differences[np.isfinite(differences)]
    if differences.size < 2:
        return math.nan
    return float(np.std(differences, ddof=1) / math.sqrt(differences.size))


def one_at_a_time(
    parameters: Sequence[Parameter],
    evaluate: Evaluate,
    outputs: Sequence[str] = ("value",),
    replicates: Replicates | None = None,
) -> Analysis:
    """Move each parameter alone to its low and its high bound; everything else stays at base.

    The table has one row per parameter and output: the output at base, low and high, the
    changes from base, and the swing ``max - min`` of the three (so a parameter whose bounds both
    move the KPI the same way still counts the farther one); rows are sorted by swing, largest
    first. With ``replicates`` (each point's KPI per replication) it also gives the paired
    standard errors of the changes at low and at high (``paired_standard_error``); without, NaN.
    """
    if not parameters:
        raise UsageError("give at least one --param dotted.path=LOW:HIGH")
    dims = len(parameters)
    base = np.array([np.nan if p.base is None else p.base for p in parameters], dtype=float)
    rows = [base]
    labels = ["base"]
    for j, parameter in enumerate(parameters):
        for bound, value in (("low", parameter.low), ("high", parameter.high)):
            point = base.copy()
            point[j] = parameter.settable(value)
            rows.append(point)
            labels.append(f"{j:02d}-{parameter.slug}-{bound}")
    points = np.vstack(rows).reshape(-1, dims)
    values = _evaluate(evaluate, points, labels, outputs)
    records = []
    for j, parameter in enumerate(parameters):
        errors = _paired_errors(replicates, labels[0], labels[1 + 2 * j], labels[2 + 2 * j])
        for k, output in enumerate(outputs):
            at_base, at_low, at_high = values[0, k], values[1 + 2 * j, k], values[2 + 2 * j, k]
            records.append(
                {
                    "parameter": parameter.path,
                    "low": points[1 + 2 * j, j],
                    "high": points[2 + 2 * j, j],
                    "base_value": parameter.base,
                    "integer": parameter.integer,
                    "output": output,
                    "at_base": at_base,
                    "at_low": at_low,
                    "at_high": at_high,
                    "change_at_low": at_low - at_base,
                    "change_at_high": at_high - at_base,
                    "se_change_at_low": errors[0],
                    "se_change_at_high": errors[1],
                    "swing": max(at_base, at_low, at_high) - min(at_base, at_low, at_high),
                }
            )
    table = pd.DataFrame(records)
    order = (
        table.groupby("parameter", sort=False)["swing"]
        .max()
        .sort_values(ascending=False, kind="stable")
    )
    table["rank"] = table["parameter"].map({p: i + 1 for i, p in enumerate(order.index)})
    table = table.sort_values(["rank", "output"], kind="stable").reset_index(drop=True)
    return Analysis("oat", table, _points_table(parameters, points, labels, values, outputs))


def _paired_errors(
    replicates: Replicates | None, base: str, low: str, high: str
) -> tuple[float, float]:
    """Paired standard errors of the changes at the low and the high point (NaN if unknown)."""
    if replicates is None:
        return math.nan, math.nan
    at_base = replicates(base)
    return (
        paired_standard_error(at_base, replicates(low)),
        paired_standard_error(at_base, replicates(high)),
    )


def _problem(parameters: Sequence[Parameter]) -> dict[str, Any]:
    for parameter in parameters:
        if parameter.low >= parameter.high:
            raise UsageError(f"--param {parameter.path}: a global method needs LOW < HIGH")
    return {
        "num_vars": len(parameters),
        "names": [p.path for p in parameters],
        "bounds": [list(p.design_bounds()) for p in parameters],
    }


def _salib(module: str) -> Any:
    """A SALib module (untyped: used through ``Any`` at this boundary)."""
    return importlib.import_module(f"SALib.{module}")


def _rounded(parameters: Sequence[Parameter], design: np.ndarray) -> np.ndarray:
    """The design with integer parameters rounded as they will be set."""
    points = design.copy()
    for j, parameter in enumerate(parameters):
        if parameter.integer:
            points[:, j] = [parameter.settable(v) for v in design[:, j]]
    return points


def morris_indices(
    parameters: Sequence[Parameter],
    evaluate: Evaluate,
    trajectories: int,
    seed: int,
    outputs: Sequence[str] = ("value",),
    levels: int = MORRIS_LEVELS,
) -> Analysis:
    """Morris elementary effects: ``trajectories`` x (d + 1) points; mu, mu*, sigma, mu* CI.

    mu* (mean absolute effect) ranks parameters by influence; sigma large against mu* flags
    interactions or non-linearity.
    """
    if trajectories < 2:
        raise UsageError("Morris needs --samples of at least 2 trajectories")
    problem = _problem(parameters)
    design = np.asarray(
        _salib("sample.morris").sample(problem, trajectories, num_levels=levels, seed=seed),
        dtype=float,
    )
    points = _rounded(parameters, design)
    labels = [f"point-{i:05d}" for i in range(len(points))]
    values = _evaluate(evaluate, points, labels, outputs)
    analyze = _salib("analyze.morris").analyze
    records = []
    for k, output in enumerate(outputs):
        result = analyze(
            problem, design, values[:, k], num_levels=levels, conf_level=CONF_LEVEL, seed=seed
        )
        for j, parameter in enumerate(parameters):
            records.append(
                {
                    "parameter": parameter.path,
                    "output": output,
                    "mu": float(result["mu"][j]),
                    "mu_star": float(result["mu_star"][j]),
                    "mu_star_conf": float(result["mu_star_conf"][j]),
                    "sigma": float(result["sigma"][j]),
                }
            )
    table = _ranked(pd.DataFrame(records), "mu_star")
    return Analysis("morris", table, _points_table(parameters, points, labels, values, outputs))


def sobol_design(
    parameters: Sequence[Parameter], samples: int, seed: int, sampling: str = "default"
) -> np.ndarray:
    """Saltelli's design without second order: per base row, A, A with column j from B, B.

    ``default`` takes A and B from a scrambled Sobol sequence (SALib); ``lhs`` from two
    independent Latin hypercubes drawn with a generator seeded from ``seed``.
    """
    problem = _problem(parameters)
    if sampling == "default":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(balance|power of 2).*")
            design = _salib("sample.sobol").sample(
                problem, samples, calc_second_order=False, seed=seed
            )
        return np.asarray(design, dtype=float)
    if sampling != "lhs":
        raise UsageError(f"unknown sampling {sampling!r} (expected one of: {', '.join(SAMPLINGS)})")
    dims = len(parameters)
    rng = sampling_rng(seed)
    bounds = [p.design_bounds() for p in parameters]
    a = scale_to_bounds(latin_hypercube(samples, dims, rng), bounds)
    b = scale_to_bounds(latin_hypercube(samples, dims, rng), bounds)
    blocks = [a]
    for j in range(dims):
        ab = a.copy()
        ab[:, j] = b[:, j]
        blocks.append(ab)
    blocks.append(b)
    # interleave so that row i of every block sits together, the layout SALib's analysis reads
    return np.stack(blocks, axis=1).reshape(samples * (dims + 2), dims)


def sobol_indices(
    parameters: Sequence[Parameter],
    evaluate: Evaluate,
    samples: int,
    seed: int,
    outputs: Sequence[str] = ("value",),
    sampling: str = "default",
) -> Analysis:
    """First-order (S1) and total (ST) Sobol indices with bootstrap confidence intervals.

    Costs ``samples`` x (d + 2) evaluations. S1 is the share of the output's variance that a
    parameter explains alone; ST adds its interactions; ST near 0 means it can be fixed.
    """
    if samples < 2:
        raise UsageError("Sobol needs --samples of at least 2 (powers of 2 work best)")
    problem = _problem(parameters)
    design = sobol_design(parameters, samples, seed, sampling)
    points = _rounded(parameters, design)
    labels = [f"point-{i:05d}" for i in range(len(points))]
    values = _evaluate(evaluate, points, labels, outputs)
    analyze = _salib("analyze.sobol").analyze
    records = []
    for k, output in enumerate(outputs):
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            result = analyze(
                problem, values[:, k], calc_second_order=False, conf_level=CONF_LEVEL, seed=seed
            )
        for j, parameter in enumerate(parameters):
            records.append(
                {
                    "parameter": parameter.path,
                    "output": output,
                    "S1": float(result["S1"][j]),
                    "S1_conf": float(result["S1_conf"][j]),
                    "ST": float(result["ST"][j]),
                    "ST_conf": float(result["ST_conf"][j]),
                }
            )
    table = _ranked(pd.DataFrame(records), "ST")
    return Analysis("sobol", table, _points_table(parameters, points, labels, values, outputs))


def _ranked(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """Rank parameters by ``by`` within each output (1 = most influential)."""
    table["rank"] = (
        table.groupby("output")[by]
        .rank(ascending=False, method="min", na_option="bottom")
        .astype(int)
    )
    return table.sort_values(["output", "rank"], kind="stable").reset_index(drop=True)
