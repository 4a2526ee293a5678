"""The run directory: staging, Parquet parts with checksums, locks, resume, atomic publish.

A run is written into ``.<name>.partial`` beside its destination: the resolved scenario first,
then one Parquet part per chunk and table (``timeseries.parquet/part-00003.parquet``), each
recorded with its SHA-256 in ``progress.json`` only once it is whole on disk. The manifest is
written last and the directory renamed into place, so a failed, interrupted or killed run never
looks complete and never replaces an earlier run; ``--resume`` picks up the staging directory.

Every writer (run, resume, report, compare, experiment) first takes an exclusive lock on
``.<name>.lock`` beside the directory it writes, and keeps it until it is done; a second writer
to the same place is refused at once, naming the holder's PID, before it touches anything.
Readers of a finished run (compare's inputs) take the same lock shared. Before documents are
drawn from a finished run, ``verify_run`` checks its manifest and every part's checksum.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import yaml

from capsim.errors import OutputError, UsageError

MANIFEST = "manifest.json"
PROGRESS = "progress.json"
SCENARIO = "scenario.yaml"
SUMMARY = "summary.json"
_SAFE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TABLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Attempts at a default run directory name (``<name>-<stamp>``, then ``-2``, ``-3``...).
NAME_ATTEMPTS = 100
#: Attempts at opening a lock file that another process is removing at the same moment.
LOCK_ATTEMPTS = 50
#: Damaged parts named in full in an error message (the rest are counted).
SHOWN_PROBLEMS = 5


def scenario_sha256(data: dict[str, Any]) -> str:
    """SHA-256 of the resolved scenario's canonical JSON (key order and spacing fixed)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolved_scenario_text(data: dict[str, Any]) -> str:
    """The YAML text of a resolved scenario, as stored in a run's ``scenario.yaml``.

    The single place where a resolved scenario becomes YAML (runs and ``capsim show``); text that
    could read as a number is quoted, so the stored copy always loads again.
    """
    from capsim.scenario.yamlio import dump_scenario_text

    return dump_scenario_text(data)


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


# --- paths and locks -----------------------------------------------------------------------------


def current_directory() -> Path:
    """The working directory; a clear error if it was deleted, since relative paths then fail."""
    try:
        return Path(os.getcwd())
    except FileNotFoundError:
        raise OutputError(
            "the current directory no longer exists (it was deleted or moved); change to an "
            "existing directory and run the command again"
        ) from None


def absolute(path: Path) -> Path:
    """``path`` made absolute with ``.`` and ``..`` folded, symlinks left as they are."""
    return Path(os.path.normpath(current_directory() / path))


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


#: A refused process reads the holder's PID up to this many more times, this far apart: the
#: holder writes it just after taking the lock, so a refusal in between would name nobody.
HOLDER_READS = 40
HOLDER_READ_PAUSE_SECONDS = 0.005


def lock_file(destination: Path) -> Path:
    """The lock file of a run or output directory: ``<parent>/.<name>.lock``."""
    target = absolute(destination)
    if not target.name:
        raise OutputError(f"{destination} cannot be an output directory (it is a root)")
    return target.parent.resolve() / f".{target.name}.lock"


class RunLock:
    """An ``flock`` on a directory's lock file: exclusive for writers, shared for readers.

    The holder's PID is written into the file so that a refused process can name it. The lock
    file is removed on release by whoever can take it exclusively; a process that opened the
    file just before it was removed notices (the path no longer names its file) and retries.
    """

    def __init__(self, path: Path | None, descriptor: int | None, shared: bool) -> None:
        self.path = path
        self._descriptor = descriptor
        self.shared = shared

    def release(self) -> None:
        """Give the lock up and remove its file (when no other holder remains); safe twice."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is None or self.path is None:
            return
        try:
            exclusive = not self.shared or _flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if exclusive and _names_file(self.path, descriptor):
                self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a lock file left behind is harmless: nobody holds it
        finally:
            os.close(descriptor)

    def __enter__(self) -> RunLock:
        """Use as ``with lock_run_dir(path):``."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Release on leaving the block, whatever happened in it."""
        self.release()


def _flock(descriptor: int, operation: int) -> bool:
    """``flock`` that answers False instead of raising when another process holds the lock."""
    try:
        fcntl.flock(descriptor, operation)
    except BlockingIOError:
        return False
    return True


