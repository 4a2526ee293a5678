"""Defaults shared by the command line and the library, kept import-free so ``--help`` is fast."""

DEFAULT_CHUNK_SIZE = 25
"""Replications per chunk: the unit of work, of streaming (one Parquet part) and of resuming."""

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
"""Environment variable naming a Dask scheduler to run on when ``--scheduler`` is not given."""

SCHEDULER_TIMEOUT_ENV = "CAPSIM_SCHEDULER_TIMEOUT"
"""Environment variable overriding ``SCHEDULER_TIMEOUT_SECONDS`` (a number of seconds)."""

SCHEDULER_TIMEOUT_SECONDS = 10.0
"""Seconds to reach a Dask scheduler (or to win it back after losing it) before giving up."""

POOL_RESTARTS = 2
"""Fresh local pools started after worker processes die, before a run gives up (resumable)."""

PARENT_POLL_SECONDS = 0.5
"""How often a local worker process checks that the run that started it is still alive."""
