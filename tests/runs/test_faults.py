"""Faults around a run: unwritable results, a full disk, kills at random points, damaged parts.

Each fault must end in a clear message and exit code (3 for output problems), must never leave
a directory that looks complete, must never touch an earlier run at the same path, and a resume
must give exactly the rows of an uninterrupted run: no replication lost, none counted twice.
(A Dask worker lost mid-run is covered by tests/runs/test_batch.py.)
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from run_checks import assert_same_tables as same_tables

from capsim.cli.main import main
from capsim.report import charts
from capsim.runs.store import staging_dir

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = str(ROOT / "scenarios" / "minimal.yaml")
RUN = ("-n", "12", "--chunk-size", "2", "--workers", "1")
CHUNKS = 6


def cli(*args: str) -> Result:
    """Invoke the capsim command in-process."""
    return CliRunner().invoke(main, list(args))


def assert_same_tables(first: Path, second: Path) -> None:
    """Both runs hold exactly the same rows in every table, and the same summary."""
    same_tables(first, second)
    kpis = pd.read_parquet(second / "kpis.parquet")
    assert sorted(kpis["replication"]) == list(range(12))  # none lost, none twice


def assert_output_error(result: Result) -> None:
    """Exit code 3 with ``error:`` lines and no traceback."""
    assert result.exit_code == 3, result.output
    assert isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("progress: ")]
    assert lines and all(line.startswith("error: ") for line in lines), lines
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An uninterrupted run to compare every faulty run with."""
    out = tmp_path_factory.mktemp("reference") / "run"
    result = cli("run", MINIMAL, *RUN, "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


# --- unwritable results directory ----------------------------------------------------------------


def test_output_under_a_regular_file_is_an_output_error(tmp_path: Path) -> None:
    # Tests may run as root, where a read-only directory is still writable; a file in the way
    # of the path fails for everyone.
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    result = cli("run", MINIMAL, *RUN, "-o", str(blocker / "run"))
    assert_output_error(result)
    assert "cannot write results under" in result.stderr
    assert blocker.read_text() == "not a directory"


def test_default_results_folder_that_is_a_file_is_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("results").write_text("in the way")
    result = cli("run", MINIMAL, *RUN)
    assert_output_error(result)
    assert sorted(os.listdir(tmp_path)) == ["results"]


# --- disk full -----------------------------------------------------------------------------------


def _enospc(*_: Any, **__: Any) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fail_replace_of(name: str) -> Callable[[pytest.MonkeyPatch], None]:
    real = os.replace

    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        def replace(source: Any, target: Any) -> None:
            if Path(target).name == name:
                _enospc()
            real(source, target)

        monkeypatch.setattr(os, "replace", replace)

    return patch


def _fail_parquet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pd.DataFrame, "to_parquet", _enospc)


def _fail_charts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "save", _enospc)


DISK_FULL = {
    "at_the_scenario_copy": _fail_replace_of("scenario.yaml"),
    "at_the_first_part": _fail_parquet,
    "at_the_progress_record": _fail_replace_of("progress.json"),
    "at_the_charts": _fail_charts,
    "at_the_manifest": _fail_replace_of("manifest.json"),
}


