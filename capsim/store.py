"""The run directory: atomic writes, the manifest, Parquet tables and the resolved scenario.

A run is written into a hidden staging directory beside its destination and renamed into place
only when every file is there, so a failed or interrupted run never looks complete and never
replaces an earlier run (unless ``--force`` was given, and then only once the new run is whole).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from capsim.errors import OutputError

MANIFEST = "manifest.json"
SCENARIO = "scenario.yaml"
_SAFE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def scenario_sha256(data: dict[str, Any]) -> str:
    """SHA-256 of the resolved scenario's canonical JSON (key order and spacing fixed)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_run_dir(results_root: Path, scenario_name: str, stamp: str) -> Path:
    """``results/<scenario>-<timestamp>``; the name is checked so it cannot leave the root."""
    if not _SAFE.match(scenario_name):
        raise OutputError(f"scenario name {scenario_name!r} cannot be used in a directory name")
    return results_root / f"{scenario_name}-{stamp}"


class RunWriter:
    """Stages a run directory and publishes it atomically."""

    def __init__(self, destination: Path, force: bool = False) -> None:
        self.destination = destination
        self.force = force
        if destination.exists() and not force:
            raise OutputError(
                f"{destination} already exists; choose another --output "
                "or pass --force to replace it"
            )
        parent = destination.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.staging = parent / f".{destination.name}.partial-{os.getpid()}"
            if self.staging.exists():
                shutil.rmtree(self.staging)
            (self.staging / "charts").mkdir(parents=True)
        except OSError as exc:
            raise OutputError(
                f"cannot write results under {parent}: {exc.strerror or exc}"
            ) from exc

    def path(self, name: str) -> Path:
        """Where a file of the run goes while staging."""
        return self.staging / name

    def write_table(self, name: str, table: pd.DataFrame) -> None:
        """Write one Parquet table (``name`` without extension)."""
        self._guard(lambda: table.to_parquet(self.path(f"{name}.parquet"), index=False))

    def write_json(self, name: str, data: Any) -> None:
        """Write one JSON file, pretty-printed, NaN written as null."""
        text = json.dumps(_clean(data), indent=2, sort_keys=False)
        self._guard(lambda: self.path(name).write_text(text + "\n", encoding="utf-8"))

    def write_text(self, name: str, text: str) -> None:
        """Write one text file."""
        self._guard(lambda: self.path(name).write_text(text, encoding="utf-8"))

    def write_scenario(self, data: dict[str, Any]) -> None:
        """The resolved scenario as YAML."""
        self.write_text(SCENARIO, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))

    def publish(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest last, then move the run into place."""
        self.write_json(MANIFEST, manifest)
        old: Path | None = None
        try:
            if self.destination.exists():
                old = self.destination.with_name(f".{self.destination.name}.old-{os.getpid()}")
                self.destination.rename(old)
            self.staging.rename(self.destination)
        except OSError as exc:
            if old is not None and not self.destination.exists():
                old.rename(self.destination)
            raise OutputError(f"cannot publish {self.destination}: {exc.strerror or exc}") from exc
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.destination

    def discard(self) -> None:
        """Remove the staging directory after a failure."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def _guard(self, write: Any) -> None:
        try:
            write()
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.staging}: {exc.strerror or exc} (disk full or unwritable?)"
            ) from exc


def _clean(value: Any) -> Any:
    """Make data strict-JSON safe: NaN and infinities become null."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of a complete run directory."""
    path = run_dir / MANIFEST
    if not path.is_file():
        raise OutputError(f"{run_dir} is not a complete capsim run (no {MANIFEST})")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
