"""Run a scenario into a run directory: batch -> tables -> summary -> charts -> publish.

This is what ``capsim run`` calls and what notebooks call; it returns the run directory and
never prints. A failure at any step removes the staging directory and leaves earlier runs alone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capsim import __version__
from capsim.batch import run_local
from capsim.loader import scenario_to_data
from capsim.results import frames, summarize, summary_rows
from capsim.scenario import Scenario
from capsim.store import RunWriter, default_run_dir, scenario_sha256


@dataclass(frozen=True)
class RunOutcome:
    """Where a run went and its headline figures."""

    run_dir: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]


def run_scenario(
    scenario: Scenario,
    output: Path | None = None,
    force: bool = False,
    results_root: Path = Path("results"),
) -> RunOutcome:
    """Simulate every replication of ``scenario`` and write a complete run directory."""
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    destination = output or default_run_dir(results_root, scenario.name, stamp)
    writer = RunWriter(destination, force=force)
    try:
        clock = time.perf_counter()
        results = list(run_local(scenario, scenario.replications))
        wall_seconds = time.perf_counter() - clock
        tables = frames(results, scenario)
        summary = summarize(tables)
        data = scenario_to_data(scenario)
        digest = scenario_sha256(data)
        writer.write_scenario(data)
        for name, table in tables.items():
            writer.write_table(name, table)
        writer.write_json("summary.json", summary)
        writer.write_text("summary.csv", summary_rows(summary).to_csv(index=False))
        manifest = {
            "scenario": scenario.name,
            "scenario_sha256": digest,
            "seed": scenario.seed,
            "replications": scenario.replications,
            "capsim_version": __version__,
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_seconds": round(wall_seconds, 3),
            "backend": "local",
            "workers": 1,
            "events": sum(r.events for r in results),
            "tables": {name: f"{name}.parquet" for name in tables},
        }
        _draw_charts(writer, tables, scenario, digest, started)
        run_dir = writer.publish(manifest)
    except BaseException:
        writer.discard()
        raise
    return RunOutcome(run_dir, summary, manifest)


def _draw_charts(
    writer: RunWriter, tables: dict[str, Any], scenario: Scenario, digest: str, started: datetime
) -> None:
    from capsim import charts

    label = charts.RunLabel(
        scenario.name,
        digest,
        scenario.seed,
        scenario.replications,
        __version__,
        started.strftime("%Y-%m-%d"),
    )
    fig = charts.capacity_vs_demand(tables["timeseries"], tables["regions"], label)
    charts.save(fig, writer.path("charts"), "capacity_vs_demand")