@pytest.mark.parametrize("where", sorted(DISK_FULL))
def test_disk_full_is_exit_3_and_leaves_the_earlier_run_untouched(
    where: str, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = tmp_path / "run"
    shutil.copytree(reference, earlier)
    before = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    DISK_FULL[where](monkeypatch)
    result = cli("run", MINIMAL, *RUN, "--seed", "99", "--force", "-o", str(earlier))
    assert_output_error(result)
    assert "No space left on device" in result.stderr
    after = {p.relative_to(earlier): p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    assert after == before
    assert not (staging_dir(earlier) / "manifest.json").exists()  # nothing marked complete
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert all(name in ("run", ".run.partial") for name in leftovers), leftovers


# --- killed at random points ---------------------------------------------------------------------


def _spawn(out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "capsim", "run", MINIMAL, *RUN, "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _chunks_saved(out: Path) -> int:
    try:
        return len(json.loads((staging_dir(out) / "progress.json").read_text())["chunks"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.slow
def test_kills_at_random_points_always_resume_to_the_same_result(
    reference: Path, tmp_path: Path
) -> None:
    rng = np.random.default_rng(20260101)
    for attempt in range(3):
        out = tmp_path / f"killed{attempt}"
        wait_for = int(rng.integers(0, CHUNKS))  # chunks to let finish (0: kill during start-up)
        extra_seconds = float(rng.uniform(0, 0.3))
        proc = _spawn(out)
        deadline = time.monotonic() + 60
        while _chunks_saved(out) < wait_for and proc.poll() is None:
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.01)
        time.sleep(extra_seconds)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.returncode == 0:
            assert (out / "manifest.json").is_file()  # finished before the kill landed
        else:
            assert not (out / "manifest.json").exists()  # nothing that looks complete
            if (staging_dir(out) / "progress.json").is_file():
                result = cli("run", "--resume", str(out))
            else:  # killed before its plan was saved: a new run at the path starts over
                result = cli("run", MINIMAL, *RUN, "-o", str(out))
            assert result.exit_code == 0, result.output
        assert not staging_dir(out).exists()
        assert_same_tables(reference, out)


# --- damaged parts -------------------------------------------------------------------------------


def _truncate(part: Path) -> None:
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])


def _zero(part: Path) -> None:
    part.write_bytes(b"\0" * part.stat().st_size)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "zeroed": _zero,
    "deleted": Path.unlink,
}


def _interrupted_copy(reference: Path, folder: Path) -> Path:
    """A staging directory as a kill after three chunks leaves it."""
    out = folder / "run"
    staging = staging_dir(out)
    shutil.copytree(reference, staging)
    manifest = json.loads((staging / "manifest.json").read_text())
    (staging / "manifest.json").unlink()
    chunks: dict[str, Any] = {}
    for part in manifest["parts"]:
        if part["chunk"] < 3:
            entry = chunks.setdefault(str(part["chunk"]), {"events": part["events"], "parts": {}})
            entry["parts"][part["table"]] = {"path": part["path"], "sha256": part["sha256"]}
        else:
            (staging / part["path"]).unlink()
    (staging / "progress.json").write_text(json.dumps({**manifest["plan"], "chunks": chunks}))
    return out


@pytest.mark.parametrize(
    ("state", "damage"),
    [
        ("interrupted", "truncated"),
        ("interrupted", "deleted"),
        ("complete", "zeroed"),
        ("complete", "deleted"),
    ],
)
def test_damaged_part_is_detected_and_recomputed(
    state: str, damage: str, reference: Path, tmp_path: Path
) -> None:
    if state == "complete":
        out = tmp_path / "run"
        shutil.copytree(reference, out)
        part = out / "timeseries.parquet" / "part-00004.parquet"
    else:
        out = _interrupted_copy(reference, tmp_path)
        part = staging_dir(out) / "timeseries.parquet" / "part-00001.parquet"
    DAMAGE[damage](part)
    result = cli("run", "--resume", str(out))
    assert result.exit_code == 0, result.output
    assert_same_tables(reference, out)


def test_stray_part_of_an_unrecorded_chunk_is_not_counted(reference: Path, tmp_path: Path) -> None:
    out = _interrupted_copy(reference, tmp_path)
    table = staging_dir(out) / "kpis.parquet"
    shutil.copy(table / "part-00000.parquet", table / "part-00099.parquet")
    result = cli("run", "--resume", str(out))
    assert result.exit_code == 0, result.output
    assert_same_tables(reference, out)
    assert not (out / "kpis.parquet" / "part-00099.parquet").exists()


def test_damaged_progress_file_is_a_clear_error(reference: Path, tmp_path: Path) -> None:
    out = _interrupted_copy(reference, tmp_path)
    (staging_dir(out) / "progress.json").write_text('{"chunks": ')
    result = cli("run", "--resume", str(out))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "progress.json" in result.stderr and "damaged" in result.stderr


def test_run_killed_before_its_plan_was_saved_does_not_block_the_path(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (staging_dir(out) / "charts").mkdir(parents=True)  # what a kill during start-up leaves
    result = cli("run", MINIMAL, "-n", "2", "--workers", "1", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file()
    assert not staging_dir(out).exists()


# --- a repair never loses the finished run -------------------------------------------------------


def _break_scenario(run: Path) -> None:
    (run / "scenario.yaml").write_text("name: [unclosed\n")


def _change_scenario(run: Path) -> None:
    path = run / "scenario.yaml"
    path.write_text(path.read_text().replace("seed: ", "seed: 1", 1))


def _drop_manifest_key(run: Path) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["plan"]
    (run / "manifest.json").write_text(json.dumps(manifest))


def _executor_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from capsim.errors import UsageError
    from capsim.runs import runner

    def fail(*_: Any, **__: Any) -> None:
        raise UsageError("cannot reach the Dask scheduler at tcp://127.0.0.1:1")

    monkeypatch.setattr(runner, "make_executor", fail)


def _disk_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pd.DataFrame, "to_parquet", _enospc)


REPAIR_FAILURES: dict[str, tuple[Callable[..., None], int]] = {
    "scenario_unreadable": (_break_scenario, 2),
    "scenario_changed": (_change_scenario, 2),
    "manifest_missing_a_key": (_drop_manifest_key, 2),
    "executor_unreachable": (_executor_fails, 2),
    "disk_full": (_disk_fills, 3),
}


@pytest.mark.parametrize("failure", sorted(REPAIR_FAILURES))
def test_failed_repair_leaves_the_finished_run_in_place(
    failure: str, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    (out / "timeseries.parquet" / "part-00004.parquet").unlink()  # something to repair
    damage, code = REPAIR_FAILURES[failure]
    if failure in ("executor_unreachable", "disk_full"):
        damage(monkeypatch)
    else:
        damage(out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = cli("run", "--resume", str(out), "--workers", "1")
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and result.stderr.startswith("error: ")
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # still published, byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging, no lock left


def test_repair_after_a_failed_repair_still_restores_the_run(
    reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    shutil.copytree(reference, out)
    _zero(out / "deals.parquet" / "part-00002.parquet")
    with monkeypatch.context() as patch:
        _executor_fails(patch)
        assert cli("run", "--resume", str(out), "--workers", "1").exit_code == 2
    result = cli("run", "--resume", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert_same_tables(reference, out)


# --- clear errors instead of tracebacks ----------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "resume"])
def test_run_from_a_deleted_working_directory_is_a_clear_error(
    command: str, reference: Path, tmp_path: Path
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    out = tmp_path / "run"
    if command == "run":
        args = ["run", MINIMAL, "-n", "4", "--chunk-size", "2", "-o", str(out)]
    else:
        shutil.copytree(reference, out)
        (out / "kpis.parquet" / "part-00001.parquet").unlink()
        args = ["run", "--resume", str(out)]
    script = 'rmdir "$PWD" && exec "$@"'
    result = subprocess.run(
        ["sh", "-c", script, "sh", sys.executable, "-m", "capsim", *args],
        cwd=gone,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert "error: the current directory no longer exists" in result.stderr
    assert not staging_dir(out).exists()
    assert not list(tmp_path.glob(".*"))


@pytest.mark.parametrize("where", ["cwd", "parent", "scenario_folder", "scenario_file"])
def test_output_that_would_replace_the_working_directory_or_scenario_is_refused(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    scenarios = tmp_path / "scenarios"
    work.mkdir()
    scenarios.mkdir()
    scenario = scenarios / "minimal.yaml"
    shutil.copy(MINIMAL, scenario)
    (work / "notes.txt").write_text("keep me")
    monkeypatch.chdir(work)
    output = {
        "cwd": ".",
        "parent": "..",
        "scenario_folder": str(scenarios),
        "scenario_file": str(scenario),
    }[where]
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = cli("run", str(scenario), *RUN, "-o", output, "--force")
    assert_output_error(result)
    assert "choose" in result.stderr.lower()
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


DAMAGED_PROGRESS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "not_json": lambda p: "{'chunks': ",
    "a_list": lambda p: [p],
    "a_number": lambda p: 7,
    "no_chunks": lambda p: {k: v for k, v in p.items() if k != "chunks"},
    "no_chunk_size": lambda p: {k: v for k, v in p.items() if k != "chunk_size"},
    "no_scenario_hash": lambda p: {k: v for k, v in p.items() if k != "scenario_sha256"},
    "chunk_size_text": lambda p: {**p, "chunk_size": "2"},
    "chunk_size_zero": lambda p: {**p, "chunk_size": 0},
    "replications_bool": lambda p: {**p, "replications": True},
    "replications_not_the_scenarios": lambda p: {**p, "replications": 13},
    "seed_float": lambda p: {**p, "seed": 1.5},
    "chunks_a_list": lambda p: {**p, "chunks": [1, 2]},
    "chunk_key_not_a_number": lambda p: {**p, "chunks": {"x": p["chunks"]["0"]}},
    "chunk_past_the_plan": lambda p: {**p, "chunks": {"99": p["chunks"]["0"]}},
    "chunk_not_an_object": lambda p: {**p, "chunks": {"0": 3}},
    "events_negative": lambda p: {**p, "chunks": {"0": {**p["chunks"]["0"], "events": -1}}},
    "parts_missing": lambda p: {**p, "chunks": {"0": {"events": 1}}},
    "part_path_elsewhere": lambda p: {
        **p,
        "chunks": {
            "0": {"events": 1, "parts": {"kpis": {"path": "../../etc/passwd", "sha256": "0" * 64}}}
        },
    },
    "part_checksum_text": lambda p: {
        **p,
        "chunks": {
            "0": {
                "events": 1,
                "parts": {"kpis": {"path": "kpis.parquet/part-00000.parquet", "sha256": 5}},
            }
        },
    },
    "tolerance_negative": lambda p: {**p, "until_converged": -1},
}


@pytest.mark.parametrize("shape", sorted(DAMAGED_PROGRESS))
def test_every_shape_of_damaged_progress_file_is_a_clear_error(
    shape: str, reference: Path, tmp_path: Path
) -> None:
    out = _interrupted_copy(reference, tmp_path)
    path = staging_dir(out) / "progress.json"
    damaged = DAMAGED_PROGRESS[shape](json.loads(path.read_text()))
    path.write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = cli("run", "--resume", str(out))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"error: cannot read {path}: ")
    assert "the run directory is damaged" in result.stderr
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_failed_scheduler_connection_leaves_nothing_that_blocks_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    monkeypatch.setenv("CAPSIM_SCHEDULER_TIMEOUT", "1")
    failed = cli("run", MINIMAL, *RUN[:4], "--scheduler", "tcp://127.0.0.1:1", "-o", str(out))
    assert failed.exit_code in (2, 3), failed.output
    assert "Traceback" not in failed.output and "127.0.0.1:1" in failed.stderr
    assert not out.exists() and not staging_dir(out).exists()
    result = cli("run", MINIMAL, *RUN, "-o", str(out))
    assert result.exit_code == 0, result.output


def test_staging_that_saved_no_chunk_does_not_block_the_path(
    reference: Path, tmp_path: Path
) -> None:
    out = _interrupted_copy(reference, tmp_path)
    progress = json.loads((staging_dir(out) / "progress.json").read_text())
    (staging_dir(out) / "progress.json").write_text(json.dumps({**progress, "chunks": {}}))
    result = cli("run", MINIMAL, *RUN, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert_same_tables(reference, out)


RESUME_OPTIONS = {
    "replications": ["-n", "5"],
    "seed": ["--seed", "3"],
    "set": ["--set", "policy.reserve_margin=0.3"],
    "force": ["--force"],
    "output": ["-o", "elsewhere"],
    "chunk_size": ["--chunk-size", "3"],
    "until_converged": ["--until-converged", "0.1"],
    "scenario": [MINIMAL],
}


@pytest.mark.parametrize("option", sorted(RESUME_OPTIONS))
def test_options_given_with_resume_are_refused(
    option: str, reference: Path, tmp_path: Path
) -> None:
    out = _interrupted_copy(reference, tmp_path)
    before = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = cli("run", "--resume", str(out), *RESUME_OPTIONS[option])
    assert result.exit_code == 2, result.output
    assert "cannot be combined with --resume" in result.stderr
    assert "Traceback" not in result.output
    after = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_every_option_given_with_resume_is_named(reference: Path, tmp_path: Path) -> None:
    out = _interrupted_copy(reference, tmp_path)
    result = cli("run", "--resume", str(out), "-n", "5", "--seed", "3", "--force", "--workers", "1")
    assert result.exit_code == 2, result.output
    assert "error: -n, --seed, --force cannot be combined with --resume" in result.stderr


def test_interrupt_right_after_a_chunk_is_recorded_counts_that_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The signal lands between recording a chunk and adding it to the running count: the
    # message must still count every chunk progress.json holds.
    from capsim.runs.store import RunWriter

    record = RunWriter.record_chunk
    calls = {"n": 0}

    def record_then_interrupt(self: RunWriter, *args: Any, **kwargs: Any) -> None:
        record(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunWriter, "record_chunk", record_then_interrupt)
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", MINIMAL, *RUN, "-o", str(out)])
    assert result.exit_code == 130, result.output
    progress = json.loads((staging_dir(out) / "progress.json").read_text())
    assert len(progress["chunks"]) == 3
    assert "interrupted: 6 of 12 replications are saved" in result.output
