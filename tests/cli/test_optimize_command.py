"""``capsim optimize``: outputs, located errors, resume after a kill, best.yaml reproduces."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from analysis.test_optimize import growing_file
from click.testing import CliRunner, Result

from capsim.cli.main import main
from capsim.report.optimize import write_optimization_report

LEVERS = ["--lever", "policy.max_live_deals=1:6", "--lever", "policy.reserve_margin=0,0.3,0.6"]


def arguments(scenario: Path, output: Path, trials: int = 4, replications: int = 4) -> list[str]:
    """An optimize command line over the tiny growing market."""
    return [
        "optimize",
        str(scenario),
        *LEVERS,
        "--minimize",
        "total_cost_usd:mean",
        "--subject-to",
        "served_share:p10>=0.3",
        "--trials",
        str(trials),
        "-n",
        str(replications),
        "--first-replications",
        "2",
        "--workers",
        "1",
        "-o",
        str(output),
    ]


@pytest.mark.slow
def test_best_yaml_runs_and_reproduces_the_trial_figures(tmp_path: Path) -> None:
    scenario = growing_file(tmp_path)
    study = tmp_path / "study"
    result = CliRunner().invoke(main, arguments(scenario, study))
    assert result.exit_code == 0, result.output
    for name in ("trials.parquet", "frontier.parquet", "best.yaml", "manifest.json", "study.db"):
        assert (study / name).exists()
    assert sorted(p.name for p in (study / "charts").glob("*.png")) == [
        "frontier.png",
        "history.png",
        "importance.png",
    ]
    assert "extends: ../growing.yaml" in (study / "best.yaml").read_text(encoding="utf-8")
    run = CliRunner().invoke(
        main, ["run", str(study / "best.yaml"), "--workers", "1", "-o", str(tmp_path / "run")]
    )
    assert run.exit_code == 0, run.output
    frontier = pd.read_parquet(study / "frontier.parquet")
    trial = frontier.iloc[0]
    kpis = pd.read_parquet(tmp_path / "run/kpis.parquet")
    assert len(kpis) == trial["replications"]
    assert kpis["total_cost_usd"].mean() == pytest.approx(trial["total_cost_usd_mean"], rel=1e-12)
    written = write_optimization_report(study)
    assert sorted(p.name for p in written) == ["memo.pptx", "report.html", "tables.xlsx"]
    reported = CliRunner().invoke(main, ["report", str(study)])
    assert reported.exit_code == 0, reported.output
    assert reported.output.count("wrote ") == 3
    html = (study / "report.html").read_text(encoding="utf-8")
    assert "validated" in html and "data:image/png;base64" in html


def optimize_with(folder: Path, usual: str, instead: str) -> Result:
    """``capsim optimize`` on two replications with one usual argument replaced by another."""
    args = arguments(growing_file(folder, replications=2), folder / "study")
    args[args.index(usual)] = instead
    return CliRunner().invoke(main, args)


def test_a_bad_lever_path_exits_2_naming_it_and_writes_nothing(tmp_path: Path) -> None:
    result = optimize_with(tmp_path, "policy.max_live_deals=1:6", "policy.max_live_dealz=1:6")
    assert result.exit_code == 2
    assert "policy.max_live_dealz" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "study").exists()


def test_a_bad_objective_exits_2_naming_the_valid_kpis(tmp_path: Path) -> None:
    result = optimize_with(tmp_path, "total_cost_usd:mean", "total_cost:mean")
    assert result.exit_code == 2
    assert "unknown KPI 'total_cost'" in result.stderr and "cash_cost_usd" in result.stderr


def _finished_trials(database: Path) -> int:
    """Trials complete in the study's SQLite file (0 while it is not yet there)."""
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database, timeout=1) as connection:
            row = connection.execute("SELECT COUNT(*) FROM trials WHERE state = 'COMPLETE'")
            return int(row.fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_resume_after_a_kill_continues_the_same_study(tmp_path: Path) -> None:
    scenario = growing_file(tmp_path, replications=16)
    study = tmp_path / "study"
    args = arguments(scenario, study, trials=8, replications=16)
    process = subprocess.Popen(
        [sys.executable, "-m", "capsim", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while process.poll() is None and _finished_trials(study / "study.db") < 2:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the study ended before it could be killed"
    assert not (study / "manifest.json").exists()
    resumed = CliRunner().invoke(main, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    trials = pd.read_parquet(study / "trials.parquet")
    assert list(trials["trial"]) == list(range(8))  # none lost, none repeated
    assert set(trials["state"]) == {"complete"}
    whole = CliRunner().invoke(main, arguments(scenario, tmp_path / "whole", 8, 16))
    assert whole.exit_code == 0, whole.output
    pd.testing.assert_frame_equal(trials, pd.read_parquet(tmp_path / "whole/trials.parquet"))
    manifest = json.loads((study / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["trials_finished"] == 8
