"""Writing a run directory: where it goes, staging, Parquet parts, resume, atomic publish.

A run is written into ``.<name>.partial`` beside its destination: the resolved scenario first,
then one Parquet part per chunk and table (``timeseries.parquet/part-00003.parquet``), each
recorded with its SHA-256 in ``progress.json`` only once it is whole on disk. The manifest is
written last and the directory renamed into place, so a failed, interrupted or killed run never
looks complete and never replaces an earlier run; ``--resume`` picks up the staging directory.

The writer holds the directory's lock (``locks``) from start to publish; the bookkeeping files
and their checks (``bookkeeping``) are shared with the readers of a finished run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from capsim.errors import OutputError, UsageError
from capsim.runs.bookkeeping import (
    MANIFEST,
    PROGRESS,
    SCENARIO,
    file_sha256,
    part_path,
    progress_from_manifest,
    read_progress,
    resolved_scenario_text,
    table_files,
)
from capsim.runs.locks import RunLock, absolute, current_directory, lock_run_dir, try_lock_run_dir

_SAFE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
#: Attempts at a default run directory name (``<name>-<stamp>``, then ``-2``, ``-3``...).
NAME_ATTEMPTS = 100


def default_run_dir(results_root: Path, scenario_name: str, stamp: str) -> Path:
    """``results/<scenario>-<timestamp>``; the name is checked so it cannot leave the root."""
    if not _SAFE.fullmatch(scenario_name):
        raise OutputError(f"scenario name {scenario_name!r} cannot be used in a directory name")
    return results_root / f"{scenario_name}-{stamp}"


def staging_dir(destination: Path) -> Path:
    """Where a run to ``destination`` is staged (and where an interrupted one waits)."""
    return destination.parent / f".{destination.name}.partial"


# --- paths and locks -----------------------------------------------------------------------------


def _both_forms(path: Path) -> set[Path]:
    """A path as written (absolute) and with symlinks resolved: either may be how it is met."""
    written = absolute(path)
    return {written, written.resolve()}


def check_output_location(destination: Path, inputs: Sequence[Path] = ()) -> None:
    """Refuse an output that is, contains or lies inside the working directory or an input.

    An output directory is replaced whole (``--force``), so such an output would delete the
    working directory, a scenario file or an input run. Exit code 3, nothing touched.
    """
    targets = _both_forms(destination)
    if any(target.parent == target for target in targets):
        raise OutputError(f"{destination} cannot be an output directory (it is a root)")
    here = _both_forms(current_directory())
    if any(h == t or h.is_relative_to(t) for h in here for t in targets):
        raise OutputError(
            f"the output {destination} is the current directory or one of its parents; "
            "choose a new directory for the output"
        )
    for given in inputs:
        for source in _both_forms(Path(given)):
            for target in targets:
                if source == target:
                    relation = "is"
                elif source.is_relative_to(target):
                    relation = "contains"
                elif target.is_relative_to(source):
                    relation = "lies inside"
                else:
                    continue
                raise OutputError(
                    f"the output {destination} {relation} the input {given}; writing it would "
                    "replace that input. Choose an output directory apart from the inputs"
                )


def claim_run_dir(results_root: Path, scenario_name: str, stamp: str) -> tuple[Path, RunLock]:
    """A new default run directory, already locked: ``<name>-<stamp>``, else ``-2``, ``-3``...

    Runs started in the same second (in parallel, or one after another) get directories of
    their own instead of colliding.
    """
    for attempt in range(1, NAME_ATTEMPTS + 1):
        suffix = stamp if attempt == 1 else f"{stamp}-{attempt}"
        candidate = default_run_dir(results_root, scenario_name, suffix)
        lock = try_lock_run_dir(candidate)
        if lock is None:
            continue
        if candidate.exists() or candidate.is_symlink() or staging_dir(candidate).exists():
            lock.release()
            continue
        return candidate, lock
    raise OutputError(
        f"no free run directory for {scenario_name}-{stamp} under {results_root}; pass -o DIR"
    )


# --- bookkeeping files and their checks ----------------------------------------------------------


# --- the writer ----------------------------------------------------------------------------------


class RunWriter:
    """Stages a run directory, records finished parts, and publishes it atomically.

    It holds the directory's lock from construction until ``release`` (a lock passed in is
    taken over); a construction that fails releases it.
    """

    def __init__(
        self,
        destination: Path,
        force: bool = False,
        resume: bool = False,
        lock: RunLock | None = None,
        inputs: Sequence[Path] = (),
    ) -> None:
        self.destination = destination
        self.staging = staging_dir(destination)
        self.progress: dict[str, Any] = {"chunks": {}}
        try:
            if not resume:
                check_output_location(destination, inputs)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        self.lock = lock or lock_run_dir(destination, create_parent=not resume)
        try:
            self._prepare(force, resume)
        except BaseException:
            self.release()
            raise

    def _prepare(self, force: bool, resume: bool) -> None:
        """Pick up the staging directory (resume), or make a fresh one where it is allowed."""
        destination = self.destination
        if resume:
            if not (self.staging / PROGRESS).is_file():
                raise UsageError(f"no interrupted run to resume at {destination}")
            self.progress = read_progress(self.staging / PROGRESS)
            return
        if (destination.exists() or destination.is_symlink()) and not force:
            raise OutputError(
                f"{destination} already exists; choose another --output "
                "or pass --force to replace it"
            )
        if self.staging.exists() and not _holds_work(self.staging):
            force = True  # killed before a chunk was saved: nothing in it is worth keeping
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

    @classmethod
    def repair(cls, destination: Path, manifest: dict[str, Any], lock: RunLock) -> RunWriter:
        """A writer that repairs a complete run in a copy; the run stays in place until publish.

        The copy hard-links the parts and the scenario (files the repair only ever replaces or
        removes, never rewrites in place) and copies the rest, so it costs little disk.
        """
        staging = staging_dir(destination)
        try:
            if staging.exists():
                shutil.rmtree(staging)  # a copy killed before its plan was saved
            shutil.copytree(
                destination,
                staging,
                copy_function=_link_or_copy,
                ignore=shutil.ignore_patterns(MANIFEST, PROGRESS),
            )
            progress = json.dumps(progress_from_manifest(manifest), indent=2)
            temporary = staging / f".{PROGRESS}.tmp"
            temporary.write_text(progress + "\n", encoding="utf-8")
            os.replace(temporary, staging / PROGRESS)  # last: only a whole copy is resumable
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            lock.release()
            raise OutputError(
                f"cannot write {staging}: {exc.strerror or exc} (disk full or unwritable?)"
            ) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            lock.release()
            raise
        return cls(destination, resume=True, lock=lock)

    def path(self, name: str) -> Path:
        """Where a file of the run goes while staging."""
        return self.staging / name

    def start(self, scenario_data: dict[str, Any], plan: dict[str, Any]) -> None:
        """Record the resolved scenario and the chunk plan before any work is done."""
        self.write_text(SCENARIO, resolved_scenario_text(scenario_data))
        self.progress = {**plan, "chunks": {}}
        self._save_progress()

    def write_part(self, table: str, chunk: int, frame: pd.DataFrame) -> dict[str, str]:
        """Write one chunk's rows of one table; returns its relative path and checksum."""
        relative = part_path(table, chunk)
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
            part["path"]
            for entry in self.progress["chunks"].values()
            for part in entry["parts"].values()
        }
        stray = [
            path
            for path in table_files(self.staging)
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
            if self.destination.exists() or self.destination.is_symlink():
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

    def release(self) -> None:
        """Give up the directory's lock (after publish, discard or a failure); safe twice."""
        self.lock.release()

    def _save_progress(self) -> None:
        """Write progress.json (atomically)."""
        self.write_json(PROGRESS, self.progress)

    def _guard(self, write: Callable[[], object]) -> None:
        """``guard`` (kept for the writers above)."""
        self.guard(write)

    def guard(self, write: Callable[[], object]) -> None:
        """Run a write into the staging directory; an OSError becomes an OutputError (exit 3)."""
        try:
            write()
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.staging}: {exc.strerror or exc} (disk full or unwritable?)"
            ) from exc


def _holds_work(staging: Path) -> bool:
    """True when a staging directory records finished chunks (or cannot be read to tell)."""
    path = staging / PROGRESS
    if not path.is_file():
        return False  # killed before its plan was saved
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return True
    return not (isinstance(data, dict) and data.get("chunks") == {})


def _link_or_copy(source: str, target: str) -> object:
    """Hard-link a part or the scenario into a repair copy; copy every other file."""
    name = os.path.basename(source)
    linkable = name == SCENARIO or os.path.basename(os.path.dirname(source)).endswith(".parquet")
    if linkable:
        try:
            os.link(source, target)
            return target
        except OSError:
            pass  # a file system without hard links: copy
    return shutil.copy2(source, target)


def _clean(value: Any) -> Any:
    """Make data strict-JSON safe: NaN and infinities become null."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
