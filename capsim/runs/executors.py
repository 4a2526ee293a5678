"""Monte Carlo batches: chunks of replications run in this process, a local pool, or on Dask.

A replication's generators depend only on (scenario seed, replication index), so any split of
the indices into chunks, run anywhere in any order, gives the same rows. Chunks are the unit of
work, of streaming (one Parquet part each) and of resuming.

Faults of the machinery that runs chunks are handled here. SIGTERM stops a run like Ctrl-C does
(``Terminated``, exit 143). Local workers exit on their own when the run that started them is
gone, and a pool whose worker died is replaced and the lost chunks rerun (a few times at most).
A Dask scheduler address is checked before anything is written, reached within a bounded time,
and every Dask worker must run the versions that decide the random streams. Failures of the
machinery are ``BackendError``: the chunks finished so far stay saved, so the run resumes.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import os
import re
import signal
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

import pandas as pd

from capsim.errors import EXIT_OUTPUT, CapsimError, UsageError
from capsim.model.world import simulate
from capsim.runs.settings import (
    DEFAULT_CHUNK_SIZE,
    PARENT_POLL_SECONDS,
    POOL_RESTARTS,
    SCHEDULER_ENV,
    SCHEDULER_TIMEOUT_ENV,
    SCHEDULER_TIMEOUT_SECONDS,
)
from capsim.scenario.schema import Scenario

#: Exit code of a run stopped by SIGTERM (128 + the signal number, as shells report it).
EXIT_TERMINATED = 128 + int(signal.SIGTERM)
#: The scheduler address forms capsim accepts, named in every address error.
ADDRESS_FORMS = "tcp://HOST:PORT, tcp://[IPv6]:PORT or HOST:PORT (e.g. tcp://10.0.0.5:8786)"
_HOST_PORT = re.compile(r"(?P<host>\[[^\[\]]*\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})")
#: Seconds to wait for the futures of a broken pool to settle, and for stopped workers to exit.
_SETTLE_SECONDS = 30.0
_STOP_SECONDS = 5.0
#: How often a wait for results also checks that every worker is still alive.
_POLL_SECONDS = 1.0
#: A task handed to ``run_tasks`` and what running it returns.
T = TypeVar("T")
R = TypeVar("R")


class BackendError(CapsimError):
    """The machinery running chunks failed (workers, scheduler); finished chunks stay saved."""

    exit_code = EXIT_OUTPUT


class WorkerVersionError(BackendError):
    """A Dask worker runs versions of capsim, numpy or simpy other than this process."""


class Terminated(KeyboardInterrupt):
    """SIGTERM during a run, raised like Ctrl-C so that the run stops cleanly and resumably."""

    exit_code = EXIT_TERMINATED


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
    from capsim.runs.tables import frames

    results = [simulate(scenario, rep) for rep in chunk.replications]
    return ChunkResult(chunk, frames(results, scenario), sum(r.events for r in results))


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While chunks run, SIGTERM raises ``Terminated``, as Ctrl-C raises KeyboardInterrupt.

    The run keeps its finished chunks and says how to resume; a second SIGTERM stops at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    restore = previous if previous is not None else signal.SIG_DFL

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        """Raise ``Terminated`` once; any further SIGTERM takes the earlier action."""
        signal.signal(signal.SIGTERM, restore)
        raise Terminated(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, restore)


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
        """Yield chunk results in order; SIGTERM stops between or inside chunks like Ctrl-C."""
        for _, result in self.run_tasks(functools.partial(run_chunk, scenario), chunks):
            yield result

    def run_tasks(self, function: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        """Yield ``(index, function(task))`` for every task in order, here; SIGTERM as Ctrl-C."""
        with sigterm_interrupts():
            for index, task in enumerate(tasks):
                yield index, function(task)

    def close(self) -> None:
        """Nothing to release."""


def _start_worker(parent_pid: int) -> None:
    """Set up a local pool worker: leave Ctrl-C to the parent, and exit if the parent dies.

    A parent killed outright cannot stop its workers, so each one watches for it to disappear.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_when_orphaned, args=(parent_pid,), daemon=True, name="capsim-parent-watch"
    ).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    """End this worker process as soon as its parent (the run) is no longer its parent."""
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: terminate its workers, release it, and kill any worker still alive.

    Waiting for running chunks would keep a stopped run's workers busy for nothing.
    """
    from multiprocessing.connection import wait as wait_for_exit

    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with suppress(OSError, ValueError):  # already gone, or its handle released
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    sentinels = {}
    for process in processes:
        with suppress(ValueError):  # handle released: the process was joined already
            sentinels[process.sentinel] = process
    exited = set(wait_for_exit(list(sentinels), timeout=_STOP_SECONDS)) if sentinels else set()
    for sentinel, process in sentinels.items():
        if sentinel not in exited:
            with suppress(OSError, ValueError):
                process.kill()


class ProcessPoolChunkExecutor:
    """Run chunks on a pool of local worker processes, a few chunks in flight per worker.

    If a worker dies, a fresh pool reruns the lost chunks (at most ``restarts`` times).
    """

    backend = "local"

    def __init__(self, workers: int, restarts: int = POOL_RESTARTS) -> None:
        """Start a pool of ``workers`` processes (spawned, so each starts from a clean state)."""
        self.workers = workers
        self.restarts = restarts
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        """A fresh pool whose workers leave Ctrl-C to this process and exit if it dies."""
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )

    def run(self, scenario: Scenario, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        """Keep every worker busy; yield results as they complete; rerun chunks of dead workers."""
        for _, result in self.run_tasks(functools.partial(run_chunk, scenario), chunks):
            yield result

    def run_tasks(self, function: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        """Yield ``(index, function(task))`` as tasks complete on the pool (any order).

        Tasks lost with a dead worker run again on a fresh pool (at most ``restarts`` times);
        ``function`` and every task must pickle, and SIGTERM stops the wait like Ctrl-C.
        """
        pending = deque(range(len(tasks)))
        running: dict[Future[R], int] = {}
        breaks = 0
        with sigterm_interrupts():
            try:
                while pending or running:
                    broken = self._submit(function, tasks, pending, running)
                    if not broken:
                        done, _ = wait(running, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                        broken = not done and self._lost_a_worker()
                        for future in done:
                            if isinstance(future.exception(), BrokenProcessPool):
                                broken = True
                                continue
                            yield running.pop(future), future.result()
                    if broken:
                        breaks += 1
                        lost = yield from _settle(running)
                        if breaks > self.restarts:
                            raise BackendError(
                                f"local worker processes died or could not start {breaks} times "
                                "(killed, or out of memory?); gave up after "
                                f"{self.restarts} fresh pools"
                            )
                        _stop_pool(self._pool)
                        self._pool = self._new_pool()
                        pending.extendleft(sorted(lost, reverse=True))
            finally:
                for future in running:
                    future.cancel()

    def _submit(
        self,
        function: Callable[[T], R],
        tasks: Sequence[T],
        pending: deque[int],
        running: dict[Future[R], int],
    ) -> bool:
        """Fill the pool up to two tasks per worker; True if the pool turned out to be broken."""
        while pending and len(running) < 2 * self.workers:
            try:
                future = self._pool.submit(function, tasks[pending[0]])
            except (BrokenProcessPool, OSError):  # a worker died, or one could not be started
                return True
            running[future] = pending.popleft()
        return False

    def _lost_a_worker(self) -> bool:
        """Whether a worker of the pool has exited (workers only exit when killed).

        The pool notices most deaths itself; this catches one killed while it was starting,
        which can leave the pool waiting for a result that will never come.
        """
        processes = (getattr(self._pool, "_processes", None) or {}).values()
        return any(process.exitcode is not None for process in list(processes))

    def close(self) -> None:
        """Terminate the workers (running chunks are abandoned; resume recomputes them)."""
        _stop_pool(self._pool)


def _settle(running: dict[Future[R], int]) -> Generator[tuple[int, R], None, list[int]]:
    """After a pool broke: yield the tasks that finished anyway; return the ones it lost."""
    wait(running, timeout=_SETTLE_SECONDS)
    lost = []
    for future, index in list(running.items()):
        del running[future]
        if future.done() and not future.cancelled() and future.exception() is None:
            yield index, future.result()
        else:
            lost.append(index)
    return lost


# --- Dask ---------------------------------------------------------------------------------------


def scheduler_address(given: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The Dask scheduler (``given``, else $DASK_SCHEDULER_ADDRESS) as tcp://HOST:PORT, or None.

    Checked before anything is written, so a typo costs nothing; None means run locally.
    """
    environ = os.environ if environ is None else environ
    source, text = "--scheduler", (given or "").strip()
    if not text:
        source, text = SCHEDULER_ENV, environ.get(SCHEDULER_ENV, "").strip()
    if not text:
        return None
    scheduler_timeout_seconds(environ)
    return parse_scheduler_address(text, source)


