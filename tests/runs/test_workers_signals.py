"""Faults of the machinery running chunks: signals, dying workers, Dask schedulers and versions.

Every test runs ``python -m capsim run`` as a real process and hurts it or its workers for real
(signals, dead or killed schedulers, a worker with another capsim); waits poll with deadlines.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from run_checks import assert_same_tables, tables_only

import capsim
from capsim.errors import UsageError
from capsim.runs.executors import (
    Chunk,
    WorkerVersionError,
    environment_versions,
    parse_scheduler_address,
    run_chunk_checked,
    scheduler_timeout_seconds,
)
from capsim.runs.store import staging_dir
from capsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = str(ROOT / "scenarios/minimal.yaml")
BIN = Path(sys.executable).parent
#: Seconds any wait in these tests may take before it counts as a hang.
PATIENCE = 120.0

pytestmark = [
    pytest.mark.skipif(
        not Path("/proc/self/stat").is_file(), reason="finds child processes through /proc"
    ),
    pytest.mark.slow,  # real processes and clusters
]


# --- helpers -------------------------------------------------------------------------------------


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    """Kill any capsim process a failed test left running (its workers then exit by themselves)."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=PATIENCE)


def _capsim(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``python -m capsim ARGS`` as its own process (no Dask address inherited)."""
    environment = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "capsim", *tables_only(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**environment, **(env or {})},
    )
    _STARTED.append(proc)
    return proc


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait (bounded) for a capsim process; its exit code and stderr."""
    _, stderr = proc.communicate(timeout=PATIENCE)
    return proc.returncode, stderr


def _wait_until(condition: Callable[[], bool], what: str, seconds: float = PATIENCE) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _scheduler_address(scheduler_file: Path) -> str | None:
    """The address in a Dask scheduler file, or None while it is missing or half written."""
    try:
        return str(json.loads(scheduler_file.read_text())["address"])
    except (OSError, json.JSONDecodeError, KeyError):
        return None


def _saved_chunks(run_dir: Path) -> int:
    """Chunks recorded as done in a run's staging directory (0 if none yet)."""
    try:
        return len(json.loads((staging_dir(run_dir) / "progress.json").read_text())["chunks"])
    except (OSError, json.JSONDecodeError, KeyError):
        return 0


def _wait_for_chunks(run_dir: Path, count: int, proc: subprocess.Popen[str]) -> None:
    """Wait until ``count`` chunks are saved while the run is still going."""

    def saved() -> bool:
        assert proc.poll() is None, proc.communicate()
        return _saved_chunks(run_dir) >= count

    _wait_until(saved, f"{count} saved chunks")


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state, start time) of a process from /proc, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0], int(fields[19])


