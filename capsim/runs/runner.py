"""Run a scenario into a run directory: chunks -> parts -> summary -> (drawing hook) -> publish.

This is what ``capsim run`` calls and what notebooks call; it returns the run directory and
never prints (progress goes to an optional callback). Chunks are written as Parquet parts as
they complete, so an interrupted or killed run keeps its finished chunks and can be resumed; the
result is the same whatever the executor, the number of workers or the interruptions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from capsim.errors import RunInterruptedError, UsageError
from capsim.runs.bookkeeping import (
    MANIFEST,
    PROGRESS,
    SCENARIO,
    part_problems,
    read_manifest,
    read_summary,
    scenario_sha256,
)
from capsim.runs.executors import (
    BackendError,
    Chunk,
    Executor,
    make_executor,
    plan_chunks,
    scheduler_address,
)
from capsim.runs.locks import current_directory, lock_run_dir
from capsim.runs.rundir import read_parquet
from capsim.runs.settings import DEFAULT_CHUNK_SIZE
from capsim.runs.store import RunWriter, claim_run_dir, staging_dir
from capsim.scenario.loader import load_stored_scenario, scenario_to_data
from capsim.scenario.schema import Scenario
from capsim.version import __version__

#: Progress callback: (replications done, replications planned, seconds elapsed).
Progress = Callable[[int, int, float], None]
CONVERGENCE_WINDOW = 3


@dataclass(frozen=True)
class StagedRun:
    """A run whose tables and summary are written but which is not yet published."""

    directory: Path
    scenario: Scenario
    scenario_sha256: str
    replications: int
    run_date: str


#: Draws what a run shows (charts) into ``StagedRun.directory``.
DrawHook = Callable[[StagedRun], None]


@dataclass(frozen=True)
class RunOptions:
    """How to run: where to write, on what, and when to stop."""

    output: Path | None = None
    force: bool = False
    workers: int | None = None
    scheduler: str | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    until_converged: float | None = None
    charts: bool = True
    #: Draws the run's charts into its staging directory before it is published (the runner
    #: draws nothing itself: the command line and the API pass the report package's drawer).
    draw: DrawHook | None = None
    results_root: Path = field(default_factory=lambda: Path("results"))
    #: Files and folders the output must not be, contain or lie inside (the scenario file).
    inputs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RunOutcome:
    """Where a run went and its headline figures."""

    run_dir: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]


def run_scenario(
    scenario: Scenario, options: RunOptions | None = None, progress: Progress | None = None
) -> RunOutcome:
    """Simulate ``scenario`` (its replications, in chunks) and publish a complete run directory.

    The output directory is locked for the whole run. A failure before any chunk is saved
    removes the staging directory, so nothing is left that would block the next run there.
    """
    options = options or RunOptions()
    scheduler_address(options.scheduler)  # a bad address fails before anything is written
    started = datetime.now(UTC)
    if options.output is None:
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        destination, lock = claim_run_dir(options.results_root, scenario.name, stamp)
        writer = RunWriter(destination, force=options.force, lock=lock, inputs=options.inputs)
    else:
        writer = RunWriter(options.output, force=options.force, inputs=options.inputs)
    try:
        data = scenario_to_data(scenario)
        plan = {
            "scenario_sha256": scenario_sha256(data),
            "seed": scenario.seed,
            "replications": scenario.replications,
            "chunk_size": options.chunk_size,
            "until_converged": options.until_converged,
            "charts": options.charts,
            "started": started.isoformat(timespec="seconds"),
        }
        try:
            writer.start(data, plan)
            store_provenance(writer, options.inputs)
            return _execute(writer, scenario, options, progress)
        except RunInterruptedError:
            raise
        except BaseException:
            if not writer.progress.get("chunks"):
                writer.discard()
            raise
    finally:
        writer.release()


#: The source comments of the scenario file's values (``scenario.provenance``), beside the
#: resolved scenario.yaml (which holds no comments); the report's assumption sources.
PROVENANCE = "provenance.json"


def store_provenance(writer: RunWriter, inputs: tuple[Path, ...]) -> None:
    """Record the comments of the one scenario file among ``inputs``; none if unreadable."""
    from contextlib import suppress

    from capsim.errors import ScenarioError
    from capsim.scenario.provenance import read_provenance, to_data

    files = [p for p in inputs if p.suffix.lower() in (".yaml", ".yml") and p.is_file()]
    if len(files) == 1:  # unreadable: the report lists the values without their sources
        with suppress(ScenarioError, OSError, UnicodeDecodeError):
            writer.write_json(PROVENANCE, to_data(read_provenance(files[0])))


def resume_run(
    run_dir: Path, options: RunOptions | None = None, progress: Progress | None = None
) -> RunOutcome:
    """Finish an interrupted run (or repair damaged parts of a complete one).

    The run directory is locked throughout. A complete run is checked first (manifest, stored
    scenario, checksums) and repaired in a staging copy: it stays published, untouched, until
    the repaired run replaces it, so a repair that fails loses nothing.
    """
    options = options or RunOptions()
    scheduler_address(options.scheduler)  # a bad address fails before anything is touched
    current_directory()
    run_dir = Path(str(run_dir).rstrip("/") or "/")
    if run_dir.name.startswith(".") and run_dir.name.endswith(".partial"):
        run_dir = run_dir.with_name(run_dir.name[1 : -len(".partial")])
    if not staging_dir(run_dir).exists() and not run_dir.exists():
        raise UsageError(f"nothing to resume at {run_dir}")
    lock = lock_run_dir(run_dir, create_parent=False)
    staged_plan = (staging_dir(run_dir) / PROGRESS).is_file()
    # a staging directory without a plan was killed while starting: only a published run's
    # repair can go on from there (it stages a fresh copy); otherwise there is nothing to resume
    repairing = not staged_plan and run_dir.is_dir()
    if repairing:
        try:
            manifest = _damaged_complete_run(run_dir)
        except BaseException:
            lock.release()
            raise
        writer = RunWriter.repair(run_dir, manifest, lock)
    else:
        writer = RunWriter(run_dir, resume=True, lock=lock)
    try:
        try:
            scenario = _stored_scenario(
                writer.path(SCENARIO), writer.progress, writer.path(PROGRESS)
            )
            for chunk in writer.damaged_chunks():
                writer.forget_chunk(chunk)
            chunk_size = int(writer.progress["chunk_size"])
            tolerance = writer.progress.get("until_converged")
            resumed = RunOptions(
                output=run_dir,
                workers=options.workers,
                draw=options.draw,
                scheduler=options.scheduler,
                chunk_size=chunk_size,
                until_converged=tolerance,
            )
            return _execute(writer, scenario, resumed, progress)
        except RunInterruptedError:
            raise
        except BaseException:
            if repairing:
                writer.discard()  # the published run is untouched; a new --resume starts over
            raise
    finally:
        writer.release()


def _stored_scenario(path: Path, plan: dict[str, Any], source: Path) -> Scenario:
    """The scenario a run stored, checked against the run's plan (read from ``source``)."""
    scenario = load_stored_scenario(path)
    if scenario_sha256(scenario_to_data(scenario)) != plan["scenario_sha256"]:
        raise UsageError(f"{path} was changed since the run started")
    if (scenario.seed, scenario.replications) != (plan["seed"], plan["replications"]):
        raise UsageError(
            f"cannot read {source}: its seed and replications do not match "
            f"{path}; the run directory is damaged"
        )
    return scenario


