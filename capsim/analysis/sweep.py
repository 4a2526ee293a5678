"""Strategy sweeps: every combination of a few settings, and the cost-versus-risk frontier.

A strategy is one combination of grid values (e.g. reserve margin 0.2, bridge on, equipment
ordered at launch). Each is a Monte Carlo batch with the base seed, so strategies differ only
through their settings. The Pareto frontier holds the strategies that no other strategy beats
on both cost and risk (lower is better for both).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capsim.errors import UsageError
from capsim.scenario.paths import PathError, parse_path
from capsim.scenario.yamlio import PathKey

#: Per-strategy numbers: a list or a 1-D array.
Values = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class Axis:
    """One grid dimension: a dotted path and the values (YAML text) it takes."""

    path: str
    values: tuple[str, ...]

    @property
    def key(self) -> PathKey:
        """The path's keys and indexes (``parse_axis`` has checked that it reads)."""
        return parse_path(self.path)

    @property
    def short(self) -> str:
        """The path's last part (``reserve_margin``), for labels."""
        return str(self.key[-1])


def split_values(text: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes (``0,{dist: fixed, value: 1}``)."""
    values: list[str] = []
    depth, quote = 0, ""
    current: list[str] = []
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    values.append("".join(current).strip())
    return values


def parse_axis(text: str) -> Axis:
    """``dotted.path=v1,v2,...`` as an axis; values stay YAML text for ``--set``."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path or not raw.strip():
        raise UsageError(
            f"--grid {text!r}: expected dotted.path=v1,v2,..., e.g. policy.reserve_margin=0,0.1,0.2"
        )
    try:
        parse_path(path)
    except PathError as exc:
        raise UsageError(f"--grid {text!r}: {exc}") from None
    values = split_values(raw)
    if any(not v for v in values):
        raise UsageError(f"--grid {text!r}: empty value in the list")
    if len(set(values)) != len(values):
        raise UsageError(f"--grid {text!r}: a value is listed twice")
    return Axis(path, tuple(values))


def combinations(axes: Sequence[Axis]) -> list[dict[str, str]]:
    """Every combination of the axes' values (first axis varies slowest)."""
    if not axes:
        raise UsageError("give at least one --grid dotted.path=v1,v2,...")
    paths = [a.path for a in axes]
    if len(set(paths)) != len(paths):
        raise UsageError("each --grid path may be given only once")
    return [
        dict(zip(paths, combo, strict=True))
        for combo in itertools.product(*(a.values for a in axes))
    ]


def strategy_label(axes: Sequence[Axis], settings: dict[str, str]) -> str:
    """Short human label, e.g. ``reserve_margin=0.2, enabled=true``."""
    return ", ".join(f"{a.short}={settings[a.path]}" for a in axes)


def strategy_slug(index: int, axes: Sequence[Axis], settings: dict[str, str]) -> str:
    """Run directory name: number plus settings, file-name safe."""
    words = "_".join(f"{a.short}-{settings[a.path]}" for a in axes)
    return f"{index:03d}-" + (
        re.sub(r"[^a-z0-9_.-]+", "-", words.lower()).strip("-")[:80] or "strategy"
    )


def dominance(cost: Values, risk: Values) -> np.ndarray:
    """[i, j] is True when strategy i dominates strategy j (lower cost and risk are better).

    i dominates j when it is no worse on both and strictly better on one, so equal strategies
    never dominate each other. A strategy with an unknown (NaN) cost or risk dominates nothing.
    """
    c = np.asarray(cost, dtype=float)
    r = np.asarray(risk, dtype=float)
    known = ~(np.isnan(c) | np.isnan(r))
    c, r = np.nan_to_num(c, nan=math.inf), np.nan_to_num(r, nan=math.inf)
    no_worse = (c[:, None] <= c[None, :]) & (r[:, None] <= r[None, :])
    better = (c[:, None] < c[None, :]) | (r[:, None] < r[None, :])
    matrix: np.ndarray = no_worse & better & known[:, None]
    return matrix


def pareto_front(cost: Values, risk: Values) -> np.ndarray:
    """Which strategies no other dominates: the frontier.

    Tied strategies all stay on it; one with an unknown (NaN) cost or risk is never on it.
    """
    c = np.asarray(cost, dtype=float)
    r = np.asarray(risk, dtype=float)
    front: np.ndarray = ~dominance(c, r).any(axis=0) & ~(np.isnan(c) | np.isnan(r))
    return front


def mark_frontier(table: pd.DataFrame, cost_column: str, risk_column: str) -> pd.DataFrame:
    """The table with ``dominated_by`` (how many strategies beat each) and ``on_frontier``."""
    beaten_by = dominance(
        table[cost_column].to_numpy(dtype=float), table[risk_column].to_numpy(dtype=float)
    ).sum(axis=0)
    out = table.copy()
    out["dominated_by"] = beaten_by.astype(int)
    out["on_frontier"] = pareto_front(
        table[cost_column].to_numpy(dtype=float), table[risk_column].to_numpy(dtype=float)
    )
    return out
