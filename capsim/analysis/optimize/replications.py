"""Per-replication KPIs of the strategies a study has run, kept so that none is run twice.

A strategy's replications ``0..k-1`` are stored in one Parquet file named by the hash of its
resolved scenario (lever values and seed included, the replication count left out). Because
replication ``r`` is the same whatever the batch, asking for ``2k`` replications later runs only
``k..2k-1``; a strategy the search proposes again reuses what is stored; an interrupted study
keeps every batch it finished. Batches run as chunks on the runs executors.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from capsim.analysis.experiment import FINAL_YEAR_KPI
from capsim.errors import OutputError
from capsim.runs.bookkeeping import scenario_sha256
from capsim.runs.executors import Chunk, Executor
from capsim.scenario.loader import scenario_to_data
from capsim.scenario.schema import Scenario

#: Characters of the scenario hash that name a strategy's file.
KEY_CHARS = 16


def strategy_key(scenario: Scenario) -> str:
    """The name of a strategy's replications: its resolved scenario's hash, count left out."""
    data = scenario_to_data(scenario)
    data.pop("replications", None)
    return scenario_sha256(data)[:KEY_CHARS]


def with_final_year(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPIs plus the final-year shortfall flag (as ``experiment.kpi_table`` adds it)."""
    years = sorted(c for c in kpis.columns if c.startswith("shortfall_in_"))
    kpis[FINAL_YEAR_KPI] = kpis[years[-1]] if years else math.nan
    return kpis


def split_range(first: int, stop: int, parts: int) -> list[Chunk]:
    """Replications ``first..stop-1`` as at most ``parts`` contiguous chunks of near-equal size."""
    count = stop - first
    parts = max(1, min(parts, count))
    size = math.ceil(count / parts)
    return [
        Chunk(i, start, min(start + size, stop)) for i, start in enumerate(range(first, stop, size))
    ]


@dataclass
class ReplicationStore:
    """The stored replications of every strategy under ``directory``, and the executor to add more.

    ``simulated`` counts the replications this store has run (not those it read back).
    """

    directory: Path
    executor: Executor
    simulated: int = 0
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict)

    def stored(self, key: str) -> pd.DataFrame:
        """The replications stored for ``key`` (an empty table when none)."""
        if key not in self._cache:
            path = self.directory / f"{key}.parquet"
            self._cache[key] = pd.read_parquet(path) if path.exists() else pd.DataFrame()
        return self._cache[key]

    def kpis(self, scenario: Scenario, replications: int) -> pd.DataFrame:
        """Replications ``0..replications-1`` of ``scenario``, running only those not stored."""
        key = strategy_key(scenario)
        have = self.stored(key)
        if len(have) < replications:
            chunks = split_range(len(have), replications, max(1, self.executor.workers))
            tables = [r.tables["kpis"] for r in self.executor.run(scenario, chunks)]
            grown = pd.concat([have, *tables], ignore_index=True) if len(have) else None
            if grown is None:
                grown = pd.concat(tables, ignore_index=True)
            grown = grown.sort_values("replication", kind="stable").reset_index(drop=True)
            self._write(key, grown)
            self.simulated += replications - len(have)
            self._cache[key] = grown
            have = grown
        return with_final_year(have.iloc[:replications].copy())

    def total(self) -> int:
        """Replications stored over every strategy (each was run exactly once)."""
        return sum(len(pd.read_parquet(p, columns=["replication"])) for p in self._files())

    def _files(self) -> list[Path]:
        """The stored strategies' files."""
        return sorted(self.directory.glob("*.parquet"))

    def _write(self, key: str, table: pd.DataFrame) -> None:
        """Replace a strategy's file atomically (a temporary name, then rename)."""
        path = self.directory / f"{key}.parquet"
        temporary = path.with_name(f".{path.name}.tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            table.to_parquet(temporary, index=False)
            os.replace(temporary, path)
        except OSError as exc:
            raise OutputError(f"cannot write {self.directory}: {exc.strerror or exc}") from exc
