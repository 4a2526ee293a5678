"""The run directory: staging, Parquet parts with checksums, resume, atomic publish.

A run is written into ``.<name>.partial`` beside its destination: the resolved scenario first,
then one Parquet part per chunk and table (``timeseries.parquet/part-00003.parquet``), each
recorded with its SHA-256 in ``progress.json`` only once it is whole on disk. The manifest is
written last and the directory renamed into place, so a failed, interrupted or killed run never
looks complete and never replaces an earlier run; ``--resume`` picks up the staging directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from capsim.errors import OutputError, UsageError

MANIFEST = "manifest.json"
PROGRESS = "progress.json"
SCENARIO = "scenario.yaml"
_SAFE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def scenario_sha256(data: dict[str, Any]) -> str:
    """SHA-256 of the resolved scenario's canonical JSON (key order and spacing fixed)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_run_dir(results_root: Path, scenario_name: str, stamp: str) -> Path:
    """``results/<scenario>-<timestamp>``; the name is checked so it cannot leave the root."""
    if not _SAFE.fullmatch(scenario_name):
        raise OutputError(f"scenario name {scenario_name!r} cannot be used in a directory name")
    return results_root / f"{scenario_name}-{stamp}"


def staging_dir(destination: Path) -> Path:
    """Where a run to ``destination`` is staged (and where an interrupted one waits)."""
    return destination.parent / f".{destination.name}.partial"


class RunWriter:
    """Stages a run directory, records finished parts, and publishes it atomically."""

    def __init__(self, destination: Path, force: bool = False, resume: bool = False) -> None:
        self.destination = destination
        self.staging = staging_dir(destination)
        if resume:
            if not (self.staging / PROGRESS).is_file():
                raise UsageError(f"no interrupted run to resume at {destination}")
            self.progress = _read_json(self.staging / PROGRESS)
            return
        if destination.exists() and not force:
            raise OutputError(
                f"{destination} already exists; choose another --output "
                "or pass --force to replace it"
            )
        if self.staging.exists() and not (self.staging / PROGRESS).is_file():
            force = True  # killed before its plan was saved: nothing in it can be resumed
        if self.staging.exists() and not force:
            raise OutputError(
                f"an interrupted run is waiting at {destination}; resume it with "
                f"'capsim run --resume {destination}', or pass --force to start over"
            )
        try:
            if self.staging.exists():
                shutil.rmtree(self.staging)
            (self.staging / "charts").mkdir(parents=True)
        except OSError as exc:
            raise OutputError(
                f"cannot write results under {destination.parent}: {exc.strerror or exc}"
            ) from exc
        self.progress = {"chunks": {}}

    def path(self, name: str) -> Path:
        """Where a file of the run goes while staging."""
        return self.staging / name

    def start(self, scenario_data: dict[str, Any], plan: dict[str, Any]) -> None:
        """Record the resolved scenario and the chunk plan before any work is done."""
        self.write_text(SCENARIO, yaml.safe_dump(scenario_data, sort_keys=False,
                                                 allow_unicode=True))
        self.progress = {**plan, "chunks": {}}
        self._save_progress()

    def write_part(self, table: str, chunk: int, frame: pd.DataFrame) -> dict[str, str]:
        """Write one chunk's rows of one table; returns its relative path and checksum."""
        relative = f"{table}.parquet/part-{chunk:05d}.parquet"
        target = self.staging / relative
        temporary = target.with_name(f".{target.name}.tmp")

        def write() -> None:
            target.parent.mkdir(exist_ok=True)
            frame.to_parquet(temporary, index=False)
            os.replace(temporary, target)

        self._guard(write)
        return {"path": relative, "sha256": file_sha256(target)}

    def record_chunk(self, chunk: int, parts: dict[str, dict[str, str]], events: int) -> None:
        """Mark a chunk done once every part of it is on disk."""
        self.progress["chunks"][str(chunk)] = {"events": events, "parts": parts}
        self._save_progress()

    def forget_chunk(self, chunk: int) -> None:
        """Drop a chunk (e.g. a damaged part) so that it is computed again."""
        self.progress["chunks"].pop(str(chunk), None)
        self._save_progress()

    def remove_unrecorded_parts(self) -> list[Path]:
        """Delete part files of chunks not recorded as done (a kill between a chunk's parts).

        Summaries read every part in a table folder, so a stray part would count its
        replications twice once the chunk is recomputed, or count a chunk the run dropped.
        """
        recorded = {
            part["path"] for entry in self.progress["chunks"].values()
            for part in entry["parts"].values()
        }
        stray = [
            path for path in sorted(self.staging.glob("*.parquet/part-*.parquet"))
            if path.relative_to(self.staging).as_posix() not in recorded
        ]
        for path in stray:
            self.guard(path.unlink)
        return stray

    def damaged_chunks(self) -> list[int]:
        """Chunks whose recorded parts are missing or do not match their checksums."""
        damaged = []
        for key, entry in self.progress["chunks"].items():
            for part in entry["parts"].values():
                path = self.staging / part["path"]
                if not path.is_file() or file_sha256(path) != part["sha256"]:
                    damaged.append(int(key))
                    break
        return sorted(damaged)

    def write_json(self, name: str, data: Any) -> None:
        """Write one JSON file, pretty-printed, NaN and infinities written as null."""
        text = json.dumps(_clean(data), indent=2, sort_keys=False)
        self.write_text(name, text + "\n")

    def write_text(self, name: str, text: str) -> None:
        """Write one text file atomically."""
        target = self.path(name)
        temporary = target.with_name(f".{target.name}.tmp")

        def write() -> None:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, target)

        self._guard(write)

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
        # progress.json goes only after the rename: a kill just before it leaves a resumable
        # staging directory, never a finished run that neither resume nor a new run will touch
        (self.destination / PROGRESS).unlink(missing_ok=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.destination

    def discard(self) -> None:
        """Remove the staging directory after a failure that cannot be resumed."""
        shutil.rmtree(self.staging, ignore_errors=True)

    def _save_progress(self) -> None:
        self.write_json(PROGRESS, self.progress)

    def _guard(self, write: Callable[[], object]) -> None:
        self.guard(write)

    def guard(self, write: Callable[[], object]) -> None:
        """Run a write into the staging directory; an OSError becomes an OutputError (exit 3)."""
        try:
            write()
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.staging}: {exc.strerror or exc} (disk full or unwritable?)"
            ) from exc


