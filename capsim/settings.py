"""Defaults shared by the command line and the library, kept import-free so ``--help`` is fast."""

DEFAULT_CHUNK_SIZE = 25
"""Replications per chunk: the unit of work, of streaming (one Parquet part) and of resuming."""

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
"""Environment variable naming a Dask scheduler to run on when ``--scheduler`` is not given."""