def _children(pid: int) -> dict[int, int]:
    """Every live child process of ``pid``: pid -> start time (to tell a reused pid apart)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] == pid and stat[1] != "Z":
                found[int(entry.name)] = stat[2]
    return found


def _alive(pid: int, started: int) -> bool:
    """Whether that very process (same pid and start time) is still running (not a zombie)."""
    stat = _stat(pid)
    return stat is not None and stat[2] == started and stat[1] != "Z"


def _is_pool_worker(pid: int) -> bool:
    """Whether a process is a local pool worker (not the semaphore tracker)."""
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _pool_workers(proc: subprocess.Popen[str], count: int) -> dict[int, int]:
    """Wait until the run has ``count`` pool workers; all its children (workers and tracker)."""
    _wait_until(
        lambda: sum(map(_is_pool_worker, _children(proc.pid))) >= count, f"{count} pool workers"
    )
    return _children(proc.pid)


def _free_port() -> int:
    """A local TCP port nothing listens on (bound once by the OS, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 replications in chunks of 2, in one process, never interrupted."""
    out = tmp_path_factory.mktemp("reference") / "run"
    code, stderr = _finish(
        _capsim("run", MINIMAL, "-n", "120", "--chunk-size", "2", "--workers", "1", "-o", str(out))
    )
    assert code == 0, stderr
    return out


# --- local workers and signals -------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_saves_the_chunks_says_how_to_resume_and_stops_every_worker(
    workers: int,
    tmp_path: Path,
) -> None:
    out = tmp_path / "terminated"
    proc = _capsim(
        "run", MINIMAL, "-n", "2000", "--chunk-size", "2", "--workers", str(workers), "-o", str(out)
    )
    _wait_for_chunks(out, 2, proc)
    children = _pool_workers(proc, 2) if workers > 1 else {}
    proc.send_signal(signal.SIGTERM)
    code, stderr = _finish(proc)
    assert code == 143, stderr
    saved = 2 * _saved_chunks(out)
    assert f"interrupted: {saved} of 2000 replications are saved" in stderr
    assert f"resume with 'capsim run --resume {out}'" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()
    _wait_until(
        lambda: not any(_alive(pid, t) for pid, t in children.items()),
        "the workers to exit",
        seconds=15,
    )


def test_workers_exit_on_their_own_when_the_run_is_killed(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    proc = _capsim(
        "run", MINIMAL, "-n", "2000", "--chunk-size", "2", "--workers", "2", "-o", str(out)
    )
    _wait_for_chunks(out, 2, proc)
    children = _pool_workers(proc, 2)
    proc.kill()
    proc.communicate(timeout=PATIENCE)
    _wait_until(
        lambda: not any(_alive(pid, t) for pid, t in children.items()),
        "the orphaned workers to exit",
        seconds=15,
    )
    assert _saved_chunks(out) >= 2


def test_a_killed_worker_has_its_chunks_rerun_and_the_tables_stay_identical(
    reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "one_worker_killed"
    proc = _capsim(
        "run", MINIMAL, "-n", "120", "--chunk-size", "2", "--workers", "2", "-o", str(out)
    )
    _wait_for_chunks(out, 3, proc)
    victim = next(pid for pid in _pool_workers(proc, 2) if _is_pool_worker(pid))
    assert proc.poll() is None and _saved_chunks(out) < 60  # killed mid-run
    os.kill(victim, signal.SIGKILL)
    code, stderr = _finish(proc)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert_same_tables(reference, out)
    kpis = pd.read_parquet(out / "kpis.parquet")
    assert sorted(kpis["replication"]) == list(range(120))


def test_workers_that_keep_dying_end_the_run_with_a_clear_resumable_error(
    reference: Path, tmp_path: Path
) -> None:
    out = tmp_path / "workers_keep_dying"
    proc = _capsim(
        "run", MINIMAL, "-n", "120", "--chunk-size", "2", "--workers", "2", "-o", str(out)
    )
    _wait_for_chunks(out, 3, proc)
    killed: set[int] = set()
    deadline = time.monotonic() + PATIENCE
    while proc.poll() is None and time.monotonic() < deadline:
        for pid in _children(proc.pid):
            if pid not in killed and _is_pool_worker(pid):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        time.sleep(0.01)
    code, stderr = _finish(proc)
    assert code == 3, stderr
    assert "local worker processes died or could not start 3 times" in stderr
    saved = 2 * _saved_chunks(out)
    assert (
        f"{saved} of 120 replications are saved; resume with 'capsim run --resume {out}'" in stderr
    )
    assert "Traceback" not in stderr
    code, stderr = _finish(_capsim("run", "--resume", str(out), "--workers", "1"))
    assert code == 0, stderr
    assert_same_tables(reference, out)


# --- Dask scheduler addresses --------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "foo",
        "http://127.0.0.1:8787",
        "tcp://[::1",
        "inproc://",
        "tls://127.0.0.1:8786",
        "tcp://127.0.0.1:99999",
        "tcp://[zz::1]:8786",
        "::1:8786",
        "tcp://host:8786/path",
    ],
)
def test_a_malformed_scheduler_address_is_refused_at_once(address: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    clock = time.monotonic()
    code, stderr = _finish(
        _capsim("run", MINIMAL, "-n", "4", "--scheduler", address, "-o", str(out))
    )
    assert code == 2, stderr
    assert "tcp://HOST:PORT, tcp://[IPv6]:PORT or HOST:PORT" in stderr
    assert "Traceback" not in stderr
    assert time.monotonic() - clock < 30  # no connection attempt
    assert not out.exists() and not staging_dir(out).exists()


def test_a_scheduler_address_from_the_environment_is_checked_the_same_way(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    code, stderr = _finish(
        _capsim(
            "run",
            MINIMAL,
            "-n",
            "4",
            "-o",
            str(out),
            env={"DASK_SCHEDULER_ADDRESS": "tls://10.0.0.5:8786"},
        )
    )
    assert code == 2, stderr
    assert "DASK_SCHEDULER_ADDRESS 'tls://10.0.0.5:8786': only tcp://" in stderr
    assert not staging_dir(out).exists()


def test_scheduler_address_forms_that_are_accepted() -> None:
    assert parse_scheduler_address("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert parse_scheduler_address("TCP://[::1]:8786") == "tcp://[::1]:8786"
    assert parse_scheduler_address("head-node.local:8786") == "tcp://head-node.local:8786"
    assert scheduler_timeout_seconds({}) == 10.0
    assert scheduler_timeout_seconds({"CAPSIM_SCHEDULER_TIMEOUT": "2.5"}) == 2.5
    for bad in ("0", "-1", "soon", "nan", "1e9"):
        with pytest.raises(UsageError, match="CAPSIM_SCHEDULER_TIMEOUT"):
            scheduler_timeout_seconds({"CAPSIM_SCHEDULER_TIMEOUT": bad})


def test_a_scheduler_that_is_not_there_fails_within_the_timeout(tmp_path: Path) -> None:
    out = tmp_path / "run"
    address = f"tcp://127.0.0.1:{_free_port()}"
    clock = time.monotonic()
    code, stderr = _finish(
        _capsim(
            "run",
            MINIMAL,
            "-n",
            "4",
            "--scheduler",
            address,
            "-o",
            str(out),
            env={"CAPSIM_SCHEDULER_TIMEOUT": "2"},
        )
    )
    assert code == 3, stderr
    assert f"cannot reach the Dask scheduler at {address} within 2 s" in stderr
    assert "Traceback" not in stderr
    assert time.monotonic() - clock < 40  # 2 s of trying, plus start-up
    assert not out.exists() and not staging_dir(out).exists()  # nothing was saved


# --- Dask clusters -------------------------------------------------------------------------------


class Cluster:
    """A Dask scheduler and workers started as processes of their own, stopped at the end."""

    def __init__(self, directory: Path) -> None:
        """Start a scheduler on a free local port."""
        dask = shutil.which("dask", path=str(BIN))
        assert dask is not None, "dask command not installed"
        self.dask = dask
        self.env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
        self.env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
        scheduler_file = directory / "scheduler.json"
        self.scheduler = self._start(
            [
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ]
        )
        self.workers: list[subprocess.Popen[bytes]] = []
        _wait_until(
            lambda: _scheduler_address(scheduler_file) is not None,
            "the scheduler file",
            seconds=60,
        )
        self.address = str(_scheduler_address(scheduler_file))

    def _start(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start one ``dask`` command."""
        return subprocess.Popen(
            [self.dask, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**self.env, **(env or {})},
        )

    def add_worker(self, name: str, env: dict[str, str] | None = None) -> None:
        """Start one single-threaded worker called ``name``."""
        self.workers.append(
            self._start(
                [
                    "worker",
                    self.address,
                    "--name",
                    name,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                ],
                env,
            )
        )

    def wait_for_workers(self, count: int) -> None:
        """Wait until the scheduler knows ``count`` workers."""
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(count, timeout=60)

    def stop(self) -> None:
        """Stop every process of the cluster (terminate, then kill what lingers)."""
        procs = [*self.workers, self.scheduler]
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A fresh local Dask cluster (scheduler only; tests add their workers)."""
    started = Cluster(tmp_path)
    try:
        yield started
    finally:
        started.stop()


def test_a_scheduler_killed_mid_run_is_a_clear_resumable_error(
    reference: Path, cluster: Cluster, tmp_path: Path
) -> None:
    cluster.add_worker("only")
    cluster.wait_for_workers(1)
    out = tmp_path / "scheduler_lost"
    proc = _capsim(
        "run",
        MINIMAL,
        "-n",
        "120",
        "--chunk-size",
        "2",
        "--scheduler",
        cluster.address,
        "-o",
        str(out),
    )
    _wait_for_chunks(out, 3, proc)
    cluster.scheduler.kill()
    code, stderr = _finish(proc)
    assert code == 3, stderr
    assert f"lost the Dask scheduler at {cluster.address}" in stderr
    saved = 2 * _saved_chunks(out)
    assert (
        f"{saved} of 120 replications are saved; resume with 'capsim run --resume {out}'" in stderr
    )
    assert "Traceback" not in stderr
    code, stderr = _finish(_capsim("run", "--resume", str(out), "--workers", "1"))
    assert code == 0, stderr
    assert_same_tables(reference, out)


def test_a_dask_worker_with_another_capsim_is_refused_by_name(
    cluster: Cluster, tmp_path: Path
) -> None:

    other = tmp_path / "other_capsim"
    shutil.copytree(
        Path(capsim.__file__).parent, other / "capsim", ignore=shutil.ignore_patterns("__pycache__")
    )
    init = other / "capsim" / "version.py"
    text = init.read_text(encoding="utf-8")
    assert f'__version__ = "{capsim.__version__}"' in text
    init.write_text(
        text.replace(f'__version__ = "{capsim.__version__}"', '__version__ = "0.0.0+other"'),
        encoding="utf-8",
    )
    cluster.add_worker("same")
    cluster.add_worker("other", env={"PYTHONPATH": str(other)})
    cluster.wait_for_workers(2)
    out = tmp_path / "run"
    code, stderr = _finish(
        _capsim("run", MINIMAL, "-n", "4", "--scheduler", cluster.address, "-o", str(out))
    )
    assert code == 3, stderr
    assert "their replications would differ silently" in stderr
    lines = [line for line in stderr.splitlines() if line.startswith("error: worker ")]
    assert len(lines) == 1, stderr
    assert "(other): capsim 0.0.0+other (here " + capsim.__version__ + ")" in lines[0]
    assert "Traceback" not in stderr
    assert not out.exists() and not staging_dir(out).exists()


def test_a_worker_that_joins_later_with_other_versions_refuses_each_chunk() -> None:
    scenario = load_scenario(MINIMAL, ["replications=1"])
    wanted = {**environment_versions(), "numpy": "0.0"}
    with pytest.raises(WorkerVersionError, match=r"numpy \S+ \(here 0\.0\)"):
        run_chunk_checked(scenario, Chunk(0, 0, 1), wanted)
    assert run_chunk_checked(scenario, Chunk(0, 0, 1), environment_versions()).events > 0
