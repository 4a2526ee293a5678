"""Run directories are locked: two writers of one place never mix, and the loser touches nothing.

These start real ``capsim`` processes side by side. A run, a resume, a report, a comparison and
an experiment each hold the lock of the directory they write for as long as they write it; a
second writer is refused at once (exit 3) with the holder's PID, and default run names never
collide, however many runs start in the same second.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from run_checks import tables_only

from capsim.cli.main import main
from capsim.runs.bookkeeping import verify_run
from capsim.runs.locks import lock_file, lock_run_dir
from capsim.runs.store import staging_dir

pytestmark = pytest.mark.slow  # real processes side by side

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = str(ROOT / "scenarios" / "minimal.yaml")
QUICK = ("-n", "2", "--chunk-size", "2", "--workers", "1")
LONG = ("-n", "5000", "--chunk-size", "2", "--workers", "1")  # far longer than any check


def _start(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    """A ``capsim`` command in a process of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "capsim", *tables_only(args)],
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _capsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a ``capsim`` command in a process of its own and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "capsim", *tables_only(args)],
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )


def _fingerprint(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under a folder (empty if the folder is gone)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _chunks_saved(run_dir: Path) -> int:
    """Chunks a running run has recorded so far."""
    try:
        return len(json.loads((staging_dir(run_dir) / "progress.json").read_text())["chunks"])
    except (OSError, ValueError, KeyError):
        return 0


def _wait_until_running(run_dir: Path, proc: subprocess.Popen[str]) -> None:
    """Wait until a run holds its lock and has saved a chunk."""
    deadline = time.monotonic() + 120
    while _chunks_saved(run_dir) < 1:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.02)


def _stop(proc: subprocess.Popen[str]) -> str:
    """Interrupt a long run (Ctrl-C); its finished chunks stay resumable. Returns stderr."""
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    return stderr


def _assert_refused(result: subprocess.CompletedProcess[str], pid: int) -> None:
    """Exit 3, one clear line naming the lock holder, no traceback."""
    assert result.returncode == 3, result.stderr
    assert f"is in use by another capsim process (PID {pid})" in result.stderr
    assert "Traceback" not in result.stderr


