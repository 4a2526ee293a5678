"""Latin Hypercube sampling with an explicit generator derived from the scenario seed.

Each dimension's range is cut into ``n`` equal strata and every stratum gets exactly one
sample, so a small design still covers every part of every range (plain random sampling leaves
gaps and clusters). The generator is seeded from the scenario seed, never from global state, so
the same seed gives the same design.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Spawn key that separates the sampling stream from the replications' streams.
SAMPLING_STREAM = 0x5A4D


def sampling_rng(seed: int, stream: int = 0) -> np.random.Generator:
    """A generator for designing experiments, derived from ``seed`` (and a stream number)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SAMPLING_STREAM, stream)))


def latin_hypercube(samples: int, dimensions: int, rng: np.random.Generator) -> np.ndarray:
    """An ``samples`` x ``dimensions`` design in [0, 1): one point per stratum in every column.

    Row ``i`` of column ``j`` lies in stratum ``perm_j[i]``, i.e. in
    ``[perm_j[i] / samples, (perm_j[i] + 1) / samples)``, at a uniform position inside it.
    """
    if samples < 1 or dimensions < 1:
        raise ValueError("a Latin hypercube needs at least one sample and one dimension")
    strata = np.column_stack([rng.permutation(samples) for _ in range(dimensions)])
    jitter = rng.random((samples, dimensions))
    unit: np.ndarray = (strata + jitter) / samples
    return unit


def scale_to_bounds(unit: np.ndarray, bounds: Sequence[tuple[float, float]]) -> np.ndarray:
    """Map a design in [0, 1) onto ``[low, high)`` per column."""
    lows = np.array([low for low, _ in bounds], dtype=float)
    highs = np.array([high for _, high in bounds], dtype=float)
    scaled: np.ndarray = lows + unit * (highs - lows)
    return scaled


def strata_of(values: np.ndarray, low: float, high: float, samples: int) -> np.ndarray:
    """Stratum index (0..samples-1) of each value of one column scaled to ``[low, high)``."""
    position = (np.asarray(values, dtype=float) - low) / (high - low)
    indices: np.ndarray = np.clip(np.floor(position * samples), 0, samples - 1).astype(int)
    return indices
