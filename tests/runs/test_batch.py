"""Monte Carlo at scale: identical results for any workers or backend; resume; convergence."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from run_checks import assert_same_tables, tables_only

from capsim.cli.main import main
from capsim.runs.store import staging_dir

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = str(ROOT / "scenarios/minimal.yaml")
TABLES = ("timeseries", "regions", "deals", "queue", "equipment", "headroom", "kpis", "milestones")
BIN = Path(sys.executable).parent


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, tables_only(args))
    assert result.exit_code == 0, result.output
    return result.output


def _capsim(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "capsim", *tables_only(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_chunks(run_dir: Path, count: int, proc: subprocess.Popen[str]) -> None:
    progress = staging_dir(run_dir) / "progress.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if progress.is_file():
            try:
                if len(json.loads(progress.read_text())["chunks"]) >= count:
                    return
            except (json.JSONDecodeError, OSError):
                pass
        time.sleep(0.05)
    raise AssertionError("the run never got going")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    _cli("run", MINIMAL, "-n", "40", "--chunk-size", "5", "--workers", "1", "-o", str(out))
    return out


@pytest.mark.slow
def test_two_local_workers_give_identical_tables(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "two"
    _cli("run", MINIMAL, "-n", "40", "--chunk-size", "5", "--workers", "2", "-o", str(out))
    assert_same_tables(reference, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["workers"] == 2
    assert manifest["events"] == json.loads((reference / "manifest.json").read_text())["events"]


def test_runs_off_a_terminal_log_progress_lines(tmp_path: Path) -> None:
    output = _cli(
        "run",
        MINIMAL,
        "-n",
        "6",
        "--chunk-size",
        "3",
        "--workers",
        "1",
        "-o",
        str(tmp_path / "run"),
    )
    assert "progress: 6/6 replications" in output


def test_chunk_size_does_not_change_any_row(reference: Path, tmp_path: Path) -> None:
    out = tmp_path / "other_chunks"
    _cli("run", MINIMAL, "-n", "40", "--chunk-size", "7", "--workers", "1", "-o", str(out))
    assert_same_tables(reference, out)


def test_every_part_is_listed_with_its_checksum(reference: Path) -> None:
    manifest = json.loads((reference / "manifest.json").read_text())
    assert len(manifest["parts"]) == 8 * len(TABLES)
    assert {p["table"] for p in manifest["parts"]} == set(TABLES)
    assert not (reference / "progress.json").exists()


@pytest.fixture()
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    dask = shutil.which("dask", path=str(BIN))
    assert dask is not None, "dask command not installed"
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        address = None
        while address is None and time.monotonic() < deadline:
            try:  # the scheduler may still be writing the file
                address = json.loads(scheduler_file.read_text())["address"]
            except (OSError, json.JSONDecodeError, KeyError):
                time.sleep(0.1)
        assert address is not None, "the Dask scheduler wrote no address within 60 s"
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        address,
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, procs
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.mark.slow
def test_dask_cluster_gives_identical_tables(
    reference: Path, dask_cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    address, _ = dask_cluster
    out = tmp_path / "dask"
    _cli("run", MINIMAL, "-n", "40", "--chunk-size", "5", "--scheduler", address, "-o", str(out))
    assert_same_tables(reference, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend"] == "dask"
    assert manifest["workers"] == 2


@pytest.mark.slow
def test_losing_a_dask_worker_mid_run_still_gives_identical_tables(
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    address, procs = dask_cluster
    local = tmp_path / "local"
    _cli("run", MINIMAL, "-n", "120", "--chunk-size", "2", "--workers", "1", "-o", str(local))
    out = tmp_path / "dask"
    proc = _capsim(
        "run", MINIMAL, "-n", "120", "--chunk-size", "2", "--scheduler", address, "-o", str(out)
    )
    _wait_for_chunks(out, 3, proc)
    procs[1].kill()
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert_same_tables(local, out)


@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    whole = tmp_path / "whole"
    _cli("run", MINIMAL, "-n", "60", "--chunk-size", "3", "--workers", "1", "-o", str(whole))
    cut = tmp_path / "cut"
    proc = _capsim(
        "run", MINIMAL, "-n", "60", "--chunk-size", "3", "--workers", "1", "-o", str(cut)
    )
    _wait_for_chunks(cut, 4, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not cut.exists()  # nothing that looks complete
    saved = len(json.loads((staging_dir(cut) / "progress.json").read_text())["chunks"])
    assert 4 <= saved < 20
    output = _cli("run", "--resume", str(cut))
    assert "run directory:" in output
    assert_same_tables(whole, cut)
    kpis = pd.read_parquet(cut / "kpis.parquet")
    assert sorted(kpis["replication"]) == list(range(60))  # nothing lost, nothing twice
    assert not staging_dir(cut).exists()


def test_ctrl_c_saves_the_chunks_and_says_how_to_resume(tmp_path: Path) -> None:
    out = tmp_path / "interrupted"
    proc = _capsim(
        "run", MINIMAL, "-n", "5000", "--chunk-size", "2", "--workers", "1", "-o", str(out)
    )
    _wait_for_chunks(out, 2, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"capsim run --resume {out}" in stderr
    assert "Traceback" not in stderr
    assert (staging_dir(out) / "progress.json").is_file()


def test_damaged_part_is_detected_and_recomputed(reference: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    part = copy / "queue.parquet" / "part-00003.parquet"
    part.write_bytes(part.read_bytes()[:-100] + b"\0" * 100)
    output = _cli("run", "--resume", str(copy))
    assert "run directory:" in output
    assert_same_tables(reference, copy)


def test_resuming_an_intact_complete_run_changes_nothing(reference: Path) -> None:
    before = (reference / "manifest.json").read_text()
    result = CliRunner().invoke(main, ["run", "--resume", str(reference)])
    assert result.exit_code == 2
    assert "every part matches its checksum" in result.output
    assert (reference / "manifest.json").read_text() == before


@pytest.mark.slow
def test_until_converged_stops_at_the_same_prefix_for_any_workers(tmp_path: Path) -> None:
    runs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        _cli(
            "run",
            MINIMAL,
            "-n",
            "200",
            "--chunk-size",
            "10",
            "--until-converged",
            "0.2",
            "--workers",
            workers,
            "-o",
            str(out),
        )
        runs[workers] = out
    manifest = json.loads((runs["1"] / "manifest.json").read_text())
    assert manifest["convergence"]["converged"] is True
    stopped = manifest["replications"]
    assert 40 <= stopped < 200 and stopped % 10 == 0
    assert_same_tables(runs["1"], runs["2"])
    # The converged run is exactly the first `stopped` replications of a plain run.
    plain = tmp_path / "plain"
    _cli(
        "run", MINIMAL, "-n", str(stopped), "--chunk-size", "10", "--workers", "1", "-o", str(plain)
    )
    assert_same_tables(plain, runs["1"])


@pytest.mark.slow
def test_killed_repair_keeps_the_published_run_until_the_repair_publishes(
    reference: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    for part in sorted((copy / "kpis.parquet").iterdir()):
        part.write_bytes(b"")  # every chunk to recompute: a repair that takes a while
    damaged = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    proc = _capsim("run", "--resume", str(copy), "--workers", "1")
    _wait_for_chunks(copy, 1, proc)  # the repair copy is staged and under way
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == damaged
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == damaged
    output = _cli("run", "--resume", str(copy), "--workers", "1")
    assert "run directory:" in output
    assert_same_tables(reference, copy)
    assert not staging_dir(copy).exists()
    assert not list(tmp_path.glob(".*"))
