"""A run directory's bookkeeping: its file names, checksums, and the checked readers of each file.

``manifest.json``, ``progress.json`` and ``summary.json`` are read through one checker each, so a
damaged or hand-edited file is named with what is wrong instead of failing later; parts are
verified against the SHA-256 recorded when they were written. Writers (``store``) and readers
(``rundir``) share these definitions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from capsim.errors import UsageError

MANIFEST = "manifest.json"
PROGRESS = "progress.json"
SCENARIO = "scenario.yaml"
SUMMARY = "summary.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TABLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
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


def table_files(root: Path) -> list[Path]:
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
    for path in table_files(root):
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
