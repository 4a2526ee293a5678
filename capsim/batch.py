"""Monte Carlo batches: chunks of replications run in this process, a local pool, or on Dask.

A replication's generators depend only on (scenario seed, replication index), so any split of
the indices into chunks, run anywhere in any order, gives the same rows. Chunks are the unit of
work, of streaming (one Parquet part each) and of resuming.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from capsim.model.world import simulate
from capsim.scenario import Scenario
from capsim.settings import DEFAULT_CHUNK_SIZE, SCHEDULER_ENV


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


@dataclass(frozen=True)
class ChunkResult:
    """The output tables of one chunk and the events its replications processed."""

    chunk: Chunk
    tables: dict[str, pd.DataFrame]
    events: int


def plan_chunks(replications: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[Chunk]:
    """Split replications 0..n-1 into chunks of at most ``chunk_size`` (the last may be short)."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    return [
        Chunk(i, first, min(first + chunk_size, replications))
        for i, first in enumerate(range(0, replications, chunk_size))
    ]


def run_chunk(scenario: Scenario, chunk: Chunk) -> ChunkResult:
    """Simulate every replication of one chunk here and turn the records into tables."""
    from capsim.results import frames

    results = [simulate(scenario, rep) for rep in chunk.replications]
    return ChunkResult(chunk, frames(results, scenario), sum(r.events for r in results))


class Executor(Protocol):
    """Runs chunks somewhere and hands back results as they complete."""

    backend: str
    workers: int

    def run(self, scenario: Scenario, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        """Yield each chunk's result as soon as it is done (any order)."""
        ...

    def close(self) -> None:
        """Stop workers and release resources; safe to call twice."""
        ...


class InProcessExecutor:
    """Run chunks one after another in this process (``--workers 1``)."""

    backend = "local"
    workers = 1

    def run(self, scenario: Scenario, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        """Yield chunk results in order."""
        for chunk in chunks:
            yield run_chunk(scenario, chunk)

    def close(self) -> None:
        """Nothing to release."""


class ProcessPoolChunkExecutor:
    """Run chunks on a pool of local worker processes, a few chunks in flight per worker."""

    backend = "local"

    def __init__(self, workers: int) -> None:
        import multiprocessing

        self.workers = workers
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)

    def run(self, scenario: Scenario, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        """Keep every worker busy; yield results as they complete."""
        pending = list(chunks)
        running: set[Future[ChunkResult]] = set()
        try:
            while pending or running:
                while pending and len(running) < 2 * self.workers:
                    running.add(self._pool.submit(run_chunk, scenario, pending.pop(0)))
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in running:
                future.cancel()

    def close(self) -> None:
        """Shut the pool down without waiting for cancelled work."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class DaskExecutor:
    """Run chunks on an existing Dask distributed cluster; lost workers' chunks are rerun."""

    backend = "dask"

    def __init__(self, address: str) -> None:
        from distributed import Client

        from capsim.errors import UsageError

        try:
            self._client = Client(address, timeout="20s", set_as_default=False)
        except OSError as exc:
            raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.address = address
        self.workers = len(self._client.scheduler_info().get("workers", {}))

    def run(self, scenario: Scenario, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        """Submit every chunk; yield results as they complete."""
        from distributed import as_completed

        token = uuid.uuid4().hex[:12]
        futures = [
            self._client.submit(run_chunk, scenario, chunk, key=f"capsim-{token}-{chunk.index}",
                                retries=3, pure=False)
            for chunk in chunks
        ]
        try:
            for future in as_completed(futures, loop=self._client.loop):
                result: ChunkResult = future.result()
                yield result
        finally:
            self._client.cancel(futures)

    def close(self) -> None:
        """Disconnect from the cluster (the cluster itself keeps running)."""
        self._client.close()


def make_executor(workers: int | None, scheduler: str | None) -> Executor:
    """The executor the options ask for: Dask if a scheduler is named, else local processes."""
    address = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        return DaskExecutor(address)
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count <= 1:
        return InProcessExecutor()
    return ProcessPoolChunkExecutor(count)