def _damaged_complete_run(run_dir: Path) -> dict[str, Any]:
    """The manifest of a complete run that needs repair; an intact run is a UsageError.

    Reads and checks everything a repair relies on (manifest, stored scenario, checksums)
    before anything is moved or copied.
    """
    manifest = read_manifest(run_dir)
    _stored_scenario(run_dir / SCENARIO, manifest["plan"], run_dir / MANIFEST)
    try:
        problems = part_problems(run_dir, manifest["parts"])
    except OSError as exc:
        raise UsageError(f"cannot read {run_dir}: {exc.strerror or exc}") from None
    try:
        read_summary(run_dir)
    except UsageError:
        problems.append("summary.json (damaged)")
    if not problems:
        raise UsageError(f"{run_dir} is complete and every part matches its checksum")
    return manifest


def _execute(
    writer: RunWriter, scenario: Scenario, options: RunOptions, progress: Progress | None
) -> RunOutcome:
    """Run the chunks not yet recorded, save each as it finishes, then summarise and publish."""
    plan = writer.progress
    chunks = plan_chunks(int(plan["replications"]), int(plan["chunk_size"]))
    writer.remove_unrecorded_parts()
    done = {int(key) for key in plan["chunks"]}
    shortfalls = {i: _chunk_shortfalls(writer, i) for i in sorted(done)}
    todo = [chunk for chunk in chunks if chunk.index not in done]
    total = int(plan["replications"])
    finished = sum(len(c.replications) for c in chunks if c.index in done)
    converged_at = _converged_prefix(shortfalls, options.until_converged)
    clock = time.perf_counter()
    executor: Executor | None = None
    try:
        if todo and converged_at is None:
            executor = make_executor(options.workers, options.scheduler)
        if executor is not None:
            for result in executor.run(scenario, todo):
                index = result.chunk.index
                parts = {
                    name: writer.write_part(name, index, table)
                    for name, table in result.tables.items()
                }
                writer.record_chunk(index, parts, result.events)
                shortfalls[index] = result.tables["kpis"]["shortfall_mw_months"].to_numpy()
                finished += len(result.chunk.replications)
                if progress is not None:
                    progress(finished, total, time.perf_counter() - clock)
                converged_at = _converged_prefix(shortfalls, options.until_converged)
                if converged_at is not None:
                    break
    except KeyboardInterrupt as interrupt:
        # Count what progress.json holds: the signal may land between recording a chunk and
        # adding it to the running count.
        recorded = writer.progress["chunks"]
        finished = sum(len(c.replications) for c in chunks if str(c.index) in recorded)
        stopped = RunInterruptedError(
            f"interrupted: {finished} of {total} replications are saved; resume with "
            f"'capsim run --resume {writer.destination}'"
        )
        stopped.exit_code = getattr(interrupt, "exit_code", stopped.exit_code)  # 143: SIGTERM
        raise stopped from None
    except BackendError as failure:
        saved = (
            (
                f"\n{finished} of {total} replications are saved; resume with "
                f"'capsim run --resume {writer.destination}'"
            )
            if finished
            else ""
        )
        raise BackendError(f"{failure}{saved}") from None
    finally:
        if executor is not None:
            executor.close()
    wall_seconds = time.perf_counter() - clock
    if converged_at is not None:
        for index in [i for i in shortfalls if i > converged_at]:
            writer.forget_chunk(index)
            for part in writer.staging.glob(f"*.parquet/part-{index:05d}.parquet"):
                part.unlink()
    return _finish(writer, scenario, chunks, converged_at, wall_seconds, executor, options.draw)