def parse_scheduler_address(text: str, source: str = "--scheduler") -> str:
    """``text`` as ``tcp://HOST:PORT``, or a UsageError naming the forms capsim accepts."""
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "tcp", text
    if scheme.lower() != "tcp":
        raise UsageError(
            f"{source} {text!r}: only tcp:// Dask schedulers are supported (capsim sets up no "
            f"TLS or other transport); expected {ADDRESS_FORMS}"
        )
    match = _HOST_PORT.fullmatch(rest)
    problem = None if match else "is not a Dask scheduler address"
    if match and match["host"].startswith("["):
        try:
            ipaddress.IPv6Address(match["host"][1:-1])
        except ValueError:
            problem = "has no valid IPv6 address between the brackets"
    if match and not 1 <= int(match["port"]) <= 65535:
        problem = "has a port outside 1-65535"
    if match is None or problem is not None:
        raise UsageError(f"{source} {text!r} {problem}; expected {ADDRESS_FORMS}")
    return f"tcp://{match['host']}:{int(match['port'])}"


def scheduler_timeout_seconds(environ: Mapping[str, str] | None = None) -> float:
    """Seconds to reach a scheduler: $CAPSIM_SCHEDULER_TIMEOUT, else the default (10)."""
    environ = os.environ if environ is None else environ
    text = environ.get(SCHEDULER_TIMEOUT_ENV, "").strip()
    if not text:
        return SCHEDULER_TIMEOUT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 3600:
        raise UsageError(
            f"{SCHEDULER_TIMEOUT_ENV}={text!r}: expected a number of seconds "
            "above 0 and at most 3600"
        )
    return seconds


