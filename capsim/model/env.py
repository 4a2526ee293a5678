"""The simulation clock that counts events, and named random streams for one replication."""

from __future__ import annotations

import zlib

import numpy as np
import simpy


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that can say how many events it has processed (``events``).

    SimPy numbers every scheduled event in order; the events processed are those numbered so far
    minus those still waiting in the queue. Counting this way costs nothing per event.
    """

    @property
    def events_processed(self) -> int:
        """Events taken off the queue and processed so far."""
        scheduled = int(repr(self._eid).removeprefix("count(").removesuffix(")"))
        return scheduled - len(self._queue)


class Streams:
    """Independent generators per model component, all derived from (seed, replication).

    Separate streams keep common random numbers common: changing how many deals a policy launches
    does not shift the draws of competing grid applicants or of equipment lead times.
    """

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._cache: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator for one named component (created on first use, then reused)."""
        rng = self._cache.get(name)
        if rng is None:
            key = (self.replication, zlib.crc32(name.encode("utf-8")))
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))
            self._cache[name] = rng
        return rng

    def child(self, name: str) -> np.random.Generator:
        """A fresh generator for one named entity (a deal, a request), not kept afterwards.

        Keyed by the entity's identity, so its draws do not depend on how many other entities
        drew before it: the k-th deal gets the same durations whatever the policy launched.
        """
        key = (self.replication, 1, *name.encode("utf-8"))  # the bytes: no hash collisions
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))