def reopen_complete_run(destination: Path) -> bool:
    """Turn a complete run with damaged parts back into a resumable staging directory.

    Returns True when there was something to repair; a complete, intact run is left alone.
    """
    manifest = read_manifest(destination)
    broken = False
    for part in manifest.get("parts", []):
        path = destination / part["path"]
        if not path.is_file() or file_sha256(path) != part["sha256"]:
            broken = True
            break
    if not broken:
        return False
    chunks: dict[str, Any] = {}
    for part in manifest["parts"]:
        entry = chunks.setdefault(str(part["chunk"]), {"events": part["events"], "parts": {}})
        entry["parts"][part["table"]] = {"path": part["path"], "sha256": part["sha256"]}
    progress = {**manifest["plan"], "chunks": chunks}
    staging = staging_dir(destination)
    destination.rename(staging)
    (staging / MANIFEST).unlink()
    (staging / PROGRESS).write_text(json.dumps(progress, indent=2), encoding="utf-8")
    return True


def _clean(value: Any) -> Any:
    """Make data strict-JSON safe: NaN and infinities become null."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _read_json(path: Path) -> dict[str, Any]:
    """Read a bookkeeping file of a run; a damaged one is a clear error, not a traceback."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}; the run directory is damaged") from None
    if not isinstance(data, dict):
        raise UsageError(f"cannot read {path}: not a JSON object; the run directory is damaged")
    return data


def read_summary(run_dir: Path) -> dict[str, Any]:
    """The summary.json of a complete run directory (its KPIs with quantiles)."""
    return _read_json(run_dir / "summary.json")


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of a complete run directory."""
    path = run_dir / MANIFEST
    if not path.is_file():
        raise UsageError(f"{run_dir} is not a complete capsim run (no {MANIFEST})")
    return _read_json(path)