def environment_versions() -> dict[str, str]:
    """The versions that decide a replication's rows: capsim (and its source), numpy, simpy.

    Dask workers must match this process exactly, or their chunks would differ silently.
    """
    from importlib.metadata import PackageNotFoundError, version

    import numpy

    from capsim.version import __version__

    try:
        simpy_version = version("simpy")
    except PackageNotFoundError:
        simpy_version = "missing"
    return {
        "capsim": __version__,
        "capsim source": _source_digest(),
        "numpy": numpy.__version__,
        "simpy": simpy_version,
    }


@functools.cache
def _source_digest() -> str:
    """SHA-256 (first 12 digits) of capsim's Python source, to tell apart equal version numbers."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _version_mismatch(worker: str, found: Mapping[str, str], expected: Mapping[str, str]) -> str:
    """One line naming a worker and each version it has that differs from this process."""
    differences = ", ".join(
        f"{name} {found.get(name, 'missing')} (here {wanted})"
        for name, wanted in expected.items()
        if found.get(name) != wanted
    )
    return f"worker {worker}: {differences}"


def run_chunk_checked(scenario: Scenario, chunk: Chunk, expected: dict[str, str]) -> ChunkResult:
    """Run a chunk on a Dask worker once it has shown the versions the run needs.

    This catches workers that joined the cluster after the check made when connecting.
    """
    found = environment_versions()
    if found != expected:
        raise WorkerVersionError(_version_mismatch(_this_worker(), found, expected))
    return run_chunk(scenario, chunk)


def _this_worker() -> str:
    """The address of the Dask worker running this code (host and pid outside a worker)."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        import socket

        return f"{socket.gethostname()} pid {os.getpid()}"


class _OneLineRecords(logging.Filter):
    """Strip tracebacks from Dask's log records (capsim reports Dask failures itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record's one-line message without its traceback; drop it if it is empty."""
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return bool(record.getMessage().strip())


def _quiet_dask_logs() -> Callable[[], None]:
    """Put ``_OneLineRecords`` on every handler of Dask's loggers; returns the undo.

    Losing a scheduler makes Dask log tracebacks from its own threads; a user sees one line.
    """
    quiet = _OneLineRecords()
    handlers = {
        handler
        for name, logger in list(logging.Logger.manager.loggerDict.items())
        if name.split(".")[0] == "distributed" and isinstance(logger, logging.Logger)
        for handler in logger.handlers
    }
    for handler in handlers:
        handler.addFilter(quiet)

    def undo() -> None:
        """Take the filter off again."""
        for handler in handlers:
            handler.removeFilter(quiet)

    return undo


