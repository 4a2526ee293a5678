"""A published run directory, opened once: its bookkeeping, its scenario, its tables, its calendar.

``RunDir(path)`` checks that ``path`` is a complete capsim run and reads its manifest, summary
and resolved scenario (a typed ``Scenario``) once; every reader of a finished run (the API, the
report, comparisons, calibration) takes a ``RunDir`` instead of parsing files itself.
``read_parquet`` is the one place a run's Parquet tables are read, for published runs and for
the staging directory a run summarises before it is published.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from capsim.errors import ScenarioError, UsageError
from capsim.runs.bookkeeping import (
    SCENARIO,
    check_run_dir,
    read_manifest,
    read_summary,
    verify_parts,
)
from capsim.runs.tables import month_end_dates
from capsim.scenario.schema import Scenario

#: The Parquet tables of a run directory.
RUN_TABLES = (
    "timeseries",
    "regions",
    "deals",
    "queue",
    "equipment",
    "headroom",
    "kpis",
    "milestones",
)
#: A row filter as pyarrow takes it: ``[("applicant", "==", "own")]``.
Filters = list[tuple[str, str, Any]]


def read_parquet(
    path: Path, columns: list[str] | None = None, filters: Filters | None = None
) -> pd.DataFrame:
    """A table folder (all its parts, in chunk order) or one part file: some columns or rows.

    The single reader of run tables, so every table is read the same way whoever asks.
    """
    return pd.read_parquet(path, columns=columns, filters=filters)


def parquet_columns(path: Path) -> list[str]:
    """Column names of a table folder (from its first part) or of one part file."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    first = sorted(path.glob("part-*.parquet"))[0] if path.is_dir() else path
    return list(pq.read_schema(first).names)


def read_table(
    directory: Path,
    name: str,
    columns: list[str] | None = None,
    filters: Filters | None = None,
) -> pd.DataFrame:
    """Table ``name`` of a run or staging directory, optionally only some columns or rows."""
    return read_parquet(directory / f"{name}.parquet", columns, filters)


def load_run_scenario(run_dir: Path) -> Scenario:
    """The typed scenario a run stored; a damaged copy is a UsageError naming the run."""
    from capsim.scenario.loader import load_stored_scenario

    path = run_dir / SCENARIO
    try:
        return load_stored_scenario(path)
    except ScenarioError as exc:
        detail = exc.messages()[0]
    except OSError as exc:
        detail = str(exc.strerror or exc)
    raise UsageError(f"cannot read {path}: {detail}; the run directory is damaged")


T = TypeVar("T")


class RunDir:
    """A complete run directory, checked and read once; tables are read on demand."""

    def __init__(self, path: str | Path) -> None:
        """Open the run at ``path``: check it is complete, read manifest, summary and scenario.

        A directory that is not a run, or a damaged manifest, summary or scenario, is a
        UsageError; the parts' checksums are checked only by ``verify``.
        """
        self._path = check_run_dir(Path(path))
        self._manifest = read_manifest(self._path)
        self._summary = read_summary(self._path)
        self._scenario = load_run_scenario(self._path)

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """``RunDir(path)``, for readers that prefer a named constructor."""
        return cls(path)

    def __repr__(self) -> str:
        """``RunDir('results/minimal-...')``."""
        return f"RunDir({str(self._path)!r})"

    @property
    def path(self) -> Path:
        """The run directory."""
        return self._path

    def computed(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked of this open run, the same value after.

        A chart, its takeaway and the documents need some of the same tables; this makes each
        one computation (and one reading of its columns) per open run.
        """
        cache: dict[Hashable, Any] = self.__dict__.setdefault("_computed", {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        """The directory's name (tells apart runs of the same scenario)."""
        return self._path.name

    @property
    def manifest(self) -> dict[str, Any]:
        """manifest.json, checked: scenario, seed, replications, version, timing, parts."""
        return self._manifest

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json, checked: KPIs with mean/P10/P50/P90, shortfall probability by year."""
        return self._summary

    @property
    def scenario(self) -> Scenario:
        """The resolved scenario that ran (scenario.yaml), validated."""
        return self._scenario

    @property
    def replications(self) -> int:
        """Replications in the run (from the manifest)."""
        return int(self._manifest["replications"])

    @property
    def seed(self) -> int:
        """The run's seed (from the manifest)."""
        return int(self._manifest["seed"])

    def verify(self) -> dict[str, Any]:
        """Check every part against its checksum (none missing, none unlisted); the manifest."""
        verify_parts(self._path, self._manifest)
        return self._manifest

    def table(
        self, name: str, columns: list[str] | None = None, filters: Filters | None = None
    ) -> pd.DataFrame:
        """One run table (``RUN_TABLES``), only the ``columns`` and rows (``filters``) asked."""
        if name not in RUN_TABLES:
            expected = ", ".join(RUN_TABLES)
            raise UsageError(f"no table {name!r} in a run (expected one of: {expected})")
        return read_table(self._path, name, columns, filters)

    # --- the calendar ----------------------------------------------------------------------------

    @property
    def start(self) -> pd.Period:
        """The first simulated calendar month."""
        return pd.Period(self._scenario.start, freq="M")

    @property
    def end(self) -> pd.Period:
        """The last simulated calendar month (inclusive)."""
        return pd.Period(self._scenario.end, freq="M")

    @property
    def horizon_months(self) -> int:
        """Simulated months, start and end included."""
        return self._scenario.horizon_months

    def month_end(self, months: Iterable[float]) -> pd.DatetimeIndex:
        """Model months (1 = the start month, fractions truncated) -> their month-end dates.

        The dates are those the run's tables carry (``tables.month_end_dates``).
        """
        numbers = np.asarray(list(months), dtype=float).astype(int)
        if numbers.size == 0:
            return pd.DatetimeIndex([], dtype="datetime64[ns]")
        if numbers.min() < 1:
            raise ValueError(f"model months start at 1; found {numbers.min()}")
        return month_end_dates(self._scenario.start, int(numbers.max()))[numbers - 1]

    def month_label(self, month: float) -> str:
        """A model month (from the start, fractions rounded up) as ``Mon YYYY`` of its month end."""
        return (self.start + max(0, math.ceil(month) - 1)).strftime("%b %Y")