def _names_file(path: Path, descriptor: int) -> bool:
    """True when ``path`` still names the open file ``descriptor`` (it was not removed)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


def _holder(descriptor: int) -> str:
    """The PID recorded in a lock file, as text for a message ('' when none is recorded)."""
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


def try_lock_run_dir(
    destination: Path, *, shared: bool = False, create_parent: bool = True
) -> RunLock | None:
    """Take the lock of ``destination`` at once, or None if another process holds it."""
    lock, _ = _attempt_lock(destination, shared, create_parent)
    return lock


def lock_run_dir(destination: Path, *, shared: bool = False, create_parent: bool = True) -> RunLock:
    """Take the lock of ``destination`` at once, or refuse (exit 3) naming the holder's PID.

    Writers take it exclusively, readers shared. ``create_parent`` makes the parent folder
    first (a new run's ``results/``). A reader of a folder it may not write still reads it.
    """
    lock, holder = _attempt_lock(destination, shared, create_parent)
    if lock is None:
        who = f"another capsim process (PID {holder})" if holder else "another capsim process"
        raise OutputError(
            f"{destination} is in use by {who}; wait for it to finish (or stop it) and try "
            "again. Nothing was changed"
        )
    return lock


def _attempt_lock(
    destination: Path, shared: bool, create_parent: bool
) -> tuple[RunLock | None, str]:
    """One non-blocking try at the lock; (the lock, '') or (None, the holder's PID)."""
    path = lock_file(destination)
    try:
        if create_parent:
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot write results under {destination.parent}: {exc.strerror or exc}"
        ) from exc
    for _ in range(LOCK_ATTEMPTS):
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if shared and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return RunLock(None, None, shared=True), ""  # nobody can write there either
            raise OutputError(
                f"cannot write results under {destination.parent}: {exc.strerror or exc}"
            ) from exc
        operation = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        if not _flock(descriptor, operation):
            holder = _holder(descriptor)
            for _ in range(HOLDER_READS):  # the holder writes its PID just after locking
                if holder:
                    break
                time.sleep(HOLDER_READ_PAUSE_SECONDS)
                holder = _holder(descriptor)
            os.close(descriptor)
            return None, holder
        if not _names_file(path, descriptor):
            os.close(descriptor)  # its holder removed it as we opened it: take the new one
            continue
        try:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass  # the PID only makes a refusal more helpful
        return RunLock(path, descriptor, shared), ""
    raise OutputError(f"cannot lock {destination}: its lock file keeps changing")


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


class _DamagedError(Exception):
    """A bookkeeping file's contents are wrong (turned into a UsageError naming the file)."""


def _need(data: dict[str, Any], key: str, kinds: tuple[type, ...], optional: bool = False) -> Any:
    """``data[key]`` if it has one of ``kinds`` (never a bool for numbers); else _DamagedError."""
    if key not in data:
        if optional:
            return None
        raise _DamagedError(f"missing {key!r}")
    value = data[key]
    if optional and value is None:
        return None
    wrong_bool = isinstance(value, bool) and bool not in kinds
    if wrong_bool or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise _DamagedError(f"{key!r} should be {names}, found {type(value).__name__}")
    return value


def _need_count(data: dict[str, Any], key: str, minimum: int) -> int:
    """A whole number at least ``minimum``."""
    value: int = _need(data, key, (int,))
    if value < minimum:
        raise _DamagedError(f"{key!r} should be at least {minimum}, found {value}")
    return value


def _need_sha(data: dict[str, Any], key: str) -> str:
    """A SHA-256 in hex."""
    value: str = _need(data, key, (str,))
    if not _SHA256.fullmatch(value):
        raise _DamagedError(f"{key!r} is not a SHA-256 checksum")
    return value


def part_path(table: str, chunk: int) -> str:
    """Where a chunk's part of a table lives inside a run directory."""
    return f"{table}.parquet/part-{chunk:05d}.parquet"


def _check_part(table: str, chunk: int, part: Any) -> None:
    """One recorded part: a known table name, its own chunk's path, a checksum."""
    if not isinstance(part, dict):
        raise _DamagedError(f"part {table!r} of chunk {chunk} is not an object")
    if not _TABLE.fullmatch(table):
        raise _DamagedError(f"{table!r} is not a table name")
    if _need(part, "path", (str,)) != part_path(table, chunk):
        raise _DamagedError(f"part {table!r} of chunk {chunk} has the wrong path {part['path']!r}")
    _need_sha(part, "sha256")


def _check_plan(plan: dict[str, Any]) -> int:
    """The chunk plan of a run; returns how many chunks it plans."""
    _need_sha(plan, "scenario_sha256")
    _need_count(plan, "seed", 0)
    replications = _need_count(plan, "replications", 1)
    chunk_size = _need_count(plan, "chunk_size", 1)
    tolerance = _need(plan, "until_converged", (int, float), optional=True)
    if tolerance is not None and not 0 < tolerance < float("inf"):
        raise _DamagedError(f"'until_converged' should be a positive number, found {tolerance}")
    _need(plan, "charts", (bool,), optional=True)
    _need(plan, "started", (str,))
    return -(-replications // chunk_size)


def _check_progress(data: dict[str, Any]) -> None:
    """progress.json: the plan, and for each finished chunk its events and parts."""
    planned = _check_plan(data)
    chunks = _need(data, "chunks", (dict,))
    for key, entry in chunks.items():
        if not (key.isascii() and key.isdigit() and key == str(int(key)) and int(key) < planned):
            raise _DamagedError(f"chunk {key!r} is not one of the {planned} planned chunks")
        if not isinstance(entry, dict):
            raise _DamagedError(f"chunk {key} is not an object")
        _need_count(entry, "events", 0)
        parts = _need(entry, "parts", (dict,))
        if not parts:
            raise _DamagedError(f"chunk {key} lists no parts")
        for table, part in parts.items():
            _check_part(table, int(key), part)


def _check_manifest(data: dict[str, Any]) -> None:
    """manifest.json of a complete run: what every reader of a run takes from it."""
    _need(data, "scenario", (str,))
    _need_sha(data, "scenario_sha256")
    _need_count(data, "seed", 0)
    _need_count(data, "replications", 0)
    _need_count(data, "events", 0)
    _need(data, "wall_seconds", (int, float))
    _need(data, "started", (str,))
    plan = _need(data, "plan", (dict,))
    try:
        _check_plan(plan)
    except _DamagedError as exc:
        raise _DamagedError(f"plan: {exc}") from None
    parts = _need(data, "parts", (list,))
    for part in parts:
        if not isinstance(part, dict):
            raise _DamagedError("a part is not an object")
        table = _need(part, "table", (str,))
        chunk = _need_count(part, "chunk", 0)
        _need_count(part, "events", 0)
        _check_part(table, chunk, part)


def _read_json(path: Path) -> dict[str, Any]:
    """Read a bookkeeping file of a run; a damaged one is a clear error, not a traceback."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UsageError(f"cannot read {path}: {exc}; the run directory is damaged") from None
    if not isinstance(data, dict):
        raise UsageError(f"cannot read {path}: not a JSON object; the run directory is damaged")
    return data


def _read_checked(path: Path, check: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A bookkeeping file read and checked; a UsageError names the file and what is wrong."""
    data = _read_json(path)
    try:
        check(data)
    except _DamagedError as exc:
        raise UsageError(f"cannot read {path}: {exc}; the run directory is damaged") from None
    return data


def read_progress(path: Path) -> dict[str, Any]:
    """A staging directory's progress.json, checked key by key (exit 2 if damaged)."""
    return _read_checked(path, _check_progress)


def _check_summary(data: dict[str, Any]) -> None:
    """summary.json: the KPI statistics and the shortfall probabilities every reader uses."""
    kpis = _need(data, "kpis", (dict,))
    if not all(isinstance(stats, dict) for stats in kpis.values()):
        raise _DamagedError("a KPI's statistics are not an object")
    for key in (
        "report",
        "shortfall_probability_by_year",
        "beyond_tolerance_probability_by_year",
        "served_share_by_year",
        "time_to_power",
        "criticality",
    ):
        _need(data, key, (dict,))
    _need(data, "p_dates", (list,))


def read_summary(run_dir: Path) -> dict[str, Any]:
    """The summary.json of a complete run directory (its KPIs with quantiles), checked."""
    return _read_checked(run_dir / SUMMARY, _check_summary)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest of a complete run directory, checked key by key (exit 2 if damaged)."""
    path = run_dir / MANIFEST
    if not path.is_file():
        raise UsageError(f"{run_dir} is not a complete capsim run (no {MANIFEST})")
    return _read_checked(path, _check_manifest)


def _table_files(root: Path) -> list[Path]:
    """Every file that a reader of a table folder would take as data (hidden files are not)."""
    return sorted(
        path
        for folder in root.glob("*.parquet")
        if folder.is_dir()
        for path in folder.iterdir()
        if not path.name.startswith((".", "_"))
    )


def part_problems(root: Path, parts: Sequence[dict[str, Any]]) -> list[str]:
    """Recorded parts missing or not matching their checksums, and parts nobody recorded."""
    problems = []
    listed = set()
    for part in parts:
        listed.add(part["path"])
        path = root / part["path"]
        if not path.is_file():
            problems.append(f"{part['path']} (missing)")
        elif file_sha256(path) != part["sha256"]:
            problems.append(f"{part['path']} (checksum mismatch)")
    for path in _table_files(root):
        relative = path.relative_to(root).as_posix()
        if relative not in listed:
            problems.append(f"{relative} (not listed in the manifest)")
    return problems


def _shown(problems: Sequence[str]) -> str:
    """A few problems in full, the rest counted."""
    text = ", ".join(problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return f"{text} and {more} more" if more > 0 else text


#: Files without which a directory is not a complete run (checked before anything is read).
RUN_FILES = (MANIFEST, SUMMARY, SCENARIO, "timeseries.parquet")


def _need_directory(run_dir: Path) -> None:
    """A UsageError unless ``run_dir`` is a directory (the first check of every run reader)."""
    if not run_dir.is_dir():
        raise UsageError(f"{run_dir} is not a directory (expected a capsim run directory)")


def check_run_dir(run_dir: Path) -> Path:
    """The run directory, if it is a complete capsim run; a UsageError naming what is missing."""
    run_dir = Path(run_dir)
    _need_directory(run_dir)
    for needed in RUN_FILES:
        if not (run_dir / needed).exists():
            raise UsageError(f"{run_dir} is not a complete capsim run (no {needed})")
    return run_dir


def verify_run(run_dir: Path) -> dict[str, Any]:
    """Check a finished run before anything is drawn from it; returns its manifest.

    The manifest must be whole, the summary and scenario readable, and every part present with
    its recorded checksum (and no unlisted part), so documents never count a part twice or
    quietly miss one. A damaged run is refused (exit 2) naming its damaged parts.
    """
    run_dir = Path(run_dir)
    _need_directory(run_dir)
    manifest = read_manifest(run_dir)
    read_summary(run_dir)
    read_scenario_data(run_dir)
    verify_parts(run_dir, manifest)
    return manifest


def verify_parts(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Every part of a run present with its checksum and none unlisted; else a UsageError.

    The checksum half of ``verify_run``, for a reader that has already read the manifest.
    """
    try:
        problems = part_problems(run_dir, manifest["parts"])
    except OSError as exc:
        raise UsageError(f"cannot read {run_dir}: {exc.strerror or exc}") from None
    if problems:
        raise UsageError(
            f"{run_dir} is damaged: {_shown(problems)}; repair it with "
            f"'capsim run --resume {run_dir}'"
        )


def read_scenario_data(run_dir: Path) -> dict[str, Any]:
    """The resolved scenario of a run as plain data; a damaged copy is a clear error."""
    path = run_dir / SCENARIO
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        detail = getattr(exc, "strerror", None) or type(exc).__name__
        raise UsageError(f"cannot read {path}: {detail}; the run directory is damaged") from None
    if not isinstance(data, dict):
        raise UsageError(f"cannot read {path}: not a mapping; the run directory is damaged")
    return data


def progress_from_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The progress.json that a complete run's manifest stands for (to repair it)."""
    chunks: dict[str, Any] = {}
    for part in manifest["parts"]:
        entry = chunks.setdefault(str(part["chunk"]), {"events": part["events"], "parts": {}})
        entry["parts"][part["table"]] = {"path": part["path"], "sha256": part["sha256"]}
    return {**manifest["plan"], "chunks": chunks}


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
            for path in _table_files(self.staging)
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
