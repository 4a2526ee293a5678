"""capsim benchmarks: throughput, cost per event, memory as replications grow, start-up time.

Run from the repository root with the project's environment:

    .venv/bin/python benchmarks/bench.py                 # the full set (several minutes)
    .venv/bin/python benchmarks/bench.py --quick         # smaller sizes, for a quick look
    .venv/bin/python benchmarks/bench.py --part memory   # one measurement only

Every figure printed is measured in this run on this machine; targets are printed beside them
and each line says whether it was met.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "apac_2026.yaml"
PYTHON = sys.executable


def bare_simpy_us_per_event(events: int) -> float:
    """Microseconds per event of a bare SimPy process yielding timeouts (best of three)."""
    import simpy

    def loop(env: simpy.Environment) -> Generator[simpy.Event, None, None]:
        for _ in range(events):
            yield env.timeout(1)

    best = float("inf")
    for _ in range(3):
        env = simpy.Environment()
        env.process(loop(env))
        start = time.perf_counter()
        env.run()
        best = min(best, (time.perf_counter() - start) / events * 1e6)
    return best


def capsim_us_per_event(replications: int, rounds: int = 3) -> tuple[float, float, int]:
    """(microseconds per event, seconds per replication, events per replication) for apac_2026.

    An event is one SimPy event taken off the queue and processed (``ReplicationResult.events``):
    timeouts, process starts and ends, resource grants and releases, conditions. Best of
    ``rounds`` passes over the same replications, as for the bare loop.
    """
    from capsim.model.world import simulate
    from capsim.scenario.loader import load_scenario

    scenario = load_scenario(SCENARIO)
    simulate(scenario, 0)
    best = float("inf")
    events = 0
    for _ in range(rounds):
        events = 0
        start = time.perf_counter()
        for rep in range(replications):
            events += simulate(scenario, rep).events
        best = min(best, time.perf_counter() - start)
    return best / events * 1e6, best / replications, events // replications


def run_cli(replications: int, workers: int, out: Path) -> tuple[dict[str, Any], int]:
    """Run ``capsim run`` in a child process; returns its manifest and its peak RSS in KiB."""
    wrapper = (
        "import resource, subprocess, sys; "
        "r = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
    )
    command = [
        PYTHON,
        "-c",
        wrapper,
        PYTHON,
        "-m",
        "capsim",
        "run",
        str(SCENARIO),
        "-n",
        str(replications),
        "--workers",
        str(workers),
        "-o",
        str(out),
        "--force",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, check=True)
    peak_kib = int(proc.stdout.strip().splitlines()[-1])
    manifest = json.loads((out / "manifest.json").read_text())
    return manifest, peak_kib


def startup_seconds(command: list[str], repeats: int = 7) -> float:
    """Best wall time of a short command."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        best = min(best, time.perf_counter() - start)
    return best


PARTS = ("events", "throughput", "memory", "startup")


def verdict(ok: bool) -> str:
    """'met' or 'MISSED'."""
    return "met" if ok else "MISSED"


def main() -> None:
    """Measure and print every figure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (not the targets')")
    parser.add_argument("--part", choices=("all", *PARTS), default="all", help="what to measure")
    args = parser.parse_args()
    parts = PARTS if args.part == "all" else (args.part,)
    small, large = (100, 1000) if args.quick else (1000, 10000)
    throughput_n = 100 if args.quick else 400

    print(f"capsim benchmarks on {SCENARIO.name} ({'quick' if args.quick else 'full'})")
    if "events" in parts:
        measure_events(args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        if "throughput" in parts:
            measure_throughput(throughput_n, Path(tmp))
        if "memory" in parts:
            measure_memory(small, large, Path(tmp))
    if "startup" in parts:
        measure_startup()


def measure_events(quick: bool) -> None:
    """Cost per event of capsim next to a bare SimPy loop, in this process.

    The ratio per event depends on how many events the model needs: an engine that does the
    same work with fewer events (a callback instead of a process) looks worse per event while
    it runs faster. So the wall time per replication is printed too, and divided by the bare
    loop's cost per event: the bare-loop events one replication costs, whatever the model's
    own event count.
    """
    bare = bare_simpy_us_per_event(200_000)
    per_event, per_rep, events_per_rep = capsim_us_per_event(20 if quick else 60)
    ratio = per_event / bare
    print(f"bare SimPy timeout loop:   {bare:8.2f} us/event")
    print(
        f"capsim apac_2026:          {per_event:8.2f} us/event "
        f"({events_per_rep:,} events and {per_rep * 1000:.1f} ms per replication, "
        f"{1e6 / per_event:,.0f} events/s)"
    )
    print(f"ratio capsim / bare:       {ratio:8.1f}x   target <= 3x: {verdict(ratio <= 3)}")
    print(
        f"per replication:           {per_rep * 1e6:8.0f} us = {per_rep * 1e6 / bare:,.0f} bare "
        f"events ({1 / per_rep:.1f} replications/s)"
    )


def measure_throughput(throughput_n: int, tmp: Path) -> None:
    """Replications per second through the CLI at 1 and 2 workers."""
    rates = {}
    for workers in (1, 2):
        manifest, _ = run_cli(throughput_n, workers, tmp / f"w{workers}")
        rates[workers] = float(manifest["replications"]) / float(manifest["wall_seconds"])
        print(
            f"throughput, {workers} worker(s): {rates[workers]:8.1f} replications/s "
            f"({throughput_n} replications)"
        )
    speedup = rates[2] / rates[1]
    print(f"speed-up 2 vs 1 workers:   {speedup:8.2f}x   target >= 1.7x: {verdict(speedup >= 1.7)}")


def measure_memory(small: int, large: int, tmp: Path) -> None:
    """Peak resident memory of a whole run at two sizes (largest single process)."""
    peaks = {}
    for n in (small, large):
        _, peaks[n] = run_cli(n, 2, tmp / f"m{n}")
        print(f"peak RSS, {n:>6,} replications: {peaks[n] / 1024:8.1f} MiB")
    growth = peaks[large] / peaks[small]
    print(
        f"memory growth {large:,} / {small:,}: {growth:6.2f}x   target <= 1.3x: "
        f"{verdict(growth <= 1.3)}; under 1 GiB: {verdict(peaks[large] < 1024 * 1024)}"
    )


def measure_startup() -> None:
    """``capsim --help`` next to a bare interpreter start."""
    bare_start = startup_seconds([PYTHON, "-c", "pass"])
    help_start = startup_seconds([PYTHON, "-m", "capsim", "--help"])
    extra = help_start - bare_start
    print(f"python -c pass:            {bare_start:8.3f} s")
    print(
        f"capsim --help:             {help_start:8.3f} s   (+{extra:.3f} s; target <= 0.3 s: "
        f"{verdict(extra <= 0.3)})"
    )


if __name__ == "__main__":
    main()
