"""Monte Carlo batches: which replications to run, in chunks, and the seed behind each.

A replication's generators depend only on (scenario seed, replication index), so any split of
the indices into chunks, run anywhere in any order, gives the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from capsim.model.world import ReplicationResult, simulate
from capsim.scenario import Scenario


@dataclass(frozen=True)
class Chunk:
    """A contiguous range of replication indices run as one unit of work."""

    index: int
    first: int
    stop: int

    @property
    def replications(self) -> range:
        """The replication indices of this chunk."""
        return range(self.first, self.stop)


def chunks(replications: int, chunk_size: int) -> list[Chunk]:
    """Split ``replications`` into chunks of at most ``chunk_size``."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    return [
        Chunk(i, first, min(first + chunk_size, replications))
        for i, first in enumerate(range(0, replications, chunk_size))
    ]


def run_chunk(scenario: Scenario, chunk: Chunk) -> list[ReplicationResult]:
    """Run every replication of one chunk in this process."""
    return [simulate(scenario, rep) for rep in chunk.replications]


def run_local(scenario: Scenario, replications: int) -> Iterator[ReplicationResult]:
    """Run replications 0..n-1 one after another in this process."""
    for rep in range(replications):
        yield simulate(scenario, rep)
