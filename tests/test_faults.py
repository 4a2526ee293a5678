"""Faults around a run: unwritable results, a full disk, kills at random points, damaged parts.

Each fault must end in a clear message and exit code (3 for output problems), must never leave
a directory that looks complete, must never touch an earlier run at the same path, and a resume
must give exactly the rows of an uninterrupted run: no replication lost, none counted twice.
(A Dask worker lost mid-run is covered by tests/test_batch.py.)
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

from capsim import charts
from capsim.cli import main
from capsim.store import staging_dir

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = str(ROOT / "scenarios" / "minimal.yaml")
TABLES = ("timeseries", "regions", "deals", "queue", "equipment", "headroom", "kpis")
RUN = ("-n", "12", "--chunk-size", "2", "--workers", "1")
CHUNKS = 6


def cli(*args: str) -> Result:
    """Invoke the capsim command in-process."""
    return CliRunner().invoke(main, list(args))


def assert_same_tables(first: Path, second: Path) -> None:
    """Both runs hold exactly the same rows in every table, and the same summary."""
    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(first / f"{table}.parquet"),
                                      pd.read_parquet(second / f"{table}.parquet"), obj=table)
    assert (first / "summary.csv").read_text() == (second / "summary.csv").read_text()
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
    return subprocess.Popen([sys.executable, "-m", "capsim", "run", MINIMAL, *RUN, "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _chunks_saved(out: Path) -> int:
    try:
        return len(json.loads((staging_dir(out) / "progress.json").read_text())["chunks"])
    except (OSError, ValueError, KeyError):
        return 0


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
    "truncated": _truncate, "zeroed": _zero, "deleted": Path.unlink,
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
    [("interrupted", "truncated"), ("interrupted", "deleted"), ("complete", "zeroed"),
     ("complete", "deleted")],
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
