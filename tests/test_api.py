"""The Python API: load with overrides, run and read back, one replication in memory, charts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

import capsim
from capsim.api import Run
from capsim.errors import OutputError, ScenarioError, UsageError
from capsim.report.suite import CHART_NAMES

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = ROOT / "scenarios/minimal.yaml"
CHARTS = CHART_NAMES


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """A four-replication run of the minimal scenario, shared by the read-back tests."""
    output = tmp_path_factory.mktemp("api") / "minimal-run"
    return capsim.run(capsim.load(MINIMAL), replications=4, seed=11, output=output)


def test_import_stays_light_and_exports_the_api_lazily() -> None:
    code = "import capsim, sys; print('pandas' in sys.modules, 'capsim.api' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert shown == ["False", "False"]
    assert capsim.load is capsim.api.load
    assert {"load", "run", "simulate_one", "open_run", "Run"} <= set(dir(capsim))
    with pytest.raises(AttributeError):
        _ = capsim.no_such_name  # type: ignore[attr-defined]


def test_load_applies_command_line_and_keyword_overrides() -> None:
    scenario = capsim.load(
        MINIMAL,
        ["policy.reserve_margin=0.3"],
        replications=7,
        policy__lookahead_months=12,
        demand__pue={"dist": "pert", "min": 1.1, "mode": 1.2, "max": 1.4},
    )
    assert scenario.replications == 7
    assert scenario.policy.reserve_margin == 0.3
    assert scenario.policy.lookahead_months == 12
    assert scenario.demand.pue.support() == (1.1, 1.4)


def test_load_reports_a_bad_keyword_override_as_a_located_problem() -> None:
    with pytest.raises(ScenarioError) as caught:
        capsim.load(MINIMAL, policy__reserve_margin=-1)
    assert caught.value.problems[0].file == "--set policy.reserve_margin=-1"


def test_with_changes_sets_nested_fields_and_runs_every_check() -> None:
    from capsim.api import with_changes

    base = capsim.load(MINIMAL)
    changed = with_changes(base, policy__reserve_margin=0.35, seed=5)
    assert (changed.policy.reserve_margin, changed.seed) == (0.35, 5)
    assert changed.policy.lookahead_months == base.policy.lookahead_months
    assert base.policy.reserve_margin != 0.35  # the original is untouched
    with pytest.raises(ScenarioError) as caught:
        with_changes(base, policy__reserve_margin=-1)
    assert caught.value.problems[0].path == "policy.reserve_margin"
    with pytest.raises(ScenarioError) as unknown:
        with_changes(base, policy__reserve_margn=0.2)
    assert "reserve_margin" in unknown.value.problems[0].message


def test_run_writes_a_run_directory_that_open_run_reads_back(small_run: Run) -> None:
    assert (small_run.path / "manifest.json").is_file()
    run = capsim.open_run(small_run.path)
    assert run.manifest["replications"] == 4 and run.manifest["seed"] == 11
    summary = json.loads((run.path / "summary.json").read_text())
    assert run.summary == summary
    kpis = run.kpis
    assert list(kpis.index) == list(summary["kpis"])
    keys = [f"p{p}" for p in summary["report"]["percentiles"]]
    assert list(kpis.columns) == ["label", "unit", "mean", *keys, "n"]
    for name, stats in summary["kpis"].items():
        for column in ("mean", *keys, "n"):
            expected = stats[column]
            found = kpis.loc[name, column]
            assert (expected is None and pd.isna(found)) or found == expected, (name, column)
        assert kpis.loc[name, "unit"] == stats["unit"]
    assert run.table("kpis", ["replication"])["replication"].tolist() == [0, 1, 2, 3]


def test_run_refuses_to_overwrite_without_force(small_run: Run) -> None:
    with pytest.raises(OutputError):
        capsim.run(capsim.load(MINIMAL), replications=1, output=small_run.path)


def test_simulate_one_gives_the_rows_of_that_replication_in_a_batch(small_run: Run) -> None:
    tables = capsim.simulate_one(small_run.scenario, replication=2)
    assert set(tables) == {
        "timeseries",
        "regions",
        "deals",
        "queue",
        "equipment",
        "headroom",
        "milestones",
        "kpis",
    }
    for name, table in tables.items():
        batch = small_run.table(name)
        batch = batch[batch["replication"] == 2].reset_index(drop=True)
        pd.testing.assert_frame_equal(table.reset_index(drop=True), batch, obj=name)


@pytest.mark.parametrize("name", CHARTS)
def test_chart_returns_a_figure(small_run: Run, name: str) -> None:
    figure = small_run.chart(name)
    assert isinstance(figure, Figure)
    assert figure.axes
    assert figure.get_suptitle()  # every memo chart states its subject


def test_unknown_names_are_clear_errors(small_run: Run, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no chart 'pie'.*capacity_fan"):
        small_run.chart("pie")
    with pytest.raises(UsageError, match=r"no table 'deal'.*deals"):
        small_run.table("deal")
    with pytest.raises(UsageError, match="not a finished run directory"):
        capsim.open_run(tmp_path)


def test_costs_keep_cash_and_the_notional_penalty_apart(small_run: Run) -> None:
    kpis, costs = small_run.kpis, small_run.costs.set_index("cost")
    assert kpis.loc["total_cost_usd", "label"] == "total cost including the penalty"
    cash, penalty = costs.loc["cash cost"], costs.loc["unserved-demand penalty"]
    total = costs.loc["total cost including the penalty"]
    assert (cash["money"], penalty["money"]) == ("cash", "notional penalty")
    assert cash["mean (USD m)"] == pytest.approx(kpis.loc["cash_cost_usd", "mean"] / 1e6)
    assert penalty["mean (USD m)"] == pytest.approx(kpis.loc["unserved_penalty_usd", "mean"] / 1e6)
    assert total["mean (USD m)"] == pytest.approx(cash["mean (USD m)"] + penalty["mean (USD m)"])


def test_a_run_reporting_other_percentiles_shows_exactly_those(tmp_path: Path) -> None:
    from capsim.runs.runner import RunOptions, run_scenario

    scenario = capsim.load(MINIMAL, replications=3, report__percentiles=[25, 50, 75])
    run_scenario(scenario, RunOptions(output=tmp_path / "run", workers=1, charts=False))
    run = capsim.open_run(tmp_path / "run")
    assert run.percentiles.keys == ("p25", "p50", "p75")
    assert list(run.kpis.columns) == ["label", "unit", "mean", "p25", "p50", "p75", "n"]
    assert list(run.costs.columns) == [
        "cost",
        "money",
        "mean (USD m)",
        "P25 (USD m)",
        "P50 (USD m)",
        "P75 (USD m)",
    ]
    shortfall = run.table("kpis")["shortfall_mw_months"]
    assert run.kpis.loc["shortfall_mw_months", "p75"] == pytest.approx(shortfall.quantile(0.75))