def _reason(exc: BaseException) -> str:
    """An exception as a short phrase for an error message (its text, else its type)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class DaskExecutor:
    """Run chunks on an existing Dask distributed cluster; lost workers' chunks are rerun."""

    backend = "dask"

    def __init__(self, address: str, connect_seconds: float = SCHEDULER_TIMEOUT_SECONDS) -> None:
        """Connect within ``connect_seconds`` and check every worker's versions."""
        from distributed import Client

        self.address = address
        self._client: Any = None
        self._loud = _quiet_dask_logs()
        try:
            self._client = Client(address, timeout=connect_seconds, set_as_default=False)
        except Exception as exc:  # whatever the attempt raised, no usable scheduler is there
            self.close()
            raise BackendError(
                f"cannot reach the Dask scheduler at {address} within {connect_seconds:g} s "
                f"({_reason(exc)}); is it running? (set {SCHEDULER_TIMEOUT_ENV} to wait longer)"
            ) from None
        try:
            self.versions = environment_versions()
            self._check_workers()
        except BaseException:
            self.close()
            raise

    def _check_workers(self) -> None:
        """Count the workers and refuse any whose capsim, numpy or simpy differ from ours."""
        try:
            reported = self._client.run(environment_versions, on_error="return")
            info = self._client.scheduler_info().get("workers", {})
        except Exception as exc:  # the scheduler went away while being asked
            raise BackendError(
                f"lost the Dask scheduler at {self.address} while checking its "
                f"workers ({_reason(exc)})"
            ) from None
        self.workers = len(info)
        problems = []
        for address in sorted(reported):
            name = info.get(address, {}).get("name")
            worker = address if name in (None, "", address) else f"{address} ({name})"
            found = reported[address]
            if isinstance(found, BaseException):
                problems.append(
                    f"worker {worker}: cannot report its versions ({_reason(found)}); "
                    f"is capsim {self.versions['capsim']} installed there?"
                )
            elif found != self.versions:
                problems.append(_version_mismatch(worker, found, self.versions))
        if problems:
            wanted = ", ".join(f"{k} {v}" for k, v in self.versions.items())
            raise WorkerVersionError(
                "\n".join(
                    [
                        f"Dask workers at {self.address} do not run what this run needs "
                        f"({wanted}); their replications would differ silently, so none was "
                        "started",
                        *problems,
                    ]
                )
            )

    def run(self, scenario: Scenario, chunks: Sequence[Chunk]) -> Iterator[ChunkResult]:
        """Submit every chunk; yield results as they complete; a lost scheduler is an error."""
        from distributed import as_completed

        token = uuid.uuid4().hex[:12]
        with sigterm_interrupts():
            futures: dict[Any, Chunk] = {}
            try:
                for chunk in chunks:
                    future = self._client.submit(
                        run_chunk_checked,
                        scenario,
                        chunk,
                        self.versions,
                        key=f"capsim-{token}-{chunk.index}",
                        retries=3,
                        pure=False,
                    )
                    futures[future] = chunk
                for future in as_completed(list(futures), loop=self._client.loop):
                    yield self._result(future, futures[future])
            except CancelledError as exc:  # the client cancels every chunk when it loses touch
                why = getattr(exc, "reason", None) or "its chunks were cancelled"
                raise BackendError(f"lost the Dask scheduler at {self.address} ({why})") from None
            except OSError as exc:
                raise BackendError(
                    f"lost the Dask scheduler at {self.address} ({_reason(exc)})"
                ) from None
            finally:
                with suppress(Exception):  # the scheduler may be gone: nothing left to cancel
                    self._client.cancel(list(futures))

    def _result(self, future: Any, chunk: Chunk) -> ChunkResult:
        """A finished chunk's result, or a BackendError saying what the cluster did with it."""
        from distributed import KilledWorker

        try:
            result: ChunkResult = future.result()
        except KilledWorker as exc:
            raise BackendError(
                f"chunk {chunk.index} (replications {chunk.first}-{chunk.stop - 1}) was lost "
                f"with every Dask worker that ran it (killed, or out of memory?): {_reason(exc)}"
            ) from None
        return result

    def close(self) -> None:
        """Disconnect from the cluster (the cluster itself keeps running); safe to call twice."""
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            with suppress(Exception):  # a scheduler that is gone needs no goodbye
                client.close(timeout=_STOP_SECONDS)
        self._loud()


def make_executor(workers: int | None, scheduler: str | None) -> Executor:
    """The executor the options ask for: Dask if a scheduler is named, else local processes."""
    address = scheduler_address(scheduler)
    if address:
        return DaskExecutor(address, scheduler_timeout_seconds())
    return local_executor(workers)


def local_executor(workers: int | None) -> InProcessExecutor | ProcessPoolChunkExecutor:
    """This process for one worker, else a local pool (``None``: one worker per core).

    Both also run any tasks (``run_tasks``), which is how studies run their points.
    """
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count <= 1:
        return InProcessExecutor()
    return ProcessPoolChunkExecutor(count)