def _assert_staging_intact(run_dir: Path) -> None:
    """Every chunk a staging directory records is whole on disk, as recorded."""
    progress = json.loads((staging_dir(run_dir) / "progress.json").read_text())
    assert progress["chunks"]
    for entry in progress["chunks"].values():
        for part in entry["parts"].values():
            data = (staging_dir(run_dir) / part["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == part["sha256"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small finished run, made once and copied for each test."""
    out = tmp_path_factory.mktemp("template") / "done"
    result = CliRunner().invoke(main, ["run", MINIMAL, *QUICK, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture()
def finished(template: Path, tmp_path: Path) -> Path:
    """A copy of the small finished run in a fresh folder."""
    out = tmp_path / "done"
    shutil.copytree(template, out)
    return out


@pytest.fixture()
def running(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A long run writing ``tmp/busy``, under way; interrupted at the end if still running."""
    out = tmp_path / "busy"
    proc = _start("run", MINIMAL, *LONG, "-o", str(out))
    try:
        _wait_until_running(out, proc)
        yield out, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)


def test_forced_run_into_a_running_runs_output_is_refused_and_touches_nothing(
    running: tuple[Path, subprocess.Popen[str]],
) -> None:
    out, proc = running
    assert lock_file(out).read_text().strip() == str(proc.pid)
    second = _capsim("run", MINIMAL, *QUICK, "--seed", "5", "--force", "-o", str(out))
    _assert_refused(second, proc.pid)
    assert "Nothing was changed" in second.stderr
    assert proc.poll() is None  # the first run carries on, its staging untouched
    saved = _chunks_saved(out)
    deadline = time.monotonic() + 60
    while _chunks_saved(out) <= saved:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    _stop(proc)
    _assert_staging_intact(out)
    assert not out.exists()
    assert not lock_file(out).exists()


def test_two_forced_runs_racing_for_one_output_never_publish_a_mixture(tmp_path: Path) -> None:
    out = tmp_path / "contested"
    procs = [
        _start(
            "run",
            MINIMAL,
            "-n",
            "160",
            "--chunk-size",
            "2",
            "--workers",
            "1",
            "--seed",
            seed,
            "--force",
            "-o",
            str(out),
        )
        for seed in ("1", "2")
    ]
    results = [proc.communicate(timeout=300) for proc in procs]
    codes = sorted(proc.returncode for proc in procs)
    assert codes == [0, 3], results
    loser = next(i for i, proc in enumerate(procs) if proc.returncode == 3)
    winner = 1 - loser
    assert f"PID {procs[winner].pid}" in results[loser][1]
    manifest = verify_run(out)  # every part is the winner's, as listed
    assert manifest["seed"] == winner + 1 and manifest["replications"] == 160
    scenario = (out / "scenario.yaml").read_text()
    assert f"seed: {winner + 1}\n" in scenario
    assert not staging_dir(out).exists()
    assert not list(tmp_path.glob(".*"))  # no staging, no lock file left behind


def test_report_while_a_forced_run_replaces_the_run_is_refused(
    finished: Path, tmp_path: Path
) -> None:
    before = _fingerprint(finished)
    proc = _start("run", MINIMAL, *LONG, "--force", "-o", str(finished))
    try:
        _wait_until_running(finished, proc)
        report = _capsim("report", str(finished))
        _assert_refused(report, proc.pid)
        assert _fingerprint(finished) == before  # no memo of the old run written into it
        _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)
    assert _fingerprint(finished) == before  # the earlier run is still the published one


@pytest.mark.parametrize("command", ["run --force", "resume", "report", "compare -o", "sweep"])
def test_every_writer_is_refused_while_another_process_holds_the_lock(
    command: str, finished: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    args = {
        "run --force": ["run", MINIMAL, *QUICK, "--force", "-o", str(finished)],
        "resume": ["run", "--resume", str(finished)],
        "report": ["report", str(finished)],
        "compare -o": ["compare", str(finished), str(finished), "-o", str(other), "--force"],
        "sweep": [
            "sweep",
            MINIMAL,
            "--grid",
            "policy.reserve_margin=0.1,0.2",
            "-n",
            "2",
            "--workers",
            "1",
            "-o",
            str(finished),
            "--force",
        ],
    }[command]
    held = other if command == "compare -o" else finished
    with lock_run_dir(held):
        before = _fingerprint(tmp_path)
        result = _capsim(*args)
        _assert_refused(result, os.getpid())
        assert _fingerprint(tmp_path) == before
        assert not staging_dir(held).exists()


def test_compare_reads_its_runs_under_a_shared_lock(finished: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    with lock_run_dir(finished):  # a run replacing an input: the comparison must wait its turn
        refused = _capsim("compare", str(finished), str(finished), "-o", str(out))
        _assert_refused(refused, os.getpid())
    assert not out.exists()
    with lock_run_dir(finished, shared=True):  # another reader: no conflict
        result = _capsim("compare", str(finished), str(finished), "-o", str(out))
        assert result.returncode == 0, result.stderr
    assert (out / "compare.html").is_file()
    assert not list(tmp_path.glob(".*.lock"))


def test_parallel_runs_with_default_names_each_get_their_own_directory(tmp_path: Path) -> None:
    procs = [_start("run", MINIMAL, *QUICK, cwd=tmp_path) for _ in range(3)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], outputs
    runs = sorted((tmp_path / "results").iterdir())
    assert len(runs) == 3 and all(verify_run(run) for run in runs)
    for stdout, _ in outputs:
        assert sum(f"run directory: results/{run.name}\n" in stdout for run in runs) == 1


class _FrozenClock(datetime):
    """A clock stuck at one second, as for runs started within the same second."""

    @classmethod
    def now(cls, tz: object = None) -> _FrozenClock:
        """Always 2026-01-01 00:00:00 UTC."""
        return cls(2026, 1, 1, tzinfo=UTC)


def test_runs_started_in_the_same_second_do_not_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("capsim.runs.runner.datetime", _FrozenClock)
    for _ in range(3):
        result = CliRunner().invoke(main, ["run", MINIMAL, *QUICK])
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert names == [
        "minimal-20260101T000000Z",
        "minimal-20260101T000000Z-2",
        "minimal-20260101T000000Z-3",
    ]
    assert not list((tmp_path / "results").glob(".*"))


def test_experiments_started_in_the_same_second_do_not_collide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from capsim.analysis.experiment import ExperimentWriter, default_destination
    from capsim.scenario.loader import load_scenario

    monkeypatch.setattr("capsim.analysis.experiment.datetime", _FrozenClock)
    base = load_scenario(Path(MINIMAL))
    root = tmp_path / "results"
    writers = [
        ExperimentWriter(default_destination(base, "sweep", root), force=False) for _ in range(2)
    ]
    try:
        assert [w.staging.name for w in writers] == [
            ".minimal-sweep-20260101T000000Z.partial",
            ".minimal-sweep-20260101T000000Z-2.partial",
        ]
        assert all(lock_file(w.writer.destination).is_file() for w in writers)
    finally:
        for writer in writers:
            writer.discard()
    assert not list(root.iterdir())
