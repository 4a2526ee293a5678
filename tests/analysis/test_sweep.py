"""Strategy sweeps: grid parsing, the Pareto frontier, and a small real sweep.

The frontier is checked on a hand-made table with ties and unknowns; the real sweep writes the
table, frontier marks, chart and one run directory per strategy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from capsim.analysis.decide import SweepRequest, sweep_measures
from capsim.analysis.experiment import Measure, parse_measure, statistic
from capsim.analysis.sweep import (
    combinations,
    mark_frontier,
    pareto_front,
    parse_axis,
    split_values,
)
from capsim.cli.decide import sweep
from capsim.errors import UsageError
from capsim.runs.kpis import Percentiles

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = str(ROOT / "scenarios/minimal.yaml")


def test_frontier_of_a_hand_made_table_keeps_ties_and_drops_dominated() -> None:
    table = pd.DataFrame(
        {
            "label": [
                "cheap",
                "cheap-twin",
                "middle",
                "middle-twin",
                "worse-risk",
                "worse-both",
                "safe",
                "same-cost-riskier",
                "unknown-cost",
            ],
            "cost": [1.0, 1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0, math.nan],
            "risk": [5.0, 5.0, 3.0, 3.0, 3.0, 4.0, 1.0, 2.0, 0.0],
        }
    )
    marked = mark_frontier(table, "cost", "risk").set_index("label")
    on = set(marked.index[marked["on_frontier"]])
    assert on == {"cheap", "cheap-twin", "middle", "middle-twin", "safe"}
    assert marked.loc["worse-risk", "dominated_by"] == 2  # both middles: same risk, cheaper
    assert marked.loc["worse-both", "dominated_by"] == 3  # the middles and worse-risk
    assert marked.loc["same-cost-riskier", "dominated_by"] == 1  # only safe
    assert marked.loc["cheap", "dominated_by"] == 0
    assert not marked.loc["unknown-cost", "on_frontier"]
    assert list(pareto_front([1.0], [1.0])) == [True]
    assert list(pareto_front(np.array([2.0, 1.0]), np.array([2.0, 1.0]))) == [False, True]


def test_grid_values_split_outside_brackets_and_combine_in_order() -> None:
    assert split_values("0, {dist: pert, min: 1, mode: 2, max: 3},[1, 2],'a,b'") == [
        "0",
        "{dist: pert, min: 1, mode: 2, max: 3}",
        "[1, 2]",
        "'a,b'",
    ]
    axes = [parse_axis("policy.reserve_margin=0,0.1"), parse_axis("bridge.enabled=true,false")]
    assert combinations(axes) == [
        {"policy.reserve_margin": "0", "bridge.enabled": "true"},
        {"policy.reserve_margin": "0", "bridge.enabled": "false"},
        {"policy.reserve_margin": "0.1", "bridge.enabled": "true"},
        {"policy.reserve_margin": "0.1", "bridge.enabled": "false"},
    ]
    with pytest.raises(UsageError):
        parse_axis("policy.reserve_margin")
    with pytest.raises(UsageError):
        parse_axis("policy.reserve_margin=0,0")


def test_small_sweep_writes_table_frontier_chart_and_run_directories(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = CliRunner().invoke(
        sweep,
        [
            MINIMAL,
            "--grid",
            "policy.reserve_margin=0,0.6",
            "--grid",
            "policy.equipment_order_at=signed,launch",
            "-n",
            "3",
            "--workers",
            "1",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "strategies.parquet")
    assert len(table) == 4
    assert list(table["policy.reserve_margin"]) == ["0", "0", "0.6", "0.6"]
    for column in (
        "cash_cost_usd_p50",
        "unserved_penalty_usd_p50",
        "total_cost_usd_p50",
        "cost_npv_usd_p50",
        "shortfall_mw_months_p80",
        "shortfall_mw_months_p90",
        "shortfall_final_year_mean",
        "on_frontier",
        "dominated_by",
    ):
        assert column in table.columns
    assert table["shortfall_final_year_mean"].between(0, 1).all()
    expected = pareto_front(
        table["cash_cost_usd_p50"].to_numpy(), table["shortfall_mw_months_p90"].to_numpy()
    )
    assert list(table["on_frontier"]) == list(expected) and table["on_frontier"].any()
    assert pd.read_csv(out / "strategies.csv").shape == table.shape
    for suffix in ("png", "svg"):
        assert (out / "charts" / f"frontier.{suffix}").stat().st_size > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["strategies"] == 4
    assert (manifest["cost"], manifest["risk"]) == ("cash_cost_usd_p50", "shortfall_mw_months_p90")
    assert manifest["grid"]["policy.equipment_order_at"] == ["signed", "launch"]
    assert manifest["frontier"] == list(table.loc[table["on_frontier"], "label"])
    for run_dir in table["run_dir"]:
        run = json.loads((out / run_dir / "manifest.json").read_text())
        assert run["seed"] == manifest["seed"] and run["replications"] == 3
        assert (out / run_dir / "kpis.parquet").exists()


def test_sweep_with_a_bad_value_reports_every_located_problem_before_running(
    tmp_path: Path,
) -> None:
    result = CliRunner().invoke(
        sweep,
        [
            MINIMAL,
            "--grid",
            "policy.reserve_margin=0,-1",
            "--grid",
            "policy.nope=1",
            "-o",
            str(tmp_path / "never"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "--set policy.reserve_margin=-1: policy.reserve_margin: must be >= 0" in result.output
    assert "unknown field 'nope'" in result.output
    assert not list(tmp_path.iterdir())


def test_frontier_defaults_to_cash_cost_against_risk() -> None:
    assert SweepRequest(("policy.reserve_margin=0,0.1",)).cost == Measure("cash_cost_usd", "p50")
    assert SweepRequest(("policy.reserve_margin=0,0.1",)).risk == Measure(
        "shortfall_mw_months", "p90"
    )
    options = {option.name: option for option in sweep.params}
    assert options["cost"].default == "cash_cost_usd:p50"
    measures = sweep_measures(Percentiles((25, 50, 75)))
    names = [m.name for m in measures]
    assert names[0] == "cash_cost_usd_p50" and "unserved_penalty_usd_p50" in names
    assert [n for n in names if n.startswith("shortfall_mw_months_p")] == [
        "shortfall_mw_months_p50",
        "shortfall_mw_months_p75",
    ]


@pytest.mark.parametrize("stat", ["mean", "p80", "p25", "p1", "p99"])
def test_a_measure_may_name_any_percentile_a_run_reports(stat: str) -> None:
    measure = parse_measure(f"shortfall_mw_months:{stat}", "p50")
    kpis = pd.DataFrame({"shortfall_mw_months": [0.0, 10.0, 20.0, 30.0, math.nan]})
    values = kpis["shortfall_mw_months"].dropna()
    expected = values.mean() if stat == "mean" else np.quantile(values, int(stat[1:]) / 100)
    assert statistic(kpis, measure) == pytest.approx(expected)


@pytest.mark.parametrize("stat", ["p0", "p100", "p8x", "p080", "median", "P80"])
def test_an_unknown_statistic_is_a_usage_error(stat: str) -> None:
    with pytest.raises(UsageError, match="expected mean or a percentile p1-p99"):
        parse_measure(f"shortfall_mw_months:{stat}", "p50")
