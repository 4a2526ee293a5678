"""``capsim run`` end to end: the run directory contract, invariants, determinism, safety."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from capsim.cli.main import main
from capsim.errors import EXIT_BAD_INPUT, EXIT_OUTPUT

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.yaml"))
CONTRACT = {
    "timeseries": [
        "replication",
        "date",
        "demand_mw",
        "energized_mw",
        "bridge_mw",
        "capacity_mw",
        "shortfall_mw",
    ],
    "regions": [
        "replication",
        "date",
        "region",
        "energized_mw",
        "bridge_mw",
        "under_construction_mw",
        "queued_mw",
        "contracted_mw",
    ],
    "deals": [
        "replication",
        "deal_id",
        "kind",
        "region",
        "mw",
        "launched",
        "signed",
        "outcome",
        "first_power",
        "full_power",
    ],
    "queue": [
        "replication",
        "region",
        "applicant",
        "mw",
        "arrived",
        "study_start",
        "study_end",
        "connected",
        "withdrawn",
    ],
}


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def minimal_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "minimal"
    code, output = _run("run", str(ROOT / "scenarios/minimal.yaml"), "-n", "6", "-o", str(out))
    assert code == 0, output
    assert "run directory:" in output
    return out


def test_run_directory_holds_every_contracted_file(minimal_run: Path) -> None:
    for name in (
        "manifest.json",
        "scenario.yaml",
        "summary.json",
        "summary.csv",
        "charts/capacity_vs_demand.png",
        "charts/capacity_vs_demand.svg",
    ):
        assert (minimal_run / name).is_file(), name
    for table, columns in CONTRACT.items():
        frame = pd.read_parquet(minimal_run / f"{table}.parquet")
        assert set(columns) <= set(frame.columns), (table, set(columns) - set(frame.columns))
    manifest = json.loads((minimal_run / "manifest.json").read_text())
    assert manifest["replications"] == 6
    assert manifest["events"] > 1000
    assert len(manifest["scenario_sha256"]) == 64
    ts = pd.read_parquet(minimal_run / "timeseries.parquet")
    assert sorted(ts["replication"].unique()) == list(range(6))
    assert ts["date"].iloc[0] == pd.Timestamp("2026-01-31")


def test_capacity_is_energised_plus_bridge_and_shortfall_is_consistent(minimal_run: Path) -> None:
    ts = pd.read_parquet(minimal_run / "timeseries.parquet")
    assert (ts["capacity_mw"] - ts["energized_mw"] - ts["bridge_mw"]).abs().max() < 1e-6
    assert (ts["shortfall_mw"] >= 0).all()
    assert (ts["shortfall_mw"] <= ts["demand_mw"] + 1e-6).all()
    expected = (ts["demand_mw"] - ts["capacity_mw"]).clip(lower=0)
    assert (ts["shortfall_mw"] - expected).abs().max() < 1e-6  # no region-bound demand here


def test_energised_mw_never_falls_and_never_exceeds_signed_mw(minimal_run: Path) -> None:
    ts = pd.read_parquet(minimal_run / "timeseries.parquet").sort_values(["replication", "month"])
    assert (ts.groupby("replication")["energized_mw"].diff().dropna() >= -1e-9).all()
    deals = pd.read_parquet(minimal_run / "deals.parquet")
    assert (deals["energized_mw"] <= deals["mw"] + 1e-9).all()
    existing = 80.0
    for rep, group in ts.groupby("replication"):
        signed_mw = deals[(deals["replication"] == rep) & deals["signed"].notna()]["mw"].sum()
        assert group["energized_mw"].max() <= existing + signed_mw + 1e-6


def test_deal_stage_months_are_in_order(minimal_run: Path) -> None:
    deals = pd.read_parquet(minimal_run / "deals.parquet")
    order = [
        "launched",
        "entered_sourcing",
        "entered_due_diligence",
        "entered_negotiation",
        "signed",
        "first_power",
        "full_power",
    ]
    months = deals[order].to_numpy(dtype=float)
    for row in months:
        reached = row[~pd.isna(row)]
        assert (reached[1:] >= reached[:-1]).all(), row
    assert set(deals["outcome"]) <= {
        "energized",
        "partially_energized",
        "in_delivery",
        "in_pipeline",
        "grid_withdrawn",
        "lost_at_sourcing",
        "lost_at_due_diligence",
        "lost_at_negotiation",
    }


def test_queue_rows_are_consistent_and_headroom_never_negative(minimal_run: Path) -> None:
    queue = pd.read_parquet(minimal_run / "queue.parquet")
    assert not (queue["connected"].notna() & queue["withdrawn"].notna()).any()
    studied = queue[queue["study_end"].notna()]
    assert (studied["study_end"] >= studied["study_start"]).all()
    assert (studied["study_start"] >= studied["arrived"]).all()
    connected = queue[queue["connected"].notna()]
    assert (connected["connected"] >= connected["study_end"]).all()
    assert set(queue["applicant"]) == {"own", "background"}
    regions = pd.read_parquet(minimal_run / "regions.parquet")
    assert (regions["headroom_mw"] >= -1e-9).all()


@pytest.mark.slow
def test_same_seed_gives_identical_tables_and_another_seed_differs(
    minimal_run: Path, tmp_path: Path
) -> None:
    again, other = tmp_path / "again", tmp_path / "other"
    scenario = str(ROOT / "scenarios/minimal.yaml")
    assert _run("run", scenario, "-n", "6", "-o", str(again))[0] == 0
    assert _run("run", scenario, "-n", "6", "--seed", "8", "-o", str(other))[0] == 0
    for table in ("timeseries", "regions", "deals", "queue", "equipment", "kpis"):
        first = pd.read_parquet(minimal_run / f"{table}.parquet")
        pd.testing.assert_frame_equal(first, pd.read_parquet(again / f"{table}.parquet"))
    for table in ("timeseries", "queue"):
        first = pd.read_parquet(minimal_run / f"{table}.parquet")
        assert not first.equals(pd.read_parquet(other / f"{table}.parquet"))
    assert (minimal_run / "summary.csv").read_text() == (again / "summary.csv").read_text()


def test_existing_run_is_never_overwritten_without_force(minimal_run: Path) -> None:
    before = (minimal_run / "manifest.json").read_text()
    code, output = _run(
        "run", str(ROOT / "scenarios/minimal.yaml"), "-n", "2", "-o", str(minimal_run)
    )
    assert code == EXIT_OUTPUT
    assert "already exists" in output and "--force" in output
    assert (minimal_run / "manifest.json").read_text() == before


@pytest.mark.slow
def test_force_replaces_a_run_only_once_the_new_one_is_complete(tmp_path: Path) -> None:
    out = tmp_path / "run"
    scenario = str(ROOT / "scenarios/minimal.yaml")
    assert _run("run", scenario, "-n", "2", "-o", str(out))[0] == 0
    assert _run("run", scenario, "-n", "3", "-o", str(out), "--force")[0] == 0
    assert json.loads((out / "manifest.json").read_text())["replications"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_bad_scenario_exits_2_with_located_message_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {ROOT / 'scenarios/minimal.yaml'}\nreplications: 0\n")
    out = tmp_path / "never"
    proc = subprocess.run(
        [sys.executable, "-m", "capsim", "run", str(bad), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == EXIT_BAD_INPUT
    assert f"error: {bad}:2:15: replications: must be >= 1; found 0" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not out.exists()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_example_scenario_runs_end_to_end(scenario: Path, tmp_path: Path) -> None:
    code, output = _run("run", str(scenario), "-n", "2", "--no-charts", "-o", str(tmp_path / "run"))
    assert code == 0, output
    assert not list((tmp_path / "run").glob("charts/*"))  # --no-charts: tables and summary only
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["kpis"]["energized_mw_at_horizon"]["n"] == 2