def _chunk_shortfalls(writer: RunWriter, index: int) -> np.ndarray:
    """Shortfall MW-months per replication of a finished chunk (for the convergence test)."""
    part = writer.progress["chunks"][str(index)]["parts"]["kpis"]["path"]
    frame = read_parquet(writer.staging / part, columns=["shortfall_mw_months"])
    return frame["shortfall_mw_months"].to_numpy()


def _converged_prefix(shortfalls: dict[int, np.ndarray], tolerance: float | None) -> int | None:
    """First chunk k such that P50 and P90 of shortfall over chunks 0..k have settled.

    Every prefix length is tested in order, and only prefixes of chunks that are all done, so
    the stopping chunk never depends on which chunks happened to finish first: every executor
    and every number of workers stops at the same chunk.
    """
    if tolerance is None:
        return None
    prefix = 0
    while prefix in shortfalls:
        prefix += 1
    if prefix < CONVERGENCE_WINDOW + 1:
        return None
    values = np.concatenate([shortfalls[i] for i in range(prefix)])
    ends = np.cumsum([len(shortfalls[i]) for i in range(prefix)])
    quantiles = [_p50_p90(values[:end]) for end in ends]
    for last in range(CONVERGENCE_WINDOW, prefix):
        if all(
            abs(now - before) / max(abs(now), 1e-9) < tolerance
            for back in range(1, CONVERGENCE_WINDOW + 1)
            for now, before in zip(quantiles[last], quantiles[last - back], strict=True)
        ):
            return last
    return None


def _p50_p90(values: np.ndarray) -> tuple[float, float]:
    """P50 and P90 of shortfall, the two quantiles the convergence test watches."""
    return float(np.quantile(values, 0.5)), float(np.quantile(values, 0.9))


def _finish(
    writer: RunWriter,
    scenario: Scenario,
    chunks: list[Chunk],
    converged_at: int | None,
    wall_seconds: float,
    executor: Any,
    draw: DrawHook | None,
) -> RunOutcome:
    """Summary, charts (through ``draw``) and manifest from the recorded parts; then publish."""
    from capsim.runs.aggregate import summary_from_parts
    from capsim.runs.tables import summary_rows

    plan = writer.progress
    recorded = plan["chunks"]
    kept = [c for c in chunks if str(c.index) in recorded]
    summary = summary_from_parts(writer.staging, scenario)
    writer.write_json("summary.json", summary)
    writer.write_text("summary.csv", summary_rows(summary).to_csv(index=False))
    replications = sum(len(c.replications) for c in kept)
    if plan.get("charts", True) and draw is not None:
        staged = StagedRun(
            writer.staging,
            scenario,
            str(plan["scenario_sha256"]),
            replications,
            str(plan["started"])[:10],
        )
        writer.guard(lambda: draw(staged))
    parts = [
        {"table": table, "chunk": c.index, "events": recorded[str(c.index)]["events"], **part}
        for c in kept
        for table, part in recorded[str(c.index)]["parts"].items()
    ]
    manifest = {
        "scenario": scenario.name,
        "scenario_sha256": plan["scenario_sha256"],
        "seed": scenario.seed,
        "replications": replications,
        "replications_requested": int(plan["replications"]),
        "capsim_version": __version__,
        "started": plan["started"],
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 3),
        "backend": getattr(executor, "backend", "local"),
        "workers": getattr(executor, "workers", 1),
        "events": sum(int(recorded[str(c.index)]["events"]) for c in kept),
        "convergence": {
            "tolerance": plan.get("until_converged"),
            "converged": converged_at is not None,
            "at_replications": replications if converged_at is not None else None,
        },
        "plan": {k: v for k, v in plan.items() if k != "chunks"},
        "parts": parts,
    }
    run_dir = writer.publish(manifest)
    return RunOutcome(run_dir, summary, manifest)
